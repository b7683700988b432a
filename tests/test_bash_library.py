"""The bash library (``source "$(nixos-build-status lib-path)"``): the original names and
return conventions, and good manners toward the scripts that source it (no options
changed, no variables leaked, never exits the caller)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

import nixos_build_status as nbs
from tests.conftest import RECORDED
from tests.test_library import ORIGINAL_FUNCTIONS
from tests.test_status_fakes import VENV_BIN, FakeSystem

pytestmark = pytest.mark.skipif(not Path("/bin/bash").exists() and not Path("/usr/bin/bash").exists(),
                                reason="needs bash")


@pytest.fixture
def machine(tmp_path: Path) -> FakeSystem:
    fake = FakeSystem(tmp_path, host_tools=("bash", "jq", "cat", "head", "awk", "grep", "diff"))
    fake.in_sync_system(4, 5)
    fake.home_manager(9)
    fake.flake()
    fake.last_build(exitCode=0)
    return fake


def bash(fake: FakeSystem, script: str, **env: str) -> subprocess.CompletedProcess[str]:
    full = fake.env(**env)
    full["PATH"] = f"{fake.bin}:{VENV_BIN}"
    return subprocess.run(["bash", "-c", script], env=full, capture_output=True, text=True,
                          timeout=120, check=False, cwd=fake.tmp)


SOURCE = 'source "$(nixos-build-status lib-path)"\n'


def test_lib_path_prints_the_packaged_file(machine: FakeSystem) -> None:
    proc = bash(machine, "nixos-build-status lib-path")
    assert proc.stdout.strip() == str(nbs.LIBRARY_SH)


def test_sourcing_defines_every_original_function(machine: FakeSystem) -> None:
    proc = bash(machine, SOURCE + "declare -F | awk '{print $3}'")
    defined = set(proc.stdout.split())
    assert set(ORIGINAL_FUNCTIONS) <= defined


def test_sourcing_and_calling_change_no_option_and_leak_no_variable(machine: FakeSystem) -> None:
    script = """set -euo pipefail
shopt -s nullglob
snapshot() { set -o; shopt; compgen -v | grep -v -e '^BASH_' -e '^_$' -e '^PIPESTATUS$' -e '^FUNCNAME$'; }
before="" after=""
before="$(snapshot)"
source "$(nixos-build-status lib-path)"
json_escape 'a"b' >/dev/null
echo x | json_escape >/dev/null
json_bool yes >/dev/null
get_current_generation >/dev/null
is_generation_in_sync
after="$(snapshot)"
[[ "$before" == "$after" ]] && echo same || diff <(echo "$before") <(echo "$after")
"""
    proc = bash(machine, script)
    assert proc.stdout.strip() == "same", proc.stdout + proc.stderr


def test_a_failing_function_never_exits_the_caller(tmp_path: Path) -> None:
    fake = FakeSystem(tmp_path, host_tools=("bash",))  # no generations at all
    script = SOURCE + """set -euo pipefail
if ! gen=$(get_current_generation); then echo "handled: no generation"; fi
extract_nix_errors && echo unexpected || echo "usage rc=$?"
is_generation_in_sync || echo "not in sync rc=$?"
echo still here
"""
    proc = bash(fake, script)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines() == ["handled: no generation", "usage rc=3",
                                        "not in sync rc=1", "still here"]
    assert "no running system generation found" in proc.stderr


def test_generation_functions_conventions(machine: FakeSystem) -> None:
    script = SOURCE + """set -euo pipefail
echo "current=$(get_current_generation)"
echo "short=$(get_generation_short)"
echo "hm=$(get_home_manager_generation)"
is_generation_in_sync && echo "in sync"
out=$(is_generation_in_sync); echo "predicate prints [${out}]"
get_current_generation_json
"""
    lines = bash(machine, script).stdout.splitlines()
    assert lines[:5] == ["current=5", "short=g5", "hm=hm9", "in sync", "predicate prints []"]
    assert json.loads(lines[5])["generation"] == "g5"


def test_out_of_sync_predicate_returns_1(machine: FakeSystem) -> None:
    machine.system(6)
    machine.profile(6)
    proc = bash(machine, SOURCE + "is_generation_in_sync; echo rc=$?")
    assert proc.stdout.strip() == "rc=1"


def test_build_log_functions_conventions(machine: FakeSystem) -> None:
    machine.history([{"success": True, "buildDuration": 60}, {"success": False, "buildDuration": 30}])
    script = SOURCE + """set -euo pipefail
get_last_build_status | jq -r .command
echo "code=$(get_last_build_exit_code)"
was_last_build_successful && echo success
get_build_history | jq length
get_build_history_summary "" 1 | jq -c '[.shown, .meanDuration]'
get_build_history_summary "$NIXOS_BUILD_LOG_DIR" | jq .total
was_last_build_successful /nonexistent || echo "no build: rc=$?"
"""
    proc = bash(machine, script)
    assert proc.stdout.splitlines() == ["nh os switch", "code=0", "success", "2", "[1,30]", "2",
                                        "no build: rc=1"], proc.stderr


def test_error_functions_conventions(machine: FakeSystem) -> None:
    script = SOURCE + f"""set -euo pipefail
