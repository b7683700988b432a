#!/usr/bin/env bash
# Auto-debug build failures and send to LLM: the variant of auto-debug.sh that hands
# over one bounded, redacted bundle (nixos-build-status debug-bundle) instead of the
# whole raw log.

# Run build
if ! nixos-build-wrapper os switch --json > build.json; then
  echo "Build failed, collecting diagnostics..."

  # Root causes with their log tails and hints, the source around evaluation errors,
  # failed units with their journals, recent journal errors, the generation change and
  # the raw log's tail: at most 100 kB, secrets redacted.
  nixos-build-status debug-bundle --max-bytes 100000 -o debug-context.md

  # Send to LLM for analysis (example)
  # claude -p "Why did this NixOS build fail, and what is the fix?" < debug-context.md

  exit 1
fi
