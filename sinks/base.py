"""The sink interface and the guard that keeps a failing sink from hurting the build."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any, Final, Literal, Protocol, TypeVar

from parsers.events import Event, LogLine
from records.files import describe

Report = Callable[[str], None]

LogLinesRead = Literal["all", "tool", "none"]
"""Which ``log.line`` events a sink reads: all, only the tool's own text (``source``
``tool``: a builder's output is not made for it), or none."""
_WIDTH: Final[dict[LogLinesRead, int]] = {"none": 0, "tool": 1, "all": 2}
E = TypeVar("E", bound=Event)


class Handlers:
    """A dispatch table keyed by event type: each handler takes the precise event type
    it is registered for (checked by mypy at :meth:`on`), and a batch costs one
    dictionary lookup per event (a ``match`` or an ``isinstance`` chain costs ten
    times that on a million events).  Types without a handler are skipped.

        handlers = Handlers().on(LogLine, self._log).on(Phase, self._phase)
        handlers(events)
    """

    __slots__ = ("_table",)

    def __init__(self) -> None:
        # Any: each entry's handler takes its key's type, which a dict cannot say.
        self._table: dict[type[Event], Callable[[Any], None]] = {}

    def on(self, kind: type[E], handler: Callable[[E], None]) -> Handlers:
        self._table[kind] = handler
        return self

    def __contains__(self, kind: type[Event]) -> bool:
        return kind in self._table

    def __call__(self, events: Iterable[Event]) -> None:
        get = self._table.get
        for event in events:
            handler = get(type(event))
            if handler is not None:
                handler(event)


class Sink(Protocol):
    """A consumer of events.  One that reads fewer ``log.line`` events than all says
    so with a class attribute ``log_lines: LogLinesRead = "none"`` (or ``"tool"``):
    those no sink reads are not made (they are most of the events).  Without it, a
    sink is taken to read them all."""

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

    def reads_log_lines(self) -> bool:
        """Any sink reads ``log.line`` events."""
        return self.log_lines_read() != "none"

    def log_lines_read(self) -> LogLinesRead:
        """The most any sink reads of the ``log.line`` events."""
        return max((_log_lines(sink) for sink in self._sinks), key=_WIDTH.__getitem__,
                   default="none")

    def dispatch(self, events: Sequence[Event], others: Sequence[Event] | None = None) -> None:
        """``events`` to every sink; those that read no ``log.line`` get the batch
        without them (``others``, if the caller made it already), made once: a
        build's output is nearly all log lines, and each sink would otherwise step
        over every one."""
        if not events:
            return
        for sink in tuple(self._sinks):
            batch = events
            if not _reads_log_lines(sink):
                if others is None:
                    others = without_log_lines(events)
                batch = others
                if not batch:
                    continue
            try:
                sink.handle(batch)
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


def _log_lines(sink: Sink) -> LogLinesRead:
    read: LogLinesRead = getattr(sink, "log_lines", "all")
    return read


def _reads_log_lines(sink: Sink) -> bool:
    return _log_lines(sink) != "none"


def without_log_lines(events: Sequence[Event]) -> Sequence[Event]:
    """``events`` but its ``log.line`` events (``events`` itself when it has none)."""
    others = [e for e in events if type(e) is not LogLine]
    return events if len(others) == len(events) else others
