"""A build's whole output to a stamped event stream.

Bytes arrive from one or more sources (the tool's terminal, and under nh the exact nix
stream our ``nom`` hands over).  Each source has its own line splitter and text parser;
the format is decided per line (``@nix {…}`` or text), so mixed output parses whole.
This class is the only place that numbers events: ``build.started`` is always first,
``build.finished`` always last, ``seq`` strictly increasing.
"""

from __future__ import annotations

from typing import Final

from .clock import Clock
from .events import BuildFinished, BuildStarted, Event, LogLine, Prompt
from .internal_json import PREFIX, InternalJsonParser
from .lines import LineSplitter
from .state import ParseState
from .text import TextParser

TTY: Final = "tty"
NIX: Final = "nix"


class _Source:
    __slots__ = ("prompted", "splitter", "text")

    def __init__(self, text: TextParser) -> None:
        self.splitter = LineSplitter()
        self.text = text
        self.prompted = b""


class LogStream:
    def __init__(self, clock: Clock, *, log_lines: bool = True, tty_is_nix: bool = True) -> None:
        """``tty_is_nix`` False: the terminal shows a rendering of the exact nix stream
        that arrives separately (nh with our ``nom``), so its nix-looking text is not
        counted twice."""
        self.clock = clock
        self.state = ParseState()
        self.json = InternalJsonParser(self.state)
        self._log_lines = log_lines
        self._sources = {
            TTY: _Source(TextParser(self.state, nix_text=tty_is_nix)),
            NIX: _Source(TextParser(self.state, nix_text=True)),
        }
        self._seq = 0
        self._started_ms: int | None = None
        self.started = False
        self.finished = False

    # --- lifecycle --------------------------------------------------------------------

    def begin(self, started: BuildStarted) -> list[Event]:
        self.started = True
        self._started_ms = self.clock.monotonic_ms()
        self.state.out.insert(0, started)
        return self._stamp()

    def end(self, exit_code: int | None, *, signal: int | None = None,
            interrupted: bool = False) -> list[Event]:
        """Close the stream; nothing may be fed afterwards."""
        state = self.state
        state.tracker.now_ms = self.clock.monotonic_ms()
        for source in self._sources.values():
            self._lines(source, source.splitter.flush())
            source.text.flush()
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
        ))
        self.finished = True
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
        self.finished = True
        return self._stamp()

    # --- data -------------------------------------------------------------------------

    def has_partial(self, source: str = TTY) -> bool:
        """An unfinished line is waiting in ``source``."""
        return bool(self._sources[source].splitter.pending)

    def feed(self, data: bytes, source: str = TTY) -> list[Event]:
        src = self._sources[source]
        self.state.tracker.now_ms = self.clock.monotonic_ms()
        self._lines(src, src.splitter.feed(data))
        src.prompted = b""
        return self._stamp()

    def idle(self, source: str = TTY) -> list[Event]:
        """The source has been quiet for a while: an unfinished line waiting there is a
        prompt (sudo's password prompt, a y/n question) and must be shown now."""
        src = self._sources[source]
        pending = src.splitter.pending
        if not pending or pending == src.prompted or PREFIX.startswith(pending[:5]):
            return []
        src.prompted = pending
        self.state.out.append(Prompt(text=pending.decode("utf-8", "replace")))
        return self._stamp()

    def _lines(self, src: _Source, lines: list[bytes]) -> None:
        json_line = self.json.line
        text_line = src.text.line
        for line in lines:
            if line.startswith(PREFIX):
                json_line(line[5:])
            else:
                text_line(line.decode("utf-8", "replace").rstrip("\r"))

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
