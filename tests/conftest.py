"""Shared helpers: where things are, parsing a log to events, running the wrapper."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import msgspec
import pytest

from parsers.clock import ManualClock
from parsers.events import BuildStarted, Event
from parsers.stream import LogStream

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "fixtures"
RECORDED = FIXTURES / "recorded"
FAKE_BIN = FIXTURES / "bin"
SHARED = ROOT.parent / "shared"
NOM_CORPUS = SHARED / "corpus" / "nom"
REAL_CORPUS = SHARED / "corpus" / "real"


def recorded(stem: str) -> bytes:
    return (RECORDED / f"{stem}.log").read_bytes()


def manifest() -> dict[str, Any]:
    return json.loads((RECORDED / "MANIFEST.json").read_text())


def parse(data: bytes, *, chunks: Iterable[int] | None = None, exit_code: int | None = None,
          **stream_args: Any) -> list[Event]:
    """Every event of ``data`` fed in one piece (or cut at the ``chunks`` sizes)."""
    stream = LogStream(ManualClock(), **stream_args)
    events = stream.begin(BuildStarted(build_id="test", source="log"))
    if chunks is None:
        events += stream.feed(data)
    else:
        pos = 0
        for size in chunks:
            events += stream.feed(data[pos:pos + size])
            pos += size
        events += stream.feed(data[pos:])
    events += stream.end(exit_code)
    return events


def of_type(events: Sequence[Event], name: str) -> list[Any]:
    return [e for e in events if e.__struct_config__.tag == name]


def wire(events: Sequence[Event]) -> list[dict[str, Any]]:
    """Events as a consumer sees them, without the wall-clock stamp."""
    out = []
    for e in events:
        data = msgspec.to_builtins(e)
        data.pop("ts", None)
        out.append(data)
    return out


@dataclass
class WrapperRun:
    returncode: int
    stdout: bytes
    stderr: str
    log_dir: Path

    def ndjson(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.stdout.splitlines()]

    def last_build(self) -> dict[str, Any]:
        return json.loads((self.log_dir / "last-build.json").read_text())

    def history(self) -> list[dict[str, Any]]:
        return json.loads((self.log_dir / "build-history.json").read_text())


def wrapper_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("FAKE_", "NH_", "NIXOS_BUILD"))}
    env["PATH"] = f"{FAKE_BIN}{os.pathsep}{env.get('PATH', '')}"
    env["HOME"] = str(tmp_path / "home")
    env["XDG_STATE_HOME"] = str(tmp_path / "home" / ".local" / "state")
    env["NIXOS_BUILD_ROOT"] = str(tmp_path / "root")
    # A flake at /etc/nixos, as most nh users have (nh builds nothing else).
    (tmp_path / "root" / "etc" / "nixos").mkdir(parents=True, exist_ok=True)
    (tmp_path / "root" / "etc" / "nixos" / "flake.nix").touch()
    env.update(extra)
    return env


def run_wrapper(tmp_path: Path, args: Sequence[str], *, env: dict[str, str] | None = None,
                timeout: float = 60, **extra_env: str) -> WrapperRun:
    log_dir = tmp_path / "logs"
    env = env or wrapper_env(tmp_path, **extra_env)
    proc = subprocess.run(
        [sys.executable, "-m", "orchestrator.wrapper_cli", "--log-dir", str(log_dir), *args],
        env=env, stdin=subprocess.DEVNULL, capture_output=True, timeout=timeout, check=False,
    )
    return WrapperRun(proc.returncode, proc.stdout, proc.stderr.decode("utf-8", "replace"),
                      log_dir)


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return wrapper_env(tmp_path)
