"""``last-build.json``: the record of the most recent build, replaced atomically.

Written under a lock together with ``last-build.log``'s link to this build's log, so
that when builds overlap the two still describe the same build (the one that finished
last)."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Sequence
from pathlib import Path

from parsers.events import Event
from records.files import LockTimeout, atomic_write, locked
from records.schema import encode_record
from sinks.base import LogLinesRead
from sinks.record import BuildRecord

LOCK_TIMEOUT_S = 30.0


class LastBuildJson:
    name = "last-build.json"
    log_lines: LogLinesRead = "none"  # reads no log.line event (sinks/base.py)

    def __init__(self, path: Path, record: BuildRecord,
                 link_log: Callable[[], None] | None = None,
                 lock_timeout: float = LOCK_TIMEOUT_S) -> None:
        self.path = path
        self._record = record
        self._link_log = link_log
        self._lock_timeout = lock_timeout

    def handle(self, events: Sequence[Event]) -> None:
        pass

    def close(self) -> None:
        data = encode_record(self._record.to_record())
        lock = self.path.with_name(self.path.name + ".lock")
        try:
            with locked(lock, timeout=self._lock_timeout):
                atomic_write(self.path, data)
                if self._link_log is not None:
                    self._link_log()
        except LockTimeout:
            # Better a record beside another build's log than no record at all.
            atomic_write(self.path, data)
            if self._link_log is not None:
                with contextlib.suppress(OSError):
                    self._link_log()
