"""The live console for a person at a terminal: a status block under the scrolling
output, redrawn from :class:`ConsoleState` at most ten times a second.

Each frame is written in one piece inside synchronized-output markers (no flicker), and
erases the previous block by counting the rows it occupies *now* (a narrower terminal
re-wraps it), so a resize never leaves old frames in the scrollback.  The tool's own
lines, failures and errors go above the block and stay in the scrollback.  A prompt
(sudo's password) is shown at once, with the block taken away until it is answered.
"""

from __future__ import annotations

import io
import os
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Literal

from parsers.clock import Clock, SystemClock
from parsers.events import (
    Activation,
    DerivationFailed,
    ErrorEvent,
    Event,
    LogLine,
    Prompt,
    UnitFailed,
)
from parsers.store import strip_ansi
from records.files import write_all
from sinks.base import Handlers
from sinks.console_state import ConsoleState
from sinks.console_tree import (
    Line,
    TreeModel,
    eta_segment,
    timer_segments,
    transfer_segments,
    tree_body,
)
from sinks.drv_graph import DrvGraph
from sinks.eta import Eta
from sinks.summary_text import error_lines, format_duration, summary_lines

if TYPE_CHECKING:
    from rich.console import Console
    from rich.text import Text

    from records.buildtimes import BuildTimes

# rich's own Literal for Console(color_system=...).
ColorSystem = Literal["auto", "standard", "256", "truecolor", "windows"]
MIN_FRAME_MS = 100      # at most ten redraws a second, however fast events come
MAX_FRAME_MS = 1000     # timers move at least once a second
SYNC_START, SYNC_END = "\x1b[?2026h", "\x1b[?2026l"
ERASE_DOWN = "\x1b[J"
DEFAULT_SIZE = (80, 24)  # a terminal that reports 0x0 (a serial console, some CI PTYs)


def _mib(n: int) -> str:
    return f"{n / 2**20:.1f}"


