"""Helpers shared by the benchmarks: the corpus log, timing child processes, RSS."""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CACHE = ROOT / "bench" / ".cache"
BENCH_ZST = ROOT.parent / "shared" / "corpus" / "nom" / "bench" / "nom-shell-452e7d5.nix-log.zst"
VENV_BIN = Path(sys.executable).parent

_MEASURE = (
    "import resource, subprocess, sys, time\n"
    "out = open(sys.argv[1], 'wb') if sys.argv[1] != '-' else subprocess.DEVNULL\n"
    "t = time.perf_counter()\n"
    "code = subprocess.call(sys.argv[2:], stdout=out, stderr=subprocess.DEVNULL,"
    " stdin=subprocess.DEVNULL)\n"
    "wall = time.perf_counter() - t\n"
    "ru = resource.getrusage(resource.RUSAGE_CHILDREN)\n"
    "print(code, wall, ru.ru_utime + ru.ru_stime, ru.ru_maxrss)\n"
)


def bench_log() -> Path:
    """The 1.03M-line internal-json log of nom's benchmark, decompressed once."""
    CACHE.mkdir(parents=True, exist_ok=True)
    log = CACHE / "nom-shell.nix-log"
    if not log.exists():
        tmp = log.with_suffix(".tmp")
        with open(tmp, "wb") as out:
            subprocess.run(["zstd", "-dc", str(BENCH_ZST)], stdout=out, check=True)
        tmp.rename(log)
    return log


def bench_json() -> Path:
    """The same log without the ``@nix `` prefixes: plain JSON lines for jq."""
    path = CACHE / "nom-shell.json"
    if not path.exists():
        tmp = path.with_suffix(".tmp")
        with open(bench_log(), "rb") as src, open(tmp, "wb") as out:
            for line in src:
                out.write(line[5:] if line.startswith(b"@nix ") else line)
        tmp.rename(path)
    return path


def measure(command: Sequence[str], stdout: str = "-", env: dict[str, str] | None = None
            ) -> tuple[int, float, float, int]:
    """(exit code, wall seconds, CPU seconds, max RSS KiB) of one run of ``command``,
    measured in a fresh process so RSS is this command's alone."""
    out = subprocess.run([sys.executable, "-c", _MEASURE, stdout, *command],
                         capture_output=True, text=True, check=True, env=env)
    code, wall, cpu, rss = out.stdout.split()
    return int(code), float(wall), float(cpu), int(rss)


def median_run(command: Sequence[str], runs: int = 3, **kw: object) -> tuple[float, float, int]:
    """Median wall and CPU seconds, and the largest RSS, over ``runs`` runs."""
    results = [measure(command, **kw) for _ in range(runs)]  # type: ignore[arg-type]
    return (statistics.median(r[1] for r in results), statistics.median(r[2] for r in results),
            max(r[3] for r in results))


def tool(name: str) -> str | None:
    return shutil.which(name) or (str(VENV_BIN / name) if (VENV_BIN / name).exists() else None)


def heading(text: str) -> None:
    print(f"\n## {text}", flush=True)


def env_with(**extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(extra)
    return env
