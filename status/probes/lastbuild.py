"""The wrapper's records: ``last-build.json`` and the errors of the last build.

Errors come from the record's structured ``errorDetails`` (the wrapper's extractor ran
during the build).  A record without them (written by an older tool: ``errors`` was a
plain string) falls back to that string, then to running the same extractor over the
saved log.  There is one error parser in this project, behind ``parsers.stream``.

The record is data: its ``buildLogPath`` is read only when it names a log inside the
log directory's ``logs/`` (else ``last-build.log`` is), and nothing in it is run."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import NamedTuple

from records.logdir import LAST_BUILD_LOG, LOGS_SUBDIR, log_dir_for_reading
from records.schema import HEAVY_ERROR_KEYS, ErrorDetail, LastBuild

# Kept out of the status report unless --verbose: long, and in the log anyway.
VERBOSE_ERROR_KEYS = HEAVY_ERROR_KEYS
# The tool could not be found or started: nothing was built, so nothing failed to build.
TOOL_NOT_RUN = {126: "the tool could not be started", 127: "the tool was not found"}


def log_dir(cli_value: str | None = None, env: Mapping[str, str] | None = None) -> Path:
    return log_dir_for_reading(cli_value, env)


def last_log_path(directory: Path, record: LastBuild | None) -> Path:
    """The log of the build ``record`` describes: its ``buildLogPath`` when that is a
    log in ``directory/logs/`` that still exists, else ``last-build.log``."""
    recorded = record.build_log_path if record else None
    if recorded:
        path = Path(recorded)
        if (path.parent == directory / LOGS_SUBDIR and path.suffix == ".log"
                and os.path.isfile(path)):
            return path
    return directory / LAST_BUILD_LOG


class BuildErrors(NamedTuple):
    messages: tuple[str, ...] = ()  # root causes first
    details: tuple[ErrorDetail, ...] = ()
    source: str = "none"  # last-build.json | build log | none

    @property
    def error_count(self) -> int:
        return len(self.messages)

    @property
    def root_cause_count(self) -> int:
        if not self.details:
            return len(self.messages)
        return sum(1 for d in self.details if d.root_cause)


def tool_not_run(record: LastBuild) -> str | None:
    """Why the build never ran (its tool missing: exit 127), None when it did."""
    if record.exit_code in TOOL_NOT_RUN and not record.error_details and not record.errors:
        return TOOL_NOT_RUN[record.exit_code]
    return None


def build_errors(record: LastBuild | None, directory: Path) -> BuildErrors:
    """The last build's errors; none when it succeeded, was interrupted by the user,
    or never ran (its tool was not installed)."""
    if record is None or record.success:
        return BuildErrors()
    if record.error_details:
        details = tuple(record.error_details)
        return BuildErrors(tuple(d.message for d in details), details, "last-build.json")
    if record.errors.strip():
        return BuildErrors(tuple(line for line in record.errors.splitlines() if line.strip()),
                           (), "last-build.json")
    if record.interrupted or tool_not_run(record):
        return BuildErrors()
    try:
        found = extract_log_errors(last_log_path(directory, record))
    except OSError:
        found = []
    if found:
        return BuildErrors(tuple(d.message for d in found), tuple(found), "build log")
    code = record.exit_code
    reason = f"exit code {code}" if code is not None else "no exit code recorded"
    return BuildErrors((f"the last build failed ({reason}); no error message was found",),
                       (), "last-build.json")


def extract_errors(data: bytes) -> list[ErrorDetail]:
    """The errors in a log (any format the wrapper can read), root causes first, as
    ``last-build.json``'s ``errorDetails``."""
    from parsers.errors.order import ordered_errors
    from parsers.replay import extract_bytes
    from records.schema import error_detail

    return [error_detail(e) for e in ordered_errors(extract_bytes(data))]


def extract_log_errors(log: Path) -> list[ErrorDetail]:
    """``extract_errors`` of a saved log file."""
    return extract_errors(log.read_bytes())


def extract_log_phase(log: Path) -> str | None:
    """The phase a saved log's failed build stopped in."""
    from parsers.replay import failed_phase

    with open(log, "rb") as f:
        return failed_phase(iter(lambda: f.read(1 << 20), b""))
