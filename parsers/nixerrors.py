"""Classify one complete nix error report into a structured ``error`` event.

The input is the whole report as nix printed it: the ``error:`` line and its indented
continuation (evaluation trace, ``at FILE:LINE:COL:``, code excerpt, the builder's last
log lines), with or without ANSI colours.  Wording of every nix generation is accepted:
``builder for '…' failed with exit code N`` (< 2.29), ``Cannot build '…'. Reason:
builder failed with exit code N.`` (>= 2.29), ``cannot build derivation '…': N
dependencies couldn't be built`` (1.x / 2.3), ``--- Error ---`` blocks (2.4 era).
"""

from __future__ import annotations

import re

from .events import ErrorEvent
from .store import drv_name, strip_ansi

_DRV = r"(/nix/store/[^'\s`‘’]+?\.drv)"
_Q = r"['‘’`]"

_BUILDER_FAILED = re.compile(
    rf"builder for {_Q}{_DRV}{_Q} failed(?: with exit code (-?\d+)| due to signal (\d+))?"
)
_CANNOT_BUILD = re.compile(rf"Cannot build {_Q}{_DRV}{_Q}\.?")
_REASON_BUILDER = re.compile(r"Reason: builder failed with exit code (-?\d+)")
_REASON_DEPS = re.compile(r"Reason: (\d+) dependenc(?:y|ies) failed")
_DEPS_FAILED = re.compile(rf"(\d+) dependenc(?:y|ies) of derivation {_Q}{_DRV}{_Q} failed to build")
_OLD_DEPS = re.compile(rf"cannot build derivation {_Q}{_DRV}{_Q}: (\d+) dependenc(?:y|ies) couldn't be built")
_BUILD_OF = re.compile(rf"build of {_Q}{_DRV}{_Q}(?:, {_Q}[^']+{_Q})* failed")
_HASH_MISMATCH = re.compile(rf"hash mismatch in fixed-output derivation {_Q}{_DRV}{_Q}")
_SPECIFIED = re.compile(r"(?:specified|wanted):\s*(\S+)")
_GOT = re.compile(r"got:\s*(\S+)")
_AT = re.compile(r"^\s*at (?:«[^»]*»|(\S.*?)):(\d+):(\d+):?\s*$")
_LOG_LINE = re.compile(r"^\s*> ?(.*)$")
_TRACE = re.compile(r"^\s*… (.*)$")
_INNER_ERROR = re.compile(r"^\s*error: ?(.*)$")
_OPTION_MISSING = re.compile(r"The option [`'‘]([^'’`]+)['’`] does not exist")
_ATTR_MISSING = re.compile(r"attribute [`'‘]([^'’`]+)['’`] missing|does not provide attribute")

# Order matters: the first match decides the kind.
_KIND_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("infinite-recursion", re.compile(r"infinite recursion encountered")),
    ("option-missing", _OPTION_MISSING),
    ("attribute-missing", _ATTR_MISSING),
    ("assertion", re.compile(r"Failed assertions:|assertion .* failed|assertion failed")),
    ("out-of-space", re.compile(r"No space left on device|not enough free disk space", re.I)),
    ("download", re.compile(
        r"unable to download|cannot download|HTTP error \d+|does not exist in binary cache"
        r"|unable to fetch|Couldn't resolve host|Could not resolve host|error: cannot fetch")),
    ("permission", re.compile(
        r"Permission denied|not owned by current user|Operation not permitted"
        r"|publickey|authentication fail", re.I)),
    ("timeout", re.compile(r"timed out|timeout", re.I)),
)


