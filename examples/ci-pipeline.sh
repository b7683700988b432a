#!/usr/bin/env bash
# CI/CD build verification script

set -euo pipefail

echo "Building NixOS configuration..."
if nixos-build-wrapper os build --json > build-result.json; then
  echo "✓ Build succeeded"

  # Check if everything is healthy
  if nixos-build-status --json | jq -e '.overallStatus == "success"'; then
    echo "✓ System is healthy"
    exit 0
  else
    echo "✗ System has issues"
    nixos-build-status --verbose
    exit 1
  fi
else
  echo "✗ Build failed"

  # Extract errors
  jq -r '.errors' build-result.json

  # Show error details
  cat /var/log/nixos-builds/last-build.log

  exit 2
fi
