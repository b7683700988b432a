#!/usr/bin/env python3
"""The project's few commands, runnable from a fresh clone with only python3:

    python3 tasks.py test      the whole test suite (plus ruff and mypy)
    python3 tasks.py demo      a recorded real build replayed through the whole pipeline
    python3 tasks.py bench     the benchmarks, with ratios against baselines
    python3 tasks.py lock      pin the test tools again (after changing pyproject.toml)
    python3 tasks.py fuzz      a million mutated inputs through every parser and reader
                               (fuzz/harness.py: --inputs N, --seed S, --budget SECONDS)

Each creates ``.venv`` (once) and installs the project with its test dependencies.
Extra arguments go to the underlying command (pytest, the demo, the bench).
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / "bin"
STAMP = VENV / ".installed"


LOCK = ROOT / "requirements-test.lock"


def _fingerprint() -> str:
    digest = hashlib.sha256()
    for path in (ROOT / "pyproject.toml", LOCK):
        digest.update(path.read_bytes())
    return digest.hexdigest()


def ensure_venv() -> None:
    if not (BIN / "python").exists():
        print("tasks: creating .venv", file=sys.stderr)
        venv.EnvBuilder(with_pip=True).create(VENV)
    if STAMP.exists() and STAMP.read_text() == _fingerprint():
        return
    print("tasks: installing the project and its test dependencies", file=sys.stderr)
    pip = [str(BIN / "python"), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    # The locked versions first, so a new release of a test tool cannot turn a clone red.
    subprocess.run([*pip, "-r", str(LOCK)], check=True)
    subprocess.run([*pip, "--no-deps", "-e", str(ROOT)], check=True)
    STAMP.write_text(_fingerprint())


def run(*command: str) -> int:
    env = dict(os.environ)
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
    env.setdefault("PYTHONDONTWRITEBYTECODE", "1")
    return subprocess.run(command, cwd=ROOT, env=env, check=False).returncode


def test(args: list[str]) -> int:
    checks = [
        ("ruff", [str(BIN / "ruff"), "check", "."]),
        ("mypy", [str(BIN / "mypy")]),
        ("pytest", [str(BIN / "pytest"), *args]),
    ]
    failed = []
    for name, command in checks:
        print(f"tasks: {name}", file=sys.stderr, flush=True)
        if run(*command) != 0:
            failed.append(name)
    if failed:
        print(f"tasks: FAILED: {', '.join(failed)}", file=sys.stderr)
        return 1
    print("tasks: all checks passed", file=sys.stderr)
    return 0


def lock() -> int:
    """Resolve pyproject.toml's dependencies and test extra afresh into the lock file."""
    fresh = ROOT / ".venv-lock"
    venv.EnvBuilder(with_pip=True, clear=True).create(fresh)
    python = str(fresh / "bin" / "python")
    subprocess.run([python, "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
                    f"{ROOT}[test]"], check=True)
    frozen = subprocess.run([python, "-m", "pip", "freeze", "--exclude-editable"],
                            check=True, capture_output=True, text=True).stdout
    pinned = [line for line in frozen.splitlines()
              if line and not line.lower().startswith("nixos-build-status")]
    header = LOCK.read_text().splitlines()[:3]
    LOCK.write_text("\n".join([*header, *pinned]) + "\n")
    print(f"tasks: wrote {LOCK.name} ({len(pinned)} packages)", file=sys.stderr)
    return 0


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in ("test", "demo", "bench", "lock", "fuzz"):
        print(__doc__, file=sys.stderr)
        return 2
    if argv[0] == "lock":
        return lock()
    ensure_venv()
    command, rest = argv[0], argv[1:]
    if command == "test":
        return test(rest)
    if command == "demo":
        return run(str(BIN / "nixos-build-wrapper"), "demo", *rest)
    if command == "fuzz":
        return run(str(BIN / "python"), "-m", "fuzz.harness", *rest)
    return run(str(BIN / "python"), str(ROOT / "bench" / "run.py"), *rest)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
