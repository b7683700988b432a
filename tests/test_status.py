"""``nixos-build-status`` (the report) against fake machines: generations, build errors,
units, journal, versions, exit codes and what wins when several problems apply."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import RECORDED, ROOT
from tests.test_status_fakes import FakeSystem

ORIGINAL_KEYS = {
    "timestamp": str, "hostname": str, "generation": dict, "buildErrors": dict,
    "bootStatus": dict, "buildability": dict, "overallStatus": str, "exitCode": int,
}
ORIGINAL_GENERATION_KEYS = ("generation", "generationRaw", "latestGeneration", "status", "commit",
                            "homeManagerGeneration", "homeManagerStatus")
BUILD_FAILURE_DETAILS = [
    {"kind": "build-failure", "rootCause": True, "derivation": "broken-tool-0.3.1",
     "message": "error: builder for '/nix/store/r4v5-broken-tool-0.3.1.drv' failed with exit code 2",
     "phase": "buildPhase", "logTail": ["make: *** [Makefile:12: src/main.o] Error 1"]},
    {"kind": "dependency-failure", "rootCause": False,
     "message": "error: 1 dependencies of derivation '/nix/store/wnax-nixos-system.drv' failed to build"},
]


@pytest.fixture
def machine(tmp_path: Path) -> FakeSystem:
    """In sync, Home Manager active, a successful last build, a flake in /etc/nixos."""
    fake = FakeSystem(tmp_path)
    fake.in_sync_system(1, 2)
    fake.home_manager(7)
    fake.flake()
    fake.last_build()
    return fake


def argv_log(fake: FakeSystem) -> list[list[str]]:
    path = fake.tmp / "argv.log"
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def failed_build(fake: FakeSystem, **record: object) -> None:
    fake.last_build(success=False, exitCode=1, errors="\n".join(
        d["message"] for d in BUILD_FAILURE_DETAILS), errorDetails=BUILD_FAILURE_DETAILS,
        errorCount=2, **record)


# --- healthy ---------------------------------------------------------------------------------

def test_healthy_machine_reports_success_with_the_original_keys(machine: FakeSystem) -> None:
    code, report = machine.report("--no-eval", FAKE_CONFIGURATION_REVISION="3f4851e0c2b9a7d6e5f4a3b2c1d0e9f8a7b6c5d4")
    assert code == 0
    for key, kind in ORIGINAL_KEYS.items():
        assert isinstance(report[key], kind), key
    gen = report["generation"]
    assert [gen[k] for k in ORIGINAL_GENERATION_KEYS] == [
        "g2", "2", "g2", "in-sync", "3f4851e", "hm7", "in-sync"]
    assert report["buildErrors"]["errorCount"] == 0 and report["buildErrors"]["errors"] == []
    assert report["bootStatus"]["bootFailed"] is False
    assert report["bootStatus"]["failedUnits"] == ""
    assert set(report["buildability"]) >= {"canBuild", "buildError"}
    assert report["overallStatus"] == "success" and report["exitCode"] == 0
    assert report["problems"] == []
    assert report["timestamp"].endswith("+00:00")


def test_human_report_has_the_original_layout(machine: FakeSystem) -> None:
    proc = machine.status("--no-eval")
    assert proc.returncode == 0
    lines = proc.stdout.splitlines()
    for heading in ("=== NixOS Build Status ===", "Generation Information:", "Build Error Check:",
                    "Boot Status:", "Flake Status:", "=== Summary ==="):
        assert heading in lines
    assert "Current generation: g2" in lines
    assert "Latest generation:  g2" in lines
    assert "HM generation:      hm7" in lines
    assert "✓ No recent build errors detected" in lines
    assert "✓ All systemd units started successfully" in lines
    assert lines[-1] == "✓ System is healthy"


def test_colour_only_on_a_terminal(machine: FakeSystem) -> None:
    proc = machine.status("--no-eval", env={**machine.env(), "NO_COLOR": ""})
    assert "\x1b[" not in proc.stdout  # stdout is a pipe


# --- out of sync ---------------------------------------------------------------------------

def test_latest_generation_not_running_is_out_of_sync(machine: FakeSystem) -> None:
    machine.system(3)
    machine.profile(3)  # nixos-rebuild boot: the profile moved, the running system did not
    code, report = machine.report("--no-eval")
    assert code == 1
    assert report["generation"]["generation"] == "g2"
    assert report["generation"]["latestGeneration"] == "g3"
    assert report["generation"]["status"] == "out-of-sync"
    assert report["overallStatus"] == "out-of-sync"
    assert report["problems"] == ["system-out-of-sync"]
    human = machine.status("--no-eval").stdout
    assert "running g2, latest is g3: switch to it or reboot" in human


def test_running_system_matching_no_generation_is_out_of_sync(machine: FakeSystem) -> None:
    machine.link("/run/current-system", machine.store("nixos-system-demo-test-only"))
    code, report = machine.report("--no-eval")
    assert code == 1
    assert report["generation"]["generation"] == "unknown"
    assert report["generation"]["status"] == "out-of-sync"


def test_home_manager_activation_not_finished_is_out_of_sync(machine: FakeSystem) -> None:
    machine.home_manager(8, active=False)  # profile moved, gcroot still at hm7
    code, report = machine.report("--no-eval")
    assert code == 1
    assert report["generation"]["status"] == "in-sync"
    assert report["generation"]["homeManagerGeneration"] == "hm7"
    assert report["generation"]["homeManagerLatestGeneration"] == "hm8"
    assert report["generation"]["homeManagerStatus"] == "out-of-sync"
    assert report["problems"] == ["home-manager-out-of-sync"]


def test_home_manager_in_per_user_profiles_when_xdg_dir_is_absent(tmp_path: Path) -> None:
    fake = FakeSystem(tmp_path)
    fake.in_sync_system(1)
    target = fake.store("home-manager-generation-3")
    fake.link("/nix/var/nix/profiles/per-user/alice/home-manager-3-link", target)
    fake.link("/nix/var/nix/profiles/per-user/alice/home-manager", "home-manager-3-link")
    fake.link("/nix/var/nix/gcroots/per-user/alice/current-home", target)  # legacy gcroot
    code, report = fake.report("--no-eval")
    assert code == 0
    assert report["generation"]["homeManagerGeneration"] == "hm3"
    assert report["generation"]["homeManagerStatus"] == "in-sync"


def test_no_home_manager_is_not_a_problem(tmp_path: Path) -> None:
    fake = FakeSystem(tmp_path)
    fake.in_sync_system(1)
    code, report = fake.report("--no-eval")
    assert code == 0
    assert report["generation"]["homeManagerGeneration"] == "unknown"
    assert report["generation"]["homeManagerStatus"] == "unknown"


def test_no_nixos_generations_is_unknown_not_success(tmp_path: Path) -> None:
    fake = FakeSystem(tmp_path)
    code, report = fake.report("--no-eval")
    assert code == 1
    assert report["overallStatus"] == "unknown"
    assert report["generation"]["generation"] == "unknown"
    assert "System state unknown" in fake.status("--no-eval").stdout


# --- build errors --------------------------------------------------------------------------

def test_failed_last_build_is_build_errors_root_causes_first(machine: FakeSystem) -> None:
    failed_build(machine)
    code, report = machine.report("--no-eval")
    assert code == 2
    errors = report["buildErrors"]
    assert errors["errorCount"] == 2
    assert errors["rootCauseCount"] == 1
    assert errors["errors"][0].startswith("error: builder for")
    assert errors["details"][0]["kind"] == "build-failure"
    assert "logTail" not in errors["details"][0]  # only with --verbose
    assert errors["source"] == "last-build.json"
    assert report["overallStatus"] == "build-errors"
    _, verbose = machine.report("--no-eval", "--verbose")
    assert verbose["buildErrors"]["details"][0]["logTail"] == ["make: *** [Makefile:12: src/main.o] Error 1"]


def test_build_errors_win_over_out_of_sync_and_both_are_listed(machine: FakeSystem) -> None:
    failed_build(machine)
    machine.system(3)
    machine.profile(3)
    code, report = machine.report("--no-eval", FAKE_FAILED_UNITS="nginx.service")
    assert code == 2
    assert report["overallStatus"] == "build-errors"
    assert report["problems"] == ["last-build-failed", "failed-units", "system-out-of-sync"]


def test_old_record_with_an_errors_string_only(machine: FakeSystem) -> None:
    machine.last_build(success=False, exitCode=1, errors="error: first\nerror: second",
                       errorDetails=None)
    _, report = machine.report("--no-eval")
    assert report["buildErrors"]["errors"] == ["error: first", "error: second"]


def test_record_without_errors_falls_back_to_the_extractor_on_the_log(machine: FakeSystem) -> None:
    record = machine.last_build(success=False, exitCode=100, errors="", errorDetails=[])
    record.pop("errors")
    (machine.log_dir / "last-build.json").write_text(json.dumps(record))
    (machine.log_dir / "last-build.log").write_bytes(
        (RECORDED / "build-failure.plain.log").read_bytes())
    code, report = machine.report("--no-eval")
    assert code == 2
    assert report["buildErrors"]["source"] == "build log"
    assert report["buildErrors"]["details"][0]["kind"] == "build-failure"
    assert report["buildErrors"]["details"][0]["rootCause"] is True


def test_failure_without_any_message_still_counts(machine: FakeSystem) -> None:
    record = machine.last_build(success=False, exitCode=137, errors="", errorDetails=[])
    (machine.log_dir / "last-build.json").write_text(json.dumps(record))
    code, report = machine.report("--no-eval")
    assert code == 2
    assert report["buildErrors"]["errors"] == [
        "the last build failed (exit code 137); no error message was found"]


def test_interrupted_build_is_not_a_build_error(machine: FakeSystem) -> None:
    machine.last_build(success=False, exitCode=130, interrupted=True, errors="", errorDetails=[])
    code, report = machine.report("--no-eval")
    assert code == 0
    assert report["buildErrors"]["lastBuild"]["interrupted"] is True


def test_no_build_recorded_is_fine(machine: FakeSystem) -> None:
    (machine.log_dir / "last-build.json").unlink()
    code, report = machine.report("--no-eval")
    assert code == 0
    assert report["buildErrors"]["lastBuild"] is None
    assert "none recorded in" in machine.status("--no-eval").stdout


def test_log_dir_option_beats_the_environment(machine: FakeSystem, tmp_path: Path) -> None:
    other = tmp_path / "other-logs"
    other.mkdir()
    (other / "last-build.json").write_text(json.dumps({"success": False, "exitCode": 1,
                                                       "errors": "error: elsewhere"}))
    _, report = machine.report("--no-eval", "--log-dir", str(other))
    assert report["buildErrors"]["errors"] == ["error: elsewhere"]
    assert report["buildErrors"]["logDir"] == str(other)


# --- units and journal ---------------------------------------------------------------------

def test_failed_units_degrade_the_system(machine: FakeSystem) -> None:
    code, report = machine.report("--no-eval", FAKE_FAILED_UNITS="nginx.service,backup.service",
                                  FAKE_USER_FAILED_UNITS="pipewire.service")
    assert code == 2
    boot = report["bootStatus"]
    assert boot["bootFailed"] is True
    assert boot["failedUnits"] == "nginx.service backup.service pipewire.service"  # a string
    assert [(u["unit"], u["scope"]) for u in boot["failedUnitList"]] == [
        ("nginx.service", "system"), ("backup.service", "system"), ("pipewire.service", "user")]
    assert boot["failedUnitList"][0]["description"] == "Nginx Web Server"
    assert report["overallStatus"] == "degraded"


def test_old_systemd_table_output_is_parsed(machine: FakeSystem) -> None:
    _, report = machine.report("--no-eval", FAKE_SYSTEMCTL="old", FAKE_FAILED_UNITS="nginx.service")
    assert report["bootStatus"]["failedUnitList"][0] == {
        "unit": "nginx.service", "scope": "system", "load": "loaded", "active": "failed",
        "sub": "failed", "description": "Nginx Web Server"}


def test_verbose_adds_the_units_journal_and_recent_errors(machine: FakeSystem) -> None:
    _, report = machine.report("--no-eval", "--verbose", FAKE_FAILED_UNITS="nginx.service",
                               FAKE_JOURNAL_ERRORS="12")
    unit = report["bootStatus"]["failedUnitList"][0]
    assert unit["journal"][-1] == "Failed to start Nginx."
    journal = report["journalErrors"]
    assert journal["errorCount"] == 12
    assert len(journal["entries"]) == 10  # the newest ten
    assert journal["entries"][0]["source"] == "backup.service"  # entry 3 of 12
    assert any(e["message"].startswith("ACPI Error") for e in journal["entries"])  # byte-array message
    human = machine.status("--no-eval", "--verbose", FAKE_FAILED_UNITS="nginx.service").stdout
    assert "  nginx.service, last lines of its journal:" in human


def test_journal_errors_are_counted_but_do_not_fail(machine: FakeSystem) -> None:
    code, report = machine.report("--no-eval", "--since=-2h", FAKE_JOURNAL_ERRORS="3")
    assert code == 0
    assert report["journalErrors"] == {"errorCount": 3, "since": "-2h", "status": "ok", "reason": ""}


def test_user_manager_missing_leaves_the_system_answer(machine: FakeSystem) -> None:
    code, report = machine.report("--no-eval", FAKE_USER_MANAGER="none")
    assert code == 0
    assert report["bootStatus"]["scopes"] == {"system": "ok", "user": "unknown"}
    assert "No medium found" in report["bootStatus"]["reasons"]["user"]


def test_container_without_systemd_is_unknown_not_degraded(machine: FakeSystem) -> None:
    code, report = machine.report("--no-eval", FAKE_SYSTEMCTL="no-systemd", FAKE_JOURNAL="no-journal")
    assert code == 0
    assert report["bootStatus"]["bootFailed"] is None
    assert report["bootStatus"]["status"] == "unknown"
    assert report["journalErrors"]["errorCount"] is None
    assert "Could not check systemd units" in machine.status(
        "--no-eval", FAKE_SYSTEMCTL="no-systemd").stdout


def test_every_tool_missing_is_reported_never_a_crash(tmp_path: Path) -> None:
    fake = FakeSystem(tmp_path, tools=())
    fake.in_sync_system(1)
    fake.flake()
    code, report = fake.report()  # with evaluation: nix is missing too
    assert code == 0, report
    assert report["bootStatus"]["reasons"]["system"] == "systemctl not found"
    assert report["journalErrors"]["reason"] == "journalctl not found"
    assert report["buildability"]["status"] == "unavailable"
    assert report["buildability"]["reason"] == "nix not found"
    assert report["buildability"]["canBuild"] is None


def test_hanging_tools_are_given_up_on(machine: FakeSystem) -> None:
    code, report = machine.report("--no-eval", "--timeout", "0.5", FAKE_SYSTEMCTL="hang",
                                  FAKE_JOURNAL="hang")
    assert code == 0
    assert report["bootStatus"]["reasons"]["system"] == "systemctl timed out"
    assert report["journalErrors"]["reason"] == "journalctl timed out"


# --- versions and revisions ----------------------------------------------------------------

def test_commit_from_nixos_version(machine: FakeSystem) -> None:
    _, report = machine.report("--no-eval", FAKE_CONFIGURATION_REVISION="0123456789abcdef0123456789abcdef01234567")
    gen = report["generation"]
    assert gen["commit"] == "0123456"
    assert gen["commitFull"] == "0123456789abcdef0123456789abcdef01234567"
    assert gen["commitSource"] == "nixos-version"
    assert gen["nixpkgsRevision"] == "5e4fbfb6b3de1aa2872b76d49fafc942626e2add"
    assert gen["nixosVersion"] == "24.11.20241124.5e4fbfb"


def test_commit_falls_back_to_the_flake_checkout(machine: FakeSystem) -> None:
    _, report = machine.report("--no-eval", FAKE_NIXPKGS_REVISION="")
    gen = report["generation"]
    assert gen["commitFull"] == "b7e1f00d" * 5
    assert gen["commitSource"] == "flake checkout"
    assert gen["nixpkgsRevision"] == "aaaa1111bbbb2222cccc3333dddd4444eeee5555"  # flake.lock


def test_commit_from_packed_refs_of_a_worktree(machine: FakeSystem) -> None:
    git = machine.under("/etc/nixos/.git")
    (git / "refs/heads/main").unlink()
    (git / "packed-refs").write_text("# pack-refs with: peeled fully-peeled sorted\n"
                                     f"{'c0ffee00' * 5} refs/heads/main\n")
    _, report = machine.report("--no-eval")
    assert report["generation"]["commitFull"] == "c0ffee00" * 5


def test_without_nixos_version_the_generations_own_script_is_read(tmp_path: Path) -> None:
    fake = FakeSystem(tmp_path, tools=("systemctl", "journalctl"))
    fake.system(1, revision="feedbeef" * 5, version="24.05.20240601.abcdef0")
    fake.profile(1)
    fake.running(1)
    _, report = fake.report("--no-eval")
    assert report["generation"]["commitFull"] == "feedbeef" * 5
    assert report["generation"]["nixosVersion"] == "24.05.20240601.abcdef0"


def test_dirty_configuration_revision_keeps_its_suffix(machine: FakeSystem) -> None:
    _, report = machine.report("--no-eval", FAKE_CONFIGURATION_REVISION="0123456789abcdef0123456789abcdef01234567-dirty")
    assert report["generation"]["commit"] == "0123456-dirty"


# --- the root ------------------------------------------------------------------------------

def test_a_mounted_system_is_read_from_files_only(tmp_path: Path) -> None:
    """Like /mnt: no /run/current-system, so systemd and journald (which describe the
    running host) are not asked; the newest generation's own files are read."""
    fake = FakeSystem(tmp_path)
    fake.system(1)
    fake.system(2, revision="abcdef01" * 5)
    fake.profile(2)
    fake.write("/etc/hostname", "laptop\n")
    code, report = fake.report("--no-eval", FAKE_ARGV_LOG=str(tmp_path / "argv.log"))
    assert argv_log(fake) == []
    assert report["hostname"] == "laptop"
    assert report["root"] == str(fake.root)
    assert report["generation"]["latestGeneration"] == "g2"
    assert report["generation"]["commitFull"] == "abcdef01" * 5
    assert report["bootStatus"]["reasons"]["system"] == "the inspected system is not running"
    assert code == 1 and report["overallStatus"] == "unknown"


