"""Lines that never end: one line of 1 / 10 / 30 MB with no newline, and a progress
meter redrawing itself with ``\\r`` and no ``\\n`` for 1 / 10 / 30 MB, through
nixos-build-wrapper (PTY, raw log, parsing, records, console) and through
``nixos-build-status events``.  Time must grow linearly: the growth ratios 1 → 10 MB
and 10 → 30 MB are printed beside the linear ones (10× and 3×; quadratic is 100× and
9×).  Max RSS is printed too (lines over 16 MiB are cut, so it stays bounded)."""

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


def growth(name: str, times: list[float], rss: list[int]) -> None:
    cells = "  ".join(f"{mb:>2} MB {t:6.2f} s" for mb, t in zip(SIZES_MB, times, strict=True))
    r1, r2 = times[1] / times[0], times[2] / times[1]
    verdict = "linear" if r1 <= 20 and r2 <= 4.5 else "NOT linear"
    print(f"{name:34} {cells}   growth {r1:4.1f}x, {r2:3.1f}x ({verdict}; "
          f"linear 10x, 3x); max RSS {max(rss) / 1024:.0f} MiB")


def main() -> None:
    heading("long lines: one line without a newline, and CR-only redraws (1 / 10 / 30 MB)")
    status = tool("nixos-build-status")
    with tempfile.TemporaryDirectory(prefix="bench-long.") as tmp:
        directory = Path(tmp)
        fake_tool(directory, '#!/bin/sh\nexec cat "$BENCH_INPUT"\n')
        for title, make in (("one line, no newline", long_line), ("CR-only progress", cr_only)):
            inputs = [make(mb) for mb in SIZES_MB]
            walls, rsses = [], []
            for path in inputs:
                logs = tempfile.mkdtemp(prefix="bench-logs.", dir=tmp)
                env = env_with(PATH=f"{directory}{os.pathsep}{os.environ['PATH']}",
                               BENCH_INPUT=str(path))
                wall, _, rss = median_run(wrapper_command(logs), env=env)
                shutil.rmtree(logs, ignore_errors=True)
                walls.append(wall)
                rsses.append(rss)
            growth(f"wrapper, {title}", walls, rsses)
            if status:
                results = [median_run([status, "events", str(path)]) for path in inputs]
                growth(f"events, {title}", [r[0] for r in results], [r[2] for r in results])


if __name__ == "__main__":
    main()
