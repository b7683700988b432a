"""The NDJSON stream of every fixture log, byte for byte (issue 17: the hot path may get
faster, never different).

Each log under ``fixtures/recorded/`` and a synthetic input made of the hot path's hard
cases (long lines, CR-only redraws, colours, duplicate progress, malformed JSON) is
replayed through the pipeline with a fixed clock; the encoded stream must equal
``tests/golden/<name>.ndjson``.  The input is fed whole, as recorded (the ``.timing``
reads, where there is one) and in small odd-sized pieces: the stream never depends on
where reads end.

    UPDATE_GOLDEN=1 .venv/bin/pytest tests/test_golden.py   # after a deliberate change
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import msgspec
import pytest

from parsers.clock import ManualClock
from parsers.events import BuildStarted
from parsers.replay import replay
from tests.conftest import RECORDED, ROOT

GOLDEN = ROOT / "tests" / "golden"
LOGS = sorted(p for p in RECORDED.iterdir() if p.suffix in (".log", ".txt"))


def synthetic() -> bytes:
    """The hot path's hard cases in one small, deterministic log."""
    drv = "/nix/store/" + "a" * 32 + "-hello-2.12.drv"
    out = [
        b"building '" + drv.encode() + b"'...",
        b"x" * 70_000,                                      # one long line
        b"\r".join(b"[%d/10 built] copying" % i for i in range(2_000)),  # CR-only redraws
        b"\x1b[31;1merror:\x1b[0m builder for '" + drv.encode() + b"' failed with exit code 2",
        b"       last 2 log lines:",
        b"       > make: *** [Makefile:3: all] Error 1",
        b"\x1b[2K\x1b[1Fnom frame\x1b[0m",
        b'@nix {"action":"start","id":7,"level":3,"type":105,"text":"building","fields":["'
        + drv.encode() + b'","",1,1]}',
        *[b'@nix {"action":"result","id":7,"type":105,"fields":[%d,10,1,0]}' % (i // 3)
          for i in range(30)],                              # duplicate progress
        b'@nix {"action":"result","id":7,"type":101,"fields":["compiling \xe2\x9c\x93"]}',
        b'@nix {"action":"result","id":7,"type":104,"fields":["buildPhase"]}',
        b'@nix {"action":"result","id":99,"type":105,"fields":[1,2,3,4]}',  # unknown activity
        b'@nix {"action":"msg","level":0,"msg":"\\u001b[31;1merror:\\u001b[0m oops"}',
        b'@nix {"action":"weird","id":1}',
        b"@nix {not json",
        b'@nix {"action":"stop","id":7}',
        b"\xff\xfe invalid utf-8",
        b"trailing line without newline",
    ]
    return b"\n".join(out)


def inputs() -> dict[str, bytes]:
    found = {p.name: p.read_bytes() for p in LOGS}
    found["synthetic.log"] = synthetic()
    return found


def stream(chunks: Iterable[bytes], *, log_lines: bool = True) -> bytes:
    encode = msgspec.json.Encoder().encode_lines
    return b"".join(encode(batch) for batch in replay(
        chunks, clock=ManualClock(), log_lines=log_lines,
        started=BuildStarted(build_id="golden", source="log")))


def without_log_lines(ndjson: bytes) -> list[dict[str, Any]]:
    """The events other than ``log.line``, without their numbers."""
    events = [msgspec.json.decode(line) for line in ndjson.splitlines()]
    return [{k: v for k, v in e.items() if k != "seq"} for e in events if e["type"] != "log.line"]


def timed_reads(name: str, data: bytes) -> Iterator[bytes]:
    """The reads as recorded (``<stem>.timing``: seconds and a byte count a line)."""
    timing = RECORDED / (Path(name).stem + ".timing")
    pos = 0
    for row in timing.read_text().splitlines():
        size = int(row.split()[1])
        yield data[pos:pos + size]
        pos += size
    yield data[pos:]


def pieces(data: bytes, size: int) -> Iterator[bytes]:
    return (data[i:i + size] for i in range(0, len(data), size))


@pytest.mark.parametrize("name", sorted(inputs()))
def test_the_ndjson_stream_is_the_golden_one(name: str) -> None:
    data = inputs()[name]
    got = stream([data])
    golden = GOLDEN / (name + ".ndjson")
    if os.environ.get("UPDATE_GOLDEN"):
        golden.write_bytes(got)
    assert golden.exists(), f"{golden} is missing: run with UPDATE_GOLDEN=1 to create it"
    assert got == golden.read_bytes(), f"{name}: the NDJSON stream changed"
    assert stream(pieces(data, 7)) == got
    assert stream(pieces(data, 4096)) == got
    if (RECORDED / (Path(name).stem + ".timing")).exists():
        assert stream(timed_reads(name, data)) == got


@pytest.mark.parametrize("name", sorted(inputs()))
def test_without_log_lines_the_stream_is_the_same_minus_them(name: str) -> None:
    data = inputs()[name]
    quiet = stream([data], log_lines=False)
    assert b'"type":"log.line"' not in quiet
    assert without_log_lines(quiet) == without_log_lines(stream([data]))


def test_every_fixture_log_has_a_golden_stream() -> None:
    names = {p.name.removesuffix(".ndjson") for p in GOLDEN.glob("*.ndjson")}
    assert names == set(inputs()), "stale or missing golden files"
    assert len(LOGS) >= 14
