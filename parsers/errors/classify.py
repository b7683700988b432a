"""Classify one complete nix error report into a structured ``error`` event.

The input is the whole report as nix printed it: the ``error:`` line and its indented
continuation (evaluation trace, ``at FILE:LINE:COL:``, code excerpt, the builder's last
log lines, ``note:`` lines), with or without ANSI colours.  Wording of every nix
generation is accepted:

* Nix 1.x / 2.3: ``builder for '…' failed with exit code N; last 10 log lines:``,
  ``cannot build derivation '…': N dependencies couldn't be built``, ``hash mismatch …
  wanted: … got: …``, ``output path '…' has sha256 hash '…' when '…' was expected``,
  positions inline (``…, at /file.nix:3:5``), unprefixed heads;
* the 2.4 era ``error: --- EvalError --- nix-build`` banner with an unindented body;
* 2.4 – 2.28 and Lix: ``builder for '…' failed with exit code N;`` + ``last N log
  lines:`` + ``> …``, ``N dependencies of derivation '…' failed to build``;
* 2.29 and later: ``Cannot build '…'.`` + ``Reason: builder failed with exit code N.`` /
  ``Reason: 1 dependency failed.`` + ``Last 25 log lines:``.

Evaluation errors: the message is the innermost ``error:`` (nix >= 2.13 prints the
frames first and the error last; older nix the other way round), the position is the
``at`` line that follows it, and ``trace`` lists the frames innermost last.
"""

from __future__ import annotations

import re
from typing import Final

from parsers.errors.finding import Finding
from parsers.patterns import lazy
from parsers.store import strip_ansi

_Q = r"['‘’`\"]"
_DRV = r"(/nix/store/[^'\s`‘’\"]+?\.drv)(?:\^[\w,*]+)?"

# --- builds ---------------------------------------------------------------------------
_BUILDER_FAILED = lazy(
    rf"builder for {_Q}{_DRV}{_Q} failed(?: with exit code (-?\d+)| due to signal (\d+))?")
_CANNOT_BUILD = lazy(rf"Cannot build {_Q}{_DRV}{_Q}")
_REASON = lazy(r"^\s*Reason: (.*?)\.?\s*$")
_REASON_EXIT = lazy(r"builder failed with exit code (-?\d+)|builder failed due to signal (\d+)")
_REASON_DEPS = lazy(r"^\d+ dependenc(?:y|ies) failed")
_DEPS_FAILED = lazy(rf"(\d+) dependenc(?:y|ies) of derivation {_Q}{_DRV}{_Q} failed to build")
_OLD_DEPS = lazy(rf"cannot build derivation {_Q}{_DRV}{_Q}: (\d+) dependenc(?:y|ies) couldn't be built")
_BUILD_OF = lazy(rf"build of {_Q}{_DRV}{_Q}(?:, {_Q}[^'‘’]+{_Q})* failed")
_HASH_MISMATCH = lazy(rf"hash mismatch in fixed-output derivation {_Q}{_DRV}{_Q}")
# The same, its name cut (nom cuts lines to the terminal's width): Lix names the output
# on a later line.
_HASH_MISMATCH_CUT = lazy(r"hash mismatch in fixed-output derivation\b")
_EXPECTED_PATH = lazy(r"^\s*expected path:\s*(/nix/store/\S+)", re.M)
# Reasons nix did not even start the builder: no machine of the required system.
_NOT_STARTED = lazy(r"required system or feature not available|platform mismatch"
                          r"|missing system features|local builds are disabled")
_OLD_HASH = lazy(
    rf"output path {_Q}(/nix/store/[^'‘’]+){_Q} has \S+ hash {_Q}([^'‘’]+){_Q} when {_Q}([^'‘’]+){_Q} was expected")
