"""The time a build has left, from the times its derivations took before
(:mod:`records.buildtimes`): kept up to date from events, read by the live console and
written into ``progress`` events (``etaMs``) by the session.

Pure: the history is handed in, the clock is the caller's ``now``.
"""

from __future__ import annotations

from collections.abc import Sequence

from parsers.events import (
    DerivationAborted,
    DerivationFailed,
    DerivationFinished,
    DerivationStarted,
    Event,
    Plan,
    Progress,
)
from parsers.store import drv_name
from records.buildtimes import BuildTimes, estimate, remaining_ms
from sinks.base import Handlers


class Eta:
    def __init__(self, times: BuildTimes | None = None) -> None:
        self.times = times or BuildTimes()
        self.running: dict[str, tuple[str, int]] = {}   # drv path -> (name, started ms)
        self.waiting: dict[str, int | None] = {}        # drv path -> its expected ms
        self.jobs = 1                                    # the most builds seen at once
        # The waiting builds' expected times, summed as they come and go (a frame asks
        # for the time left; thousands of waiting builds are not summed each time).
        self._queued_ms = 0
        self._queued_known = 0
        self._now_ms = 0
        self._annotating = False
        # One dictionary lookup per event: most events (log lines) concern no ETA.
        self._handlers = (
            Handlers().on(Plan, self._plan).on(DerivationStarted, self._started)
            .on(DerivationFinished, self._ended).on(DerivationFailed, self._ended)
            .on(DerivationAborted, self._ended).on(Progress, self._progress))

    def update(self, events: Sequence[Event], now_ms: int) -> None:
        self._now_ms = now_ms
        self._handlers(events)

    def _plan(self, event: Plan) -> None:
        for path in event.builds:
            if path not in self.running and path not in self.waiting:
                expected = self.waiting[path] = self.expected(drv_name(path))
                if expected is not None:
                    self._queued_ms += expected
                    self._queued_known += 1

    def _started(self, event: DerivationStarted) -> None:
        self._unqueue(event.drv_path)
        self.running[event.drv_path] = (event.name, self._now_ms)
        self.jobs = max(self.jobs, len(self.running))

    def _ended(self, event: DerivationFinished | DerivationFailed | DerivationAborted) -> None:
        self.running.pop(event.drv_path, None)
        self._unqueue(event.drv_path)

    def _progress(self, event: Progress) -> None:
        if event.scope == "builds":
            self.jobs = max(self.jobs, event.running)
            if self._annotating:
                event.eta_ms = self.remaining(self._now_ms)

    def _unqueue(self, path: str) -> None:
        if path in self.waiting:
            expected = self.waiting.pop(path)
            if expected is not None:
                self._queued_ms -= expected
                self._queued_known -= 1

    def expected(self, name: str) -> int | None:
        """Milliseconds ``name`` took on average before; None: never built here."""
        return estimate(self.times, name)

    def remaining(self, now_ms: int) -> int | None:
        """Milliseconds left for the builds running and waiting; None when none of them
        was ever built here (no guess is better than a wrong one)."""
        if not self.running and not self.waiting:
            return None
        running = {name: now_ms - started for name, started in self.running.values()}
        left = remaining_ms(self.times, running, (), self.jobs)
        if left is None and not self._queued_known:
            return None
        return (left or 0) + self._queued_ms // max(1, self.jobs)

    def annotate(self, events: Sequence[Event], now_ms: int) -> None:
        """Follow ``events`` and put the time left into their ``progress`` of all builds
        (each with the time left as of the events before it)."""
        self._annotating = True
        try:
            self.update(events, now_ms)
        finally:
            self._annotating = False
