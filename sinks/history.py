"""``build-history.json``: a JSON list of the last builds, oldest first.

Updated under an exclusive lock (concurrent wrappers append, none is lost) and by
atomic replacement (a wrapper killed mid-write leaves the old, valid file).  A history
that is not a JSON list is moved aside, reported, and started afresh."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import msgspec

from parsers.events import Event
from records.files import atomic_write, locked, read_nofollow
from records.schema import history_entry
from sinks.record import BuildRecord

HISTORY_LIMIT = 100


def load_history(path: Path) -> list[Any] | None:
    """The history as a list; [] when absent; None when unreadable as a JSON list."""
    data = read_nofollow(path)
    if data is None or not data.strip():
        return []
    try:
        value = msgspec.json.decode(data)
    except msgspec.DecodeError:
        return None
    return value if isinstance(value, list) else None


def append_history(path: Path, entry: dict[str, Any], limit: int = HISTORY_LIMIT,
                   report: Callable[[str], None] | None = None) -> None:
    with locked(path.with_name(path.name + ".lock")):
        history = load_history(path)
        if history is None:
            aside = path.with_name(f"{path.name}.corrupt-{time.strftime('%Y%m%dT%H%M%S')}")
            path.rename(aside)
            if report:
                report(f"{path} was not a JSON list; moved to {aside} and started afresh")
            history = []
        history.append(entry)
        del history[:-limit]
        atomic_write(path, msgspec.json.encode(history) + b"\n")


class History:
    name = "build-history.json"

    def __init__(self, path: Path, record: BuildRecord,
                 report: Callable[[str], None] | None = None) -> None:
        self.path = path
        self._record = record
        self._report = report

    def handle(self, events: Sequence[Event]) -> None:
        pass

    def close(self) -> None:
        append_history(self.path, history_entry(self._record.to_dict()), report=self._report)
