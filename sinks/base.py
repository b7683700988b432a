"""The sink interface and the guard that keeps a failing sink from hurting the build."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Protocol

from parsers.events import Event
from records.files import describe

Report = Callable[[str], None]


class Sink(Protocol):
    name: str

    def handle(self, events: Sequence[Event]) -> None: ...

    def close(self) -> None: ...


class SinkSet:
    """Fans a batch of events out to every sink still working.

    Any exception from a sink (OSError for a full disk or a closed pipe, or a bug)
    switches that sink off after one report; the others and the build carry on."""

    def __init__(self, sinks: Sequence[Sink], report: Report) -> None:
        self._sinks = list(sinks)
        self._report = report
        self.failed: dict[str, str] = {}

    def dispatch(self, events: Sequence[Event]) -> None:
        if not events:
            return
        for sink in tuple(self._sinks):
            try:
                sink.handle(events)
            except Exception as exc:  # any failure, a bug included, must not end the build
                self._disable(sink, exc)

    def tick(self) -> None:
        """Time passed without events: sinks that show time (the live console) may
        redraw."""
        for sink in tuple(self._sinks):
            tick = getattr(sink, "tick", None)
            if tick is None:
                continue
            try:
                tick()
            except Exception as exc:  # any failure, a bug included, must not end the build
                self._disable(sink, exc)

    def close(self) -> None:
        for sink in tuple(self._sinks):
            try:
                sink.close()
            except Exception as exc:
                self._disable(sink, exc)

    def _disable(self, sink: Sink, exc: BaseException) -> None:
        if sink in self._sinks:
            self._sinks.remove(sink)
        self.failed[sink.name] = describe(exc)
        self._report(f"{sink.name} switched off: {describe(exc)}; the build goes on")
