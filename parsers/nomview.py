"""nix-output-monitor's rendered view, read back from a terminal capture or a paste.

nom draws a frame of sections joined by box drawing: ``┏━ N Errors:`` (nix's error
messages, each line behind a ``┃ `` gutter), ``┏━ N Traces:``, ``┏━ Dependency Graph:``
(a tree of derivations: ``⏵`` running, ``✔`` done, ``⏸`` planned, ``⚠ name failed with
exit code N after ⏱ 1m2s in buildPhase``) and a table ending ``┗━ ∑ … Finished at …`` or
``⚠ Exited after N build failures …``.  nom before 2.1 put U+FE0E after each symbol and
drew planned builds as ``⏳``.  Build log lines appear above the frame as
``name> text``.

The view repeats what nix said, so only three things are taken from it: the errors
section (fed to the error-report reader like any nix output), failed nodes of the tree
(failures known by name), and the closing summary.
"""

from __future__ import annotations

import re
from enum import Enum
from typing import Final

FRAME_CHARS: Final = frozenset("┏┃┣┗")
_VARIATION = re.compile("[\ufe0e\ufe0f]")

_ERRORS_HEADER = re.compile(r"^[┏┣]━+ (\d+) Errors?:")
_SECTION = re.compile(r"^[┏┣]━")
_FAILED_NODE = re.compile(
    r"⚠ (\S+)(?: on \S+)? failed with (?:exit code (-?\d+)|(hash mismatch))"
    r"(?: after ⏱ \S+)?(?: in (\w+))?")
_EXITED = re.compile(r"⚠ (Exited (?:after \d+ build failures?|with \d+ errors? reported by nix).*?)\s*$")
_FINISHED = re.compile(r"│ (?:⚠ Finished with \d+ traces? reported by nix|Finished) at \d")



class NomLine(Enum):
    """What one line of nom's frame says."""

    ERROR_TEXT = "error-text"  # a line of the errors section, behind the gutter
    FAILED_NODE = "failed-node"  # a failed derivation in the dependency graph
    SUMMARY = "summary"  # nom exited after failures
    FINISHED = "finished"  # nom's table says the build finished
    OTHER = "other"


ERROR_TEXT, FAILED_NODE, SUMMARY, FINISHED, OTHER = NomLine


class NomView:
    """Reads nom's frame lines one at a time (they start with ``┏ ┃ ┣ ┗``)."""

    __slots__ = ("in_errors",)

    def __init__(self) -> None:
        self.in_errors = False

    def line(self, text: str) -> tuple[NomLine, str, tuple[str | None, ...]]:
        """What the line says: ``(ERROR_TEXT, text behind the gutter, ())``,
        ``(FAILED_NODE, name, (exit code, "hash" or None, phase))``, ``(SUMMARY,
        text, ())`` (nom exited after failures), ``(FINISHED, "", ())`` or
        ``(OTHER, "", ())``."""
        if "\ufe0e" in text or "\ufe0f" in text:
            text = _VARIATION.sub("", text)
        first = text[:1]
        if first == "┃":
            if self.in_errors:
                return ERROR_TEXT, text[2:] if text[1:2] == " " else text[1:], ()
            if "⚠" in text:
                m = _FAILED_NODE.search(text)
                if m:
                    return FAILED_NODE, m.group(1), (m.group(2), "hash" if m.group(3) else None,
                                                     m.group(4))
            return OTHER, "", ()
        if _SECTION.match(text):
            self.in_errors = bool(_ERRORS_HEADER.match(text))
            return OTHER, "", ()
        self.in_errors = False
        if first == "┗":
            m = _EXITED.search(text) if "⚠" in text else None
            if m:
                return SUMMARY, m.group(1), ()
            if _FINISHED.search(text):
                return FINISHED, "", ()
        return OTHER, "", ()

    def interrupted(self) -> None:
        """A line that is not part of the frame: nom redraws from the top next."""
        self.in_errors = False