_SPECIFIED = lazy(r"^\s*(?:specified|wanted):\s*(\S+)", re.M)
_GOT = lazy(r"^\s*got:\s*(\S+)", re.M)
_TIMED_OUT = lazy(rf"{_Q}?{_DRV}{_Q}? timed out after (\d+) seconds")
_SUBSTITUTES = lazy(rf"some substitutes for the outputs of derivation {_Q}{_DRV}{_Q} failed")
_LOG_MARKER = lazy(r"\blog lines:\s*$")
_PHASE_LINE = lazy(r"^Running phase: (\w+)")
QUOTED = lazy(r"^\s*> ?(.*)$")
_ANY_DRV = lazy(rf"{_Q}{_DRV}{_Q}")
_HASH_OR_PLACEHOLDER = lazy(r"^(?:[0-9a-z]{32}|<[^>]*>|\.\.\.|…|x+)-")

# --- evaluation -----------------------------------------------------------------------
_BANNER = lazy(r"^error: -{3} (\w*) -{3,}(?: \S+)?\s*$")
_INNER_ERROR = lazy(r"^\s*error:(?: (.*))?$")
_FRAME = lazy(r"^\s*…\s?(.*)$")
_OLD_FRAME = lazy(r"^\s*(while (?:evaluating|calling|checking|realising|fetching|parsing|"
                        r"trying|instantiating|searching|importing|creating)\b.*)$")
_AT = lazy(r"^\s*at (\S.*?):(\d+):(\d+)(?::|: \(source not available\))?\s*$")
_AT_OLD = lazy(r"^\s*at: \((\d+):(\d+)\) (?:in|from) file: (\S+)\s*$")
_INLINE_AT = lazy(r",? at (/[^\s:]+):(\d+):(\d+)\s*:?$")
_CODE = lazy(r"^\s*\d*\s*\|")
_TRUNCATED = lazy(r"^\s*\((?:stack trace truncated|use '--show-trace')")
_DEFINED_IN = lazy(r"(?:defined in|^\s*- In) [`'‘]([^'’`]+)['’`]", re.M)
_PACKAGE_AT = lazy(
    r"[Pp]ackage [`'‘\"]([^'’`\"]+)['’`\"] in (/\S+?):(\d+)\b")

# The kind of an evaluation (or other non-build) error, from its message and the lines
# that belong to the message.  Order matters: the first match decides.
_KIND_PATTERNS: Final[tuple[tuple[str, re.Pattern[str]], ...]] = (
    ("infinite-recursion", lazy(r"infinite recursion encountered"
                                      r"|stack overflow \(possible infinite recursion\)|max-call-depth exceeded")),
    ("option-missing", lazy(r"The option [`'‘\"][^'’`\"]+['’`\"] (?:defined in [`'‘][^'’`]*['’`] )?does not exist")),
    ("attribute-missing", lazy(
        r"attribute [`'‘\"][^'’`\"]+['’`\"] missing|does not provide attribute"
        r"|attribute [`'‘\"][^'’`\"]+['’`\"] in selection path [`'‘][^'’`]*['’`] not found")),
    ("assertion", lazy(r"Failed assertions:|\bassertion\b[^\n]{0,400}?\bfailed\b")),
    ("out-of-space", lazy(r"No space left on device|Disk quota exceeded"
                                r"|not enough free disk space|database or disk is full", re.I)),
    ("download", lazy(
        r"unable to download|cannot download|does not exist in binary cache|HTTP error \d+"
        r"|unable to fetch|Could(?:n't| not) resolve host|Failed to connect to"
        r"|some substitutes for the outputs")),
    ("permission", lazy(
        r"Permission denied|not owned by current user|Operation not permitted|publickey"
        r"|authentication failed|is not allowed to|not a trusted user|insufficient permission"
        r"|not privileged|lacks a (?:valid )?signature",
        re.I)),
    # A time limit that was hit (nix's timeout / max-silent-time, a network operation,
    # sudo's prompt), not any internal "timed out waiting on …" a tool reports.
    ("timeout", lazy(r"\btimed out after\b|\bTimeout was reached\b|\b(?:connection|operation"
                           r"|connect|request|read|handshake)s? timed out\b|\btimed out reading\b"
                           r"|\btimed out$", re.I | re.M)),
    # Last: a fetch of a flake input or a source that failed for a reason none of the
    # above names (a missing ref, a tool's own error).
    ("download", lazy(r"while fetching the input|Cannot find Git revision"
                            r"|error: program [`'‘](?:git|hg|curl|wget)['’`] failed")),
)

