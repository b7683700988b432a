"""State shared by the parsers of one build: the output list, derivations, the plan
being announced, and the errors seen so far."""

from __future__ import annotations

from .derivations import Tracker
from .events import ErrorEvent, Event
from .plan import PlanCollector


class ParseState:
    __slots__ = ("_seen_errors", "errors", "out", "plan", "tracker")

    def __init__(self) -> None:
        self.out: list[Event] = []
        self.tracker = Tracker(self.out)
        self.plan = PlanCollector(self.out)
        self.errors: list[ErrorEvent] = []
        self._seen_errors: set[tuple[str, str | None, str]] = set()

    def error(self, event: ErrorEvent) -> None:
        """Report a classified error once, first updating the derivation it names.

        The same error reaches us twice in several setups (older nix printed it twice;
        nom repeats nix's errors in its view; the exact stream and the terminal both
        carry it), so errors are deduplicated on kind, derivation and message."""
        key = (event.kind, event.drv_path, event.message)
        if key in self._seen_errors:
            return
        self._seen_errors.add(key)
        tracker = self.tracker
        if event.drv_path and event.root_cause and event.kind in ("build-failure", "hash-mismatch"):
            reason = "hash-mismatch" if event.kind == "hash-mismatch" else "builder-failed"
            failed = tracker.fail(event.drv_path, event.exit_code, reason, event.log_tail)
            if failed is not None and not event.log_tail:
                event.log_tail = failed.log_tail
            event.phase = tracker.last_phase(event.drv_path)
        self.errors.append(event)
        self.out.append(event)
