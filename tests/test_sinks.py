"""File sinks: atomic records, a history that survives concurrency and corruption, no
symlink following, and a full disk that switches a sink off without stopping others."""

from __future__ import annotations

import io
import json
import multiprocessing
import os
import shutil
import subprocess
import sys
from pathlib import Path

import msgspec
import pytest

from parsers.events import BuildFinished, BuildStarted, ErrorEvent, LogLine
from records.files import atomic_write, open_append
from records.schema import ErrorDetail, LastBuild, history_entry
from sinks.base import SinkSet
from sinks.history import HISTORY_LIMIT, append_history, load_history
from sinks.record import BuildRecord
from sinks.summary import LastBuildJson


def record_of(*events) -> BuildRecord:
    record = BuildRecord()
    record.handle(list(events))
    return record


def test_record_keeps_the_original_keys_and_puts_root_causes_first():
    record = record_of(
        BuildStarted(build_id="b1", ts="2026-11-24T11:30:58.123Z", target="os", action="switch",
                     tool="nh", argv=["nh", "os", "switch"], flake="/etc/nixos", hostname="h", user="u",
                     log_path="/var/log/nixos-builds/logs/x.log"),
        ErrorEvent(kind="dependency-failure", message="error: 1 dependencies failed", root_cause=False),
        ErrorEvent(kind="build-failure", message="error: builder for 'x' failed", exit_code=2),
        BuildFinished(ts="2026-11-24T11:33:13.500Z", exit_code=1, success=False, duration_ms=135_377,
                      built=3, failed=1),
    ).to_record()
    record = msgspec.to_builtins(record)
    for key in ("buildStart", "buildEnd", "buildDuration", "target", "action", "tool", "flakePath",
                "exitCode", "success", "hostname", "user", "command", "preGeneration",
                "postGeneration", "buildLogPath", "errors"):
        assert key in record
    assert record["buildStart"] == "2026-11-24T11:30:58+00:00"
    assert record["buildDuration"] == 135
    assert record["command"] == "nh os switch"
    assert record["errors"].splitlines() == ["error: builder for 'x' failed", "error: 1 dependencies failed"]
    assert [e["kind"] for e in record["errorDetails"]] == ["build-failure", "dependency-failure"]
    assert record["derivations"]["built"] == 3


def test_atomic_write_replaces_and_refuses_to_follow_symlinks(tmp_path: Path):
    target = tmp_path / "victim"
    target.write_text("keep me")
    link = tmp_path / "last-build.json"
    link.symlink_to(target)
    atomic_write(link, b"{}\n")
    assert target.read_text() == "keep me"       # the rename replaced the link itself
    assert not link.is_symlink() and link.read_text() == "{}\n"
    log = tmp_path / "last-build.log"
    log.symlink_to(target)
    with pytest.raises(OSError):
        open_append(log)
    assert target.read_text() == "keep me"


def test_history_keeps_the_last_hundred(tmp_path: Path):
    path = tmp_path / "build-history.json"
    for i in range(HISTORY_LIMIT + 5):
        append_history(path, {"n": i})
    history = json.loads(path.read_text())
    assert [h["n"] for h in history] == list(range(5, HISTORY_LIMIT + 5))


def _append_many(path: str, worker: int, count: int) -> None:
    for i in range(count):
        append_history(Path(path), {"worker": worker, "i": i})


