"""The recorded builds summed up: the selection ``history --json`` prints and the
library's ``get_build_history_summary`` returns."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

DEFAULT_COUNT = 10


def seconds(record: dict[str, Any]) -> float | None:
    ms = record.get("buildDurationMs")
    if isinstance(ms, int | float) and not isinstance(ms, bool):
        return ms / 1000
    whole = record.get("buildDuration")
    if isinstance(whole, int | float) and not isinstance(whole, bool):
        return float(whole)
    return None


def summary(history: Sequence[dict[str, Any]], directory: Path, count: int = DEFAULT_COUNT,
            failed_only: bool = False) -> dict[str, Any]:
    """The selection as ``history --json`` prints it."""
    selected = [r for r in history if not failed_only or r.get("success") is not True]
    shown = list(reversed(selected[-count:] if count else selected))
    durations = [d for r in shown if (d := seconds(r)) is not None]
    succeeded = sum(1 for r in shown if r.get("success") is True)
    return {
        "logDir": str(directory),
        "total": len(history),
        "shown": len(shown),
        "succeeded": succeeded,
        "failed": len(shown) - succeeded,
        "meanDuration": round(sum(durations) / len(durations), 1) if durations else None,
        "builds": shown,
    }
