"""The formats of the files other tools read: ``last-build.json`` and the entries of
``build-history.json`` (keys of the original design, camelCase, none renamed)."""

from __future__ import annotations

from typing import Any

import msgspec

from parsers.events import ErrorEvent

RECORD_SCHEMA_VERSION = 1
_EVENT_ENVELOPE = ("type", "v", "seq", "ts")


def error_dict(error: ErrorEvent) -> dict[str, Any]:
    """An ``error`` event as an entry of ``errorDetails`` (without the envelope)."""
    data: dict[str, Any] = msgspec.to_builtins(error)
    for key in _EVENT_ENVELOPE:
        data.pop(key, None)
    return data


def iso_seconds(ts: str) -> str:
    """``2026-11-24T11:30:58.123Z`` -> ``2026-11-24T11:30:58+00:00`` (the original
    design's format)."""
    return ts[:19] + "+00:00" if len(ts) >= 19 else ts


def history_entry(record: dict[str, Any], max_errors: int = 5) -> dict[str, Any]:
    """The record as kept in the history: the same keys, error details trimmed (no
    log tails or full reports) so a hundred builds stay small."""
    entry = dict(record)
    details = []
    for detail in record.get("errorDetails", [])[:max_errors]:
        slim = {k: v for k, v in detail.items() if k not in ("logTail", "detail", "trace")}
        details.append(slim)
    entry["errorDetails"] = details
    return entry


def encode_record(record: dict[str, object]) -> bytes:
    """``last-build.json``'s bytes: indented JSON and a final newline."""
    return msgspec.json.format(msgspec.json.encode(record), indent=2) + b"\n"
