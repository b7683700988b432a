"""Messages that span lines, collected until they end and then judged whole.

* ``REPORT``: a nix error report, an ``error:`` line and its indented continuation
  (also: nix 2.3's unindented ``while evaluating …:`` chain, and pastes that lost the
  indentation); ``IGNORED`` the same for ``error (ignored):``, dropped;
* ``BANNER``: the 2.4 era ``error: --- EvalError --- nix`` report, whose body is not
  indented;
* ``QUOTE``: a builder's quoted log lines (``> …``) pasted without nix's header, up to
  nix's ``For full logs, run 'nix log X'``;
* ``CHAIN``: a Rust error chain (anyhow's ``Error: x`` + ``Caused by:`` + ``0: y``, nh's
  color-eyre ``Error:`` + ``0: x`` + ``Location:``);
* ``TRACEBACK``: a Python traceback (nixos-rebuild-ng, systemd-boot's installer).
"""

from __future__ import annotations

import re
from enum import Enum
from typing import Final

from parsers.errors.classify import QUOTED, derivation_name, key_line, kind_of, refine_build_kind
from parsers.errors.finding import Finding


class BlockKind(Enum):
    """What a block collects (see the module docstring)."""

    REPORT = "report"
    IGNORED = "ignored"
    BANNER = "banner"
    QUOTE = "quote"
    CHAIN = "chain"
    TRACEBACK = "traceback"


REPORT, IGNORED, BANNER, QUOTE, CHAIN, TRACEBACK = BlockKind

MAX_REPORT_LINES: Final = 4000
MAX_BANNER_LINES: Final = 60

# Lines that continue a report although not indented (pastes lose indentation; old nix
# did not indent its trace).
_REPORT_CONTINUATION: Final = ("…", "note: ", "while ", "at /", "at «", "at //",
                               "(use '--show-trace'", "(stack trace truncated")
_CODE_LINE = re.compile(r"^\d+\|")
_BANNER_END: Final = ("error:", "warning:", "building '", "these ", "this ", "copying ")
_CHAIN_TRAILER: Final = ("Location:", "Backtrace", "Suggestion:", "Note:")  # not the chain
_CHAIN_SECTIONS: Final = ("Caused by:", *_CHAIN_TRAILER)
_CHAIN_ITEM = re.compile(r"^\d+: (.*)$")
_EXCEPTION = re.compile(r"^[\w.]*(?:Error|Exception|Exit|Interrupt|Failure)\b.*")
_NIX_LOG_HINT = re.compile(r"nix(?:-store -l| log) (/nix/store/\S+?\.drv)")


class Block:
    __slots__ = ("done", "kind", "lines")

    def __init__(self, kind: BlockKind, first: str) -> None:
        self.kind = kind
        self.lines = [first]
        self.done = False  # the block knows it is complete (no need to see the next line)

    def take(self, text: str) -> bool:
        """Add ``text`` if it continues the block."""
        kind = self.kind
        if kind is REPORT or kind is IGNORED:
            if self._continues_report(text):
                if len(self.lines) < MAX_REPORT_LINES:
                    self.lines.append(text)
                return True
            return False
        if kind is BANNER:
            # The 2.4 era body is not indented: it runs to nix's closing hint.
            if text.startswith(_BANNER_END) or len(self.lines) >= MAX_BANNER_LINES:
                return False
            self.lines.append(text)
            self.done = text.startswith("(use '--show-trace'")
            return True
        if kind is QUOTE:
            stripped = text.lstrip()
            if text[:1] in (" ", "\t") and (
                    stripped.startswith(("> ", "For full logs", "nix log ")) or stripped == ">"):
                self.lines.append(text)
                return True
            return False
        if kind is CHAIN:
            if not text.strip() or text[0] in " \t" or text.startswith(_CHAIN_SECTIONS):
                self.lines.append(text)
                return True
            return False
        # TRACEBACK: indented frames, then the exception line, which ends it.
        if text[:1] in " \t" or not text.strip():
            self.lines.append(text)
            return True
        if _EXCEPTION.match(text):
            self.lines.append(text)
            self.done = True
            return True
        return False

    def _continues_report(self, text: str) -> bool:
        if not text or text[0] in " \t" or text.startswith(_REPORT_CONTINUATION):
            return True
        last = self.lines[-1]
        if last.endswith(":") and last.startswith(("while ", "error: while ")):
            return True  # nix <= 2.3 --show-trace: "while …:" lines, then the error
        if text[:1].isdigit() and _CODE_LINE.match(text):
            return True  # a code excerpt that lost its indentation
        if text.startswith("- ") and len(self.lines) > 1 and self.lines[1].lstrip().startswith(
                "Failed assertions:"):
            return True  # NixOS's assertion list that lost its indentation
        # A bare "error:" and its frames wait for the real error, also when a paste lost
        # the indentation.
        return text.startswith("error:") and self.lines[0].strip() == "error:" and not any(
            line.lstrip().startswith("error:") for line in self.lines[1:])


def quote_error(lines: list[str]) -> Finding | None:
    """Quoted log lines and nix's "For full logs, run 'nix log X'" without the report's
    header: the failure of X, its message the line that says what went wrong."""
    hint = _NIX_LOG_HINT.search("\n".join(lines))
    if hint is None:
        return None
    tail = [m.group(1) for m in map(QUOTED.match, lines) if m]
    path = hint.group(1)
    event = Finding(kind="build-failure", message=key_line(tail) or lines[-1].strip(),
                       drv_path=path, derivation=derivation_name(path), log_tail=tail,
                       detail="\n".join(lines))
    refine_build_kind(event, "")
    return event


def chain_error(lines: list[str]) -> Finding:
    """A Rust error chain as one line, outermost first: ``Error: a: b: c``."""
    parts = [lines[0][len("Error:"):].strip()]
    for candidate in lines[1:]:
        stripped = candidate.strip()
        if stripped.startswith(_CHAIN_TRAILER):
            break
        m = _CHAIN_ITEM.match(stripped)
        if m:
            parts.append(m.group(1).strip())
    message = "Error: " + ": ".join(p for p in parts if p)
    return Finding(kind=kind_of(message) or "other", message=message,
                      detail="\n".join(lines).strip())


def traceback_error(lines: list[str]) -> Finding:
    """A Python traceback: its exception line."""
    last = lines[-1].strip()
    return Finding(kind=kind_of(last) or "other", message=last, detail="\n".join(lines).strip())