# Wording of nix's evaluator (used when a report has neither a position nor a trace,
# and, during builds, to tell nix's reports from a builder's own "error:" lines).
_EVAL_WORDING = lazy(
    r"undefined variable|syntax error, unexpected|while evaluating|is marked as (?:insecure|broken)"
    r"|has an unfree license|Refusing to evaluate|is not available on the requested hostPlatform"
    r"|cannot coerce|value is (?:an? \S+|null) while an? \S+ was expected|called without required argument"
    r"|called with unexpected argument|attribute [`'‘][^'’`]*['’`] already defined|path [`'‘][^'’`]*['’`] does not exist"
    r"|is not tracked by Git|access to (?:absolute )?path [`'‘][^'’`]*['’`] is forbidden|in pure evaluation mode"
    r"|getting status of|cannot import|evaluation aborted|was not found in the Nix search path"
    r"|cannot find flake|flake [`'‘]|lock file|is a string with context"
    r"|The option [`'‘]|infinite recursion|cached failure of attribute")
# Nix's own words about the run itself (not an evaluation), never a builder's.
_RUN_WORDING = lazy(r"^error: (?:interrupted by the user|cannot add path |unexpected end-of-file"
                          r"|opening lock file|getting status of /nix|cannot connect to socket"
                          r"|writing to file: Broken pipe)")

# A builder's log tail: lines that most likely say what went wrong, best first.
_KEY_LINES: Final[tuple[re.Pattern[str], ...]] = (
    lazy(r"^(?:\S+:\d+(?::\d+)?: )?(?:fatal )?error(?:\[\w+\])?:|^ERROR:|^Error:|"
               r"^\S+: error:|CMake Error|^FAILED:|^error \S|\bAssertionError\b|Traceback"
               r"|No space left on device|cannot download \S+ from any mirror"),
    lazy(r"\*\*\* [^\n]{0,400}?Error \d+|\bfailed\b[^\n]{0,200}?\bexit (?:code|status)\b|Configuring incomplete"
               r"|\bFAIL(?:ED)?\b|command not found|No such file or directory|Permission denied"
               r"|undefined reference|cannot find|syntax error|\bnot found\b"),
    lazy(r"\berror\b|\bfailed\b|\bfailure\b", re.I),
)
_ENOSPC = lazy(r"No space left on device|Disk quota exceeded"
                     r"|build failure may have been caused by lack of free disk space")
_FETCH_FAILED = lazy(r"cannot download \S+ from any mirror|error: unable to download")

_TRANSIENT = lazy(r"\.narinfo['’]|does not exist in binary cache|; retrying")

_BUILDER_WORDING = lazy(r"from any mirror")

_NIX_KINDS: Final = frozenset(("infinite-recursion", "option-missing", "attribute-missing",
                               "download", "hash-mismatch", "dependency-failure"))

# Summaries and wrapper lines: they repeat a failure reported elsewhere.  Reported only
# when nothing better was found (see ``ParseState``).
_SUMMARY = lazy(
    r"^error: (?:build of [`'‘].*failed|Build failed due to failed dependency"
    r"|Recipe `[^`]+` failed|program '[^']+' failed with exit code"
    r"|\d+ dependencies? couldn't be built)")


def classify(report: str, *, file: str | None = None, line: int | None = None,
             column: int | None = None) -> Finding:
    """Structure one nix error report.  ``file``/``line``/``column`` are positions nix
    gave separately (internal-json ``msg`` fields), used when the text has none."""
    text = strip_ansi(report).replace("\r", "")
    return classify_lines(text.split("\n"), file=file, line=line, column=column)


