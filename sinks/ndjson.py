"""Events as NDJSON, one object a line, for other tools (``--events ndjson``)."""

from __future__ import annotations

from collections.abc import Sequence

import msgspec

from parsers.events import Event
from records.files import write_all


class NdjsonSink:
    name = "NDJSON stream"

    def __init__(self, fd: int) -> None:
        self._fd = fd
        self._encode_lines = msgspec.json.Encoder().encode_lines

    def handle(self, events: Sequence[Event]) -> None:
        write_all(self._fd, self._encode_lines(events))

    def close(self) -> None:
        pass
