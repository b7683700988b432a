"""Every Nix era the same: the recordings of Nix 2.8 (the host's), 2.26 (Debian trixie)
and 2.34 (Debian sid) parse to the same events and errors, and the wrapper runs over
each real Nix (fixtures/nixenv.py's chroots, tests/conftest.py's ``nix_era``)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from parsers.events import Event
from tests.conftest import RECORDED, NixEra, of_type, parse, run_wrapper, wrapper_env

ERA_DIRS = {"2.8": RECORDED, "2.26": RECORDED / "nix-2.26", "2.34": RECORDED / "nix-2.34"}
SCENARIO_STEMS = [
    "success.internal-json", "success.plain",
    "build-failure.internal-json", "build-failure.plain", "build-failure.nix-build-cli",
    "eval-error.internal-json", "eval-error.plain", "eval-error.show-trace",
    "hash-mismatch.internal-json", "hash-mismatch.plain",
]
SYSTEM = ["curl-8.9.1", "etc", "nixos-system-demo-24.11.20241124", "openssl-3.0.14", "zlib-1.3.1"]


def _seedless(name: str | None) -> str | None:
    """The hash-mismatch source is named after its recording's seed."""
    return re.sub(r"^source-[0-9a-f]{8}", "source-SEED", name) if name else name


def summary(events: list[Event]) -> dict[str, Any]:
    """What a reader of the events learns, without store hashes, timings or log lines."""
    return {
        "finished": sorted(e.name for e in of_type(events, "derivation.finished")),
        "failed": [(_seedless(e.name), e.exit_code, e.reason, e.log_tail[-1:])
                   for e in of_type(events, "derivation.failed")],
        "aborted": sorted(e.name for e in of_type(events, "derivation.aborted")),
        "phases": sorted({(e.name, e.phase) for e in of_type(events, "phase")}),
        "errors": [(e.kind, _seedless(e.derivation), e.exit_code, e.root_cause,
                    e.file.rsplit("/", 1)[-1] if e.file else None, e.line,
                    e.specified is not None, e.got is not None)
                   for e in of_type(events, "error")],
        "unknown": len(of_type(events, "nix.unknown")),
    }


JSON_LOG_PATH_STEMS = [f"{s}.json-log-path" for s in
                       ("success", "build-failure", "eval-error", "hash-mismatch")]


def test_every_era_was_recorded_with_its_nix():
    for era, directory in ERA_DIRS.items():
        manifest = json.loads((directory / "MANIFEST.json").read_text())
        # json-log-path exists from Nix 2.30: only 2.34 has those recordings.
        assert sorted(manifest) == sorted(SCENARIO_STEMS + (JSON_LOG_PATH_STEMS if era == "2.34"
                                                            else [])), era
        for stem, entry in manifest.items():
            assert entry["nixVersion"].startswith(f"nix-build (Nix) {era}."), (era, stem)
            assert (directory / f"{stem}.log").stat().st_size == entry["bytes"]


@pytest.mark.parametrize("stem", SCENARIO_STEMS)
def test_every_era_parses_to_the_same_events(stem: str):
    summaries = {era: summary(parse((d / f"{stem}.log").read_bytes(), exit_code=json.loads(
        (d / "MANIFEST.json").read_text())[stem]["exitCode"])) for era, d in ERA_DIRS.items()}
    reference = summaries["2.8"]
    for era, found in summaries.items():
        assert found == reference, era
    scenario, variant = stem.split(".")
    if scenario == "success":
        assert reference["finished"] == SYSTEM and not reference["errors"]
        if variant == "internal-json":
            assert ("zlib-1.3.1", "installPhase") in reference["phases"]
    elif scenario == "build-failure":
        assert reference["failed"] == [("broken-tool-0.3.1", 2, "builder-failed",
                                        ["make: *** [Makefile:12: src/main.o] Error 1"])]
        assert [(k, d, root) for k, d, _, root, *_ in reference["errors"]] == [
            ("build-failure", "broken-tool-0.3.1", True),
            ("dependency-failure", "nixos-system-demo-24.11.20241124", False)]
    elif scenario == "eval-error":
        assert reference["errors"] == [("attribute-missing", None, None, True, "eval-error.nix",
                                        10, False, False)]
    else:
        (error,) = reference["errors"]
        assert error[:2] == ("hash-mismatch", reference["failed"][0][0]) and error[6:] == (True, True)
    assert reference["unknown"] == 0