def classify_lines(lines: list[str], *, file: str | None = None, line: int | None = None,
                   column: int | None = None) -> Finding:
    """:func:`classify` for a report already split into lines without escapes."""
    while lines and not lines[-1].strip():
        lines = lines[:-1]
    if not lines:
        return Finding(kind="other", message="error")
    detail = "\n".join(lines).strip()
    head = lines[0].strip()
    event = Finding(kind="other", message=_one_line(head), detail=detail)
    # A builder's quoted log lines are not nix's words: never match wording in them.
    own = [c for c in lines if not QUOTED.match(c)]
    own_text = "\n".join(own)
    if _build_failure(event, lines, own, own_text):
        return event
    _evaluation_error(event, lines, file, line, column)
    return event


_PROGRAM_FAILED = lazy(r"^error: program [`'‘]([^'’`]+)['’`] failed with exit code")


def explain_program_failure(event: Finding, said: str) -> None:
    """``error: program 'git' failed with exit code 128`` only says that a program nix
    ran failed; what the program printed just before (``fatal: couldn't find remote
    ref …``, in any language) is the error to act on."""
    if _PROGRAM_FAILED.match(event.message) and not said.startswith(("error", "warning")):
        event.detail = f"{said}\n{event.detail or event.message}"
        event.message = said


def is_summary(event: Finding) -> bool:
    """A summary or wrapper line that only repeats a failure reported elsewhere."""
    return bool(_SUMMARY.match(event.message))


def is_transient(event: Finding) -> bool:
    """A substituter that could not answer or serve a path: nix tries the next one or
    builds from source, so this explains a failure only when nothing else does."""
    return event.kind == "download" and event.drv_path is None and bool(_TRANSIENT.search(event.message))


def is_fetcher_report(event: Finding) -> bool:
    """fetchurl's ``error: cannot download X from any mirror``: a builder's words about
    its own failure, which nix reports next (``Cannot build '…'``)."""
    return bool(_BUILDER_WORDING.search(event.message))


def is_nix_report(event: Finding) -> bool:
    """The report reads like nix's own (a build, a fetch, an evaluation), not a
    builder's ``error:`` line (compilers, test runners, fetchurl's "cannot download …
    from any mirror") that nix printed in its log."""
    if _BUILDER_WORDING.search(event.message):
        return False
    if event.drv_path or event.file or event.trace or event.kind in _NIX_KINDS:
        return True
    message = event.message
    return bool(_EVAL_WORDING.search(message) or _RUN_WORDING.match(message)) or is_summary(event)


def key_line(tail: list[str]) -> str | None:
    """The line of a builder's log that most likely says what went wrong."""
    for pattern in _KEY_LINES:
        for candidate in tail:
            if pattern.search(candidate.strip()):
                return candidate.strip()
    return None


def is_strong_key_line(text: str) -> bool:
    """The line states an error, not merely mentions one."""
    return any(p.search(text) for p in _KEY_LINES[:2])


def is_banner(text: str) -> bool:
    """The 2.4 era ``error: --- EvalError --- nix`` header (its body is not indented)."""
    return bool(_BANNER.match(text))


def derivation_name(path: str) -> str:
    """A derivation's name from its path, also when the hash was replaced by a
    placeholder (``<hash>``, ``…``) in a pasted log."""
    base = path.rstrip("/").rsplit("/", 1)[-1]
    if base.endswith(".drv"):
        base = base[:-4]
    return _HASH_OR_PLACEHOLDER.sub("", base, count=1)


# --- builds ---------------------------------------------------------------------------


