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
from sinks.summary_text import error_lines, summary_lines
from sinks.summary_text import format_duration as duration


class PlainConsole:
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

    def _text(self, text: str) -> str:
        return text if self._color else strip_ansi(text)

    def _line(self, text: str) -> None:
        if self._prompt:
            self._out.write("\n")
            self._prompt = ""
        self._out.write(text + "\n")

    def handle(self, events: Sequence[Event]) -> None:
        for event in events:
            kind = type(event)
            if kind is BuildFinished:
                self._finished = event  # type: ignore[assignment]
            elif kind is ErrorEvent:
                self._errors.append(event)  # type: ignore[arg-type]
            if not self._progress:
                continue
            if kind is LogLine:
                if event.source == "tool" and self._tool_text:  # type: ignore[attr-defined]
                    self._tool_line(event.text)  # type: ignore[attr-defined]
            elif kind is Prompt:
                if self._tool_text:
                    self._show_prompt(event.text)  # type: ignore[attr-defined]
            elif kind is DerivationStarted:
                machine = f" on {event.machine}" if event.machine else ""  # type: ignore[attr-defined]
                self._line(f"building {event.name}{machine}")  # type: ignore[attr-defined]
            elif kind is DerivationFinished:
                self._line(f"built {event.name} in {duration(event.duration_ms)}")  # type: ignore[attr-defined]
            elif kind is DerivationFailed:
                self._failed(event)  # type: ignore[arg-type]
            elif kind is DerivationAborted:
                self._line(f"aborted {event.name}")  # type: ignore[attr-defined]
            elif kind is ErrorEvent:
                if event.kind != "build-failure" or not event.drv_path:  # type: ignore[attr-defined]
                    for line in error_lines(event):  # type: ignore[arg-type]
                        self._line(self._text(line))
            elif kind is Message:
                if event.level in ("error", "warn"):  # type: ignore[attr-defined]
                    self._line(self._text(event.text))  # type: ignore[attr-defined]
            elif kind is Plan:
                self._plan(event)  # type: ignore[arg-type]
        self._out.flush()

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
