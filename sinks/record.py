"""The build record: what ``last-build.json`` holds and ``build-history.json`` keeps.

Keys follow the original design (buildStart, buildEnd, buildDuration, target, action,
tool, flakePath, exitCode, success, hostname, user, command, preGeneration,
postGeneration, buildLogPath, errors); ``errors`` stays a string (one error a line,
root causes first) so ``jq -r .errors`` prints something a person reads.  Everything
else is added: ``errorDetails`` (structured errors), ``derivations`` (counts),
``failedDerivations``, ``buildId``, ``schemaVersion``…
"""

from __future__ import annotations

import shlex
from collections.abc import Sequence
from typing import Any

from parsers.errors.order import ordered_errors
from parsers.events import (
    BuildFinished,
    BuildStarted,
    DerivationFailed,
    ErrorEvent,
    Event,
)
from records.schema import RECORD_SCHEMA_VERSION, error_dict, iso_seconds


class BuildRecord:
    """Accumulates the record from events (a pure sink; the file sinks write it)."""

    name = "build record"

    def __init__(self) -> None:
        self.started: BuildStarted | None = None
        self.finished: BuildFinished | None = None
        self.errors: list[ErrorEvent] = []
        self.failed: list[DerivationFailed] = []
        self.extra: dict[str, Any] = {}

    def handle(self, events: Sequence[Event]) -> None:
        for event in events:
            kind = type(event)
            if kind is ErrorEvent:
                self.errors.append(event)  # type: ignore[arg-type]
            elif kind is DerivationFailed:
                self.failed.append(event)  # type: ignore[arg-type]
            elif kind is BuildStarted:
                self.started = event  # type: ignore[assignment]
            elif kind is BuildFinished:
                self.finished = event  # type: ignore[assignment]

    def close(self) -> None:
        pass

    def to_dict(self) -> dict[str, Any]:
        started, finished = self.started, self.finished
        errors = ordered_errors(self.errors)
        duration_ms = finished.duration_ms if finished else None
        record: dict[str, Any] = {
            "schemaVersion": RECORD_SCHEMA_VERSION,
            "buildId": started.build_id if started else None,
            "buildStart": iso_seconds(started.ts) if started else None,
            "buildEnd": iso_seconds(finished.ts) if finished else None,
            "buildDuration": round(duration_ms / 1000) if duration_ms is not None else None,
            "buildDurationMs": duration_ms,
            "target": started.target if started else None,
            "action": started.action if started else None,
            "tool": started.tool if started else None,
            "flakePath": started.flake if started else None,
            "exitCode": finished.exit_code if finished else None,
            "success": finished.success if finished else False,
            "hostname": started.hostname if started else None,
            "user": started.user if started else None,
            "command": shlex.join(started.argv) if started and started.argv else None,
            "argv": list(started.argv) if started else [],
            "preGeneration": None,
            "postGeneration": None,
            "buildLogPath": started.log_path if started else None,
            "errors": "\n".join(e.message for e in errors),
            "errorCount": len(errors),
            "rootCauseCount": sum(1 for e in errors if e.root_cause),
            "errorDetails": [error_dict(e) for e in errors],
            "failedDerivations": [
                {"name": d.name, "drvPath": d.drv_path, "exitCode": d.exit_code,
                 "phase": d.phase, "reason": d.reason}
                for d in self.failed
            ],
            "derivations": {
                "built": finished.built if finished else 0,
                "failed": finished.failed if finished else 0,
                "aborted": finished.aborted if finished else 0,
                "downloaded": finished.downloaded if finished else 0,
                "uploaded": finished.uploaded if finished else 0,
            },
            "signal": finished.signal if finished else None,
            "interrupted": finished.interrupted if finished else False,
        }
        record.update(self.extra)
        return record
