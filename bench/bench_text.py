#!/usr/bin/env python3
"""The text path (plain nix output, nom's view, activation) in lines per second,
against ``grep -c`` reading the same file.

Two inputs of one million lines each:

* nom's build lines: a plain ``nix-build`` log made of real builder output, the 7,150
  build log lines of nom's benchmark (its ``BuildLogLine`` results, i.e. what plain nix
  prints), framed by nix's ``building '…'`` lines;
* real coloured logs: every text log of the real corpus (``corpus/real``: nixos-rebuild,
  nh with nom's view, activation, colours, redraws), concatenated and repeated.

Inputs are regenerated when their sources change; a missing corpus is an error.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from parsers.clock import ManualClock  # noqa: E402
from parsers.events import BuildStarted  # noqa: E402
from parsers.stream import LogStream  # noqa: E402

LINES = 1_000_000
CHUNK = 1 << 16  # what a pipe read returns
CACHE = HERE / ".cache"


sys.path.insert(0, str(HERE))
from common import SHARED, bench_log, cached, require  # noqa: E402

REAL_CORPUS = SHARED / "corpus" / "real"


def _builder_lines(log: Path) -> list[str]:
    """Real builder output: nom's benchmark BuildLogLines."""
    lines = []
    with open(log, "rb") as f:
        for raw in f:
            if b'"action":"result"' in raw and b'"type":101' in raw:
                fields = json.loads(raw[5:]).get("fields") or [""]
                lines.append(str(fields[0]))
    return lines


def plain_log() -> Path:
    log = bench_log()

    def make(tmp: Path) -> None:
        body = _builder_lines(log)
        out: list[str] = []
        n = 0
        while len(out) < LINES:
            n += 1
            out.append(f"building '/nix/store/{n:032d}-package-{n}.drv'...")
            out.extend(body[: LINES - len(out)])
        tmp.write_text("\n".join(out) + "\n", errors="replace")
    return cached("plain-1m.log", [log, HERE / "bench_text.py"], make)


def real_log() -> Path:
    sources = sorted(require(REAL_CORPUS, "the real corpus").glob("*.log"))
    texts = [p for p in sources if b"@nix " not in p.read_bytes()]

    def make(tmp: Path) -> None:
        body = b"".join(d if d.endswith(b"\n") else d + b"\n"
                        for d in (p.read_bytes() for p in texts))
        lines = body.splitlines(keepends=True)
        out = (lines * (LINES // len(lines) + 1))[:LINES]
        tmp.write_bytes(b"".join(out))
    return cached("real-1m.log", [*texts, HERE / "bench_text.py"], make)


def parse_rate(path: Path) -> tuple[float, int]:
    """Lines per CPU second through the whole text path (bytes to stamped events; CPU
    time, best of 3: the machine may be shared)."""
    data = path.read_bytes()
    lines = data.count(b"\n")
    best = float("inf")
    for _ in range(3):
        stream = LogStream(ManualClock())
        stream.begin(BuildStarted(build_id="bench", source="log"))
        start = time.process_time()
        for i in range(0, len(data), CHUNK):
            stream.feed(data[i:i + CHUNK])
        stream.end(None)
        best = min(best, time.process_time() - start)
    return lines / best, lines


def grep_rate(path: Path, lines: int) -> float | None:
    """``grep -c error`` with its output to a file (so it reads everything)."""
    best = float("inf")
    for _ in range(3):
        start = time.perf_counter()
        try:
            with open(CACHE / "grep.out", "wb") as out:
                subprocess.run(["grep", "-c", "error", str(path)], stdout=out, check=False)
        except OSError:
            return None
        best = min(best, time.perf_counter() - start)
    return lines / best


def main() -> None:
    print("\n## text: plain-output parser throughput vs grep -c (1M lines each)", flush=True)
    for name, make in (("nom's build lines", plain_log), ("real coloured logs", real_log)):
        path = make()
        rate, lines = parse_rate(path)
        grep = grep_rate(path, lines)
        ours = f"{name:20} text path {rate / 1e3:4.0f}k lines/s"
        base = f"grep -c {grep / 1e6:.1f}M lines/s" if grep else "grep not available"
        print(f"{ours}; {base}; target >= 500k: {'met' if rate >= 500_000 else 'NOT met'}")


if __name__ == "__main__":
    main()
