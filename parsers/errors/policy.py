"""Which error is reported, as what kind, as a root cause or a consequence: decided here.

The readers say what they found (a :class:`~parsers.errors.finding.Finding`); this module
decides what becomes of it, and is the one place that builds an ``error`` event and
marks a derivation failed.  Findings arrive in one of these ways:

* an **error** (:meth:`ErrorPolicy.error`): reported at once, deduplicated; a summary
  that only repeats failures reported elsewhere, or a binary cache that could not
  answer, is held back as a weak error instead;
* an error **read from text** (:meth:`ErrorPolicy.found`): the same, after the clues
  printed just before it (the *evidence window*) and the builder output nobody claimed
  had their say: a generic failure ("failed to start SSH connection") takes the kind and
  words of a specific clue (``Permission denied (publickey)``), a builder whose disk
  filled up is ``out-of-space``, an unattributed builder log becomes a failure's tail;
* a **clue** (:meth:`ErrorPolicy.clue`): a line that explains a failure but is not one
  (``No space left on device`` outside nix's report, ``Job for x.service failed``);
  kept for :data:`EVIDENCE_WINDOW` lines, and weak at the end if it explained nothing;
* a **fallback** (:meth:`ErrorPolicy.fallback`): a failure known only by name (nom's
  tree shows ``⚠ foo failed``), reported at the end unless an error names it;
* a **weak** error (:meth:`ErrorPolicy.weak`), of a :class:`Strength`: reported at the
  end only when nothing better was found and the build did not succeed, so that a log
  whose only evidence is such a line still explains itself.

The order errors are shown in (root causes first) is :mod:`parsers.errors.order`.
"""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Callable
from enum import Enum
from typing import Final

from parsers.activation import StatusBlock, is_activation_summary
from parsers.derivations import FailReason, Tracker
from parsers.errors.classify import (
    explain_program_failure,
    is_fetcher_report,
    is_nix_report,
    is_strong_key_line,
    is_summary,
    is_transient,
    key_line,
    refine_build_kind,
)
from parsers.errors.finding import Finding
from parsers.errors.hints import hint_for
from parsers.events import ErrorEvent, Event
from parsers.store import store_name

EVIDENCE_WINDOW: Final = 40  # lines: how far back a clue may explain an error
RECENT_OUTPUT: Final = 25  # lines of unattributed builder output kept as a failure's tail

# Kinds of a derivation's own failure: the tracker marks the derivation failed.
_FAILS_DERIVATION: Final = frozenset(
    ("build-failure", "hash-mismatch", "out-of-space", "download", "timeout"))
# Kinds of a clue specific enough to explain a generic failure that follows it.
_EXPLAINING: Final = ("permission", "out-of-space", "timeout")
# Store paths differ between two evaluations of the same source (the same error printed
# for nixos-rebuild's own build and then for the system's): not a different error.
_STORE_HASH = re.compile(r"/nix/store/[0-9a-z]{32}-")


class Strength(Enum):
    """Why an error is weak, which decides whether it is reported at the end."""

    HINT = "hint"  # a clue that explained nothing: reported if no error was
    WRAPPER = "wrapper"  # a summary or wrapper line: the first one, if nothing else
    SUBSTITUTER = "substituter"  # a binary cache failed: moot once the build got through


