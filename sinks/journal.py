"""``--journal``: a few structured journal entries per build, over journald's native
protocol (https://systemd.io/JOURNAL_NATIVE_PROTOCOL/), never the build's log lines
(those stay in the raw log).

One entry when the build starts, one per failed derivation, one per failed unit, one
when it ends.  Each has ``MESSAGE`` (one line), ``PRIORITY``,
``SYSLOG_IDENTIFIER=nixos-build-status``, a fixed ``MESSAGE_ID`` per event type
(``journalctl MESSAGE_ID=...`` finds them on every host), and ``NIXOS_BUILD_*`` fields
(docs/fleet.md lists them).  The socket is ``/run/systemd/journal/socket``, or
``$NIXOS_BUILD_JOURNAL_SOCKET``; no journald there: the sink is switched off once,
with the reason, and the build goes on."""

from __future__ import annotations

import socket
import struct
from collections.abc import Mapping, Sequence
from typing import Final

from parsers.events import BuildFinished, BuildStarted, DerivationFailed, Event, UnitFailed
from records.outcome import error_type, pipeline_result
from sinks.base import LogLinesRead
from sinks.record import BuildRecord

SOCKET: Final = "/run/systemd/journal/socket"
SOCKET_ENV: Final = "NIXOS_BUILD_JOURNAL_SOCKET"
IDENTIFIER: Final = "nixos-build-status"
# Fixed, documented ids (docs/fleet.md): one per kind of entry.
MESSAGE_IDS: Final[Mapping[str, str]] = {
    "build.started": "560a3f34a54441aca320fb6d3a44e323",
    "build.finished": "5d51fa693cfe44568f2d04a215df775a",
    "derivation.failed": "d9c8d4114c4d46c7b887af082385cf70",
    "unit.failed": "0bbe0f86c7c74a0e8755e687b3e323b1",
}
# syslog priorities
ERR: Final = 3
WARNING: Final = 4
NOTICE: Final = 5
INFO: Final = 6
# A field's value longer than this is cut: a journal entry is a summary, not a log, and
# an entry of a few such fields always fits one datagram (the protocol's memfd way for
# larger entries is then never needed).
MAX_VALUE: Final = 4096


def encode(fields: Sequence[tuple[str, str]]) -> bytes:
    """One entry in the native protocol: ``KEY=value\\n``, or, for a value holding a
    newline, ``KEY\\n``, its length as 64-bit little-endian, the value, ``\\n``."""
    out = bytearray()
    for key, value in fields:
        data = value[:MAX_VALUE].encode("utf-8", "replace")
        if b"\n" in data:
            out += key.encode() + b"\n" + struct.pack("<Q", len(data)) + data + b"\n"
        else:
            out += key.encode() + b"=" + data + b"\n"
    return bytes(out)


class JournalSink:
    name = "journal"
    log_lines: LogLinesRead = "none"  # reads no log.line event (sinks/base.py)

    def __init__(self, record: BuildRecord, env: Mapping[str, str]) -> None:
        self._record = record
        self._path = env.get(SOCKET_ENV) or SOCKET
        self._socket: socket.socket | None = None
        self._build: BuildStarted | None = None

    def handle(self, events: Sequence[Event]) -> None:
        for event in events:
            fields = self._entry(event)
            if fields is not None:
                self._send(fields)

    def close(self) -> None:
        if self._socket is not None:
            self._socket.close()
            self._socket = None

    # --- entries ----------------------------------------------------------------------

    def _common(self, event_type: str, message: str, priority: int) -> list[tuple[str, str]]:
        fields = [("MESSAGE", message), ("PRIORITY", str(priority)),
                  ("SYSLOG_IDENTIFIER", IDENTIFIER), ("MESSAGE_ID", MESSAGE_IDS[event_type]),
                  ("NIXOS_BUILD_EVENT", event_type)]
        build = self._build
        if build is not None:
            fields.append(("NIXOS_BUILD_ID", build.build_id))
            if build.target:
                fields.append(("NIXOS_BUILD_TARGET", build.target))
            if build.action:
                fields.append(("NIXOS_BUILD_ACTION", build.action))
        return fields

    def _what(self) -> str:
        build = self._build
        if build is None or not build.target:
            return "build"
        return f"{build.target} {build.action or ''}".strip()

    def _entry(self, event: Event) -> list[tuple[str, str]] | None:
        if isinstance(event, BuildStarted):
            self._build = event
            fields = self._common("build.started", f"{self._what()} started ({event.tool})",
                                  INFO)
            if event.tool:
                fields.append(("NIXOS_BUILD_TOOL", event.tool))
            return fields
        if isinstance(event, DerivationFailed):
            code = f" with exit code {event.exit_code}" if event.exit_code is not None else ""
            fields = self._common("derivation.failed", f"{event.name} failed{code}", ERR)
            fields.append(("NIXOS_BUILD_DRV", event.drv_path))
            if event.exit_code is not None:
                fields.append(("NIXOS_BUILD_EXIT_CODE", str(event.exit_code)))
            return fields
        if isinstance(event, UnitFailed):
            fields = self._common("unit.failed", f"{self._what()}: unit {event.unit} failed",
                                  ERR)
            fields.append(("NIXOS_BUILD_UNIT", event.unit))
            return fields
        if isinstance(event, BuildFinished):
            record = self._record.to_record()
            result = pipeline_result(record)
            kind = error_type(record)
            why = f" ({kind})" if kind else ""
            exit_code = record.exit_code
            code = f", exit code {exit_code}" if exit_code is not None else ""
            fields = self._common("build.finished", f"{self._what()}: {result}{why}{code}",
                                  INFO if result == "success" else (
                                      NOTICE if result == "cancellation" else ERR))
            fields.append(("NIXOS_BUILD_RESULT", result))
            if exit_code is not None:
                fields.append(("NIXOS_BUILD_EXIT_CODE", str(exit_code)))
            if kind:
                fields.append(("NIXOS_BUILD_ERROR_TYPE", kind))
            if record.build_duration_ms is not None:
                fields.append(("NIXOS_BUILD_DURATION_MS", str(record.build_duration_ms)))
            return fields
        return None

    # --- the protocol -----------------------------------------------------------------

    def _send(self, fields: Sequence[tuple[str, str]]) -> None:
        if self._socket is None:
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC)
            try:
                sock.connect(self._path)
            except OSError:
                sock.close()
                raise
            self._socket = sock
        self._socket.send(encode(fields))