def test_newer_wording_is_what_the_newer_eras_print():
    """2.29+ ``Cannot build '…'.`` / ``Reason:`` / ``Output paths:``; 2.26+'s two-line
    ``For full logs, run:``: real bytes, the same errors as 2.8's wording."""
    new = (RECORDED / "nix-2.34" / "build-failure.nix-build-cli.log").read_text()
    assert "Cannot build '" in new and "Reason: builder failed with exit code 2." in new
    assert "Output paths:" in new and "Last 8 log lines:" in new
    assert "For full logs, run:\n         nix log " in new
    old = (RECORDED / "build-failure.nix-build-cli.log").read_text()
    assert "builder for '" in old and "Cannot build" not in old
    for era in ("2.26", "2.34"):
        events = parse((ERA_DIRS[era] / "build-failure.nix-build-cli.log").read_bytes())
        error = of_type(events, "error")[0]
        # The quoted tail stops before the hint: neither "For full logs" nor "nix log".
        assert error.log_tail[0] == "unpacking source archive broken-tool-0.3.1.tar.gz", era
        assert error.log_tail[-1] == "make: *** [Makefile:12: src/main.o] Error 1", era


def test_nix_2_34_messages_carry_parent_and_raw_msg():
    """What 2.34 adds to the stream (also in 2.26: ``parent`` since 2.18, ``raw_msg``
    since 2.4) parses without a single ``nix.unknown``."""
    data = (ERA_DIRS["2.34"] / "build-failure.internal-json.log").read_bytes()
    assert b'"parent":' in data and b'"raw_msg":' in data
    events = parse(data)
    assert not of_type(events, "nix.unknown")


# --- the wrapper over each real Nix ---------------------------------------------------


@pytest.mark.realnix
def test_wrapper_over_every_real_nix(nix_era: NixEra, tmp_path: Path):
    """nixos-rebuild (the fake, running the era's real nix-build under the wrapper's
    PTY): a failing build with a dependent, as each Nix really reports it."""
    env = nix_era.env(wrapper_env(tmp_path, FAKE_LIVE_NIX="1", FAKE_SCENARIO="build-failure"))
    run = run_wrapper(tmp_path, ["os", "build", "--no-nh", "--events", "ndjson"], env=env,
                      timeout=300)
    assert run.returncode == 100, run.stderr
    events = run.ndjson()
    (failed,) = [e for e in events if e["type"] == "derivation.failed"]
    assert (failed["name"], failed["exitCode"], failed["phase"]) == ("broken-tool-0.3.1", 2,
                                                                     "buildPhase")
    errors = [(e["kind"], e["derivation"]) for e in events if e["type"] == "error"]
    assert errors == [("build-failure", "broken-tool-0.3.1"),
                      ("dependency-failure", "nixos-system-demo-24.11.20241124")]
    raw = (run.log_dir / "last-build.log").read_bytes()
    wording = b"Cannot build '" if nix_era.version == "2.34" else b"builder for '"
    assert wording in raw


@pytest.mark.realnix
def test_nix_cli_build_over_every_real_nix(nix_era: NixEra, tmp_path: Path):
    """``nix build`` (the new CLI nh and flake nixos-rebuild use) succeeding."""
    env = nix_era.env(wrapper_env(tmp_path, FAKE_LIVE_NIX="cli"))
    run = run_wrapper(tmp_path, ["os", "build", "--no-nh", "--events", "ndjson"], env=env,
                      timeout=300)
    assert run.returncode == 0, run.stderr
    events = run.ndjson()
    assert sorted(e["name"] for e in events if e["type"] == "derivation.finished") == SYSTEM
    assert run.last_build()["success"] is True


