"""A build's whole output to a stamped event stream.

Bytes arrive as the tool wrote them to its terminal; the format is decided per line
(``@nix {…}`` or text), so mixed output (nh's text, nix's stream, activation output)
parses whole.
This class is the only place that numbers events: ``build.started`` is always first,
``build.finished`` always last, ``seq`` strictly increasing.
"""

from __future__ import annotations

from parsers.clock import Clock
from parsers.events import BuildFinished, BuildStarted, Event, LogLine, Prompt, SubstituterUse
from parsers.internal_json import PREFIX, InternalJsonParser
from parsers.lines import LineSplitter
from parsers.state import ParseState
from parsers.text import TextParser


class LogStream:
    def __init__(self, clock: Clock, *, log_lines: bool = True) -> None:
        """``log_lines`` False: leave ``log.line`` events out (they are most of them)."""
        self.clock = clock
        self.state = ParseState()
        self.json = InternalJsonParser(self.state)
        self.text = TextParser(self.state)
        self._splitter = LineSplitter()
        self._prompted = b""
        self._log_lines = log_lines
        self.json.log_lines = self.json.build_lines = log_lines  # none made when none is wanted
        self._seq = 0
        self._started_ms: int | None = None

    def keep_log_lines(self, keep: bool, *, build: bool = True) -> None:
        """Make ``log.line`` events or not (before the first :meth:`feed`); ``build``
        False: not of a builder's output that nix's stream carries (the tool's own
        text only)."""
        self._log_lines = self.json.log_lines = keep
        self.json.build_lines = keep and build

    # --- lifecycle --------------------------------------------------------------------

    def begin(self, started: BuildStarted) -> list[Event]:
        self._started_ms = self.clock.monotonic_ms()
        self.state.plan.dry_run = started.action == "dry-build"
        self.state.out.insert(0, started)
        return self._stamp()

    def end(self, exit_code: int | None, *, signal: int | None = None,
            interrupted: bool = False) -> list[Event]:
        """Close the stream; nothing may be fed afterwards."""
        state = self.state
        state.tracker.now_ms = self.clock.monotonic_ms()
        self._lines(self._splitter.flush())
        self.text.flush()
        state.flush_errors(exit_code)
        state.plan.flush()
        if exit_code is not None:
            success: bool = exit_code == 0
        else:
            success = not any(e.root_cause for e in state.errors) and state.tracker.failed == 0
        state.tracker.finish(success)
        tracker = state.tracker
        now = self.clock.monotonic_ms()
        state.out.append(BuildFinished(
            exit_code=exit_code,
            success=success,
            duration_ms=now - self._started_ms if self._started_ms is not None else None,
            built=tracker.built,
            failed=tracker.failed,
            aborted=tracker.aborted,
            downloaded=tracker.downloaded,
            uploaded=tracker.uploaded,
            errors=len(state.errors),
            signal=signal,
            interrupted=interrupted,
            downloaded_bytes=sum(b for _, b in tracker.substituters.values()),
            substituters=[SubstituterUse(url=url, paths=paths, bytes=size)
                          for url, (paths, size) in tracker.substituters.items()],
        ))
        return self._stamp()

    def end_broken(self, exit_code: int | None, *, signal: int | None = None,
                   interrupted: bool = False) -> list[Event]:
        """Close a stream whose parsing failed: only the counts known so far."""
        tracker = self.state.tracker
        self.state.out[:] = [BuildFinished(
            exit_code=exit_code, success=exit_code == 0 if exit_code is not None else None,
            built=tracker.built, failed=tracker.failed, aborted=tracker.aborted,
            downloaded=tracker.downloaded, uploaded=tracker.uploaded,
            errors=len(self.state.errors), signal=signal, interrupted=interrupted,
        )]
        return self._stamp()

    # --- data -------------------------------------------------------------------------

    def has_partial(self) -> bool:
        """An unfinished line is waiting."""
        return self._splitter.has_pending()

    def feed(self, data: bytes) -> list[Event]:
        self.state.tracker.now_ms = self.clock.monotonic_ms()
        self._lines(self._splitter.feed(data))
        self._prompted = b""
        return self._stamp()

    def feed_structured(self, line: bytes) -> list[Event]:
        """One line of nix's structured stream that came another way than the
        terminal (``json-log-path``: JSON without the ``@nix `` prefix)."""
        self.state.tracker.now_ms = self.clock.monotonic_ms()
        self.json.line(line)
        return self._stamp()

    def idle(self) -> list[Event]:
        """The tool has been quiet for a while: an unfinished line waiting is a prompt
        (sudo's password prompt, a y/n question) and must be shown now."""
        pending = self._splitter.pending
        if not pending or pending == self._prompted or PREFIX.startswith(pending[:5]):
            return []
        self._prompted = pending
        self.state.out.append(Prompt(text=pending.decode("utf-8", "replace")))
        return self._stamp()

    def _lines(self, lines: list[bytes]) -> None:
        # The JSON parser runs the loop (nix's lines are most of them); it hands the
        # others back here.
        self.json.lines(lines, self.text.line)

    def _stamp(self) -> list[Event]:
        out = self.state.out
        if not out:
            return []
        if not self._log_lines:
            out[:] = [e for e in out if type(e) is not LogLine]
        ts = self.clock.now_iso()
        seq = self._seq
        for event in out:
            seq += 1
            event.seq = seq
            event.ts = ts
        self._seq = seq
        batch = out.copy()
        out.clear()
        return batch
