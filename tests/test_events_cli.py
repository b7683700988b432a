"""`nixos-build-status events`: the wrapper's event stream, from a saved log."""

from __future__ import annotations

import json
import subprocess
import sys

from tests.conftest import RECORDED, recorded


def events_cli(*args: str, stdin: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run([sys.executable, "-m", "status.cli", "events", *args],
                          input=stdin, capture_output=True, check=False, timeout=60)


def test_a_saved_log_gives_the_same_typed_stream_as_a_live_build():
    out = events_cli(str(RECORDED / "build-failure.internal-json.log"))
    assert out.returncode == 0
    events = [json.loads(line) for line in out.stdout.splitlines()]
    assert events[0]["type"] == "build.started" and events[0]["source"] == "log"
    assert events[0]["logPath"].endswith("build-failure.internal-json.log")
    assert events[-1]["type"] == "build.finished" and events[-1]["exitCode"] is None
    assert events[-1]["failed"] == 1 and events[-1]["success"] is False
    assert [e["seq"] for e in events] == list(range(1, len(events) + 1))


def test_stdin_and_without_log_lines():
    out = events_cli("-", "--no-log-lines", stdin=recorded("success.plain"))
    events = [json.loads(line) for line in out.stdout.splitlines()]
    assert not [e for e in events if e["type"] == "log.line"]
    assert events[-1]["built"] == 5 and events[-1]["success"] is True


def test_a_reader_that_goes_away_is_not_an_error():
    proc = subprocess.Popen([sys.executable, "-m", "status.cli", "events", "-"],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stdout is not None and proc.stdin is not None
    proc.stdout.readline()
    proc.stdout.close()                          # like `| head -1`
    try:
        proc.stdin.write(recorded("success.internal-json") * 50)
        proc.stdin.close()
    except BrokenPipeError:
        pass                                     # it may stop reading once nobody listens
    assert proc.wait(30) == 0
    assert proc.stderr is not None and b"Traceback" not in proc.stderr.read()


def test_unreadable_file_exits_3():
    out = events_cli("/nonexistent/build.log")
    assert out.returncode == 3 and b"cannot read /nonexistent/build.log" in out.stderr
