"""Nix's error ``msg`` objects: what the internal-json stream adds to the text.

Since Nix 2.4 an error ``msg`` carries ``raw_msg`` (the message without the ``error:``
prefix, the indentation and the trace: ``attribute 'enabel' missing``) and
``file`` / ``line`` / ``column`` (src/libutil/logging.cc ``JSONLogger::logEI``).  Since
2.13 ``file`` is ``pos->print()``, which can read ``/x.nix:10:28`` (real Nix 2.34:
``"file":"/…/eval-error.nix:10:28","line":10,"column":28``).  The formatted ``msg``
stays what the extractor reads; these fill what it cannot find there.
"""

from __future__ import annotations

from parsers.errors.classify import classify, kind_of
from parsers.errors.finding import Finding
from parsers.store import strip_ansi


def plain_file(file: str | None, line: int | None, column: int | None) -> str | None:
    """``file`` without the ``:line:col`` that ``pos->print()`` appends."""
    if not file:
        return None
    for suffix in (f":{line}:{column}", f":{line}"):
        if line is not None and file.endswith(suffix) and len(file) > len(suffix):
            return file[:-len(suffix)]
    return file


def error_finding(text: str, raw_msg: str | None, file: str | None, line: int | None,
                  column: int | None) -> Finding:
    """The finding of one error ``msg``."""
    finding = classify(text, file=plain_file(file, line, column), line=line, column=column)
    if raw_msg and finding.kind in ("other", "eval-error"):
        # Only a generic kind was read: the layout hid the wording (a future layout, a
        # cut line), and the bare message may still name it.
        kind = kind_of(strip_ansi(raw_msg))
        if kind is not None:
            finding.kind = kind
    return finding