def _build_failure(event: Finding, lines: list[str], own: list[str], own_text: str) -> bool:
    """Fill ``event`` if the report is about a build, a fetch or a fixed output."""
    m = _HASH_MISMATCH.search(own_text)
    if m:
        event.kind = "hash-mismatch"
        _set_drv(event, m.group(1))
        spec, got = _SPECIFIED.search(own_text), _GOT.search(own_text)
        event.specified = spec.group(1) if spec else None
        event.got = got.group(1) if got else None
        event.message = _line_of(own, m.group(0))
        return True
    m = _HASH_MISMATCH_CUT.search(own_text)
    if m:
        event.kind = "hash-mismatch"
        path = _EXPECTED_PATH.search(own_text)
        event.derivation = derivation_name(path.group(1)) if path else None
        spec, got = _SPECIFIED.search(own_text), _GOT.search(own_text)
        event.specified = spec.group(1) if spec else None
        event.got = got.group(1) if got else None
        event.message = _line_of(own, m.group(0))
        return True
    m = _OLD_HASH.search(own_text)
    if m:
        event.kind = "hash-mismatch"
        event.drv_path = None
        event.derivation = derivation_name(m.group(1))
        event.got, event.specified = m.group(2), m.group(3)
        event.message = _line_of(own, m.group(0))
        return True
    m = _BUILDER_FAILED.search(own_text)
    if m:
        _set_drv(event, m.group(1))
        code, signal = m.group(2), m.group(3)
        event.exit_code = int(code) if code else (128 + int(signal) if signal else None)
        event.message = _line_of(own, m.group(0))
        _builder_tail(event, lines, own_text)
        return True
    m = _CANNOT_BUILD.search(own_text)
    if m:
        _set_drv(event, m.group(1))
        event.message = _line_of(own, m.group(0))
        reason = next((r.group(1) for r in map(_REASON.match, own) if r), "")
        exit_reason = _REASON_EXIT.search(reason)
        if exit_reason:
            code, signal = exit_reason.groups()
            event.exit_code = int(code) if code else 128 + int(signal)
            _builder_tail(event, lines, own_text)
        elif _REASON_DEPS.match(reason):
            event.kind = "dependency-failure"
            event.root_cause = False
        elif _NOT_STARTED.search(reason):
            event.kind = "other"  # nothing was built: the builder's platform is missing
        else:
            event.kind = kind_of(reason) or "build-failure"
            event.log_tail = _log_tail(lines)
        return True
    for pattern, drv_group in ((_DEPS_FAILED, 2), (_OLD_DEPS, 1)):
        m = pattern.search(own_text)
        if m:
            event.kind = "dependency-failure"
            event.root_cause = False
            _set_drv(event, m.group(drv_group))
            event.message = _line_of(own, m.group(0))
            return True
    # "build of '…', '…' failed" is nix's summary of failures reported before.
    for pattern, kind in ((_TIMED_OUT, "timeout"), (_SUBSTITUTES, "download"),
                          (_BUILD_OF, "build-failure")):
        m = pattern.search(own_text)
        if m:
            event.kind = kind
            _set_drv(event, m.group(1))
            event.message = _line_of(own, m.group(0))
            return True
    return False


def _builder_tail(event: Finding, lines: list[str], own_text: str) -> None:
    event.log_tail = _log_tail(lines)
    # stdenv announces its phases in the log ("Running phase: buildPhase", 23.11+).
    event.phase = next((m.group(1) for m in map(_PHASE_LINE.match, reversed(event.log_tail)) if m),
                       None)
    event.kind = "timeout" if "timed out after" in own_text else "build-failure"
    refine_build_kind(event, own_text)