extract_nix_errors {RECORDED / "build-failure.plain.log"} | head -n 1
echo "phase=$(extract_build_phase {RECORDED / "build-failure.internal-json.log"})"
echo "none=[$(extract_nix_errors {RECORDED / "success.plain.log"})]"
extract_nix_errors /nonexistent.log || echo "unreadable rc=$?"
"""
    proc = bash(machine, script)
    lines = proc.stdout.splitlines()
    assert lines[0].startswith("error: builder for '/nix/store/")
    assert lines[1:] == ["phase=buildPhase", "none=[]", "unreadable rc=1"]
    assert "/nonexistent.log" in proc.stderr


def test_health_functions_conventions(machine: FakeSystem) -> None:
    script = SOURCE + """set -euo pipefail
check_failed_units
[[ $(check_failed_units | jq "length") -eq 2 ]] && echo "two failed"
echo "journal=$(check_journal_errors)"
echo "journal since=$(check_journal_errors '2 hours ago')"
"""
    proc = bash(machine, script, FAKE_FAILED_UNITS="nginx.service", FAKE_USER_FAILED_UNITS="pipewire.service",
                FAKE_JOURNAL_ERRORS="3")
    lines = proc.stdout.splitlines()
    assert json.loads(lines[0]) == ["nginx.service", "pipewire.service"]
    assert lines[1:] == ["two failed", "journal=3", "journal since=3"]


def test_health_functions_without_systemd(machine: FakeSystem) -> None:
    script = SOURCE + """check_failed_units; echo "rc=$?"; check_journal_errors; echo "rc=$?" """
    proc = bash(machine, script, FAKE_SYSTEMCTL="no-systemd", FAKE_JOURNAL="no-journal")
    assert proc.stdout.splitlines() == ["[]", "rc=1", "0", "rc=1"]


def test_metadata_and_report_functions(machine: FakeSystem) -> None:
    script = SOURCE + """set -euo pipefail
echo "commit=$(get_current_commit)"
echo "nixpkgs=$(get_current_nixpkgs_rev)"
create_status_report json --no-eval | jq -r .overallStatus
create_status_report human --no-eval | head -n 1
create_status_report json --no-eval > status.json && jq -r .generation.generation status.json
create_status_report xml || echo "bad format rc=$?"
"""
    proc = bash(machine, script, FAKE_CONFIGURATION_REVISION="0123456789abcdef0123456789abcdef01234567")
    assert proc.stdout.splitlines() == [
        "commit=0123456", "nixpkgs=5e4fbfb6b3de1aa2872b76d49fafc942626e2add", "success",
        "=== NixOS Build Status ===", "g5", "bad format rc=3"], proc.stderr


def test_report_function_returns_0_even_when_the_system_is_not_healthy(machine: FakeSystem) -> None:
    machine.last_build(success=False, exitCode=1, errors="error: broken")
    proc = bash(machine, SOURCE + "set -e; create_status_report json --no-eval | jq .exitCode; echo after")
    assert proc.stdout.splitlines() == ["2", "after"]


@pytest.mark.parametrize("text", ['say "hi"', "back\\slash", "tab\there\r\nnew line",
                                  "\x01\x02\x1b[31m\x1f", "ünïcödé ✓ \x7f", "", "trailing\n\n"])
def test_bash_json_escape_matches_python(machine: FakeSystem, text: str) -> None:
    data = machine.tmp / "input.txt"
    data.write_text(text)
    script = SOURCE + 'json_escape "$(cat input.txt; printf x)"; json_escape < input.txt'
    out = bash(machine, script).stdout.splitlines()
    expected = nbs.json_escape(text + "x")
    assert out == [expected, nbs.json_escape(text)]
    assert json.loads(f'"{out[1]}"') == text


@pytest.mark.parametrize("value", ["true", "TRUE", "Yes", "y", "on", "1", " yes ", "false",
                                   "0", "no", "", "2", "truthy"])
def test_bash_json_bool_matches_python(machine: FakeSystem, value: str) -> None:
    proc = bash(machine, SOURCE + f"json_bool '{value}'")
    assert proc.stdout.strip() == nbs.json_bool(value)


def test_command_can_be_named_explicitly(machine: FakeSystem, tmp_path: Path) -> None:
    wrapper = tmp_path / "my-status"
    wrapper.write_text(f'#!/bin/sh\necho called >> {tmp_path}/calls\nexec "{VENV_BIN}/nixos-build-status" "$@"\n')
    wrapper.chmod(0o755)
    script = f"source {nbs.LIBRARY_SH}\nget_generation_short"
    proc = bash(machine, script, NIXOS_BUILD_STATUS_CMD=str(wrapper))
    assert proc.stdout.strip() == "g5"
    assert (tmp_path / "calls").read_text() == "called\n"


def test_functions_reach_child_shells(machine: FakeSystem) -> None:
    """The design's test suite calls them from ``bash -c '…'``."""
    proc = bash(machine, SOURCE + """bash -c '[[ $(check_failed_units | jq "length") -eq 1 ]]' && echo one
bash -c 'is_generation_in_sync' && echo in-sync""", FAKE_FAILED_UNITS="nginx.service")
    assert proc.stdout.splitlines() == ["one", "in-sync"], proc.stderr
