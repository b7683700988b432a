"""The wrapper around a real nix-build (Debian's nix-bin in CI): the fake nixos-rebuild
runs the real thing (FAKE_LIVE_NIX=1), so the PTY runner, the parser and the sinks see
what nix really writes, live."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import run_wrapper

# Without nix-build these fail with the install hint in CI and skip with it elsewhere,
# loudly in the summary (tests/conftest.py): every other test still runs.
pytestmark = pytest.mark.realnix


def test_real_successful_build_under_the_pty(tmp_path: Path):
    run = run_wrapper(tmp_path, ["os", "build", "--no-nh", "--events", "ndjson"],
                      FAKE_LIVE_NIX="1", timeout=300)
    assert run.returncode == 0, run.stderr
    events = run.ndjson()
    assert events[0]["type"] == "build.started" and events[-1]["type"] == "build.finished"
    finished = [e["name"] for e in events if e["type"] == "derivation.finished"]
    assert sorted(finished) == sorted(["zlib-1.3.1", "openssl-3.0.14", "curl-8.9.1", "etc",
                                       "nixos-system-demo-24.11.20241124"])
    phases = {(e["name"], e["phase"]) for e in events if e["type"] == "phase"}
    assert ("zlib-1.3.1", "buildPhase") in phases
    logs = [e["text"] for e in events if e["type"] == "log.line" and e.get("name") == "zlib-1.3.1"]
    assert "  CC       src/part1.o" in logs
    record = run.last_build()
    assert record["success"] is True and record["derivations"]["built"] == 5
    # The raw log holds nix's own bytes: internal-json lines, no \r added by the PTY.
    raw = (run.log_dir / "last-build.log").read_bytes()
    assert b'@nix {"action":"start"' in raw and b"\r\n" not in raw


def test_real_failing_build_reports_cause_phase_and_abort(tmp_path: Path):
    run = run_wrapper(tmp_path, ["os", "switch", "--no-nh", "--events", "ndjson"],
                      FAKE_LIVE_NIX="1", FAKE_SCENARIO="build-failure", timeout=300)
    assert run.returncode == 100, run.stderr
    events = run.ndjson()
    (failed,) = [e for e in events if e["type"] == "derivation.failed"]
    assert (failed["name"], failed["exitCode"], failed["phase"]) == ("broken-tool-0.3.1", 2, "buildPhase")
    assert failed["logTail"][-1] == "make: *** [Makefile:12: src/main.o] Error 1"
    # slow-docs sleeps 6 s in total: nix gives up on it after broken-tool fails.
    assert [e["name"] for e in events if e["type"] == "derivation.aborted"] == ["slow-docs-2.1"]
    record = run.last_build()
    assert record["errorDetails"][0]["kind"] == "build-failure"
    assert record["errorDetails"][0]["rootCause"] is True
    assert record["errorDetails"][-1]["kind"] == "dependency-failure"


def test_real_evaluation_error_points_at_the_file(tmp_path: Path):
    run = run_wrapper(tmp_path, ["os", "build", "--no-nh", "--json"],
                      FAKE_LIVE_NIX="1", FAKE_SCENARIO="eval-error", timeout=300)
    assert run.returncode == 1
    (error,) = run.last_build()["errorDetails"]
    assert error["kind"] == "attribute-missing"
    assert error["file"].endswith("fixtures/nix/eval-error.nix") and error["line"] == 10


def test_real_build_under_nh_arrives_through_the_terminal(tmp_path: Path):
    run = run_wrapper(tmp_path, ["os", "build", "--json"], FAKE_LIVE_NIX="1", timeout=300)
    assert run.returncode == 0, run.stderr
    record = run.last_build()
    assert record["tool"] == "nh" and record["derivations"]["built"] == 5
    raw = (run.log_dir / "last-build.log").read_bytes()
    assert b"Building NixOS configuration" in raw and b'@nix {"action":"start"' in raw
