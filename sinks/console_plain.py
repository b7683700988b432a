"""The console for pipes, CI logs and ``NO_COLOR``: plain lines, nothing redrawn.

It prints the tool's own text as it comes (so prompts and messages read as when the
tool runs bare) and one line per state change worth reading: a derivation started,
finished, failed or aborted, an error.  At the end: one summary.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TextIO

from parsers.events import (
    BuildFinished,
    DerivationAborted,
    DerivationFailed,
    DerivationFinished,
    DerivationStarted,
    ErrorEvent,
    Event,
    LogLine,
    Message,
    Plan,
    Prompt,
)
from parsers.store import strip_ansi
from sinks.base import Handlers, LogLinesRead
from sinks.summary_text import error_lines, summary_lines
from sinks.summary_text import format_duration as duration


class PlainConsole:
    log_lines: LogLinesRead = "tool"  # the tool's text, never a builder's (sinks/base.py)
    """``tool_text``: print the tool's own lines (off when the terminal already shows
    them, e.g. nom's own view is passed through)."""

    name = "console"

    def __init__(self, stream: TextIO, *, color: bool = False, tool_text: bool = True,
                 progress: bool = True, footer: Callable[[], list[str]] | None = None) -> None:
        """``progress`` False: only the final summary (the tool draws its own view)."""
        self._out = stream
        self._progress = progress
        self._color = color
        self._tool_text = tool_text
        self._prompt = ""
        self._footer = footer
        self._finished: BuildFinished | None = None
        self._errors: list[ErrorEvent] = []
        # What is kept for the summary, and (unless --quiet) what is shown as it comes.
        self._kept = Handlers().on(BuildFinished, self._build_finished).on(ErrorEvent, self._error)
        self._shown = (
            Handlers().on(BuildFinished, self._build_finished).on(ErrorEvent, self._error)
            .on(LogLine, self._log_line).on(Prompt, self._prompt_event)
            .on(DerivationStarted, self._started).on(DerivationFinished, self._built)
            .on(DerivationFailed, self._failed).on(DerivationAborted, self._aborted)
            .on(Message, self._message).on(Plan, self._plan))

    def _text(self, text: str) -> str:
        return text if self._color else strip_ansi(text)

    def _line(self, text: str) -> None:
        if self._prompt:
            self._out.write("\n")
            self._prompt = ""
        self._out.write(text + "\n")

    def handle(self, events: Sequence[Event]) -> None:
        (self._shown if self._progress else self._kept)(events)
        self._out.flush()

    def _build_finished(self, event: BuildFinished) -> None:
        self._finished = event

    def _error(self, event: ErrorEvent) -> None:
        self._errors.append(event)
        if self._progress and (event.kind != "build-failure" or not event.drv_path):
            for line in error_lines(event):
                self._line(self._text(line))

    def _log_line(self, event: LogLine) -> None:
        if event.source == "tool" and self._tool_text:
            self._tool_line(event.text)

    def _prompt_event(self, event: Prompt) -> None:
        if self._tool_text:
            self._show_prompt(event.text)

    def _started(self, event: DerivationStarted) -> None:
        machine = f" on {event.machine}" if event.machine else ""
        self._line(f"building {event.name}{machine}")

    def _built(self, event: DerivationFinished) -> None:
        self._line(f"built {event.name} in {duration(event.duration_ms)}")

    def _aborted(self, event: DerivationAborted) -> None:
        self._line(f"aborted {event.name}")

    def _message(self, event: Message) -> None:
        if event.level in ("error", "warn"):
            self._line(self._text(event.text))

    def _tool_line(self, text: str) -> None:
        text = self._text(text)
        if self._prompt:
            # The line completes a prompt shown earlier: print only what is new.
            shown, self._prompt = self._prompt, ""
            self._out.write((text[len(shown):] if text.startswith(shown) else "\n" + text) + "\n")
            return
        self._out.write(text + "\n")

    def _show_prompt(self, text: str) -> None:
        text = self._text(text)
        new = text[len(self._prompt):] if text.startswith(self._prompt) else text
        self._out.write(new)
        self._prompt = text

    def _failed(self, event: DerivationFailed) -> None:
        code = f"exit code {event.exit_code}" if event.exit_code is not None else event.reason
        phase = f" in {event.phase}" if event.phase else ""
        self._line(f"failed {event.name} ({code}{phase}) after {duration(event.duration_ms)}")
        for line in event.log_tail[-10:]:
            self._line(f"  {event.name}> {line}")

    def _plan(self, plan: Plan) -> None:
        verb = "would" if plan.dry_run else "will"
        if plan.builds:
            self._line(f"{verb} build {len(plan.builds)} derivation{'s' * (len(plan.builds) != 1)}")
        if plan.downloads:
            size = f" ({plan.download_bytes / 2**20:.1f} MiB)" if plan.download_bytes else ""
            self._line(f"{verb} fetch {len(plan.downloads)} path{'s' * (len(plan.downloads) != 1)}{size}")

    def close(self) -> None:
        if self._finished is None:
            return
        if self._prompt:
            self._out.write("\n")
            self._prompt = ""
        for line in summary_lines(self._finished, self._errors):
            self._out.write(line + "\n")
        for line in self._footer() if self._footer else []:
            self._out.write(line + "\n")
        self._out.flush()
