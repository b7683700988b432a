"""A saved log's bytes to events, through the same pipeline the wrapper runs live.

The one way a log read back (``nixos-build-status events`` / ``errors``, the status
report's last build, the library, the accuracy scorer) becomes events: the bytes go
through :class:`LogStream` (per-line format detection, every parser) and the batches
come out as the wrapper's sinks would have seen them.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from parsers.clock import Clock, ManualClock
from parsers.events import BuildFinished, BuildStarted, ErrorEvent, Event, Phase
from parsers.stream import LogStream


def replay(chunks: Iterable[bytes], *, clock: Clock | None = None, log_lines: bool = True,
           started: BuildStarted | None = None,
           exit_code: int | None = None) -> Iterator[list[Event]]:
    """The events of a build's output (``last-build.log``, a pasted log: any format),
    batch by batch: ``build.started`` first, ``build.finished`` last.  ``clock``
    stamps them (a fixed clock by default: a saved log has no live time)."""
    stream = LogStream(clock or ManualClock(), log_lines=log_lines)
    yield stream.begin(started or BuildStarted(build_id="log", source="log"))
    for chunk in chunks:
        batch = stream.feed(chunk)
        if batch:
            yield batch
    yield stream.end(exit_code)


def extract(chunks: Iterable[bytes], *,
            exit_code: int | None = None) -> tuple[list[ErrorEvent], BuildFinished]:
    """The errors of a build's output, in stream order, and its closing event."""
    errors: list[ErrorEvent] = []
    last: Event | None = None
    for batch in replay(chunks, exit_code=exit_code):
        errors.extend(e for e in batch if type(e) is ErrorEvent)
        last = batch[-1]
    assert isinstance(last, BuildFinished)
    return errors, last


def extract_bytes(data: bytes, *, exit_code: int | None = None) -> list[ErrorEvent]:
    """The errors of one log held in memory, in stream order."""
    return extract([data], exit_code=exit_code)[0]


def failed_phase(chunks: Iterable[bytes]) -> str | None:
    """The phase a failed build stopped in (the first root cause that names one),
    else the last phase any derivation entered."""
    last_phase: str | None = None
    for batch in replay(chunks, log_lines=False):
        for event in batch:
            if type(event) is ErrorEvent and event.root_cause and event.phase:
                return event.phase
            if type(event) is Phase:
                last_phase = event.phase
    return last_phase
