"""The wrapper's records: ``last-build.json``, ``build-history.json``, and the errors
of the last build.

Errors come from the record's structured ``errorDetails`` (the wrapper's extractor ran
during the build).  A record without them (written by an older tool: ``errors`` was a
plain string) falls back to that string, then to running the same extractor over the
saved log.  There is one error parser in this project, behind ``parsers.stream``."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any, NamedTuple

from records.logdir import LAST_BUILD_LOG, log_dir_for_reading

# Kept out of the status report unless --verbose: long, and in the log anyway.
VERBOSE_ERROR_KEYS = ("logTail", "detail", "trace")


def log_dir(cli_value: str | None = None, env: Mapping[str, str] | None = None) -> Path:
    return log_dir_for_reading(cli_value, env)


def last_log_path(directory: Path, record: Mapping[str, Any] | None) -> Path:
    recorded = record.get("buildLogPath") if record else None
    if isinstance(recorded, str) and recorded and Path(recorded).exists():
        return Path(recorded)
    return directory / LAST_BUILD_LOG


class BuildErrors(NamedTuple):
    messages: tuple[str, ...] = ()  # root causes first
    details: tuple[dict[str, Any], ...] = ()
    source: str = "none"  # last-build.json | build log | none

    @property
    def error_count(self) -> int:
        return len(self.messages)

    @property
    def root_cause_count(self) -> int:
        if not self.details:
            return len(self.messages)
        return sum(1 for d in self.details if d.get("rootCause", True))


def build_errors(record: Mapping[str, Any] | None, directory: Path) -> BuildErrors:
    """The last build's errors; none when it succeeded or was interrupted by the user."""
    if record is None or record.get("success") is True:
        return BuildErrors()
    details = record.get("errorDetails")
    if isinstance(details, list) and details:
        dicts = [d for d in details if isinstance(d, dict)]
        return BuildErrors(tuple(str(d.get("message", "")) for d in dicts), tuple(dicts),
                           "last-build.json")
    text = record.get("errors")
    if isinstance(text, str) and text.strip():
        return BuildErrors(tuple(line for line in text.splitlines() if line.strip()), (),
                           "last-build.json")
    if record.get("interrupted"):
        return BuildErrors()
    try:
        dicts = extract_log_errors(last_log_path(directory, record))
    except OSError:
        dicts = []
    if dicts:
        return BuildErrors(tuple(d["message"] for d in dicts), tuple(dicts), "build log")
    code = record.get("exitCode")
    reason = f"exit code {code}" if isinstance(code, int) else "no exit code recorded"
    return BuildErrors((f"the last build failed ({reason}); no error message was found",),
                       (), "last-build.json")


def slim(detail: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in detail.items() if k not in VERBOSE_ERROR_KEYS}


def extract_errors(data: bytes) -> list[dict[str, Any]]:
    """The errors in a log (any format the wrapper can read), root causes first, as
    ``last-build.json``'s ``errorDetails``."""
    from parsers.errors.order import ordered_errors
    from parsers.replay import extract_bytes
    from records.schema import error_dict

    return [error_dict(e) for e in ordered_errors(extract_bytes(data))]


def extract_log_errors(log: Path) -> list[dict[str, Any]]:
    """``extract_errors`` of a saved log file."""
    return extract_errors(log.read_bytes())


def extract_log_phase(log: Path) -> str | None:
    """The phase a saved log's failed build stopped in."""
    from parsers.replay import failed_phase

    with open(log, "rb") as f:
        return failed_phase(iter(lambda: f.read(1 << 20), b""))


def last_build_summary(record: Mapping[str, Any] | None, directory: Path) -> dict[str, Any] | None:
    """What the status report says about the last build."""
    if record is None:
        return None
    keys = ("buildId", "buildStart", "buildEnd", "buildDuration", "target", "action", "tool",
            "flakePath", "exitCode", "success", "interrupted", "command", "buildLogPath")
    summary = {k: record.get(k) for k in keys if k in record}
    summary["logDir"] = str(directory)
    return summary
