"""Reading the wrapper's records back: ``last-build.json`` and ``build-history.json``.

Readers never raise for a missing or damaged file: absent is ``None`` / ``[]``, and a
history that is not a JSON list is ``None`` (the caller says so)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from records.logdir import HISTORY_JSON, LAST_BUILD_JSON


def read_json(path: Path) -> Any:
    """The file's JSON value; None when absent, unreadable or not JSON."""
    try:
        with open(path, "rb") as f:
            return json.loads(f.read())
    except (OSError, ValueError):
        return None


def read_last_build(directory: Path) -> dict[str, Any] | None:
    record = read_json(directory / LAST_BUILD_JSON)
    return record if isinstance(record, dict) else None


def read_history(directory: Path) -> list[dict[str, Any]] | None:
    """The history, oldest first; [] when there is none; None when it is not a JSON
    list (damaged)."""
    path = directory / HISTORY_JSON
    if not path.exists():
        return []
    history = read_json(path)
    if not isinstance(history, list):
        return None
    return [entry for entry in history if isinstance(entry, dict)]
