"""The status report's format: what ``nixos-build-status --json`` prints and the
library's ``status_report()`` returns (docs/records.md, docs/status.md).

Keys are the original design's (``generation``, ``buildErrors``, ``bootStatus``,
``buildability``, ``overallStatus``, ``exitCode``…) with new ones added beside them,
none renamed; the field order below is the key order of the JSON object.  Keys shown
only with ``--verbose`` are ``UNSET`` otherwise, and then absent from the JSON."""

from __future__ import annotations

from typing import Literal

import msgspec
from msgspec import UNSET, UnsetType

from records.schema import HistoryEntry

REPORT_SCHEMA_VERSION = 1

OverallStatus = Literal["success", "build-errors", "degraded", "out-of-sync", "unknown"]
Problem = Literal["last-build-failed", "evaluation-failed", "failed-units",
                  "system-out-of-sync", "system-generation-unknown",
                  "home-manager-out-of-sync"]
SyncStatus = Literal["in-sync", "out-of-sync", "unknown"]
EvalStatus = Literal["ok", "failed", "timeout", "skipped", "unavailable"]
ErrorsSource = Literal["last-build.json", "build log", "none"]


class _Report(msgspec.Struct, kw_only=True, rename="camel"):
    pass


class Generation(_Report):
    generation: str = "unknown"
    generation_raw: str = ""
    latest_generation: str = "unknown"
    status: SyncStatus = "unknown"
    commit: str = "unknown"
    home_manager_generation: str = "unknown"
    home_manager_status: SyncStatus = "unknown"
    latest_generation_raw: str = ""
    booted_generation: str = "unknown"
    system_path: str | None = None
    commit_full: str | None = None
    commit_source: str | None = None
    nixpkgs_revision: str | None = None
    nixos_version: str | None = None
    home_manager_user: str = ""
    home_manager_latest_generation: str = "unknown"


class ReportErrorDetail(_Report):
    """An error as the report shows it: ``last-build.json``'s ``errorDetails`` entry;
    ``logTail``, ``trace`` and ``detail`` only with ``--verbose``."""

    kind: str
    message: str
    root_cause: bool = True
    derivation: str | None = None
    drv_path: str | None = None
    exit_code: int | None = None
    phase: str | None = None
    log_tail: list[str] | UnsetType = UNSET
    file: str | None = None
    line: int | None = None
    column: int | None = None
    trace: list[str] | UnsetType = UNSET
    units: list[str] = []
    paths: list[str] = []
    specified: str | None = None
    got: str | None = None
    detail: str | UnsetType | None = UNSET
    hint: str | None = None


class LastBuildSummary(_Report):
    """What the report says about the last build (from ``last-build.json``)."""

    build_id: str | None = None
    build_start: str | None = None
    build_end: str | None = None
    build_duration: int | None = None
    target: str | None = None
    action: str | None = None
    tool: str | None = None
    flake_path: str | None = None
    exit_code: int | None = None
    success: bool = False
    interrupted: bool = False
    command: str | None = None
    build_log_path: str | None = None
    log_dir: str = ""


class BuildErrors(_Report):
    error_count: int = 0
    errors: list[str] = []
    root_cause_count: int = 0
    details: list[ReportErrorDetail] = []
    source: ErrorsSource = "none"
    last_build: LastBuildSummary | None = None
    log_dir: str = ""


class FailedUnit(_Report):
    unit: str
    scope: Literal["system", "user"]
    load: str = ""
    active: str = "failed"
    sub: str = "failed"
    description: str = ""
    journal: list[str] | UnsetType = UNSET  # --verbose: its last lines


class BootStatus(_Report):
    boot_failed: bool | None = None
    failed_units: str = ""  # the original design's: names separated by spaces
    failed_unit_list: list[FailedUnit] = []
    status: Literal["ok", "failed", "unknown"] = "unknown"
    scopes: dict[str, str] = {}
    reasons: dict[str, str] = {}


class JournalEntry(_Report):
    timestamp: str | None
    source: str
    message: str


class JournalErrors(_Report):
    error_count: int | None = None
    since: str = ""
    status: Literal["ok", "unknown"] = "unknown"
    reason: str = ""
    entries: list[JournalEntry] | UnsetType = UNSET  # --verbose: the newest ten


class Buildability(_Report):
    can_build: bool | None = None
    build_error: str = ""
    status: EvalStatus = "skipped"
    reason: str = ""
    flake: str | None = None
    flake_origin: str | None = None
    attribute: str | None = None
    drv_path: str | None = None
    cached: bool = False
    checked_at: str | None = None
    duration_ms: int | None = None
    error_details: list[ReportErrorDetail] = []


class StatusReport(_Report):
    """``nixos-build-status --json``."""

    timestamp: str
    hostname: str
    generation: Generation
    build_errors: BuildErrors
    boot_status: BootStatus
    journal_errors: JournalErrors
    buildability: Buildability
    problems: list[Problem] = []
    overall_status: OverallStatus = "unknown"
    exit_code: int = 1
    root: str = "/"


def encode_report(report: StatusReport) -> bytes:
    """The report's JSON, indented, with a final newline."""
    return encode_pretty(report)


class HistorySummary(_Report):
    """``nixos-build-status history --json`` and the library's
    ``get_build_history_summary()``: the selected builds, newest first."""

    log_dir: str
    total: int = 0
    shown: int = 0
    succeeded: int = 0
    failed: int = 0
    mean_duration: float | None = None  # seconds
    builds: list[HistoryEntry] = []


def encode_pretty(value: msgspec.Struct) -> bytes:
    return msgspec.json.format(msgspec.json.encode(value), indent=2) + b"\n"
