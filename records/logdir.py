"""Where build logs and records live.

Writing: ``--log-dir``, else ``NIXOS_BUILD_LOG_DIR``, else ``/var/log/nixos-builds``
when writable (root, or a directory made writable for the user), else
``$XDG_STATE_HOME/nixos-builds`` (``~/.local/state/nixos-builds``).  Reading picks, of
the default places, the one with the newest ``last-build.json``."""

from __future__ import annotations

import os
import stat
from collections.abc import Mapping
from pathlib import Path

SYSTEM_LOG_DIR = Path("/var/log/nixos-builds")
LAST_BUILD_JSON = "last-build.json"
LAST_BUILD_LOG = "last-build.log"
HISTORY_JSON = "build-history.json"
LOGS_SUBDIR = "logs"


def user_log_dir(env: Mapping[str, str]) -> Path:
    state = env.get("XDG_STATE_HOME") or os.path.join(
        env.get("HOME") or os.path.expanduser("~"), ".local", "state")
    return Path(state) / "nixos-builds"


def _writable(directory: Path) -> bool:
    if directory.is_dir():
        return os.access(directory, os.W_OK | os.X_OK)
    parent = directory.parent
    return parent.is_dir() and os.access(parent, os.W_OK | os.X_OK)


def log_dir_for_writing(cli_value: str | None, env: Mapping[str, str] | None = None) -> Path:
    env = os.environ if env is None else env
    if cli_value:
        return Path(cli_value)
    if env.get("NIXOS_BUILD_LOG_DIR"):
        return Path(env["NIXOS_BUILD_LOG_DIR"])
    if _writable(SYSTEM_LOG_DIR):
        return SYSTEM_LOG_DIR
    return user_log_dir(env)


def log_dir_for_reading(cli_value: str | None = None,
                        env: Mapping[str, str] | None = None) -> Path:
    env = os.environ if env is None else env
    if cli_value:
        return Path(cli_value)
    if env.get("NIXOS_BUILD_LOG_DIR"):
        return Path(env["NIXOS_BUILD_LOG_DIR"])
    candidates = [SYSTEM_LOG_DIR, user_log_dir(env)]
    newest, newest_time = candidates[0], -1.0
    for directory in candidates:
        try:
            mtime = (directory / LAST_BUILD_JSON).stat().st_mtime
        except OSError:
            continue
        if mtime > newest_time:
            newest, newest_time = directory, mtime
    return newest


def unsafe_because(directory: Path) -> str | None:
    """Why the wrapper must not write into ``directory`` (None: it may).

    The wrapper often runs as root; whoever can write the log directory could
    otherwise aim it at files elsewhere (a symlinked ``logs/`` made pruning delete
    ``*.log`` files there).  So it writes only into a real directory (not a symbolic
    link) owned by the user it runs as or by root, not writable by everyone.
    Group-writable is allowed: a log directory shared by the admins' group."""
    try:
        info = os.lstat(directory)
    except FileNotFoundError:
        return "does not exist"
    except OSError as exc:
        return exc.strerror or str(exc)
    if stat.S_ISLNK(info.st_mode):
        return "is a symbolic link"
    if not stat.S_ISDIR(info.st_mode):
        return "is not a directory"
    if info.st_uid not in (os.geteuid(), 0):
        return f"is owned by another user (uid {info.st_uid})"
    if info.st_mode & stat.S_IWOTH:
        return "is writable by every user"
    if not os.access(directory, os.W_OK | os.X_OK):
        return "is not writable"
    return None