def test_links_are_followed_inside_the_root_only(tmp_path: Path) -> None:
    fake = FakeSystem(tmp_path, tools=())
    fake.system(1, version="23.11.1")
    fake.profile(1)
    fake.running(1)
    # the host's own /run/current-system must not be what is read
    _, report = fake.report("--no-eval")
    assert report["generation"]["nixosVersion"] == "23.11.1"


# --- arguments -----------------------------------------------------------------------------

@pytest.mark.parametrize("args", [["--bogus"], ["--eval-timeout", "-1"], ["--timeout", "x"],
                                  ["history", "-n", "many"], ["nonsense"], ["lib"]])
def test_bad_arguments_exit_3(machine: FakeSystem, args: list[str]) -> None:
    proc = machine.status(*args)
    assert proc.returncode == 3
    assert "error:" in proc.stderr


def test_status_subcommand_is_the_bare_command(machine: FakeSystem) -> None:
    code, report = machine.report("--no-eval")
    proc = machine.status("status", "--json", "--no-eval")
    assert proc.returncode == code
    assert json.loads(proc.stdout)["generation"] == report["generation"]


def test_the_status_path_imports_nothing_heavy(machine: FakeSystem) -> None:
    """trio alone costs more import time than the whole report may take.  msgspec (a
    few milliseconds) types the records and the report; the parsers are loaded only
    when a log must be read."""
    code = ("import sys\nfrom status.cli import main\n"
            "code = main(['--json', '--no-eval'])\n"
            "heavy = sorted(m for m in ('trio', 'anyio', 'rich', 'parsers', 'sinks')"
            " if m in sys.modules)\n"
            "sys.stderr.write(f'heavy={heavy}\\n')\n")
    proc = subprocess.run([sys.executable, "-c", code], env=machine.env(), cwd=ROOT,
                          capture_output=True, text=True, timeout=60, check=False)
    assert json.loads(proc.stdout)["overallStatus"] == "success"
    assert proc.stderr.splitlines()[-1] == "heavy=[]"


