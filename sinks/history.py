"""``build-history.json``: a JSON list of the last builds, oldest first.

Updated under an exclusive lock (concurrent wrappers append, none is lost) and by
atomic replacement (a wrapper killed mid-write leaves the old, valid file).  Old entries
are copied as they are, undecoded (``msgspec.Raw``): the wrapper's memory is the file's
size, which is capped (``records.read.MAX_RECORD_BYTES``).  A history that is not a JSON
list, or too large, is moved aside under a name of its own, reported, and started
afresh.

The lock is waited for at most ``LOCK_TIMEOUT_S``: another holder (a stuck wrapper, a
script holding it) must not keep a finished build from exiting.  Then, or on Ctrl-C
while waiting, the history is not updated and the wrapper says so once."""

from __future__ import annotations

import os
import secrets
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import msgspec

from parsers.events import Event
from records.files import LockTimeout, atomic_write, locked
from records.read import Damaged, history_entries, read_capped
from records.schema import history_entry
from sinks.base import LogLinesRead
from sinks.record import BuildRecord

HISTORY_LIMIT = 100
LOCK_TIMEOUT_S = 30.0


def load_history(path: Path) -> list[msgspec.Raw] | None:
    """The history's entries, undecoded; [] when absent; None when damaged."""
    try:
        data = read_capped(path)
        return history_entries(data) if data is not None else []
    except Damaged:
        return None


def move_aside(path: Path) -> Path:
    """Rename a damaged file to a name no other copy has (two in one second keep
    both): the name is linked first, which fails rather than replace anything."""
    stamp = time.strftime("%Y%m%dT%H%M%S")
    while True:
        aside = path.with_name(f"{path.name}.corrupt-{stamp}-{secrets.token_hex(3)}")
        try:
            os.link(path, aside, follow_symlinks=False)
        except FileExistsError:
            continue
        os.unlink(path)
        return aside


def append_history(path: Path, entry: Any, limit: int = HISTORY_LIMIT,
                   report: Callable[[str], None] | None = None,
                   lock_timeout: float = LOCK_TIMEOUT_S) -> None:
    """Append ``entry`` (a ``HistoryEntry``, or any JSON-ready value).  Raises
    :class:`LockTimeout` when the lock is not had within ``lock_timeout``."""
    encoded = msgspec.json.encode(entry)
    with locked(path.with_name(path.name + ".lock"), timeout=lock_timeout):
        history = load_history(path)
        if history is None:
            aside = move_aside(path)
            if report:
                report(f"{path} was not a JSON list (or too large); moved to {aside} and "
                       "started afresh")
            history = []
        kept = [*history[-(limit - 1):], encoded] if limit > 1 else [encoded]
        atomic_write(path, b"[" + b",".join(kept) + b"]\n")


class History:
    name = "build-history.json"
    log_lines: LogLinesRead = "none"  # reads no log.line event (sinks/base.py)

    def __init__(self, path: Path, record: BuildRecord,
                 report: Callable[[str], None] | None = None,
                 lock_timeout: float = LOCK_TIMEOUT_S) -> None:
        self.path = path
        self._record = record
        self._report = report or (lambda message: None)
        self._lock_timeout = lock_timeout

    def handle(self, events: Sequence[Event]) -> None:
        pass

    def close(self) -> None:
        entry = history_entry(self._record.to_record())
        try:
            append_history(self.path, entry, report=self._report,
                           lock_timeout=self._lock_timeout)
        except LockTimeout:
            self._report(f"{self.path} not updated: another process held its lock for "
                         f"{self._lock_timeout:g} s")
        except KeyboardInterrupt:
            self._report(f"{self.path} not updated: interrupted while waiting for its lock")
