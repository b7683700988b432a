#!/usr/bin/env bash
# Source the library
source /etc/nixos/lib/build-status.sh

# Create custom report
{
  echo "=== Custom NixOS Status ==="
  echo "Generation: $(get_generation_short)"
  echo "Commit: $(get_current_commit)"
  echo "In Sync: $(is_generation_in_sync && echo 'Yes' || echo 'No')"
  echo "Last Build: $(was_last_build_successful && echo 'Success' || echo 'Failed')"
  echo "Failed Units: $(check_failed_units | jq 'length')"
} > custom-status.txt