def classify(report: str, *, file: str | None = None, line: int | None = None,
             column: int | None = None) -> ErrorEvent:
    """Structure one nix error report.  ``file``/``line``/``column`` are positions nix
    gave separately (internal-json ``msg`` fields), used when the text has none."""
    text = strip_ansi(report).replace("\r", "")
    lines = text.split("\n")
    head = lines[0].strip()
    event = ErrorEvent(kind="other", message=_one_line(head), detail=text.strip())

    m = _BUILDER_FAILED.search(text)
    if m:
        event.kind = "build-failure"
        _set_drv(event, m.group(1))
        code = m.group(2)
        event.exit_code = int(code) if code else (128 + int(m.group(3)) if m.group(3) else None)
        event.message = _one_line(_line_of(lines, m.group(0)) or head)
        event.log_tail = _log_tail(lines)
        return event

    m = _HASH_MISMATCH.search(text)
    if m:
        event.kind = "hash-mismatch"
        _set_drv(event, m.group(1))
        spec, got = _SPECIFIED.search(text), _GOT.search(text)
        event.specified = spec.group(1) if spec else None
        event.got = got.group(1) if got else None
        event.message = _one_line(_line_of(lines, m.group(0)) or head)
        return event

    m = _CANNOT_BUILD.search(text)
    if m:
        _set_drv(event, m.group(1))
        event.message = _one_line(_line_of(lines, m.group(0)) or head)
        reason = _REASON_BUILDER.search(text)
        if reason:
            event.kind = "build-failure"
            event.exit_code = int(reason.group(1))
            event.log_tail = _log_tail(lines)
            return event
        if _REASON_DEPS.search(text):
            event.kind = "dependency-failure"
            event.root_cause = False
            return event

    for pattern in (_DEPS_FAILED, _OLD_DEPS):
        m = pattern.search(text)
        if m:
            event.kind = "dependency-failure"
            event.root_cause = False
            drv = m.group(2) if pattern is _DEPS_FAILED else m.group(1)
            _set_drv(event, drv)
            event.message = _one_line(_line_of(lines, m.group(0)) or head)
            return event

    m = _BUILD_OF.search(text)
    if m:
        # "build of '…', '…' failed": nix's summary of failures reported before.
        event.kind = "build-failure"
        event.root_cause = False
        _set_drv(event, m.group(1))
        return event

    _evaluation_details(event, lines, file, line, column)
    for kind, pattern in _KIND_PATTERNS:
        if pattern.search(text):
            event.kind = kind
            break
    else:
        if event.file is not None or event.trace:
            event.kind = "eval-error"
    return event


def _set_drv(event: ErrorEvent, path: str) -> None:
    event.drv_path = path
    event.derivation = drv_name(path)


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _line_of(lines: list[str], fragment: str) -> str | None:
    for candidate in lines:
        if fragment in candidate:
            return candidate.strip()
    return None


def _log_tail(lines: list[str]) -> list[str]:
    """The builder's last log lines nix quotes (``> text``) after ``last N log lines:``."""
    tail: list[str] = []
    in_tail = False
    for candidate in lines:
        if "log lines:" in candidate:
            in_tail = True
            tail.clear()
            continue
        if in_tail:
            m = _LOG_LINE.match(candidate)
            if m:
                tail.append(m.group(1))
            elif candidate.strip():
                in_tail = False
    return tail


def _evaluation_details(event: ErrorEvent, lines: list[str], file: str | None,
                        line: int | None, column: int | None) -> None:
    """Message, position and trace of an evaluation error.

    Two layouts exist.  Nix >= 2.13 prints the frames first (``… while …``, each with
    its ``at`` position, outermost first) and the real error last, as an indented
    ``error: …`` followed by its position.  Older nix prints the error on the first
    line, its position next, then the frames innermost first (``--show-trace``).  The
    trace is returned innermost last either way."""
    head = lines[0].strip()
    head_text = head[len("error:"):].strip() if head.startswith("error:") else head
    message: str | None = head_text or None
    frames_after_head = bool(message)
    trace: list[str] = []
    position: tuple[str, int, int] | None = None
    for candidate in lines[1:]:
        frame = _TRACE.match(candidate)
        if frame:
            trace.append(_one_line(frame.group(1)))
            continue
        at = _AT.match(candidate)
        if at:
            if at.group(1) and message is not None and position is None:
                position = (at.group(1), int(at.group(2)), int(at.group(3)))
            continue
        inner = _INNER_ERROR.match(candidate)
        if inner and inner.group(1).strip():
            message = inner.group(1).strip()
            position = None
            frames_after_head = False
    if message is None:
        message = next((c.strip() for c in lines[1:] if c.strip()
                        and not _TRACE.match(c) and not _AT.match(c)), head)
    if frames_after_head:
        trace.reverse()
    event.message = _one_line(message if message.startswith("error") else f"error: {message}")
    event.trace = trace
    if position is None and file is not None:
        position = (file, line or 0, column or 0)
    if position is not None:
        event.file = position[0]
        event.line = position[1] or None
        event.column = position[2] or None
