"""Which derivation of a build needs which, read from the ``.drv`` files in the store
(as nom reads them): for the tree view and the record's critical path.

Each file is read once, when first asked about, at most ``MAX_DRV_BYTES`` of it; a
derivation that cannot be read (a garbage-collected path) has no known dependencies
and stands alone.  A log replayed away from its store (the demo, another machine's
build) can bring its ``.drv`` files in a directory (``NIXOS_BUILD_DRV_DIR``, each file
under its store name), read when the store has no such file.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Mapping

from parsers.drvfile import input_derivations

MAX_DRV_BYTES = 4 << 20  # nixpkgs' largest .drv files are a few hundred KiB


def read_drv(path: str) -> str | None:
    if not path.startswith("/nix/store/") or not path.endswith(".drv") or "/" in path[11:]:
        return None
    return _read(path)


def _read(path: str) -> str | None:
    try:
        with open(path, "rb") as f:
            return f.read(MAX_DRV_BYTES).decode("utf-8", "replace")
    except OSError:
        return None


def drv_reader(directory: str | None) -> Callable[[str], str | None]:
    """:func:`read_drv`, then ``directory``'s file of the same name."""
    if not directory:
        return read_drv

    def read(path: str) -> str | None:
        text = read_drv(path)
        if text is None and path.endswith(".drv") and "/" in path:
            name = path.rsplit("/", 1)[1]
            if name and not name.startswith("."):
                text = _read(os.path.join(directory, name))
        return text

    return read


class DrvGraph:
    def __init__(self, read: Callable[[str], str | None] = read_drv) -> None:
        self._read = read
        self._inputs: dict[str, list[str]] = {}
        self.edges = 0  # dependencies found between derivations read so far

    def inputs(self, drv_path: str) -> list[str]:
        known = self._inputs.get(drv_path)
        if known is None:
            text = self._read(drv_path)
            known = self._inputs[drv_path] = input_derivations(text) if text else []
            self.edges += len(known)
        return known

    def needs(self, nodes: Iterable[str]) -> dict[str, list[str]]:
        """Each of ``nodes`` -> the others of them it needs."""
        nodes = set(nodes)
        return {node: [d for d in self.inputs(node) if d in nodes] for node in nodes}


def critical_path(needs: Mapping[str, list[str]], took: Mapping[str, int]) -> tuple[int, list[str]]:
    """The longest chain of builds that had to wait for one another: its length in
    milliseconds (the sum of the builds' times) and the chain, top first."""
    best: dict[str, tuple[int, list[str]]] = {}

    def longest(node: str, seen: frozenset[str]) -> tuple[int, list[str]]:
        known = best.get(node)
        if known is not None:
            return known
        below: tuple[int, list[str]] = (0, [])
        for dep in needs.get(node, ()):
            if dep not in seen:
                candidate = longest(dep, seen | {dep})
                if candidate[0] > below[0]:
                    below = candidate
        result = (took.get(node, 0) + below[0], [node, *below[1]])
        best[node] = result
        return result

    overall: tuple[int, list[str]] = (0, [])
    for node in needs:
        candidate = longest(node, frozenset({node}))
        if candidate[0] > overall[0]:
            overall = candidate
    return overall
