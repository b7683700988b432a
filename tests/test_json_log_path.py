"""``json-log-path`` capture with real Nix 2.34 (Debian sid's, fixtures/nixenv.py): nix
streams to the wrapper's private socket, named in NIX_CONFIG, and the tool's argv
keeps no ``--log-format``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import NixEra, of_type, parse, run_wrapper, wrapper_env

pytestmark = pytest.mark.realnix
SYSTEM = ["curl-8.9.1", "etc", "nixos-system-demo-24.11.20241124", "openssl-3.0.14", "zlib-1.3.1"]


def _calls(tmp_path: Path) -> list[list[str]]:
    return [json.loads(line) for line in (tmp_path / "argv.log").read_text().splitlines()]


def test_flake_nixos_rebuild_streams_through_the_socket(nix_234: NixEra, tmp_path: Path):
    env = nix_234.env(wrapper_env(tmp_path, FAKE_LIVE_NIX="cli",
                                  FAKE_ARGV_LOG=str(tmp_path / "argv.log"),
                                  NIX_CONFIG="warn-dirty = false"))
    run = run_wrapper(tmp_path, ["os", "build", "--no-nh", "--flake", "/etc/nixos#demo",
                                 "--events", "ndjson"], env=env, timeout=300)
    assert run.returncode == 0, run.stderr
    events = run.ndjson()
    started = events[0]
    assert (started["capture"], started["nixVersion"], started["nixFlavour"]) == (
        "json-log-path", "2.34.8", "nix")
    assert started["eventsFrom"] == "internal-json"
    record = run.last_build()  # the record says the same
    assert (record["capture"], record["nixVersion"], record["nixFlavour"]) == (
        "json-log-path", "2.34.8", "nix")
    # The tool's argv is the user's: nothing asks nix for a log format.
    (call,) = [c for c in _calls(tmp_path) if c[0] == "nixos-rebuild"]
    assert "--log-format" not in call and "internal-json" not in call
    # The events come from nix's structured stream: phases exist only there.
    assert sorted(e["name"] for e in events if e["type"] == "derivation.finished") == SYSTEM
    assert ("zlib-1.3.1", "buildPhase") in {(e["name"], e["phase"]) for e in events
                                            if e["type"] == "phase"}
    assert run.last_build()["success"] is True
    # The raw log: the terminal's bytes and the stream's lines, which replay alike.
    raw = (run.log_dir / "last-build.log").read_bytes()
    assert b'@nix {"action":"start"' in raw
    replayed = parse(raw, exit_code=0)
    assert sorted(e.name for e in of_type(replayed, "derivation.finished")) == SYSTEM


def test_failed_build_through_the_socket_reports_each_error_once(nix_234: NixEra, tmp_path: Path):
    env = nix_234.env(wrapper_env(tmp_path, FAKE_LIVE_NIX="cli", FAKE_SCENARIO="build-failure"))
    run = run_wrapper(tmp_path, ["os", "build", "--no-nh", "--flake", "/etc/nixos#demo",
                                 "--events", "ndjson"], env=env, timeout=300)
    assert run.returncode == 1, run.stderr
    events = run.ndjson()
    assert events[0]["capture"] == "json-log-path"
    (failed,) = [e for e in events if e["type"] == "derivation.failed"]
    assert (failed["name"], failed["exitCode"], failed["phase"]) == ("broken-tool-0.3.1", 2,
                                                                     "buildPhase")
    errors = [(e["kind"], e["derivation"]) for e in events if e["type"] == "error"]
    assert errors == [("build-failure", "broken-tool-0.3.1"),
                      ("dependency-failure", "nixos-system-demo-24.11.20241124")]


def test_without_a_flake_nix_build_gets_the_log_format(nix_234: NixEra, tmp_path: Path):
    """nix-build ignores json-log-path: the command line asks for the stream."""
    env = nix_234.env(wrapper_env(tmp_path, FAKE_LIVE_NIX="1",
                                  FAKE_ARGV_LOG=str(tmp_path / "argv.log")))
    run = run_wrapper(tmp_path, ["os", "build", "--no-nh", "--events", "ndjson"], env=env,
                      timeout=300)
    assert run.returncode == 0, run.stderr
    started = run.ndjson()[0]
    assert (started["capture"], started["nixVersion"]) == ("log-format", "2.34.8")
    (call,) = [c for c in _calls(tmp_path) if c[0] == "nixos-rebuild"]
    assert "--log-format" in call


def test_nh_with_json_log_path_keeps_its_argv(nix_234: NixEra, tmp_path: Path):
    """nh (the fake 4.4.2, building with the real 2.34's `nix build`): no ``-- --log-format``
    after its own options, and the events still come from nix's stream."""
    env = nix_234.env(wrapper_env(tmp_path, FAKE_LIVE_NIX="cli",
                                  FAKE_ARGV_LOG=str(tmp_path / "argv.log")))
    run = run_wrapper(tmp_path, ["os", "build", "--events", "ndjson"], env=env, timeout=300)
    assert run.returncode == 0, run.stderr
    events = run.ndjson()
    assert (events[0]["tool"], events[0]["capture"]) == ("nh", "json-log-path")
    (call,) = [c for c in _calls(tmp_path) if c[0] == "nh"]
    assert "--" not in call and "--log-format" not in call
    assert sorted(e["name"] for e in events if e["type"] == "derivation.finished") == SYSTEM
    assert {e["phase"] for e in events if e["type"] == "phase"} >= {"buildPhase", "installPhase"}
