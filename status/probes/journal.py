"""Errors in the journal: ``journalctl -p err --since SINCE -o json``.

Only counted and shown, never a reason for a non-zero exit: most machines log a few
errors at every boot (firmware, ACPI), and a health check that always fails is ignored."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, NamedTuple

from status.probes.tools import DEFAULT_TIMEOUT, ToolResult, ToolRun

DEFAULT_SINCE = "1 hour ago"
KEEP_ENTRIES = 10


class JournalEntry(NamedTuple):
    timestamp: str | None
    source: str
    message: str

    def to_json(self) -> dict[str, Any]:
        return {"timestamp": self.timestamp, "source": self.source, "message": self.message}

    def line(self) -> str:
        stamp = (self.timestamp or "")[:19].replace("T", " ")
        return f"{stamp} {self.source}: {self.message}".strip()


class JournalErrors(NamedTuple):
    since: str
    known: bool
    error_count: int = 0
    recent: tuple[JournalEntry, ...] = ()  # the newest KEEP_ENTRIES, oldest first
    reason: str = ""


def argv(since: str = DEFAULT_SINCE) -> list[str]:
    return ["journalctl", "-p", "err", "--since", since, "-o", "json", "--no-pager", "-q"]


def start(since: str = DEFAULT_SINCE, env: Mapping[str, str] | None = None,
          timeout: float = DEFAULT_TIMEOUT) -> ToolRun:
    return ToolRun(argv(since), timeout, env)


def parse(result: ToolResult, since: str = DEFAULT_SINCE) -> JournalErrors:
    if not result.ok:
        return JournalErrors(since, known=False, reason=result.why())
    lines = [line for line in result.stdout.splitlines() if line.startswith("{")]
    recent = []
    for line in lines[-KEEP_ENTRIES:]:
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        if isinstance(entry, dict):
            recent.append(_entry(entry))
    return JournalErrors(since, True, len(lines), tuple(recent))


def _entry(fields: dict[str, Any]) -> JournalEntry:
    return JournalEntry(_timestamp(fields.get("__REALTIME_TIMESTAMP")),
                        _field(fields, "_SYSTEMD_UNIT") or _field(fields, "SYSLOG_IDENTIFIER")
                        or _field(fields, "_COMM") or "?",
                        _field(fields, "MESSAGE"))


def _field(fields: dict[str, Any], key: str) -> str:
    """journald writes binary-unsafe values as arrays of byte values."""
    value = fields.get(key)
    if isinstance(value, str):
        return value
    if isinstance(value, list) and all(isinstance(b, int) and 0 <= b < 256 for b in value):
        return bytes(value).decode("utf-8", "replace")
    return ""


def _timestamp(micros: Any) -> str | None:
    try:
        seconds = int(micros) / 1_000_000
    except (TypeError, ValueError):
        return None
    return datetime.fromtimestamp(seconds, UTC).isoformat(timespec="seconds")