def refine_build_kind(event: Finding, context: str) -> None:
    """A failed builder whose log (or nix's note, or ``context``: output printed around
    it) shows the disk filling up is ``out-of-space``; a fetcher that could not
    download is ``download``: that is what the person has to fix, not the build."""
    if event.kind != "build-failure":
        return
    tail_text = "\n".join(event.log_tail)
    mismatch = _HASH_MISMATCH_CUT.search(tail_text)
    if mismatch and _GOT.search(tail_text):
        # A fixed output's mismatch quoted in another builder's log (a nested build).
        event.kind = "hash-mismatch"
        event.specified = (spec.group(1) if (spec := _SPECIFIED.search(tail_text)) else None)
        event.got = (got.group(1) if (got := _GOT.search(tail_text)) else None)
        return
    full = _ENOSPC.search(tail_text)
    if full:
        # The builder's line that says the disk is full is the message: it names what
        # could not be written (the derivation stays in ``derivation``).
        event.kind = "out-of-space"
        event.message = _line_of(event.log_tail, full.group(0))
    elif _ENOSPC.search(event.detail or "") or _ENOSPC.search(context):
        event.kind = "out-of-space"
    elif _FETCH_FAILED.search(tail_text):
        event.kind = "download"


def _log_tail(lines: list[str]) -> list[str]:
    """The builder's last log lines nix quotes after ``last N log lines:`` (``> text``,
    or two-space indented text in nix 2.3)."""
    tail: list[str] = []
    in_tail = False
    quoted = False
    for candidate in lines:
        if _LOG_MARKER.search(candidate):
            in_tail, quoted = True, False
            tail.clear()
            continue
        if not in_tail:
            continue
        m = QUOTED.match(candidate)
        if m and (quoted or not tail):
            quoted = True
            tail.append(m.group(1))
        elif not quoted and candidate.startswith("  ") and not candidate.lstrip().startswith(
                ("For full logs", "nix log")):
            tail.append(candidate[2:])
        elif candidate.strip():
            in_tail = False
    return tail


# --- evaluation and everything else ---------------------------------------------------


def _evaluation_error(event: Finding, lines: list[str], file: str | None,
                      line: int | None, column: int | None) -> None:
    """Message, kind, position and trace of a report that is not about a build.

    Two layouts exist.  Nix >= 2.13 prints the frames first (``… while …``, each with its
    ``at`` position, outermost first) and the real error last, as an indented ``error:``
    followed by its position.  Older nix prints the error on the first line, its
    position next, then the frames innermost first.  The 2.4 era banner
    (``error: --- EvalError --- nix``) puts an unindented body under the banner."""
    head = lines[0].strip()
    message_at = 0  # the line holding the message: the innermost error, else the head
    for i in range(1, len(lines)):
        if _INNER_ERROR.match(lines[i]):
            message_at = i
    if not message_at and head.startswith("error: while "):
        # Nix <= 2.3 with --show-trace: "error: while evaluating …:" and more "while …:"
        # lines, outermost first, then the error itself.
        last = max((i for i, c in enumerate(lines) if c.strip() and not _OLD_FRAME.match(c)
                    and not _TRUNCATED.match(c)), default=0)
        if last:
            lines = [*lines[:last], "error: " + lines[last].strip(), *lines[last + 1:]]
            lines[0] = "… " + head[len("error: "):]
            message_at = last
    if message_at:
        inner = _INNER_ERROR.match(lines[message_at])
        message = ((inner.group(1) if inner else None) or "").strip()
        message = f"error: {message}" if message else ""
    elif _BANNER.match(head) or head == "error:":
        message = ""
    else:
        message = head
    block, position = _message_block(lines[message_at + 1:])
    if not message:
        # A bare "error:" (or a banner) with the message on the following lines.
        message = _message_from_block(block) or head
    event.message = _one_line(message)
    event.trace = _trace(lines, message_at)
    # The kind comes from the message and the lines right under it, not from help text
    # further down (unfree/insecure advice) nor from the trace.
    kind = kind_of("\n".join([message, *block[:3]]))
    block_text = "\n".join([message, *block])

    inline = _INLINE_AT.search(message)
    if position is None and inline:
        position = (inline.group(1), int(inline.group(2)), int(inline.group(3)))
    package = _PACKAGE_AT.search(block_text)
    if package:
        event.derivation = package.group(1)
        if position is None:
            position = (package.group(2), int(package.group(3)), None)
    if position is None and kind != "assertion":
        defined = _DEFINED_IN.search(block_text)
        if defined:
            position = (defined.group(1), None, None)
    if position is None and file is not None:
        position = (file, line or None, column or None)
    if position is not None:
        event.file, event.line, event.column = position

    if kind is not None:
        event.kind = kind
    elif event.file is not None or event.trace or _EVAL_WORDING.search(message):
        event.kind = "eval-error"
    if event.derivation is None:
        drvs = set(_ANY_DRV.findall(message))
        if len(drvs) == 1:  # "a 'aarch64-linux' … is required to build '….drv'"
            _set_drv(event, drvs.pop())


