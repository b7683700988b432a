"""The files of one build in the log directory, and facts about the machine.

Each build writes its own ``logs/<start>-<id>.log`` (so two wrappers at once never mix
their bytes); ``last-build.log`` is made another name (hard link) of the newest one, so
``tail -f last-build.log`` follows a running build.  Old per-build logs beyond
``NIXOS_BUILD_KEEP_LOGS`` (default 10) are removed: internal-json logs are large."""

from __future__ import annotations

import getpass
import os
import shutil
import socket
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from orchestrator.invocation import Request
from parsers.clock import Clock
from records.files import describe, replace_link
from records.logdir import (
    HISTORY_JSON,
    LAST_BUILD_JSON,
    LAST_BUILD_LOG,
    LOGS_SUBDIR,
    log_dir_for_writing,
)
from system.generations import generation_info
from system.sysroot import SystemRoot

DEFAULT_KEEP_LOGS = 10


def new_build_id() -> str:
    return str(uuid.uuid4())


def hostname() -> str:
    return socket.gethostname()


def user(env: Mapping[str, str]) -> str:
    """The person behind the build (``SUDO_USER`` under sudo)."""
    if env.get("SUDO_USER"):
        return env["SUDO_USER"]
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return env.get("USER", "unknown")


def resolve(name: str, env: Mapping[str, str]) -> str | None:
    """The executable ``name`` would run as under ``env``'s PATH."""
    if os.sep in name:
        return name if os.access(name, os.X_OK) else None
    return shutil.which(name, path=env.get("PATH", os.defpath))


def generation_snapshot(env: Mapping[str, str]) -> dict[str, Any]:
    return generation_info(SystemRoot(env=env), env)


@dataclass
class BuildFiles:
    directory: Path
    build_id: str
    log_path: Path

    @property
    def last_build_json(self) -> Path:
        return self.directory / LAST_BUILD_JSON

    @property
    def history_json(self) -> Path:
        return self.directory / HISTORY_JSON

    def link_latest(self, report: Callable[[str], None]) -> None:
        link = self.directory / LAST_BUILD_LOG
        try:
            replace_link(self.log_path, link)
        except OSError as exc:
            report(f"{link.name} not updated: {describe(exc)} (the log is {self.log_path})")


def prepare(request: Request, env: Mapping[str, str], clock: Clock,
            report: Callable[[str], None]) -> BuildFiles | None:
    """Create the directory and name this build's files; None (reported) if the log
    directory cannot be used: the build still runs."""
    directory = log_dir_for_writing(request.log_dir, env)
    try:
        (directory / LOGS_SUBDIR).mkdir(parents=True, exist_ok=True, mode=0o755)
    except OSError as exc:
        report(f"no build logs or records: cannot use {directory}: {describe(exc)}")
        return None
    build_id = new_build_id()
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    base = directory / LOGS_SUBDIR / f"{stamp}-{build_id[:8]}"
    _prune(directory / LOGS_SUBDIR, _keep_logs(env), report)
    return BuildFiles(
        directory=directory,
        build_id=build_id,
        log_path=base.with_suffix(".log"),
    )


def _keep_logs(env: Mapping[str, str]) -> int:
    try:
        return max(1, int(env.get("NIXOS_BUILD_KEEP_LOGS", DEFAULT_KEEP_LOGS)))
    except ValueError:
        return DEFAULT_KEEP_LOGS


def _prune(logs: Path, keep: int, report: Callable[[str], None]) -> None:
    """Keep the newest ``keep - 1`` builds' logs (this build makes ``keep``)."""
    try:
        entries = sorted(p for p in logs.iterdir() if p.suffix == ".log" and p.is_file())
    except OSError:
        return
    builds: dict[str, list[Path]] = {}
    for path in entries:
        builds.setdefault(path.name.split(".", 1)[0], []).append(path)
    for key in sorted(builds)[: max(0, len(builds) - (keep - 1))]:
        for path in builds[key]:
            try:
                path.unlink()
            except OSError as exc:
                report(f"old log not removed: {describe(exc)}")
