"""State shared by the parsers of one build: the output list, derivations, the plan
being announced, and the errors seen so far.

Errors come in three strengths:

* errors proper (:meth:`ParseState.error`): reported at once, deduplicated;
* fallbacks (:meth:`ParseState.fallback`): a failure known only by name (nom's tree
  shows ``⚠ foo failed``), reported at the end unless an error already names it;
* weak errors (:meth:`ParseState.weak`): summaries and wrapper lines that repeat a
  failure reported elsewhere (``error: build of '…' failed``, nixos-rebuild-ng's
  ``Command '…' returned non-zero exit status 1.``), hints such as ``No space left on
  device`` seen outside nix's reports, and substituter errors nix recovers from.
  Reported at the end only when nothing better was found and the build did not
  succeed, so that a log whose only clue is such a line still explains itself.
"""

from __future__ import annotations

from parsers.derivations import FINISHED, Tracker
from parsers.errors.classify import is_summary, is_transient
from parsers.events import ErrorEvent, Event
from parsers.plan import PlanCollector

HINT, WRAPPER, SUBSTITUTER = 0, 1, 2


class ParseState:
    __slots__ = ("_fallbacks", "_seen_errors", "_weak", "activated", "errors", "out", "plan",
                 "succeeded", "tracker")

    def __init__(self) -> None:
        self.out: list[Event] = []
        self.tracker = Tracker(self.out)
        self.plan = PlanCollector(self.out)
        self.errors: list[ErrorEvent] = []
        self._seen_errors: set[tuple[str, str | None, str]] = set()
        self._weak: list[tuple[int, ErrorEvent]] = []
        self._fallbacks: list[ErrorEvent] = []
        self.succeeded = False  # the log says the build (not activation) succeeded
        self.activated = False  # activation began: the build itself got through

    def error(self, event: ErrorEvent) -> None:
        """Report a classified error once, first updating the derivation it names.

        The same error reaches us twice in several setups (older nix printed it twice;
        nom repeats nix's errors in its view; nix and the tool's wrapper both word it),
        so errors are deduplicated on kind and derivation, or kind and message when no
        derivation is named.  A summary that only repeats earlier failures is held back
        (see :meth:`weak`)."""
        if is_summary(event):
            self.weak(event, WRAPPER)
        elif is_transient(event):
            self.weak(event, SUBSTITUTER)
        else:
            self._commit(event)

    def weak(self, event: ErrorEvent, strength: int = WRAPPER) -> None:
        """An error reported at the end only if no error proper was: ``HINT`` for a clue
        (``No space left on device``), ``WRAPPER`` for a summary of a failure,
        ``SUBSTITUTER`` for a binary cache that failed (moot once activation began)."""
        self._weak.append((strength, event))

    def fallback(self, event: ErrorEvent) -> None:
        """A failure known only by its derivation's name: reported at the end unless an
        error names that derivation."""
        self._fallbacks.append(event)

    def has_error_about(self, derivation: str) -> bool:
        return any(e.derivation == derivation for e in self.errors)

    def flush_errors(self, exit_code: int | None) -> None:
        """End of the build: report fallbacks not covered, then, if no error was found
        and the build did not succeed, the weak errors (clues; else the first summary).
        Binary-cache errors are dropped when the log shows the build got through."""
        for event in self._fallbacks:
            if event.derivation is None or not self.has_error_about(event.derivation):
                self._commit(event)
        self._fallbacks.clear()
        weak, self._weak = self._weak, []
        if self.errors or exit_code == 0:
            return
        if self.activated or self._built_everything():
            # The build got through: binary-cache trouble is not why it failed.
            weak = [(strength, e) for strength, e in weak if strength != SUBSTITUTER]
        hints = [e for strength, e in weak if strength != WRAPPER]
        for event in hints or [e for _, e in weak[:1]]:
            self._commit(event)

    def _built_everything(self) -> bool:
        """Evidence in the log that the build succeeded: nom said "Finished", or every
        derivation nix started is known to have been built."""
        if self.succeeded:
            return True
        drvs = self.tracker.drvs.values()
        return bool(drvs) and all(d.state == FINISHED for d in drvs)

    def _commit(self, event: ErrorEvent) -> None:
        # A derivation fails once, however many times and in whatever words nix says it.
        key = (event.kind, event.drv_path, "" if event.drv_path else event.message)
        if key in self._seen_errors:
            return
        self._seen_errors.add(key)
        tracker = self.tracker
        if event.drv_path and event.root_cause and event.kind in (
                "build-failure", "hash-mismatch", "out-of-space", "download", "timeout"):
            reason = "hash-mismatch" if event.kind == "hash-mismatch" else "builder-failed"
            failed = tracker.fail(event.drv_path, event.exit_code, reason, event.log_tail)
            if failed is not None and not event.log_tail:
                event.log_tail = failed.log_tail
            event.phase = tracker.last_phase(event.drv_path) or event.phase
        self.errors.append(event)
        self.out.append(event)
