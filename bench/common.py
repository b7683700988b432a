"""Helpers shared by the benchmarks: the corpus log, timing child processes, RSS."""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CACHE = ROOT / "bench" / ".cache"
# The development corpora beside the checkout (NIXOS_BUILD_TEST_SHARED elsewhere, as
# for the tests).
SHARED = Path(os.environ.get("NIXOS_BUILD_TEST_SHARED") or ROOT.parent / "shared")
BENCH_ZST = SHARED / "corpus" / "nom" / "bench" / "nom-shell-452e7d5.nix-log.zst"
VENV_BIN = Path(sys.executable).parent


class MissingInput(Exception):
    """A bench input that is not there: the bench says which, and does not guess."""


def require(path: Path, what: str) -> Path:
    if not path.exists():
        raise MissingInput(f"{what} is missing: {path} (the corpora are in ../shared beside "
                           "the checkout, or where NIXOS_BUILD_TEST_SHARED points)")
    return path


def cached(name: str, sources: Sequence[Path], make: Callable[[Path], None],
           version: str = "1") -> Path:
    """``CACHE/name``, made by ``make(tmp)`` and made again whenever one of ``sources``
    (inputs, the generator's own file) or ``version`` changes: never a stale input."""
    CACHE.mkdir(parents=True, exist_ok=True)
    path = CACHE / name
    stamp = CACHE / (name + ".stamp")
    key = "\n".join([version, *(f"{p}:{p.stat().st_size}:{p.stat().st_mtime_ns}"
                                  for p in sources)])
    if path.exists() and stamp.exists() and stamp.read_text() == key:
        return path
    tmp = CACHE / (name + ".tmp")
    make(tmp)
    tmp.rename(path)
    stamp.write_text(key)
    return path

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
    """The 1.03M-line internal-json log of nom's benchmark, decompressed (again when
    the compressed file changes)."""
    source = require(BENCH_ZST, "nom's 1.03M-line benchmark log")
    if shutil.which("zstd") is None:
        raise MissingInput(f"zstd is not installed: cannot unpack {source}")

    def unpack(tmp: Path) -> None:
        with open(tmp, "wb") as out:
            subprocess.run(["zstd", "-dc", str(source)], stdout=out, check=True)
    return cached("nom-shell.nix-log", [source], unpack)


def bench_json() -> Path:
    """The same log without the ``@nix `` prefixes: plain JSON lines for jq."""
    log = bench_log()

    def strip(tmp: Path) -> None:
        with open(log, "rb") as src, open(tmp, "wb") as out:
            for line in src:
                out.write(line[5:] if line.startswith(b"@nix ") else line)
    return cached("nom-shell.json", [log, Path(__file__)], strip)


def measure(command: Sequence[str], stdout: str = "-", env: dict[str, str] | None = None
            ) -> tuple[int, float, float, int]:
    """(exit code, wall seconds, CPU seconds, max RSS KiB) of one run of ``command``,
    measured in a fresh process so RSS is this command's alone."""
    out = subprocess.run([sys.executable, "-c", _MEASURE, stdout, *command],
                         capture_output=True, text=True, check=True, env=env)
    code, wall, cpu, rss = out.stdout.split()
    return int(code), float(wall), float(cpu), int(rss)


def median_run(command: Sequence[str], runs: int = 3, stdout: str = "-",
               env: dict[str, str] | None = None) -> tuple[float, float, int]:
    """Median wall and CPU seconds, and the largest RSS, over ``runs`` runs."""
    results = [measure(command, stdout, env) for _ in range(runs)]
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


def fake_tool(directory: Path, script: str, name: str = "nixos-rebuild") -> Path:
    """An executable ``name`` in ``directory`` running ``script`` (the wrapped tool)."""
    path = directory / name
    path.write_text(script)
    path.chmod(0o755)
    return path


def wrapper_command(logs: str) -> list[str]:
    wrapper = tool("nixos-build-wrapper")
    if wrapper is None:
        raise MissingInput("nixos-build-wrapper is not installed in this environment")
    return [wrapper, "os", "build", "--no-nh", "--log-dir", logs, "--console", "plain"]