def _message_block(lines: list[str]) -> tuple[list[str], tuple[str, int | None, int | None] | None]:
    """The text lines that belong to a message (up to the next frame), without code
    excerpts, and the first position among them."""
    block: list[str] = []
    position: tuple[str, int | None, int | None] | None = None
    for candidate in lines:
        if _FRAME.match(candidate) or _OLD_FRAME.match(candidate) or _INNER_ERROR.match(candidate):
            break
        at = _AT.match(candidate)
        if at:
            if position is None:
                position = _position(at.group(1), at.group(2), at.group(3))
            continue
        old_at = _AT_OLD.match(candidate)
        if old_at:
            if position is None:
                position = (old_at.group(3), int(old_at.group(1)), int(old_at.group(2)))
            continue
        if candidate.strip() and not _CODE.match(candidate) and not _TRUNCATED.match(candidate):
            block.append(candidate.strip())
    return block, position


def _message_from_block(block: list[str]) -> str | None:
    """The message when nix put it on the lines after a bare ``error:``: the first
    failed NixOS assertion, else the first line."""
    for i, candidate in enumerate(block):
        if candidate.startswith("Failed assertions:"):
            item = next((b for b in block[i + 1:] if b.startswith("- ")), None)
            return item[2:].strip() if item else candidate
    return block[0] if block else None


def _trace(lines: list[str], message_at: int) -> list[str]:
    """The frames (``… while evaluating …`` and their position), innermost last.

    A frame is its text, any text lines right under it (``whose name attribute is
    located at …``) and the first ``at`` line before the next frame."""
    frames: list[str] = []
    current: list[str] | None = None
    gap = False

    def close() -> None:
        if current:
            frames.append(" ".join(current))

    for i, candidate in enumerate(lines):
        frame = None if i == message_at else (_FRAME.match(candidate) or _OLD_FRAME.match(candidate))
        if frame and frame.group(1).strip():
            close()
            current, gap = [frame.group(1).strip().rstrip(":")], False
            continue
        if current is None:
            continue
        if i == message_at or _INNER_ERROR.match(candidate) or _TRUNCATED.match(candidate):
            close()
            current = None
            continue
        at = _AT.match(candidate)
        if at:
            current.append(f"at {at.group(1)}:{at.group(2)}:{at.group(3)}")
            close()
            current = None
        elif not candidate.strip() or _CODE.match(candidate):
            gap = True
        elif not gap:
            current.append(candidate.strip())
    close()
    if message_at == 0:
        frames.reverse()  # old layout: innermost first
    return frames


def kind_of(text: str) -> str | None:
    """The error kind that wording in ``text`` names, if any."""
    for kind, pattern in _KIND_PATTERNS:
        if pattern.search(text):
            return kind
    return None


def _position(path: str, line: str, column: str) -> tuple[str, int | None, int | None] | None:
    if path.startswith("«") and "»/" not in path:
        return None  # «string», «none»: no file to open
    return (path, int(line) or None, int(column) or None)


def _set_drv(event: Finding, path: str) -> None:
    event.drv_path = path
    event.derivation = derivation_name(path)


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _line_of(lines: list[str], fragment: str) -> str:
    for candidate in lines:
        if fragment in candidate:
            return _one_line(candidate)
    return _one_line(fragment)