@pytest.mark.realnix
def test_dry_build_plan_says_dry_run_with_every_real_nix(nix_era: NixEra, tmp_path: Path):
    """Nix 2.8 to 2.34 say "will be built" on a dry run too: the plan still says
    dryRun, because the wrapper asked for one; nothing is built."""
    env = nix_era.env(wrapper_env(tmp_path, FAKE_LIVE_NIX="1"))
    run = run_wrapper(tmp_path, ["os", "dry-build", "--no-nh", "--events", "ndjson"], env=env,
                      timeout=300)
    assert run.returncode == 0, run.stderr
    events = run.ndjson()
    (plan,) = [e for e in events if e["type"] == "plan"]
    assert plan["dryRun"] is True and len(plan["builds"]) == 5
    assert not [e for e in events if e["type"] == "derivation.started"]
    assert b"will be built" in (run.log_dir / "last-build.log").read_bytes()


def test_a_saved_log_says_dry_run_only_when_nix_does():
    """Replaying a log: "will be built" alone is no dry run; Nix 2.3's "would be" is."""
    data = (ERA_DIRS["2.34"] / "success.plain.log").read_bytes()
    assert [p.dry_run for p in of_type(parse(data), "plan")] == [False]
    old = b"these derivations would be built:\n  /nix/store/mn1ndvl7kaspp8qcmjsg3r01i3pgc648-zlib-1.3.1.drv\n"
    assert [p.dry_run for p in of_type(parse(old), "plan")] == [True]


def test_nix_234_fields_parent_raw_msg_and_file_with_its_position_are_used():
    """``parent`` makes the activity tree; ``file`` reads ``path:line:col`` since 2.13
    (real 2.34 bytes): the position is the file alone; ``raw_msg`` names the kind when
    the formatted text does not."""
    data = (ERA_DIRS["2.34"] / "eval-error.internal-json.log").read_bytes()
    (error,) = of_type(parse(data, exit_code=1), "error")
    assert error.file is not None and error.file.endswith("/fixtures/nix/eval-error.nix")
    assert (error.line, error.column) == (10, 28)
    # The position only in the fields (as nix#13910 shows it), the kind only in raw_msg.
    line = (b'@nix {"action":"msg","level":0,"msg":"\\u001b[31;1merror:\\u001b[0m\\n       odd layout",'
            b'"raw_msg":"infinite recursion encountered","file":"/home/a/cfg/default.nix:4:3",'
            b'"line":4,"column":3}\n')
    (error,) = of_type(parse(line, exit_code=1), "error")
    assert (error.kind, error.file, error.line, error.column) == (
        "infinite-recursion", "/home/a/cfg/default.nix", 4, 3)
    starts = (b'@nix {"action":"start","id":5,"level":3,"parent":0,"text":"querying","type":0}\n'
              b'@nix {"action":"start","id":6,"level":3,"parent":5,"text":"hook","type":110,'
              b'"fields":["/nix/store/8l8nlczszkhvi8rgq7rzgdkj6gcjxppf-broken-tool-0.3.1.drv"]}\n')
    assert [(a.id, a.parent) for a in of_type(parse(starts), "activity.started")] == [
        (5, None), (6, 5)]


@pytest.mark.parametrize("stem", JSON_LOG_PATH_STEMS)
def test_json_log_path_stream_parses_like_the_log_format(stem: str):
    """Real Nix 2.34's json-log-path file (JSON lines, no ``@nix ``), fed as the socket's
    lines are, gives what ``--log-format internal-json`` gives on the terminal."""
    from parsers.clock import ManualClock
    from parsers.events import BuildStarted
    from parsers.stream import LogStream

    directory = ERA_DIRS["2.34"]
    manifest = json.loads((directory / "MANIFEST.json").read_text())
    stream = LogStream(ManualClock())
    events = stream.begin(BuildStarted(build_id="t", source="log"))
    for line in (directory / f"{stem}.jsonl").read_bytes().splitlines():
        assert not line.startswith(b"@nix")
        events += stream.feed_structured(line)
    events += stream.end(manifest[stem]["exitCode"])
    scenario = stem.split(".")[0]
    reference = summary(parse((directory / f"{scenario}.internal-json.log").read_bytes(),
                              exit_code=manifest[f"{scenario}.internal-json"]["exitCode"]))
    found = summary(events)
    if scenario == "build-failure":
        # nix build stops slow-docs as nix-build does, but may get to start it or not.
        for s in (found, reference):
            s["aborted"] = []
            s["phases"] = [p for p in s["phases"] if p[0] != "slow-docs-2.1"]
    assert found == reference
    # The terminal showed no structured line at all.
    assert b"@nix" not in (directory / f"{stem}.log").read_bytes()
