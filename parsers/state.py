"""State shared by the parsers of one build: the output list, derivations, the plan
being announced, and the error policy (:mod:`parsers.errors.policy`), which decides
which of the errors the parsers find are reported, and how."""

from __future__ import annotations

from parsers.derivations import Tracker
from parsers.errors.finding import Finding
from parsers.errors.policy import ErrorPolicy
from parsers.events import ErrorEvent, Event
from parsers.plan import PlanCollector


class ParseState:
    __slots__ = ("activated", "out", "plan", "policy", "succeeded", "tracker")

    def __init__(self) -> None:
        self.out: list[Event] = []
        self.tracker = Tracker(self.out)
        self.plan = PlanCollector(self.out)
        self.policy = ErrorPolicy(self.out, self.tracker)
        self.succeeded = False  # True iff the log says the build (not activation) succeeded
        self.activated = False  # True iff activation began: the build itself got through

    @property
    def errors(self) -> list[ErrorEvent]:
        """The errors reported so far, in the order they happened."""
        return self.policy.errors

    def error(self, finding: Finding) -> None:
        """An error found by a parser (see :meth:`ErrorPolicy.error`)."""
        self.policy.error(finding)

    def flush_errors(self, exit_code: int | None) -> None:
        """End of the build: the policy reports what it held back."""
        self.policy.flush(exit_code, self._got_through)

    def _got_through(self) -> bool:
        """Evidence in the log that the build succeeded: activation began, nom said
        "Finished", or every derivation nix started is known to have been built."""
        if self.activated or self.succeeded:
            return True
        return self.tracker.got_through()
