"""Nix's ``--log-format internal-json`` stream: ``@nix {json}`` lines to events.

Actions: ``start`` / ``stop`` (activities), ``result`` (of an activity), ``msg``.
Activity types 0 and 100–112 and result types 100–108 are understood; anything newer
becomes a generic ``activity.*`` or ``nix.unknown`` event.  Malformed JSON, unknown
actions and wrong field types never raise: the line becomes a ``nix.unknown`` event if
it is valid JSON, else a ``log.line`` with the text as written.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Final, cast

import msgspec

from parsers import nixmsg, payloads
from parsers.derivations import Derivation
from parsers.events import (
    ActivityStarted,
    ActivityStopped,
    Expected,
    LogLine,
    Message,
    NixUnknown,
    Progress,
)
from parsers.state import ParseState
from parsers.store import machine_name, strip_ansi

PREFIX: Final = b"@nix "

ACTIVITY_NAMES: Final = {
    0: "unknown",
    100: "copy-path",
    101: "file-transfer",
    102: "realise",
    103: "copy-paths",
    104: "builds",
    105: "build",
    106: "optimise-store",
    107: "verify-paths",
    108: "substitute",
    109: "query-path-info",
    110: "post-build-hook",
    111: "build-waiting",
    112: "fetch-tree",
    113: "fetch-to-store",  # upstream master (after 2.35): "${./file}", src = ./.
}
LEVEL_NAMES: Final = ("error", "warn", "notice", "info", "talkative", "chatty", "debug", "vomit")

ACT_COPY_PATH, ACT_FILE_TRANSFER, ACT_REALISE, ACT_COPY_PATHS, ACT_BUILDS, ACT_BUILD = (
    100, 101, 102, 103, 104, 105)
ACT_SUBSTITUTE, ACT_POST_BUILD_HOOK = 108, 110
RES_FILE_LINKED, RES_BUILD_LOG_LINE, RES_UNTRUSTED_PATH, RES_CORRUPTED_PATH = 100, 101, 102, 103
RES_SET_PHASE, RES_PROGRESS, RES_SET_EXPECTED, RES_POST_BUILD_LOG_LINE, RES_FETCH_STATUS = (
    104, 105, 106, 107, 108)
RES_FETCH_TO_STORE = 109  # upstream master with fields; Determinate's 109 has a payload

# Activities without a specific event are reported when nix would show them at -v.
_GENERIC_MAX_LEVEL: Final = 4

Field = str | int


class _Start(msgspec.Struct, tag="start", tag_field="action", gc=False):
    id: int
    type: int = 0
    level: int = 0
    text: str = ""
    fields: list[Field] = []
    parent: int = 0  # Nix >= 2.18 and Lix; 0: none


class _Stop(msgspec.Struct, tag="stop", tag_field="action", gc=False):
    id: int


class _Result(msgspec.Struct, tag="result", tag_field="action", gc=False):
    id: int
    type: int
    fields: list[Field] = []
    payload: dict[str, Any] | None = None  # Determinate Nix: parsers/payloads.py


class _Msg(msgspec.Struct, tag="msg", tag_field="action", gc=False):
    level: int = 0
    msg: str = ""
    file: str | None = None
    line: int | None = None
    column: int | None = None
    raw_msg: str | None = None  # Nix >= 2.4: the message without "error:" and layout


# gc=False: a decoded line holds only numbers, strings and lists of them (no cycle is
# possible), and a million of them a second need not be tracked by the collector.
_NixMessage = _Start | _Stop | _Result | _Msg




class _Activity:
    __slots__ = ("drv", "expected", "id", "kind", "last", "level", "name", "path", "pct",
                 "reported", "transfer")

    def __init__(self, id: int, kind: int, path: str | None, level: int, reported: bool) -> None:
        self.id = id
        self.kind = kind
        self.name = _activity_name(kind)  # each of its events says it
        self.transfer = kind == ACT_COPY_PATH or kind == ACT_FILE_TRANSFER  # progress in %
        self.path = path
        self.level = level
        self.reported = reported
        self.last: tuple[Field, ...] = ()
        self.pct = -2
        self.drv: Derivation | None = None   # the tracker's, for a Build activity
        self.expected: dict[int, int] = {}


class InternalJsonParser:
    """One nix process's structured stream.  Call :meth:`line` with the bytes after
    ``@nix ``; events go to ``out``."""

    def __init__(self, state: ParseState) -> None:
        self.state = state
        self.out = state.out
        self.tracker = state.tracker
        self.plan = state.plan
        self._decode = msgspec.json.Decoder(_NixMessage).decode
        self._decode_batch = msgspec.json.Decoder(list[_NixMessage]).decode
        # False: no sink reads log.line events, so none is made (``LogStream``).
        self.log_lines = True
        # False: no sink reads a builder's output (source "build" / "post-build-hook").
        self.build_lines = True
        self._activities: dict[int, _Activity] = {}
        self._last_status: dict[int, str] = {}

    def line(self, payload: bytes) -> None:
        """One line's JSON (the bytes after ``@nix ``)."""
        self.lines([PREFIX + payload], _no_text)

    def lines(self, lines: list[bytes], text: Callable[[str, bool], None]) -> None:
        """A read's lines: nix's (``@nix {…}``) parsed here, the others decoded (invalid
        UTF-8 replaced, the PTY's ``\\r`` before the newline dropped) and handed to
        ``text`` (``TextParser.line``) with whether to make ``log.line`` events.

        A read is most often all text or all nix's, and each is then decoded in one
        call: the text as one string (UTF-8 cannot span a newline, so the lines are
        the same as decoded one by one), nix's lines as one JSON array.  A read that
        mixes them, or has a line that does not decode alone, goes line by line."""
        if not lines:
            return
        joined = b"\n".join(lines)
        if PREFIX not in joined:
            log_lines = self.log_lines
            for raw in joined.decode("utf-8", "replace").split("\n"):
                text(raw.rstrip("\r"), log_lines)
            return
        if joined.startswith(PREFIX):
            # A PTY's "\r" before the comma is JSON whitespace.
            body = joined[5:].replace(b"\n@nix ", b",")
            # Each line's prefix took 5 bytes away: then every line is nix's (counting
            # them as well would read the read once more).
            if len(joined) - len(body) == 5 * len(lines):
                try:
                    messages = self._decode_batch(b"[" + body + b"]")
                except (msgspec.DecodeError, msgspec.ValidationError, RecursionError):
                    pass
                else:
                    if len(messages) == len(lines):  # else a line held more than one value
                        self._dispatch(messages, lines, text)
                        return
        self._dispatch(self._each(lines), lines, text)

    def _each(self, lines: list[bytes]) -> list[Any]:
        """Per line: nix's message, a text line as its string, or ``_Undecodable``."""
        decode = self._decode
        items: list[Any] = []
        append = items.append
        for line in lines:
            if not line.startswith(PREFIX):
                if line.startswith(b"^C") and line.lstrip(b"^C").startswith(PREFIX):
                    line = line.lstrip(b"^C")  # the terminal echoed Ctrl-C first
                else:
                    append(line.decode("utf-8", "replace").rstrip("\r"))
                    continue
            try:
                append(decode(line[5:]))
            except (msgspec.DecodeError, msgspec.ValidationError, RecursionError):
                append(_Undecodable(line[5:]))
        return items

    # The hot path: ~98% of nom's log are Progress results of a transfer, most of which
    # change nothing worth reporting.  The loop over a read's messages is here, with
    # the common cases inline, because a function call per line costs as much as the
    # rest.
    def _dispatch(self, messages: list[Any], lines: list[bytes],
                  text: Callable[[str, bool], None]) -> None:
        """``messages[i]`` came from ``lines[i]``."""
        activities = self._activities
        log_lines = self.log_lines
        build_lines = self.build_lines
        out = self.out
        result, progress, log_line = _Result, RES_PROGRESS, RES_BUILD_LOG_LINE
        for message, line in zip(messages, lines, strict=True):
            cls = type(message)
            if cls is result:
                kind = message.type
                if kind == progress:
                    act = activities.get(message.id)
                    if act is None:
                        continue
                    # Any: the four are checked where it matters (a string never gets
                    # here as "done"; "expected" as a string raises at the comparison).
                    fields: list[Any] = message.fields
                    if len(fields) == 4 and type(fields[0]) is int:
                        done, expected, running, failed = fields
                        try:
                            if act.transfer:
                                # Report each percent of a transfer once, and its end.
                                pct = done * 100 // expected if expected > 0 else -1
                                if pct == act.pct and done != expected and act.last == (
                                        expected, running, failed):
                                    continue
                                act.pct = pct
                            elif act.last == (done, expected, running, failed):
                                continue
                        except TypeError:
                            pass  # reported whole by _progress
                    self._progress(act, message, line)
                elif kind == log_line:
                    # The second most frequent line: a builder's output.
                    act = activities.get(message.id)
                    drv = act.drv if act is not None else None
                    fields = message.fields
                    if drv is not None and fields and type(fields[0]) is str:
                        drv.log(fields[0])
                        if build_lines:
                            out.append(LogLine(text=fields[0], source="build",
                                               drv_path=drv.path, name=drv.name))
                    else:
                        self._result(message, line)
                else:
                    self._result(message, line)
            elif cls is str:
                text(message, log_lines)
            elif cls is _Start:
                self._start(message)
            elif cls is _Stop:
                self._stop(message.id)
            elif cls is _Msg:
                self._msg(message)
            else:
                self._undecodable(message.payload)

    def _undecodable(self, payload: bytes) -> None:
        data = _decode_any(payload)
        if data is _NOT_JSON:
            self._as_text(payload)
            return
        # Valid JSON of a shape we do not know (a new action, a new field type, an
        # integer too large): keep it whole.  A start we cannot read still gets
        # tracked so its results and stop make sense.
        if isinstance(data, dict) and data.get("action") == "start" and isinstance(data.get("id"), int):
            self._activities[data["id"]] = _Activity(data["id"], -1, None, 0, True)
            self.out.append(ActivityStarted(
                id=data["id"], activity=_activity_name(data.get("type")),
                text=str(data.get("text", "")), level=_int(data.get("level")),
                fields=list(data.get("fields", [])) if isinstance(data.get("fields"), list) else [],
            ))
            return
        if isinstance(data, dict) and data.get("action") == "stop" and isinstance(data.get("id"), int):
            self._stop(data["id"])
            return
        self.out.append(NixUnknown(data=data))

    # --- start / stop -----------------------------------------------------------------

    def _start(self, m: _Start) -> None:
        self.plan.flush()
        kind, fields = m.type, m.fields
        path: str | None = None
        reported = False
        drv = None
        if kind == ACT_BUILD and fields and isinstance(fields[0], str):
            path = fields[0]
            drv = self.tracker.start(path, machine_name(fields[1] if len(fields) > 1 else ""))
        elif kind == ACT_COPY_PATH and len(fields) >= 3 and isinstance(fields[0], str):
            path = fields[0]
            src, dst = machine_name(fields[1]), machine_name(fields[2])
            self.tracker.transfer_start(path, src if dst is None else dst, download=dst is None)
        elif kind in (ACT_FILE_TRANSFER, ACT_SUBSTITUTE) and fields and isinstance(fields[0], str):
            path = fields[0]
        elif kind in (ACT_REALISE, ACT_COPY_PATHS, ACT_BUILDS):
            pass
        else:
            if kind == ACT_POST_BUILD_HOOK and fields and isinstance(fields[0], str):
                path = fields[0]
            reported = m.level <= _GENERIC_MAX_LEVEL or kind not in ACTIVITY_NAMES
            if reported:
                self.out.append(ActivityStarted(
                    id=m.id, activity=_activity_name(kind), text=m.text, level=m.level,
                    fields=list(fields), parent=m.parent or None,
                ))
        act = self._activities[m.id] = _Activity(m.id, kind, path, m.level, reported)
        act.drv = drv

    def _stop(self, activity_id: int) -> None:
        act = self._activities.pop(activity_id, None)
        if act is None:
            return
        self._last_status.pop(activity_id, None)
        if act.kind == ACT_BUILD and act.path:
            self.tracker.stop(act.path)
        elif act.kind == ACT_COPY_PATH and act.path:
            self.tracker.transfer_done(act.path)
        elif act.reported:
            self.out.append(ActivityStopped(id=activity_id, activity=act.name))

    # --- results ----------------------------------------------------------------------

    def _progress(self, act: _Activity, m: _Result, line: bytes) -> None:
        fields = m.fields
        if len(fields) != 4:
            self._unknown(_payload(line))
            return
        done, expected, running, failed = fields
        if not (type(done) is int and type(expected) is int and type(running) is int
                and type(failed) is int):
            self._unknown(_payload(line))
            return
        kind = act.kind
        if kind in (ACT_COPY_PATH, ACT_FILE_TRANSFER):
            act.last = (expected, running, failed)
            if kind == ACT_COPY_PATH and act.path:
                self.tracker.transfer_bytes(act.path, expected or done)
        else:
            act.last = (done, expected, running, failed)
            if kind == ACT_BUILDS:
                self.tracker.builds_progress(act.id, done, failed)
        self.out.append(Progress(
            scope=act.name, done=done, expected=expected, running=running,
            failed=failed, path=act.path, activity_id=act.id,
        ))

    def _unknown(self, payload: bytes) -> None:
        """Keep a message we cannot interpret whole (all its keys, not only ours)."""
        data = _decode_any(payload)
        if data is _NOT_JSON:
            self._as_text(payload)
            return
        self.out.append(NixUnknown(data=data))

    def _as_text(self, payload: bytes) -> None:
        """A line no JSON decoder can hold: kept as the text it is."""
        text = payload.decode("utf-8", "replace").rstrip("\r")
        self.out.append(LogLine(text="@nix " + text))

    def _result(self, m: _Result, line: bytes) -> None:
        act = self._activities.get(m.id)
        kind, fields = m.type, m.fields
        text = fields[0] if fields and isinstance(fields[0], str) else None
        if kind == RES_BUILD_LOG_LINE and text is not None:
            # Lines of a build's own activity take the fast path in line(): these
            # belong to no build we know.
            if self.build_lines:
                self.out.append(LogLine(text=text, source="build"))
        elif kind == RES_SET_PHASE and text is not None:
            if act is not None and act.path:
                self.tracker.phase(act.path, text)
        elif kind == RES_SET_EXPECTED and len(fields) == 2 and all(type(f) is int for f in fields):
            of, count = cast("list[int]", fields)
            if act is not None and act.expected.get(of) != count:
                act.expected[of] = count
                self.out.append(Expected(scope=act.name,
                                         of=_activity_name(fields[0]), count=int(fields[1]),
                                         activity_id=m.id))
        elif kind == RES_POST_BUILD_LOG_LINE and text is not None:
            if self.build_lines:
                path = act.path if act is not None else None
                self.out.append(LogLine(text=text, source="post-build-hook", drv_path=path,
                                        name=self.tracker.drvs[path].name
                                        if path in self.tracker.drvs else None))
        elif kind == RES_FETCH_STATUS and text is not None:
            if self._last_status.get(m.id) != text:
                self._last_status[m.id] = text
                self.out.append(Message(level="info", text=text))
        elif kind == RES_UNTRUSTED_PATH and text is not None:
            self.out.append(Message(level="warn", text=f"path '{text}' is untrusted"))
        elif kind == RES_CORRUPTED_PATH and text is not None:
            self.out.append(Message(level="error", text=f"path '{text}' is corrupted or missing"))
        elif kind == RES_FILE_LINKED and len(fields) == 2:
            pass  # optimise-store bookkeeping (bytes, blocks): nothing a reader acts on
        elif m.payload is not None:
            # By shape, not number: Determinate's 109/110 carry an object.
            if not payloads.result(self.state, kind, m.payload, act.path if act else None):
                self._unknown(_payload(line))
        elif kind == RES_FETCH_TO_STORE and len(fields) == 1 and isinstance(fields[0], str):
            pass  # upstream master: a source copied to the store during evaluation
        elif act is not None or kind not in (RES_BUILD_LOG_LINE, RES_SET_PHASE):
            self._unknown(_payload(line))

    # --- messages ---------------------------------------------------------------------

    def _msg(self, m: _Msg) -> None:
        text = m.msg
        if m.level <= 0 and strip_ansi(text).lstrip().startswith("error"):
            self.plan.flush()
            self.state.error(nixmsg.error_finding(text, m.raw_msg, m.file, m.line, m.column))
            return
        if self.plan.feed(strip_ansi(text) if "\x1b" in text else text):
            return
        level = LEVEL_NAMES[m.level] if 0 <= m.level < len(LEVEL_NAMES) else str(m.level)
        if m.level <= 1:
            # Level-0 warnings and traces exist (nom drops them, see nom#296).
            head = strip_ansi(text).lstrip()
            level = "warn" if head.startswith("warning:") else "trace" if head.startswith("trace:") else level
        self.out.append(Message(level=level, text=text))


_NOT_JSON = object()


class _Undecodable:
    """A nix line the typed decoder could not read, for ``_undecodable``."""

    __slots__ = ("payload",)

    def __init__(self, payload: bytes) -> None:
        self.payload = payload


def _payload(line: bytes) -> bytes:
    """A nix line's JSON (after a terminal's ``^C`` echo and ``@nix ``)."""
    return line.lstrip(b"^C")[len(PREFIX):]


def _no_text(line: str, logged: bool) -> None:
    """Only nix's lines reach :meth:`InternalJsonParser.line`."""


def _decode_any(payload: bytes) -> Any:
    """``payload`` as any JSON value, or ``_NOT_JSON`` for what cannot be held: not
    JSON, invalid UTF-8 in a key the typed decoder skipped, a number out of range
    (``1e991``), nesting deeper than the decoder's limit.  The parser never raises."""
    try:
        return msgspec.json.decode(payload)
    except (msgspec.DecodeError, msgspec.ValidationError, RecursionError):
        return _NOT_JSON


def _activity_name(kind: object) -> str:
    if isinstance(kind, int):
        return ACTIVITY_NAMES.get(kind) or f"type-{kind}"
    return "unknown"


def _int(value: object) -> int:
    return value if isinstance(value, int) else 0