class ErrorPolicy:
    """The errors of one build: decides, deduplicates, commits to ``out``."""

    __slots__ = ("_clobbered", "_evidence", "_expired", "_expired_units", "_fallbacks", "_seen",
                 "_snippet_failed", "_weak", "dirty_tree", "errors", "out", "recent", "said",
                 "tracker")

    def __init__(self, out: list[Event], tracker: Tracker) -> None:
        self.out = out
        self.tracker = tracker
        self.errors: list[ErrorEvent] = []  # committed, in the order they happened
        # Builder output nobody claimed (plain nix-build prints every running build's log
        # unprefixed): the tail of a failure that has none of its own.
        self.recent: deque[str] = deque(maxlen=RECENT_OUTPUT)
        # The last line a tool (not a builder) printed, with its line number: what a
        # program nix ran (git) said before nix reported that it failed.
        self.said: tuple[int, str] | None = None
        self.dirty_tree = False  # True iff nix warned that the flake's Git tree is dirty
        self._evidence: list[tuple[int, Finding]] = []  # clues in the window, oldest first
        # Clues past the window, in order: they can explain nothing any more and are weak
        # at the end.  Kept apart so that a long log costs linear time: each error scans
        # only the window.  (None: a unit clue a later activation step took back.)
        self._expired: list[Finding | None] = []
        self._expired_units: list[int] = []  # where the unit-failure clues are in _expired
        self._weak: list[tuple[Strength, Finding]] = []
        self._fallbacks: list[Finding] = []
        self._seen: set[tuple[str, str | None, str]] = set()
        self._clobbered = False  # True iff a Home Manager clobber was found
        self._snippet_failed = False  # True iff the last activation failure was a snippet's

    # --- findings -------------------------------------------------------------------

    def error(self, finding: Finding) -> None:
        """An error: committed unless it only repeats others (a summary) or is a
        binary cache nix recovers from."""
        if is_summary(finding):
            self.weak(finding, Strength.WRAPPER)
        elif is_transient(finding):
            self.weak(finding, Strength.SUBSTITUTER)
        else:
            self._commit(finding)

    def found(self, finding: Finding, lineno: int) -> None:
        """An error read from text at line ``lineno``, explained by what came before."""
        if finding.kind == "home-manager-clobber":
            self._clobbered = True
        self._expire(lineno)
        recent = [f for _, f in self._evidence]
        if finding.drv_path and finding.kind == "build-failure":
            output = self.recent
            if output and not finding.log_tail and not self.tracker.tail(finding.drv_path):
                finding.log_tail = list(output)
            refine_build_kind(finding, "\n".join(output))
            if finding.kind == "build-failure":
                self._explain_build(finding, recent)
            output.clear()
        elif finding.kind == "other" and finding.derivation is None:
            clue = next((f for f in reversed(recent) if f.kind in _EXPLAINING), None)
            if clue is not None:
                finding.kind = clue.kind
                finding.detail = "\n".join(
                    filter(None, (clue.message, finding.detail or finding.message)))
                finding.message = clue.message
                self._evidence = [(n, f) for n, f in self._evidence if f is not clue]
        self.error(finding)

    def _explain_build(self, finding: Finding, recent: list[Finding]) -> None:
        """A builder failure after a clue that says why: the disk filled up, or the
        fetcher could not download (its words are the message, it is what to fix)."""
        if any(f.kind == "out-of-space" for f in recent):
            finding.kind = "out-of-space"
            return
        fetch = next((f for f in reversed(recent) if is_fetcher_report(f)), None)
        if fetch is not None:
            finding.kind = "download"
            finding.detail = "\n".join(filter(None, (fetch.message, finding.detail)))
            finding.message = fetch.message
            self._evidence = [(n, f) for n, f in self._evidence if f is not fetch]

    def report(self, finding: Finding, lines: list[str], lineno: int, building: bool) -> bool:
        """A nix-style ``error:`` report (its ``lines`` end at ``lineno``).  False
        when it is a builder's own (a compiler, a test runner) printed while builds ran:
        it stays build output, the tail of the failure nix reports next."""
        if not is_nix_report(finding):
            if building:
                self.recent.extend(lines)
                return False
            if is_fetcher_report(finding):
                self.clue(finding, lineno)  # the failure of its builder follows
                return True
        said = self.said
        if said is not None and lineno - said[0] <= len(lines) + 2:
            explain_program_failure(finding, said[1])
        self.found(finding, lineno)
        return True

    def clue(self, finding: Finding, lineno: int) -> None:
        """A line that may explain the next error (see :data:`EVIDENCE_WINDOW`)."""
        self._expire(lineno)
        self._evidence.append((lineno, finding))

    def _expire(self, lineno: int) -> None:
        """Move the clues more than EVIDENCE_WINDOW lines before ``lineno`` out of it."""
        evidence = self._evidence
        gone = 0
        while gone < len(evidence) and lineno - evidence[gone][0] > EVIDENCE_WINDOW:
            gone += 1
        for _, finding in evidence[:gone]:
            if finding.kind == "activation-unit-failed":
                self._expired_units.append(len(self._expired))
            self._expired.append(finding)
        del evidence[:gone]

    def tool_report(self, finding: Finding, lineno: int) -> None:
        """A tool's own error report (a Rust chain, a Python traceback): a clue when it
        names a cause (no space left, a permission), else a wrapper of a failure
        reported elsewhere."""
        if finding.kind == "other":
            self.weak(finding, Strength.WRAPPER)
        else:
            self.clue(finding, lineno)

    def activation_failure(self, finding: Finding, lineno: int) -> None:
        """switch-to-configuration's and Home Manager's own failure lines.  ``Failed to
        run activate script`` after a snippet's failure only sums it up."""
        if self._snippet_failed and is_activation_summary(finding):
            self.weak(finding, Strength.WRAPPER)
            return
        self._snippet_failed = finding.message.startswith("Activation script snippet ")
        self.found(finding, lineno)

    def unit_status(self, status: StatusBlock, lineno: int) -> None:
        """The units-failed warning and its status block: the causes found in its
        journal first, then the unit failure (a consequence when they explain it)."""
        for cause in status.causes:
            self.found(cause, lineno)
        self.found(status.error(self._clobbered), lineno)

    def activation_step(self) -> None:
        """Activation went on: a unit's ``Job for … failed`` seen before it did not make
        switch-to-configuration fail (it names failed units itself, at its end)."""
        self._evidence = [(n, f) for n, f in self._evidence
                          if f.kind != "activation-unit-failed"]
        for index in self._expired_units:
            self._expired[index] = None
        self._expired_units.clear()

    def bare_log_failure(self, output_path: str | None) -> None:
        """A builder's log without nix around it (``nix log``, a CI artifact): it failed
        if its last lines say so."""
        tail = list(self.recent)
        key = key_line(tail[-10:])
        if key is None or not is_strong_key_line(key):
            return
        finding = Finding(kind="build-failure", message=key, log_tail=tail,
                          derivation=store_name(output_path) if output_path else None)
        refine_build_kind(finding, "")
        self.weak(finding, Strength.HINT)

    def fallback(self, finding: Finding) -> None:
        """A failure known only by its derivation's name, once per name: reported at the
        end unless an error names that derivation."""
        if all(f.derivation != finding.derivation for f in self._fallbacks):
            self._fallbacks.append(finding)

    def weak(self, finding: Finding, strength: Strength = Strength.WRAPPER) -> None:
        self._weak.append((strength, finding))

    # --- the end ----------------------------------------------------------------------

    def end_of_text(self) -> None:
        """The text is over: clues that explained nothing are weak errors now."""
        for expired in self._expired:
            if expired is not None:
                self.weak(expired, Strength.HINT)
        for _, finding in self._evidence:
            self.weak(finding, Strength.HINT)
        self._evidence.clear()
        self._expired.clear()
        self._expired_units.clear()

    def flush(self, exit_code: int | None, got_through: Callable[[], bool]) -> None:
        """End of the build: report fallbacks not covered, then, if no error was found
        and the build did not succeed, the weak errors (clues; else the first summary).
        Binary-cache errors are dropped when ``got_through()`` (the build succeeded,
        activation began)."""
        for finding in self._fallbacks:
            if finding.derivation is None or all(
                    e.derivation != finding.derivation for e in self.errors):
                self._commit(finding)
        self._fallbacks.clear()
        weak, self._weak = self._weak, []
        if self.errors or exit_code == 0:
            return
        if got_through():
            weak = [(s, f) for s, f in weak if s is not Strength.SUBSTITUTER]
        hints = [f for s, f in weak if s is not Strength.WRAPPER]
        for finding in hints or [f for _, f in weak[:1]]:
            self._commit(finding)

    # --- the one place an error event is made -----------------------------------------

    def _commit(self, finding: Finding) -> None:
        # A derivation fails once, however many times and in whatever words nix says it.
        key = (finding.kind, finding.drv_path,
               "" if finding.drv_path else _STORE_HASH.sub("/nix/store/", finding.message))
        if key in self._seen:
            return
        self._seen.add(key)
        path = finding.drv_path
        if path and finding.root_cause and finding.kind in _FAILS_DERIVATION:
            tracker = self.tracker
            reason: FailReason = (
                "hash-mismatch" if finding.kind == "hash-mismatch" else "builder-failed")
            failed = tracker.fail(path, finding.exit_code, reason, finding.log_tail)
            if failed is not None and not finding.log_tail:
                finding.log_tail = failed.log_tail
            finding.phase = tracker.last_phase(path) or finding.phase
        if finding.hint is None:
            finding.hint = hint_for(finding, self.dirty_tree)
        event = finding.event()
        self.errors.append(event)
        self.out.append(event)
