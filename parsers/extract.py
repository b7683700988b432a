"""The errors of a saved log, through the same pipeline the wrapper runs live.

Used by ``nixos-build-status errors``, the library and the accuracy scorer: the bytes go
through :class:`LogStream` (per-line format detection, every parser), and the ``error``
events come out in stream order.
"""

from __future__ import annotations

from collections.abc import Iterable

from .clock import ManualClock
from .events import BuildFinished, BuildStarted, ErrorEvent
from .stream import LogStream


def extract(chunks: Iterable[bytes], *,
            exit_code: int | None = None) -> tuple[list[ErrorEvent], BuildFinished]:
    """The errors of a build's output (``last-build.log``, a pasted log: any format),
    in stream order, and its closing event."""
    stream = LogStream(ManualClock(), log_lines=True)
    errors: list[ErrorEvent] = []

    def keep(events: Iterable[object]) -> None:
        errors.extend(e for e in events if type(e) is ErrorEvent)

    keep(stream.begin(BuildStarted(build_id="extract", source="log")))
    for chunk in chunks:
        keep(stream.feed(chunk))
    end = stream.end(exit_code)
    keep(end)
    finished = end[-1]
    assert isinstance(finished, BuildFinished)
    return errors, finished


def extract_bytes(data: bytes, *, exit_code: int | None = None) -> list[ErrorEvent]:
    """The errors of one log held in memory, in stream order."""
    return extract([data], exit_code=exit_code)[0]
