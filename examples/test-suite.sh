#!/usr/bin/env bash
# NixOS configuration test suite

source /etc/nixos/lib/build-status.sh

run_test() {
  local test_name="$1"
  shift
  local test_cmd=("$@")

  echo "Running test: $test_name"
  if "${test_cmd[@]}"; then
    echo "✓ $test_name passed"
    return 0
  else
    echo "✗ $test_name failed"
    return 1
  fi
}

# Test 1: Configuration builds
run_test "Configuration builds" \
  nixos-build-wrapper os build --no-nh

# Test 2: System is in sync
run_test "System in sync" \
  is_generation_in_sync

# Test 3: No failed units
run_test "No failed systemd units" \
  bash -c '[[ $(check_failed_units | jq "length") -eq 0 ]]'

# Test 4: Flake evaluates
run_test "Flake evaluates" \
  nix flake show /etc/nixos --no-write-lock-file

# Test 5: Home Manager builds
run_test "Home Manager builds" \
  nixos-build-wrapper home build

echo "All tests passed!"