def test_concurrent_writers_lose_nothing(tmp_path: Path):
    path = tmp_path / "build-history.json"
    ctx = multiprocessing.get_context("fork")
    procs = [ctx.Process(target=_append_many, args=(str(path), w, 25)) for w in range(3)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(30)
        assert p.exitcode == 0
    history = json.loads(path.read_text())
    assert sorted((h["worker"], h["i"]) for h in history) == [(w, i) for w in range(3) for i in range(25)]


def test_corrupt_history_is_moved_aside_and_restarted(tmp_path: Path):
    path = tmp_path / "build-history.json"
    path.write_text('[{"exitCode": 0}, {"trunc')
    reports: list[str] = []
    append_history(path, {"n": 1}, report=reports.append)
    assert json.loads(path.read_text()) == [{"n": 1}]
    aside = [p for p in tmp_path.iterdir() if p.name.startswith("build-history.json.corrupt-")]
    assert len(aside) == 1 and aside[0].read_text().startswith('[{"exitCode": 0}')
    assert len(reports) == 1 and "moved" in reports[0]
    assert load_history(tmp_path / "absent.json") == []


def test_history_entry_drops_heavy_fields():
    detail = ErrorDetail(kind="x", message="m", log_tail=["a"] * 25, detail="d")
    entry = msgspec.to_builtins(history_entry(LastBuild(error_details=[detail] * 9)))
    assert len(entry["errorDetails"]) == 5 and "logTail" not in entry["errorDetails"][0]


class Exploding:
    name = "exploding sink"

    def __init__(self) -> None:
        self.calls = 0

    def handle(self, events):
        self.calls += 1
        raise OSError(28, "No space left on device")

    def close(self):
        raise AssertionError("a disabled sink is not closed")


class Collecting:
    name = "collector"

    def __init__(self) -> None:
        self.events: list = []
        self.closed = False

    def handle(self, events):
        self.events += events

    def close(self):
        self.closed = True


def test_a_failing_sink_is_reported_once_and_the_others_carry_on():
    reports: list[str] = []
    bad, good = Exploding(), Collecting()
    sinks = SinkSet([bad, good], reports.append)
    for i in range(3):
        sinks.dispatch([LogLine(text=str(i))])
    sinks.close()
    assert bad.calls == 1
    assert [e.text for e in good.events] == ["0", "1", "2"] and good.closed
    assert reports == ["exploding sink switched off: No space left on device; the build goes on"]


unshare = shutil.which("unshare")


@pytest.mark.skipif(unshare is None or sys.platform != "linux", reason="needs util-linux unshare")
def test_full_disk_for_real_keeps_the_old_record(tmp_path: Path):
    """last-build.json on a tmpfs that is full: the write fails, the old file stays whole."""
    script = f"""
import os, sys
sys.path.insert(0, {str(Path(__file__).resolve().parent.parent)!r})
from pathlib import Path
from sinks.record import BuildRecord
from sinks.summary import LastBuildJson
from parsers.events import BuildStarted, BuildFinished
d = Path(sys.argv[1])
(d / 'last-build.json').write_text('{{"old": true}}\\n')
with open(d / 'filler', 'wb', buffering=0) as f:
    try:
        while True:
            f.write(b'x' * 4096)
            f.flush()
    except OSError:
        pass
record = BuildRecord()
record.handle([BuildStarted(build_id='b', argv=['x' * 100000]), BuildFinished(exit_code=0, success=True)])
try:
    LastBuildJson(d / 'last-build.json', record).close()
    print('WROTE')
except OSError as exc:
    print('ERRNO', exc.errno)
print((d / 'last-build.json').read_text().strip())
print(sorted(p.name for p in d.iterdir()))
"""
    mnt = tmp_path / "mnt"
    mnt.mkdir()
    out = subprocess.run(
        [unshare, "-rm", "sh", "-c",
         f'mount -t tmpfs -o size=64k tmpfs "{mnt}" && exec "{sys.executable}" -c "$0" "{mnt}"', script],
        capture_output=True, text=True, check=False, timeout=60)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert lines[0] == "ERRNO 28"
    assert lines[1] == '{"old": true}'
    # no temporary file left behind (the lock is not one: it is kept, empty)
    assert lines[2] == "['filler', 'last-build.json', 'last-build.json.lock']"


def test_last_build_json_is_valid_json_with_the_record(tmp_path: Path):
    record = record_of(BuildStarted(build_id="b2"), BuildFinished(exit_code=0, success=True))
    LastBuildJson(tmp_path / "last-build.json", record).close()
    assert json.loads((tmp_path / "last-build.json").read_text())["buildId"] == "b2"
    assert os.stat(tmp_path / "last-build.json").st_mode & 0o777 == 0o644


def test_log_lines_are_made_only_when_a_sink_reads_them(tmp_path: Path):
    # --quiet without --events: the record and the files read no log.line event, so
    # the stream makes none (they are most of the events); any other sink gets them.
    from parsers.clock import ManualClock
    from parsers.stream import LogStream
    from sinks.ndjson import NdjsonSink

    record = BuildRecord()
    files = SinkSet([record, LastBuildJson(tmp_path / "last-build.json", record)], print)
    assert not files.reads_log_lines()
    with open(tmp_path / "events", "wb") as out:
        assert SinkSet([record, NdjsonSink(out.fileno())], print).reads_log_lines()
    stream = LogStream(ManualClock())
    stream.keep_log_lines(files.reads_log_lines())
    events = stream.feed(b"hello\n@nix {\"action\":\"msg\",\"level\":3,\"msg\":\"hi\"}\n")
    assert [type(e).__name__ for e in events] == ["Message"]


def test_the_plain_console_gets_the_tools_text_and_no_builder_output(tmp_path: Path):
    # The plain console shows the tool's own lines, never a builder's: with it alone
    # (and the record), nix's stream of builder output makes no log.line, while the
    # builder's lines still reach the derivation's tail and the sinks that do read them
    # (the NDJSON stream) get them all.
    from parsers.clock import ManualClock
    from parsers.stream import LogStream
    from sinks.console_plain import PlainConsole
    from sinks.ndjson import NdjsonSink

    drv = "/nix/store/0123456789abcdfghijklmnpqrsvwxyz-hello-2.12.drv"
    data = (b"checking the flake\n"
            + b'@nix {"action":"start","id":5,"type":105,"level":3,"text":"","fields":["'
            + drv.encode() + b'","",1,1]}\n'
            + b'@nix {"action":"result","id":5,"type":101,"fields":["make all"]}\n')
    plain = [BuildRecord(), PlainConsole(io.StringIO())]
    assert SinkSet(plain, print).log_lines_read() == "tool"
    with open(tmp_path / "events", "wb") as out:
        assert SinkSet([*plain, NdjsonSink(out.fileno())], print).log_lines_read() == "all"
    for read, texts in (("tool", ["checking the flake"]), ("all", ["checking the flake", "make all"])):
        stream = LogStream(ManualClock())
        stream.keep_log_lines(True, build=read == "all")
        events = stream.feed(data)
        assert [e.text for e in events if isinstance(e, LogLine)] == texts
        assert list(stream.state.tracker.drvs[drv].tail or ()) == ["make all"]
