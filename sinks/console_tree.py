"""The live console's body as nom draws it, in styled segments (``(text, style)``;
:mod:`sinks.console_live` turns them into rich text, the only place rich is loaded):

- the dependency tree: what runs (and failed) under what needs it, from the plan and
  the ``.drv`` files (:mod:`sinks.drv_graph`), collapsed to the branches leading to
  something running (:mod:`sinks.build_tree`), cut to the lines the terminal can spare,
  its indentation shortened on a narrow terminal;
- each running build's phase, time so far and the time it took before (the ETA);
- transfers with their bytes and rate.

Without dependencies between the derivations (a saved log replayed elsewhere, a build
of one derivation) there is no tree to draw and the caller lists the builds flat.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

from parsers.events import (
    DerivationAborted,
    DerivationFailed,
    DerivationFinished,
    DerivationStarted,
    Event,
    Plan,
)
from parsers.store import drv_name, strip_ansi
from sinks.base import Handlers
from sinks.build_tree import Row, roots_of, tree_rows
from sinks.console_state import ConsoleState, Transfer
from sinks.drv_graph import DrvGraph
from sinks.eta import Eta
from sinks.summary_text import format_duration

Segment = tuple[str, str]          # (text, rich style)
Line = list[Segment]
Status = Literal["waiting", "running", "built", "failed", "aborted"]

_MARK: dict[Status, Segment] = {
    "waiting": ("⏸ ", "blue"),
    "running": ("⏵ ", "yellow"),
    "built": ("✔ ", "green"),
    "failed": ("⚠ ", "bold red"),
    "aborted": ("⊘ ", "dim"),
}
_NAME_STYLE: dict[Status, str] = {
    "waiting": "blue", "running": "bold yellow", "built": "green", "failed": "red",
    "aborted": "dim",
}
TREE = "dim blue"


class TreeModel:
    """Every derivation of the build and its state, from the events."""

    def __init__(self, graph: DrvGraph | None = None) -> None:
        self.graph = graph or DrvGraph()
        self.status: dict[str, Status] = {}
        self._needs: dict[str, list[str]] | None = None   # recomputed when nodes change
        self._roots: list[str] = []
        self._has_tree = False
        self.version = 0   # changes with any derivation's state: the tree is redrawn then
        self._rows: tuple[tuple[int, int], list[Row]] | None = None
        self._handlers = (
            Handlers().on(Plan, self._plan).on(DerivationStarted, self._started)
            .on(DerivationFinished, self._built).on(DerivationFailed, self._failed)
            .on(DerivationAborted, self._aborted))

    def update(self, events: Sequence[Event]) -> None:
        self._handlers(events)

    def _plan(self, event: Plan) -> None:
        for path in event.builds:
            if path not in self.status:
                self.status[path] = "waiting"
                self._needs = None
                self.version += 1

    def _set(self, path: str, status: Status) -> None:
        if path not in self.status:
            self._needs = None
        self.status[path] = status
        self.version += 1

    def _started(self, event: DerivationStarted) -> None:
        self._set(event.drv_path, "running")

    def _built(self, event: DerivationFinished) -> None:
        self._set(event.drv_path, "built")

    def _failed(self, event: DerivationFailed) -> None:
        self._set(event.drv_path, "failed")

    def _aborted(self, event: DerivationAborted) -> None:
        self._set(event.drv_path, "aborted")

    def needs(self) -> dict[str, list[str]]:
        if self._needs is None:
            self._needs = self.graph.needs(self.status)
            self._roots = roots_of(self.status, self._needs)
            self._has_tree = any(self._needs.values())
        return self._needs

    def has_tree(self) -> bool:
        """Some derivation of the build needs another: a tree says more than a list."""
        self.needs()
        return self._has_tree

    def roots(self) -> list[str]:
        self.needs()
        return self._roots

    def rows(self, budget: int) -> list[Row]:
        """The tree's rows, computed again only when a derivation's state changed
        (thousands of derivations: a frame's cost is then the labels only)."""
        key = (self.version, budget)
        if self._rows is None or self._rows[0] != key:
            status = self.status
            self._rows = (key, tree_rows(self.roots(), self.needs(),
                                         lambda n: status.get(n) in ("running", "failed"), budget))
        return self._rows[1]


def tree_body(model: TreeModel, state: ConsoleState, eta: Eta, now: int, budget: int,
              columns: int) -> list[Line] | None:
    """The tree in at most ``budget`` lines, None when there is no tree to draw."""
    if not model.has_tree():
        return None
    status = model.status
    lines: list[Line] = []
    # The log tail takes lines of its own: leave room for it.
    tail = list(state.running[state.last_active].tail) \
        if state.last_active in state.running else []
    try:
        rows = model.rows(max(1, budget - len(tail)))
    except RecursionError:  # a chain deeper than Python's stack: the flat list will do
        return None
    if not rows and state.running:  # a cycle hides the roots: list them flat instead
        return None
    indent = max(6, columns // 3)
    for row in rows:
        if row.node is None:
            if row.skipped:
                lines.append([(_short(row.prefix, indent), TREE),
                              (f"┄ {row.skipped} more waiting", "dim")])
            else:
                lines.append([(f"… {row.hidden} more", "dim")])
            continue
        line: Line = [(_short(row.prefix, indent), TREE)]
        line.extend(node_segments(row.node, status.get(row.node, "waiting"), state, eta, now))
        lines.append(line)
        if row.node == state.last_active:
            under = _short(row.under, indent)
            lines.extend([(under + "│ ", "blue"), (strip_ansi(text), "dim")] for text in tail)
    return lines


def node_segments(path: str, status: Status, state: ConsoleState, eta: Eta,
                  now: int) -> Line:
    build = state.running.get(path) if status == "running" else None
    name = build.name if build else drv_name(path)
    segments: Line = [_MARK[status], (name, _NAME_STYLE[status])]
    if build is None:
        return segments
    if build.machine:  # the host, without the store's options (?remote-store=…)
        segments.append((f" on {build.machine.split('?')[0]}", "magenta"))
    if build.phase:
        segments.append((f"  {build.phase}", "cyan"))
    segments.extend(timer_segments(now - build.started_ms, eta.expected(name)))
    return segments


def timer_segments(elapsed: int, expected: int | None) -> Line:
    """``⏱ 12.0s`` and, when known, what it took before (``of ~1m05s``)."""
    segments: Line = [(f"  ⏱ {format_duration(elapsed)}", "dim")]
    if expected is not None:
        late = elapsed > expected * 1.5 + 5000
        segments.append((f" of ~{format_duration(expected)}", "yellow" if late else "dim"))
    return segments


def transfer_segments(arrow: str, transfer: Transfer, now: int) -> Line:
    """``↓ name  1.5/4.0 MiB  2.1 MiB/s  from cache.nixos.org``"""
    segments: Line = [(f"{arrow} ", "cyan"), (transfer.name, "")]
    if transfer.expected:
        segments.append((f"  {_mib(transfer.done)}/{_mib(transfer.expected)} MiB", "dim"))
    elif transfer.done:
        segments.append((f"  {_mib(transfer.done)} MiB", "dim"))
    elapsed = now - transfer.started_ms
    if transfer.done and elapsed > 0:
        segments.append((f"  {_mib(transfer.done * 1000 // elapsed)} MiB/s", "dim"))
    if transfer.peer:
        segments.append((f"  {'from' if arrow == '↓' else 'to'} {transfer.peer}", "magenta"))
    return segments


def eta_segment(eta: Eta, now: int) -> Segment | None:
    left = eta.remaining(now)
    return (f"⏳ ~{format_duration(left)} left", "dim") if left is not None else None


def _short(prefix: str, room: int) -> str:
    """A deep branch's drawing cut on the left so the names keep the width."""
    if len(prefix) <= room:
        return prefix
    return "…" + prefix[len(prefix) - room + 1:]


def _mib(n: int) -> str:
    return f"{n / 2**20:.1f}"
