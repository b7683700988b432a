"""Clocks the parsers read time from (a real one, and a manual one for tests)."""

from __future__ import annotations

import time
from typing import Protocol


class Clock(Protocol):
    def now_iso(self) -> str:
        """The wall-clock time as RFC 3339 UTC with milliseconds."""
        ...

    def monotonic_ms(self) -> int:
        """Milliseconds on a clock that never goes back (for durations)."""
        ...


class SystemClock:
    """The real clock.  Formatting is cached per second: events arrive by the thousand
    per second and formatting a timestamp costs more than decoding the line."""

    def __init__(self) -> None:
        self._second = -1
        self._prefix = ""

    def now_iso(self) -> str:
        t = time.time()
        second = int(t)
        if second != self._second:
            self._second = second
            self._prefix = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second))
        return f"{self._prefix}.{int((t - second) * 1000):03d}Z"

    def monotonic_ms(self) -> int:
        return time.monotonic_ns() // 1_000_000


class ManualClock:
    """A clock that only moves when told to; for deterministic tests."""

    def __init__(self, start_ms: int = 1_764_000_000_000) -> None:
        self.ms = start_ms

    def advance(self, ms: int) -> None:
        self.ms += ms

    def now_iso(self) -> str:
        second, ms = divmod(self.ms, 1000)
        return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second)) + f".{ms:03d}Z"

    def monotonic_ms(self) -> int:
        return self.ms
