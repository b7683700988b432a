"""``last-build.json``: the record of the most recent build, replaced atomically."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import msgspec

from parsers.events import Event

from .files import atomic_write
from .record import BuildRecord


def encode_record(record: dict[str, object]) -> bytes:
    return msgspec.json.format(msgspec.json.encode(record), indent=2) + b"\n"


class LastBuildJson:
    name = "last-build.json"

    def __init__(self, path: Path, record: BuildRecord) -> None:
        self.path = path
        self._record = record

    def handle(self, events: Sequence[Event]) -> None:
        pass

    def close(self) -> None:
        atomic_write(self.path, encode_record(self._record.to_dict()))
