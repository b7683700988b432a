#!/usr/bin/env bash
# Auto-debug build failures and send to LLM

source /etc/nixos/lib/build-status.sh

# Run build
if ! nixos-build-wrapper os switch --json > build.json; then
  echo "Build failed, collecting diagnostics..."

  # Collect comprehensive error context
  {
    echo "=== Build Status ==="
    create_status_report json

    echo "=== Build Log ==="
    cat /var/log/nixos-builds/last-build.log

    echo "=== Nix Errors ==="
    extract_nix_errors /var/log/nixos-builds/last-build.log

    echo "=== Failed Units ==="
    check_failed_units

    echo "=== Recent Journal Errors ==="
    journalctl -p err --since "1 hour ago" --no-pager

  } > debug-context.txt

  # Send to LLM for analysis (example)
  # claude-code debug debug-context.txt

  exit 1
fi
