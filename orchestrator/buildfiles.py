"""The files of one build in the log directory, and facts about the machine.

Each build writes its own ``logs/<start>-<id>.log`` (so two wrappers at once never mix
their bytes); ``last-build.log`` is made another name (hard link) of the newest one, so
``tail -f last-build.log`` follows a running build, and again of the build whose record
``last-build.json`` is when that is written (so the two describe the same build when
builds overlap).  Old per-build logs beyond ``NIXOS_BUILD_KEEP_LOGS`` (default 10) are
removed: internal-json logs are large.  A running build holds a shared lock on its log,
and pruning never removes a log someone holds.

The directory and ``logs/`` are checked before anything is written
(``records.logdir.unsafe_because``); one that fails is not used at all, with one
message, and the build runs without logs or records."""

from __future__ import annotations

import contextlib
import errno
import getpass
import os
import shutil
import socket
import stat
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from orchestrator.invocation import Request
from parsers.clock import Clock
from records.files import describe, remove_stale_temporaries, replace_link, try_lock
from records.logdir import (
    HISTORY_JSON,
    LAST_BUILD_JSON,
    LAST_BUILD_LOG,
    LOGS_SUBDIR,
    log_dir_for_writing,
    unsafe_because,
)
from system.generations import generation_info
from system.sysroot import SystemRoot

DEFAULT_KEEP_LOGS = 10
_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC


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
    # The log, open and under a shared lock while the build runs (pruning skips it).
    _log_fd: int | None = field(default=None, repr=False)

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
        except FileNotFoundError:
            pass  # the log is gone (removed by hand): nothing to point at
        except OSError as exc:
            report(f"{link.name} not updated: {describe(exc)} (the log is {self.log_path})")

    def close(self) -> None:
        fd, self._log_fd = self._log_fd, None
        if fd is not None:
            os.close(fd)


def prepare(request: Request, env: Mapping[str, str], clock: Clock,
            report: Callable[[str], None]) -> BuildFiles | None:
    """Check the directory, create this build's log, prune old ones; None (reported
    once) if the log directory cannot be used: the build still runs."""
    directory = log_dir_for_writing(request.log_dir, env)
    logs = directory / LOGS_SUBDIR
    try:
        directory.mkdir(parents=True, exist_ok=True, mode=0o755)
        reason = unsafe_because(directory)
        if reason is None:
            with contextlib.suppress(FileExistsError):
                logs.mkdir(mode=0o755)
            reason = _prefixed("logs/ ", unsafe_because(logs))
        if reason is not None:
            report(f"no build logs or records: {directory} {reason}; nothing was written "
                   "there and the build runs without them")
            return None
        build_id = new_build_id()
        stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
        log_path = logs / f"{stamp}-{build_id[:8]}.log"
        log_fd = _create_log(logs, log_path.name)
    except OSError as exc:
        report(f"no build logs or records: cannot use {directory}: {describe(exc)}; the "
               "build runs without them")
        return None
    remove_stale_temporaries(directory)
    _prune(logs, _keep_logs(env), report)
    return BuildFiles(directory=directory, build_id=build_id, log_path=log_path,
                      _log_fd=log_fd)


def _prefixed(prefix: str, reason: str | None) -> str | None:
    return prefix + reason if reason is not None else None


def _create_log(logs: Path, name: str) -> int:
    """Create the build's log (never following or reusing a name) and hold a shared
    lock on it for the whole build."""
    dir_fd = os.open(logs, _DIR_FLAGS)
    try:
        fd = os.open(name, os.O_RDONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC,
                     0o644, dir_fd=dir_fd)
    finally:
        os.close(dir_fd)
    try_lock(fd, exclusive=False)
    return fd


def _keep_logs(env: Mapping[str, str]) -> int:
    try:
        return max(1, int(env.get("NIXOS_BUILD_KEEP_LOGS", DEFAULT_KEEP_LOGS)))
    except ValueError:
        return DEFAULT_KEEP_LOGS


def _prune(logs: Path, keep: int, report: Callable[[str], None]) -> None:
    """Keep the newest ``keep`` builds' logs (this build's included), and every log a
    running build holds.  Works inside the directory opened without following links,
    so nothing outside it is ever removed."""
    try:
        dir_fd = os.open(logs, _DIR_FLAGS)
    except OSError:
        return
    try:
        builds: dict[str, list[str]] = {}
        for name in os.listdir(dir_fd):
            if name.endswith(".log"):
                builds.setdefault(name.split(".", 1)[0], []).append(name)
        for key in sorted(builds)[: max(0, len(builds) - keep)]:
            for name in builds[key]:
                _remove_unheld(dir_fd, name, report)
    finally:
        os.close(dir_fd)


def _remove_unheld(dir_fd: int, name: str, report: Callable[[str], None]) -> None:
    try:
        fd = os.open(name, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC,
                     dir_fd=dir_fd)
    except FileNotFoundError:
        return  # another wrapper pruned it first
    except OSError as exc:
        if exc.errno != errno.ELOOP:  # a symbolic link: not a log of ours, left alone
            report(f"old log not removed: {name}: {describe(exc)}")
        return
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode) or not try_lock(fd, exclusive=True):
            return  # not a log of ours, or a build still running
        os.unlink(name, dir_fd=dir_fd)
    except FileNotFoundError:
        pass
    except OSError as exc:
        report(f"old log not removed: {name}: {describe(exc)}")
    finally:
        os.close(fd)