class LiveConsole:
    name = "console"

    def __init__(self, fd: int = 2, *, clock: Clock | None = None,
                 size: Callable[[], tuple[int, int]] | None = None,
                 footer: Callable[[], list[str]] | None = None,
                 color_system: ColorSystem | None = "auto",
                 build_times: BuildTimes | None = None, graph: DrvGraph | None = None
                 ) -> None:
        from rich.console import Console

        self._fd = fd
        self._clock = clock or SystemClock()
        self._size = size or (lambda: _terminal_size(fd))
        self._footer = footer
        self.state = ConsoleState()
        self.tree = TreeModel(graph)
        self.eta = Eta(build_times)
        self._buffer = io.StringIO()
        self._rich: Console = Console(file=self._buffer, force_terminal=True, color_system=color_system,
                                      highlight=False, emoji=False, markup=False, soft_wrap=False)
        self._pending: list[str] = []      # lines to print above the block
        self._block: list[int] = []        # cell widths of the block's lines on screen
        self._last_frame_ms = -MAX_FRAME_MS
        self._dirty = True
        self._prompt = ""                  # the unfinished line shown; block suspended
        self.frames = 0
        self._handlers = (
            Handlers().on(LogLine, self._log_line).on(Prompt, self._prompt_event)
            .on(DerivationFailed, self._failed).on(Activation, self._activation)
            .on(UnitFailed, self._unit_failed).on(ErrorEvent, self._error))

    # --- sink interface ---------------------------------------------------------------

    def handle(self, events: Sequence[Event]) -> None:
        now = self._clock.monotonic_ms()
        self.state.update(events, now)
        self.tree.update(events)
        self.eta.update(events, now)
        self._dirty = True
        self._handlers(events)
        if self.state.finished is not None:
            return  # the summary is drawn by close()
        if now - self._last_frame_ms >= MIN_FRAME_MS:
            self._frame(now)

    def _log_line(self, event: LogLine) -> None:
        if event.source == "tool":
            self._tool_line(event.text)

    def _prompt_event(self, event: Prompt) -> None:
        self._show_prompt(event.text)

    def _failed(self, event: DerivationFailed) -> None:
        self._pending.extend(self._failure_lines(event))

    def _activation(self, event: Activation) -> None:
        # Each step stays in the scrollback, marked, in the order it happened.
        self._mark_line(event.text, self._styled("⚙ ", "cyan") + event.text)

    def _unit_failed(self, event: UnitFailed) -> None:
        # The tool's warning naming the failed units, in red (once for all).
        text = event.text or f"{event.unit} failed"
        self._mark_line(text, self._styled(text, "bold red"))

    def _error(self, event: ErrorEvent) -> None:
        if not event.drv_path:
            self._pending.extend(self._error_lines(event))

    def tick(self) -> None:
        now = self._clock.monotonic_ms()
        due = MIN_FRAME_MS if (self._dirty or self._pending) else MAX_FRAME_MS
        if now - self._last_frame_ms >= due and self.state.finished is None:
            self._frame(now)

    def close(self) -> None:
        out = [SYNC_START, self._erase_block()]
        if self._prompt:
            out.append("\n")
            self._prompt = ""
        out.extend(line + "\n" for line in self._pending)
        self._pending.clear()
        if self.state.finished is not None:
            finished = self.state.finished
            # The final state stays on screen, above the summary (nom keeps its last
            # frame too): what failed where, and the totals.
            columns, rows = self._screen()
            out.extend(line + "\n" for line in self._render(self._clock.monotonic_ms(),
                                                             columns, rows, final=True))
            style = "bold green" if finished.success else "bold red"
            lines = summary_lines(finished, self.state.errors, self.state.built_names)
            out.append(self._styled(lines[0], style) + "\n")
            out.extend(line + "\n" for line in lines[1:])
            out.extend(line + "\n" for line in (self._footer() if self._footer else []))
        out.append(SYNC_END)
        write_all(self._fd, "".join(out).encode("utf-8", "replace"))

    # --- text above the block ---------------------------------------------------------

    def _tool_line(self, text: str) -> None:
        if self._prompt:
            # The answer completed the prompt's line: print only what is new.
            shown, self._prompt = self._prompt, ""
            rest = text[len(shown):] if text.startswith(shown) else "\n" + text
            write_all(self._fd, (rest + "\n").encode("utf-8", "replace"))
            self._block = []
            return
        self._pending.append(text)

    def _mark_line(self, text: str, marked: str) -> None:
        """The tool's line ``text`` (just received, not yet printed) as ``marked``; or
        ``marked`` added when the step came from elsewhere (nix's stream)."""
        if marked in self._pending[-4:]:
            return
        for i in range(len(self._pending) - 1, max(-1, len(self._pending) - 4), -1):
            if strip_ansi(self._pending[i]).strip() == text.strip():
                self._pending[i] = marked
                return
        self._pending.append(marked)

    def _show_prompt(self, text: str) -> None:
        """Show an unfinished line now, where the user will type, without the block."""
        if self._prompt and text.startswith(self._prompt):
            new = text[len(self._prompt):]
            if new:
                write_all(self._fd, new.encode("utf-8", "replace"))
            self._prompt = text
            return
        out = [SYNC_START, self._erase_block()]
        out.extend(line + "\n" for line in self._pending)
        self._pending.clear()
        out.append(text)
        out.append(SYNC_END)
        write_all(self._fd, "".join(out).encode("utf-8", "replace"))
        self._prompt = text

    def _error_lines(self, error: ErrorEvent) -> list[str]:
        first, *rest = error_lines(error)
        return [self._styled(first, "bold red"), *rest]

    def _failure_lines(self, failed: DerivationFailed) -> list[str]:
        why = f"exit code {failed.exit_code}" if failed.exit_code is not None else failed.reason
        where = f" in {failed.phase}" if failed.phase else ""
        lines = [self._styled(f"⚠ {failed.name} failed: {why}{where} after "
                              f"{format_duration(failed.duration_ms)}", "bold red")]
        lines.extend(self._styled(f"  {failed.name}> ", "blue") + line
                     for line in failed.log_tail[-8:])
        return lines

    # --- the block --------------------------------------------------------------------

    def _frame(self, now: int) -> None:
        self._last_frame_ms = now
        if self._prompt:
            return
        columns, rows = self._screen()
        out = [SYNC_START, self._erase_block(columns)]
        out.extend(line + "\n" for line in self._pending)
        self._pending.clear()
        lines = self._render(now, columns, rows)
        out.append("\n".join(lines))
        out.append(SYNC_END)
        write_all(self._fd, "".join(out).encode("utf-8", "replace"))
        self._block = [_cells(strip_ansi(line)) for line in lines]
        self._dirty = False
        self.frames += 1

    def _erase_block(self, columns: int | None = None) -> str:
        """Cursor back to the block's first row, and erase from there down."""
        if not self._block:
            return ""
        columns = columns or self._screen()[0]
        rows = sum(max(1, -(-width // max(1, columns))) for width in self._block)
        self._block = []
        return "\r" + (f"\x1b[{rows - 1}A" if rows > 1 else "") + ERASE_DOWN

    def _screen(self) -> tuple[int, int]:
        columns, rows = self._size()
        return (columns if columns > 0 else DEFAULT_SIZE[0], rows if rows > 0 else DEFAULT_SIZE[1])

    def _render(self, now: int, columns: int, rows: int, final: bool = False) -> list[str]:
        from rich.text import Text

        s = self.state
        body: list[Text] = []
        budget = max(3, rows // 3)
        tree = tree_body(self.tree, s, self.eta, now, max(3, rows // 2), columns)
        if tree is not None:
            body.extend(_text(line) for line in tree)
        for path, build in list(s.running.items())[:budget] if tree is None else ():
            line = Text("⏵ ", style="yellow")
            line.append(build.name, style="bold yellow")
            if build.machine:
                line.append(f" on {build.machine.split('?')[0]}", style="magenta")
            if build.phase:
                line.append(f"  {build.phase}", style="cyan")
            line.append(_text(timer_segments(now - build.started_ms, self.eta.expected(build.name))))
            body.append(line)
            if path == s.last_active:
                for tail in build.tail:
                    body.append(Text("  │ ", style="blue") + Text(strip_ansi(tail), style="dim"))
        if len(s.running) > budget and tree is None:
            body.append(Text(f"… and {len(s.running) - budget} more running", style="dim"))
        for transfer in list(s.downloads.values())[:3]:
            body.append(_text(transfer_segments("↓", transfer, now)))
        if len(s.downloads) > 3:
            body.append(Text(f"… and {len(s.downloads) - 3} more downloading", style="dim"))
        for transfer in list(s.uploads.values())[:2]:
            body.append(_text(transfer_segments("↑", transfer, now)))
        for error in s.errors[-2:] if not final else ():
            body.append(Text(f"⚠ {error.kind}: ", style="bold red") + Text(error.message))
        # The block must fit on the screen, or erasing it cannot reach its top.
        room = max(1, rows - 3)
        if len(body) > room:
            body = [*body[: room - 1], Text("⋮", style="dim")]
        head = self._headline(now, final)
        lines = [Text("┏━ ", style="blue") + head]
        lines += [Text("┃ ", style="blue") + line for line in body]
        lines.append(Text("┗━ ", style="blue") + self._totals(now, final))
        return self._ansi_lines(lines, columns)

    def _headline(self, now: int, final: bool = False) -> Text:
        from rich.text import Text

        s = self.state
        what = "NixOS" if s.started and s.started.target == "os" else "Home Manager" \
            if s.started and s.started.target == "home" else "derivations"
        if final:
            ok = bool(s.finished and s.finished.success)
            done = ("activated" if ok else "activation failed") if s.activation is not None \
                else ("built" if ok else "build failed")
            return Text(f"{what}: {done}", style="bold")
        if s.activation is not None:
            where = f" on {s.started.target_host}" if s.started and s.started.target_host else ""
            return Text(f"activating{where}: ", style="bold") + Text(s.activation.text)
        if s.running or s.built or s.failed:
            return Text(f"building {what}", style="bold")
        if s.evaluating:
            since = s.evaluating_since_ms
            took = f"  ⏱ {format_duration(now - since)}" if since is not None else ""
            return (Text("evaluating: ", style="bold") + Text(s.evaluating)
                    + Text(took, style="dim"))
        return Text(strip_ansi(s.last_tool_line or "starting…"), style="bold")

    def _totals(self, now: int, final: bool = False) -> Text:
        from rich.text import Text

        s = self.state
        parts: list[Text] = [
            Text(f"⏵ {len(s.running)}", style="yellow" if s.running else "dim"),
            Text(f"✔ {s.built}", style="green" if s.built else "dim"),
            Text(f"⏸ {s.planned}", style="blue" if s.planned else "dim"),
        ]
        if final:  # nothing runs any more; what never started is worth saying only then
            parts = parts[1:] if s.planned else parts[1:2]
        if s.failed:
            parts.append(Text(f"⚠ {s.failed}", style="bold red"))
        if s.downloads or s.downloaded or s.planned_downloads:
            done, _ = s.download_bytes()
            parts.append(Text(f"↓ {s.downloaded}/{s.downloaded + len(s.downloads) + s.planned_downloads}"
                              f" ({_mib(done)} MiB)", style="cyan"))
        if s.uploads or s.uploaded:
            parts.append(Text(f"↑ {s.uploaded}", style="cyan"))
        eta = None if final else eta_segment(self.eta, now)
        if eta is not None:
            parts.append(Text(eta[0], style=eta[1]))
        started = s.started_ms if s.started_ms is not None else now
        took = s.finished.duration_ms if final and s.finished and s.finished.duration_ms \
            is not None else now - started
        parts.append(Text(f"⏱ {format_duration(took)}", style="dim"))
        return Text(" │ ", style="blue").join(parts)

    def _ansi_lines(self, lines: list[Text], columns: int) -> list[str]:
        """Each line cut to the width and rendered, all in one pass of rich (a pass
        costs as much as its lines: one per line was most of a frame)."""
        from rich.text import Text

        for line in lines:
            line.truncate(max(1, columns - 1), overflow="ellipsis")
        rendered = self._ansi(Text("\n").join(lines), 10_000).split("\n")
        if len(rendered) == len(lines):
            return rendered
        return [self._ansi(line, columns) for line in lines]  # a line held a newline

    def _ansi(self, text: Text, columns: int) -> str:
        text.truncate(max(1, columns - 1), overflow="ellipsis")
        buffer = self._buffer
        buffer.seek(0)
        buffer.truncate()
        self._rich.size = (max(1, columns), 1)
        self._rich.print(text, end="", no_wrap=True, overflow="ellipsis", crop=True)
        return buffer.getvalue()

    def _styled(self, text: str, style: str) -> str:
        from rich.text import Text

        return self._ansi(Text(text, style=style), 10_000)


def _text(segments: Line) -> Text:
    from rich.text import Text

    return Text.assemble(*segments)


def _cells(text: str) -> int:
    from rich.cells import cell_len

    return cell_len(text)


def _terminal_size(fd: int) -> tuple[int, int]:
    try:
        size = os.get_terminal_size(fd)
        return size.columns, size.lines
    except OSError:
        return DEFAULT_SIZE
