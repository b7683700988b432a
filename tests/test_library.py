"""The Python API (``import nixos_build_status``): the original design's functions,
returning Python values, reading the system under NIXOS_BUILD_ROOT."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

import nixos_build_status as nbs
from tests.conftest import RECORDED, ROOT
from tests.test_status_fakes import FakeSystem

ORIGINAL_FUNCTIONS = (
    "json_escape", "json_bool", "get_current_generation", "get_current_generation_json",
    "get_generation_short", "is_generation_in_sync", "get_last_build_status",
    "get_last_build_exit_code", "was_last_build_successful", "get_build_history",
    "get_build_history_summary", "extract_nix_errors", "extract_build_phase",
    "check_failed_units", "check_journal_errors", "get_current_commit",
    "get_current_nixpkgs_rev", "get_home_manager_generation", "create_status_report",
)


@pytest.fixture
def machine(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> FakeSystem:
    fake = FakeSystem(tmp_path)
    fake.in_sync_system(4, 5)
    fake.home_manager(9)
    fake.flake()
    fake.last_build(exitCode=0)
    for key in list(__import__("os").environ):
        if key.startswith(("FAKE_", "NH_", "NIXOS_BUILD", "XDG_", "SUDO_")):
            monkeypatch.delenv(key)
    for key, value in fake.env().items():
        monkeypatch.setenv(key, value)
    return fake


def test_every_original_function_is_exported() -> None:
    for name in ORIGINAL_FUNCTIONS:
        assert callable(getattr(nbs, name)), name
        assert name in nbs.__all__


def test_importing_the_package_imports_nothing_heavy() -> None:
    code = ("import sys, nixos_build_status; "
            "print(sorted(m for m in ('msgspec', 'trio', 'anyio', 'rich', 'orchestrator', 'parsers')"
            " if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                         check=True).stdout
    assert out.strip() == "[]"


@pytest.mark.parametrize(("text", "escaped"), [
    ("plain", "plain"),
    ('say "hi"', 'say \\"hi\\"'),
    ("back\\slash", "back\\\\slash"),
    ("line\nnext\ttab\r", "line\\nnext\\ttab\\r"),
    ("\x01\x1f\b\f", "\\u0001\\u001f\\b\\f"),
    ("ünïcödé ✓", "ünïcödé ✓"),
])
def test_json_escape(text: str, escaped: str) -> None:
    assert nbs.json_escape(text) == escaped
    assert json.loads(f'"{nbs.json_escape(text)}"') == text


@pytest.mark.parametrize(("value", "result"), [
    ("true", "true"), ("YES", "true"), ("1", "true"), (" on ", "true"), (True, "true"),
    ("false", "false"), ("0", "false"), ("", "false"), ("maybe", "false"), (False, "false"),
])
def test_json_bool(value: object, result: str) -> None:
    assert nbs.json_bool(value) == result


def test_generation_functions(machine: FakeSystem) -> None:
    assert nbs.get_current_generation() == 5
    assert nbs.get_generation_short() == "g5"
    assert nbs.is_generation_in_sync() is True
    assert nbs.get_home_manager_generation() == "hm9"
    data = json.loads(nbs.get_current_generation_json())
    assert data["generation"] == "g5" and data["homeManagerGeneration"] == "hm9"


def test_out_of_sync_home_manager_is_not_in_sync(machine: FakeSystem) -> None:
    machine.home_manager(10, active=False)
    assert nbs.is_generation_in_sync() is False


def test_unknown_generation_is_none_and_not_in_sync(tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NIXOS_BUILD_ROOT", str(tmp_path))
    assert nbs.get_current_generation() is None
    assert nbs.get_generation_short() is None
    assert nbs.is_generation_in_sync() is False
    assert nbs.get_home_manager_generation() is None


def test_root_argument_overrides_the_environment(machine: FakeSystem, tmp_path: Path) -> None:
    other = FakeSystem(tmp_path / "other")
    other.in_sync_system(77)
    assert nbs.get_current_generation(root=other.root) == 77
    assert nbs.get_current_generation() == 5


def test_build_record_functions(machine: FakeSystem) -> None:
    assert nbs.get_last_build_status()["exitCode"] == 0  # type: ignore[index]
    assert nbs.get_last_build_exit_code() == 0
    assert nbs.was_last_build_successful() is True
    machine.last_build(success=False, exitCode=4)
    assert nbs.get_last_build_exit_code() == 4
    assert nbs.was_last_build_successful() is False
    assert nbs.get_last_build_status(machine.tmp / "nowhere") is None
    assert nbs.was_last_build_successful(machine.tmp / "nowhere") is False


def test_history_functions(machine: FakeSystem) -> None:
    assert nbs.get_build_history() == []
    machine.history([{"buildStart": f"2024-11-2{i}T10:00:00+00:00", "success": i != 2,
                      "buildDuration": 10 * i} for i in range(1, 5)])
    assert [b["buildDuration"] for b in nbs.get_build_history()] == [10, 20, 30, 40]
    summary = nbs.get_build_history_summary(count=2)
    assert [b["buildDuration"] for b in summary["builds"]] == [40, 30]  # newest first
    assert summary["meanDuration"] == 35.0
    (machine.log_dir / "build-history.json").write_text("{not a list")
    with pytest.raises(ValueError, match="not a JSON list"):
        nbs.get_build_history()


def test_error_extraction_uses_the_projects_extractor(tmp_path: Path) -> None:
    errors = nbs.extract_nix_errors(RECORDED / "build-failure.plain.log")
    assert errors[0].startswith("error: builder for '/nix/store/")
    assert "broken-tool-0.3.1" in errors[0]
    assert any("dependencies of derivation" in e for e in errors[1:])  # consequences after
    assert nbs.extract_build_phase(RECORDED / "build-failure.internal-json.log") == "buildPhase"
    assert nbs.extract_nix_errors(RECORDED / "success.plain.log") == []
    assert nbs.extract_build_phase(RECORDED / "eval-error.plain.log") is None
    with pytest.raises(OSError):
        nbs.extract_nix_errors(tmp_path / "missing.log")


def test_health_functions(machine: FakeSystem, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FAKE_FAILED_UNITS", "nginx.service")
    monkeypatch.setenv("FAKE_USER_FAILED_UNITS", "pipewire.service")
    monkeypatch.setenv("FAKE_JOURNAL_ERRORS", "4")
    assert nbs.check_failed_units() == ["nginx.service", "pipewire.service"]
    assert nbs.check_journal_errors() == 4
    monkeypatch.setenv("FAKE_SYSTEMCTL", "no-systemd")
    monkeypatch.setenv("FAKE_JOURNAL", "no-journal")
    assert nbs.check_failed_units() is None
    assert nbs.check_journal_errors("today") is None


def test_metadata_functions(machine: FakeSystem, monkeypatch: pytest.MonkeyPatch) -> None:
    assert nbs.get_current_commit() == "b7e1f00"  # the flake checkout: nixos-version has none
    assert nbs.get_current_nixpkgs_rev() == "5e4fbfb6b3de1aa2872b76d49fafc942626e2add"
    monkeypatch.setenv("FAKE_CONFIGURATION_REVISION", "c0ffee00" * 5)
    monkeypatch.setenv("FAKE_NIXPKGS_REVISION", "")
    assert nbs.get_current_commit() == "c0ffee0"
    assert nbs.get_current_nixpkgs_rev() == "aaaa1111bbbb2222cccc3333dddd4444eeee5555"


def test_reports(machine: FakeSystem) -> None:
    report = json.loads(nbs.create_status_report("json", evaluate=False))
    assert report["overallStatus"] == "success"
    assert nbs.status_report(evaluate=False)["generation"]["generation"] == "g5"
    human = nbs.create_status_report("human", evaluate=False)
    assert human.startswith("=== NixOS Build Status ===\n")
    with pytest.raises(ValueError, match="unknown report format"):
        nbs.create_status_report("xml")


def test_library_sh_is_shipped_in_the_package() -> None:
    assert nbs.LIBRARY_SH.name == "build-status.sh"
    assert nbs.LIBRARY_SH.parent == Path(nbs.__file__).resolve().parent
    assert nbs.LIBRARY_SH.is_file()


def test_errors_and_phase_of_an_nh_build_log(tmp_path: Path) -> None:
    """Under nh, last-build.log holds nh's own lines and nix's structured stream."""
    (tmp_path / "last-build.log").write_bytes(
        b"> Building NixOS configuration\n"
        + (RECORDED / "build-failure.internal-json.log").read_bytes()
        + b"Error: \n   0: Failed to build configuration\n"
        b"   1: Command exited with status Exited(100)\n")
    errors = nbs.extract_nix_errors(tmp_path / "last-build.log")
    assert errors[0].startswith("error: builder for '/nix/store/")
    assert nbs.extract_build_phase(tmp_path / "last-build.log") == "buildPhase"
    (tmp_path / "last-build.log").write_text("> Building NixOS configuration\n")
    assert nbs.extract_build_phase(tmp_path / "last-build.log") is None
