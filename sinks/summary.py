"""``last-build.json``: the record of the most recent build, replaced atomically."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from parsers.events import Event
from records.files import atomic_write
from records.schema import encode_record
from sinks.record import BuildRecord


class LastBuildJson:
    name = "last-build.json"

    def __init__(self, path: Path, record: BuildRecord) -> None:
        self.path = path
        self._record = record

    def handle(self, events: Sequence[Event]) -> None:
        pass

    def close(self) -> None:
        atomic_write(self.path, encode_record(self._record.to_dict()))
