"""The recorded builds summed up: the selection ``history --json`` prints and the
library's ``get_build_history_summary`` returns."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from records.schema import HistoryEntry
from status.schema import HistorySummary

DEFAULT_COUNT = 10


def seconds(record: HistoryEntry) -> float | None:
    if record.build_duration_ms is not None:
        return record.build_duration_ms / 1000
    if record.build_duration is not None:
        return float(record.build_duration)
    return None


def summary(history: Sequence[HistoryEntry], directory: Path, count: int = DEFAULT_COUNT,
            failed_only: bool = False) -> HistorySummary:
    """The selection as ``history --json`` prints it."""
    selected = [r for r in history if not failed_only or not r.success]
    shown = list(reversed(selected[-count:] if count else selected))
    durations = [d for r in shown if (d := seconds(r)) is not None]
    succeeded = sum(1 for r in shown if r.success)
    return HistorySummary(
        log_dir=str(directory),
        total=len(history),
        shown=len(shown),
        succeeded=succeeded,
        failed=len(shown) - succeeded,
        mean_duration=round(sum(durations) / len(durations), 1) if durations else None,
        builds=shown,
    )
