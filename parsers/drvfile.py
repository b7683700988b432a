"""The derivations a ``.drv`` file depends on, read from its ATerm text.

Nix writes a derivation as ``Derive([outputs],[inputDrvs],[inputSrcs],system,builder,
[args],[env])`` with ``inputDrvs`` a list of ``("/nix/store/….drv",["out",…])`` (dynamic
derivations nest the outputs one level deeper: only the path matters here).  Nothing
else is read: the tree view needs to know which derivation needs which, as nom reads
it, and nothing more.  Pure and total: damaged text gives no dependencies, never an
exception.
"""

from __future__ import annotations

_PREFIXES = ("Derive(", "DrvWithVersion(")


def _strings_at_depth(text: str, start: int, depth_wanted: int) -> tuple[list[str], int]:
    """The strings directly inside the bracketed list that opens at ``start``, at
    ``depth_wanted`` levels below it, and the index after the list."""
    depth = 0
    found: list[str] = []
    i = start
    n = len(text)
    while i < n:
        c = text[i]
        if c == '"':
            j = i + 1
            chars: list[str] = []
            while j < n and text[j] != '"':
                if text[j] == "\\" and j + 1 < n:
                    j += 1
                chars.append(text[j])
                j += 1
            if depth == depth_wanted:
                found.append("".join(chars))
            i = j + 1
            continue
        if c in "[(":
            depth += 1
        elif c in "])":
            depth -= 1
            if depth == 0:
                return found, i + 1
        i += 1
    return [], n


def input_derivations(text: str) -> list[str]:
    """The store paths of the derivations ``text`` (a ``.drv`` file) depends on."""
    prefix = next((p for p in _PREFIXES if text.startswith(p)), None)
    if prefix is None:
        return []
    i = len(prefix)
    if prefix == "DrvWithVersion(":
        # DrvWithVersion("version",[outputs],[inputDrvs],…)
        comma = text.find(",", i)
        if comma < 0:
            return []
        i = comma + 1
    if text[i:i + 1] != "[":
        return []
    _, after_outputs = _strings_at_depth(text, i, 2)
    if text[after_outputs:after_outputs + 2] != ",[":
        return []
    # In [("path",["out"]),…] the path is a string at depth 2 (list, tuple).
    paths, _ = _strings_at_depth(text, after_outputs + 1, 2)
    return [p for p in paths if p.endswith(".drv")]
