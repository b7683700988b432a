"""The dependency tree of a build, as lines: what runs and waits, under what needs it.

Pure: the caller says which derivation needs which (from the ``.drv`` files:
:mod:`parsers.drvfile`), how to label one, and which are worth showing (running,
failed).  A build of thousands of derivations stays readable: only the branches that
lead from a top-level derivation to something worth showing are drawn, each
derivation once (a shared dependency under the first that needs it), and the tree is
cut to the lines it may take, the rest counted in a last line.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import NamedTuple

BRANCH, LAST, PIPE, SPACE = "├─ ", "└─ ", "│  ", "   "


def roots_of(nodes: Iterable[str], needs: Mapping[str, Sequence[str]]) -> list[str]:
    """The derivations among ``nodes`` that none of them needs (what was asked for)."""
    nodes = list(dict.fromkeys(nodes))
    needed = {dep for node in nodes for dep in needs.get(node, ())}
    return [node for node in nodes if node not in needed]


class Row(NamedTuple):
    """One line of the tree: the drawing before the node, the node (None for the last
    line counting what did not fit: ``hidden``), and the drawing under it (where a
    node's own extra lines, a log tail, go)."""

    prefix: str
    node: str | None
    under: str = ""
    hidden: int = 0
    skipped: int = 0  # node None: a chain of this many derivations, each needing one


def tree_lines(roots: Sequence[str], needs: Mapping[str, Sequence[str]],
               label: Callable[[str], str], shown: Callable[[str], bool],
               budget: int) -> list[str]:
    """At most ``budget`` lines: each root whose branch holds something ``shown``, and
    under it the dependencies that lead there."""
    return [row.prefix + label(row.node) if row.node is not None
            else f"{row.prefix}┄ {row.skipped} more" if row.skipped else f"… {row.hidden} more"
            for row in tree_rows(roots, needs, shown, budget)]


def tree_rows(roots: Sequence[str], needs: Mapping[str, Sequence[str]],
              shown: Callable[[str], bool], budget: int) -> list[Row]:
    """:func:`tree_lines` as rows, for a caller that styles each node itself.  When the
    tree does not fit, chains of waiting derivations are drawn as one line each."""
    rows = _rows(roots, needs, shown, budget, collapse=False)
    if rows and rows[-1].node is None and not rows[-1].skipped:
        return _rows(roots, needs, shown, budget, collapse=True)
    return rows


def _rows(roots: Sequence[str], needs: Mapping[str, Sequence[str]],
          shown: Callable[[str], bool], budget: int, collapse: bool) -> list[Row]:
    relevant: dict[str, bool] = {}

    def leads_somewhere(node: str, path: frozenset[str]) -> bool:
        known = relevant.get(node)
        if known is not None:
            return known
        result = shown(node)
        for dep in needs.get(node, ()):
            if dep not in path and leads_somewhere(dep, path | {dep}):
                result = True
        relevant[node] = result
        return result

    # First which node is drawn under which (each under the first that needs it, in
    # drawing order), then the drawing: a branch's last child gets └─ even when a later
    # dependency of its parent was drawn further up.
    children: dict[str, list[str]] = {}

    def place(node: str) -> None:
        mine = children[node] = []
        for dep in needs.get(node, ()):
            if dep not in children and relevant.get(dep):
                mine.append(dep)
                place(dep)

    lines: list[Row] = []
    drawn: set[str] = set()

    def draw(node: str, prefix: str, connector: str, child_prefix: str) -> None:
        if len(lines) >= budget:
            return
        drawn.add(node)
        lines.append(Row(prefix + connector, node, prefix + child_prefix))
        mine = children.get(node, [])
        # A chain of derivations that only wait, each needing the next (a bootstrap, a
        # toolchain), takes one line: what runs below it stays on screen.
        skipped = 0
        while (collapse and len(mine) == 1 and not shown(mine[0])
               and len(children.get(mine[0], ())) == 1 and len(lines) < budget):
            drawn.add(mine[0])
            skipped += 1
            mine = children[mine[0]]
        if skipped > 1:
            lines.append(Row(prefix + child_prefix + LAST, None, "", 0, skipped))
            prefix, child_prefix = prefix + child_prefix, SPACE
        elif skipped == 1:  # one line either way: draw the derivation
            drawn.discard(children[node][0])
            mine = children[node]
        for i, child in enumerate(mine):
            last = i == len(mine) - 1
            draw(child, prefix + child_prefix, LAST if last else BRANCH,
                 SPACE if last else PIPE)

    wanted = [r for r in roots if leads_somewhere(r, frozenset({r}))]
    tops = []
    for root in wanted:
        if root not in children:
            tops.append(root)
            place(root)
    for root in tops:
        draw(root, "", "", "")
    hidden = sum(1 for node, wanted_here in relevant.items() if wanted_here and node not in drawn)
    if hidden:
        if len(lines) >= budget and lines:
            lines.pop()
            hidden += 1
        lines.append(Row("", None, "", hidden))
    return lines