def test_under_sudo_the_user_units_are_the_sudo_users(machine: FakeSystem) -> None:
    if os.geteuid() != 0:
        pytest.skip("SUDO_USER is followed only when running as root")
    machine.report("--no-eval", SUDO_USER="nobody", FAKE_ARGV_LOG=str(machine.tmp / "argv.log"))
    calls = [json.loads(line) for line in (machine.tmp / "argv.log").read_text().splitlines()]
    user_calls = [c for c in calls if c[0] == "systemctl" and "--user" in c]
    assert user_calls and all("--machine=nobody@" in c for c in user_calls)
    system_calls = [c for c in calls if c[0] == "systemctl" and "--user" not in c]
    assert system_calls and not any(a.startswith("--machine") for c in system_calls for a in c)


@pytest.mark.parametrize(("problems", "expected"), [
    ([], ("success", 0)),
    (["system-generation-unknown"], ("unknown", 1)),
    (["home-manager-out-of-sync", "system-generation-unknown"], ("out-of-sync", 1)),
    (["failed-units", "system-out-of-sync"], ("degraded", 2)),
    (["evaluation-failed", "failed-units"], ("build-errors", 2)),
    (["last-build-failed", "failed-units", "system-out-of-sync"], ("build-errors", 2)),
])
def test_the_most_serious_problem_wins(problems: list[str], expected: tuple[str, int]) -> None:
    from status.report import overall

    assert overall(problems) == expected
