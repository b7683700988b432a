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

BRANCH, LAST, PIPE, SPACE = "├─ ", "└─ ", "│  ", "   "


def roots_of(nodes: Iterable[str], needs: Mapping[str, Sequence[str]]) -> list[str]:
    """The derivations among ``nodes`` that none of them needs (what was asked for)."""
    nodes = list(dict.fromkeys(nodes))
    needed = {dep for node in nodes for dep in needs.get(node, ())}
    return [node for node in nodes if node not in needed]


def tree_lines(roots: Sequence[str], needs: Mapping[str, Sequence[str]],
               label: Callable[[str], str], shown: Callable[[str], bool],
               budget: int) -> list[str]:
    """At most ``budget`` lines: each root whose branch holds something ``shown``, and
    under it the dependencies that lead there."""
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

    lines: list[str] = []
    drawn: set[str] = set()

    def draw(node: str, prefix: str, connector: str, child_prefix: str) -> None:
        if len(lines) >= budget:
            return
        drawn.add(node)
        lines.append(prefix + connector + label(node))
        children = [d for d in needs.get(node, ()) if d not in drawn and relevant.get(d)]
        for i, child in enumerate(children):
            last = i == len(children) - 1
            draw(child, prefix + child_prefix, LAST if last else BRANCH,
                 SPACE if last else PIPE)

    wanted = [r for r in roots if leads_somewhere(r, frozenset({r}))]
    for root in wanted:
        if root not in drawn:
            draw(root, "", "", "")
    hidden = sum(1 for node, wanted_here in relevant.items() if wanted_here and node not in drawn)
    if hidden:
        if len(lines) >= budget and lines:
            lines.pop()
            hidden += 1
        lines.append(f"… {hidden} more")
    return lines
