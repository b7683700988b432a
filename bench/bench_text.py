#!/usr/bin/env python3
"""The text path (plain nix output, nom's view, activation) in lines per second,
against ``grep -c`` reading the same file.

The input is a plain ``nix-build`` log made of real builder output: the 7,150 build log
lines of nom's benchmark (its ``BuildLogLine`` results, i.e. what plain nix prints),
framed by nix's ``building '…'`` lines and repeated to one million lines.  Without
``zstd`` (to unpack nom's log), the real corpus's plain logs are repeated instead.
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
REAL_CORPUS = ROOT.parent / "shared" / "corpus" / "real"


def _builder_lines() -> list[str]:
    """Real builder output: nom's benchmark BuildLogLines, else the corpus's plain logs."""
    try:
        sys.path.insert(0, str(HERE))
        from common import bench_log

        lines = []
        with open(bench_log(), "rb") as log:
            for raw in log:
                if b'"action":"result"' in raw and b'"type":101' in raw:
                    fields = json.loads(raw[5:]).get("fields") or [""]
                    lines.append(str(fields[0]))
        if lines:
            return lines
    except (OSError, subprocess.CalledProcessError, ImportError):
        pass
    lines = []
    for log in sorted(REAL_CORPUS.glob("*.log")):
        text = log.read_text(errors="replace")
        if "@nix " not in text:
            lines.extend(text.splitlines())
    return lines


def plain_log() -> Path:
    CACHE.mkdir(parents=True, exist_ok=True)
    path = CACHE / "plain-1m.log"
    if path.exists():
        return path
    body = _builder_lines()
    out: list[str] = []
    n = 0
    while len(out) < LINES:
        n += 1
        out.append(f"building '/nix/store/{n:032d}-package-{n}.drv'...")
        out.extend(body[: LINES - len(out)])
    tmp = path.with_suffix(".tmp")
    tmp.write_text("\n".join(out) + "\n", errors="replace")
    tmp.rename(path)
    return path


def parse_rate(path: Path) -> tuple[float, int]:
    """Lines per second through the whole text path (bytes to stamped events)."""
    data = path.read_bytes()
    lines = data.count(b"\n")
    best = float("inf")
    for _ in range(3):
        stream = LogStream(ManualClock())
        stream.begin(BuildStarted(build_id="bench", source="log"))
        start = time.perf_counter()
        for i in range(0, len(data), CHUNK):
            stream.feed(data[i:i + CHUNK])
        stream.end(None)
        best = min(best, time.perf_counter() - start)
    return lines / best, lines


def grep_rate(path: Path, lines: int) -> float | None:
    best = float("inf")
    for _ in range(3):
        start = time.perf_counter()
        try:
            subprocess.run(["grep", "-c", "", str(path)], check=True, capture_output=True)
        except (OSError, subprocess.CalledProcessError):
            return None
        best = min(best, time.perf_counter() - start)
    return lines / best


def main() -> None:
    print("\n## text: plain-output parser throughput vs grep -c", flush=True)
    path = plain_log()
    rate, lines = parse_rate(path)
    grep = grep_rate(path, lines)
    ours = f"text parser: {rate / 1e3:.0f}k lines/s ({lines} lines)"
    if grep is None:
        print(f"{ours}; grep not available: no baseline")
    else:
        print(f"{ours}, grep -c: {grep / 1e6:.1f}M lines/s, ratio {rate / grep:.2f}")
    print(f"target: >= 500k lines/s: {'met' if rate >= 500_000 else 'NOT met'}")


if __name__ == "__main__":
    main()
