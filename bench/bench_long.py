"""Lines that never end: one line of 1 / 10 / 30 MB with no newline, and a progress
meter redrawing itself with ``\\r`` and no ``\\n`` for 1 / 10 / 30 MB, through
nixos-build-wrapper (PTY, raw log, parsing, records, console) and through
``nixos-build-status events``.  Time must grow linearly: the growth ratios 1 → 10 MB
and 10 → 30 MB are printed (linear at most 10× and 3×, less with the fixed start-up;
quadratic up to 100× and 9×).  Max RSS is printed too (lines over 16 MiB are cut, so it stays bounded)."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

from common import cached, env_with, fake_tool, heading, median_run, tool, wrapper_command

SIZES_MB = (1, 10, 30)
HERE = Path(__file__)


def long_line(mb: int) -> Path:
    def make(tmp: Path) -> None:
        tmp.write_bytes(b"x" * (mb * 1_000_000))
    return cached(f"long-line-{mb}mb.txt", [HERE], make)


def cr_only(mb: int) -> Path:
    def make(tmp: Path) -> None:
        frame = b"[%7d/9999999 built, 3 copied (12.4/30.1 MiB)] building hello\r"
        count = mb * 1_000_000 // len(frame % 0)
        tmp.write_bytes(b"".join(frame % i for i in range(count)))
    return cached(f"cr-only-{mb}mb.txt", [HERE], make)


def growth(name: str, empty: float, times: list[float], rss: list[int]) -> None:
    """Times and their growth 1 -> 10 -> 30 MB.  Linear work under a fixed start-up
    grows by at most 10x and 3x (the quadratic splitter of before grew 16x and 4.8x
    through the wrapper); 20% is allowed for a noisy machine."""
    cells = "  ".join(f"{mb:>2} MB {t:5.2f} s" for mb, t in zip(SIZES_MB, times, strict=True))
    r1, r2 = times[1] / times[0], times[2] / times[1]
    verdict = "linear" if r1 <= 12 and r2 <= 3.6 else "NOT linear"
    print(f"{name:32} {cells}  (no output: {empty:.2f} s); growth {r1:4.1f}x, {r2:3.1f}x: "
          f"{verdict}; max RSS {max(rss) / 1024:.0f} MiB")


def main() -> None:
    heading("long lines: one line without a newline, and CR-only redraws (1 / 10 / 30 MB)")
    status = tool("nixos-build-status")
    with tempfile.TemporaryDirectory(prefix="bench-long.") as tmp:
        directory = Path(tmp)
        fake_tool(directory, '#!/bin/sh\nexec cat "$BENCH_INPUT"\n')
        empty_input = directory / "empty"
        empty_input.touch()

        def wrapped(path: Path) -> tuple[float, float, int]:
            logs = tempfile.mkdtemp(prefix="bench-logs.", dir=tmp)
            env = env_with(PATH=f"{directory}{os.pathsep}{os.environ['PATH']}",
                           BENCH_INPUT=str(path))
            result = median_run(wrapper_command(logs), env=env)
            shutil.rmtree(logs, ignore_errors=True)
            return result

        wrapper_empty = wrapped(empty_input)[0]
        events_empty = median_run([status, "events", str(empty_input)])[0] if status else 0.0
        for title, make in (("one line, no newline", long_line), ("CR-only progress", cr_only)):
            inputs = [make(mb) for mb in SIZES_MB]
            results = [wrapped(path) for path in inputs]
            growth(f"wrapper, {title}", wrapper_empty, [r[0] for r in results],
                   [r[2] for r in results])
            if status:
                results = [median_run([status, "events", str(path)]) for path in inputs]
                growth(f"events, {title}", events_empty, [r[0] for r in results],
                       [r[2] for r in results])


if __name__ == "__main__":
    main()
