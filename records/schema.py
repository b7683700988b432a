"""The formats of the files other tools read: ``last-build.json`` and the entries of
``build-history.json`` (docs/records.md).

Keys are the original design's, camelCase, none renamed; the order of the fields below
is the order of the keys in the files (a golden test guards it).  ``errors`` stays a
string (one error a line, root causes first) so ``jq -r .errors`` prints something a
person reads; everything else was added beside the original keys.

Reading old or damaged files back is ``records/read.py``'s job, in one place."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import msgspec

if TYPE_CHECKING:  # the status path reads records without loading the parsers
    from parsers.events import ErrorEvent

RECORD_SCHEMA_VERSION = 1
_EVENT_ENVELOPE = ("type", "v", "seq", "ts")
# Kept out of history entries (and of the status report without --verbose): long, and
# in the build's log anyway.
HEAVY_ERROR_KEYS = ("logTail", "detail", "trace")
HISTORY_MAX_ERRORS = 5
# A channel bump changes hundreds of packages: the history keeps the first of each list
# (and the sizes); last-build.json keeps them all.
HISTORY_MAX_PACKAGES = 20
SLOWEST = 5


class _Record(msgspec.Struct, kw_only=True, rename="camel"):
    pass


class GenerationInfo(_Record):
    """``preGeneration`` / ``postGeneration``: the profile links before and after the
    build (``system/generations.py`` reads them)."""

    generation: str = "unknown"
    generation_raw: str = ""
    latest_generation: str = "unknown"
    latest_generation_raw: str = ""
    booted_generation: str = "unknown"
    status: str = "unknown"
    system_path: str | None = None
    home_manager_user: str = ""
    home_manager_generation: str = "unknown"
    home_manager_latest_generation: str = "unknown"
    home_manager_status: str = "unknown"


class ErrorDetail(_Record):
    """An entry of ``errorDetails``: an ``error`` event (docs/events.md) without its
    envelope (``type``, ``v``, ``seq``, ``ts``); the same keys in the same order."""

    kind: str
    message: str
    root_cause: bool = True
    derivation: str | None = None
    drv_path: str | None = None
    exit_code: int | None = None
    phase: str | None = None
    log_tail: list[str] = []
    file: str | None = None
    line: int | None = None
    column: int | None = None
    trace: list[str] = []
    units: list[str] = []
    paths: list[str] = []
    specified: str | None = None
    got: str | None = None
    detail: str | None = None
    hint: str | None = None


class SlimErrorDetail(_Record):
    """An ``errorDetails`` entry as the history keeps it: without ``logTail``,
    ``trace`` and ``detail``."""

    kind: str
    message: str
    root_cause: bool = True
    derivation: str | None = None
    drv_path: str | None = None
    exit_code: int | None = None
    phase: str | None = None
    file: str | None = None
    line: int | None = None
    column: int | None = None
    units: list[str] = []
    paths: list[str] = []
    specified: str | None = None
    got: str | None = None
    hint: str | None = None


class FailedDerivation(_Record):
    name: str | None = None
    drv_path: str | None = None
    exit_code: int | None = None
    phase: str | None = None
    reason: str | None = None


class DerivationCounts(_Record):
    built: int = 0
    failed: int = 0
    aborted: int = 0
    downloaded: int = 0
    uploaded: int = 0


class SlowBuild(_Record):
    """An entry of ``slowest``: one of the builds that took longest."""

    name: str
    duration_ms: int
    machine: str | None = None  # null: built here


class SubstituterUse(_Record):
    """An entry of ``cache.substituters``: what one binary cache gave."""

    url: str
    paths: int = 0
    bytes: int = 0


class CacheSummary(_Record):
    """``cache``: derivations built here or on builders vs store paths substituted, and
    the bytes each substituter sent (nix's own counts for each copied path)."""

    built: int = 0
    substituted: int = 0
    downloaded_bytes: int = 0
    substituters: list[SubstituterUse] = []


class PackageVersions(_Record):
    name: str
    versions: list[str] = []


class PackageChange(_Record):
    name: str
    before: list[str] = []
    after: list[str] = []


class ClosureChange(_Record):
    """``closureDiff``: what the new generation changed (``system/closure.py``; the
    same object as ``nixos-build-status generations --diff --json``)."""

    before: str
    after: str
    added: list[PackageVersions] = []
    removed: list[PackageVersions] = []
    changed: list[PackageChange] = []
    paths_before: int = 0
    paths_after: int = 0
    size_before: int = 0
    size_after: int = 0
    size_delta: int = 0


class LastBuild(_Record):
    """``last-build.json``: the record of one build."""

    schema_version: int = 0  # absent: the original design's wrapper; we write RECORD_SCHEMA_VERSION
    build_id: str | None = None
    build_start: str | None = None
    build_end: str | None = None
    build_duration: int | None = None  # seconds, rounded (the original design's)
    build_duration_ms: int | None = None
    target: str | None = None
    action: str | None = None
    tool: str | None = None
    flake_path: str | None = None
    exit_code: int | None = None
    success: bool = False
    hostname: str | None = None
    user: str | None = None
    command: str | None = None  # for people: shlex-quoted; never run
    argv: list[str] = []
    pre_generation: GenerationInfo | None = None
    post_generation: GenerationInfo | None = None
    build_log_path: str | None = None
    errors: str = ""
    error_count: int = 0
    root_cause_count: int = 0
    error_details: list[ErrorDetail] = []
    failed_derivations: list[FailedDerivation] = []
    derivations: DerivationCounts = msgspec.field(default_factory=DerivationCounts)
    signal: int | None = None
    interrupted: bool = False
    log_dir: str | None = None
    events_from: str | None = None  # how the events were read: nix's stream or text
    tool_version: str | None = None
    slowest: list[SlowBuild] = []  # the longest builds, longest first (at most SLOWEST)
    critical_path_ms: int | None = None  # the longest chain of builds waiting on each other
    critical_path: list[str] = []  # that chain's derivation names, the top first
    machines: dict[str, int] = {}  # builds per machine ("local": this one)
    cache: CacheSummary | None = None
    closure_diff: ClosureChange | None = None
    build_host: str | None = None  # --build-host (null: here)
    target_host: str | None = None  # --target-host: where activation ran (null: here)
    capture: str | None = None  # json-log-path, log-format or text (build.started's)
    nix_version: str | None = None  # the installed nix's version
    nix_flavour: str | None = None  # nix, lix or determinate


class HistoryEntry(LastBuild):
    """An entry of ``build-history.json`` (a JSON list, oldest first): the record with
    its first ``HISTORY_MAX_ERRORS`` error details slimmed, so a hundred builds stay
    small.  The same keys in the same order as ``last-build.json``."""

    error_details: list[SlimErrorDetail] = []  # type: ignore[assignment]  # msgspec: a narrower element type, same key and place


def error_detail(error: ErrorEvent) -> ErrorDetail:
    """An ``error`` event as an entry of ``errorDetails``."""
    return ErrorDetail(**{f: getattr(error, f) for f in ErrorDetail.__struct_fields__})


def error_dict(error: ErrorEvent) -> dict[str, Any]:
    """An ``error`` event as an ``errorDetails`` entry's JSON object."""
    data: dict[str, Any] = msgspec.to_builtins(error)
    for key in _EVENT_ENVELOPE:
        data.pop(key, None)
    return data


def slim(detail: ErrorDetail) -> SlimErrorDetail:
    return SlimErrorDetail(**{f: getattr(detail, f) for f in SlimErrorDetail.__struct_fields__})


def history_entry(record: LastBuild, max_errors: int = HISTORY_MAX_ERRORS) -> HistoryEntry:
    """The record as kept in the history."""
    fields = {f: getattr(record, f) for f in LastBuild.__struct_fields__}
    fields["error_details"] = [slim(d) for d in record.error_details[:max_errors]]
    change = record.closure_diff
    if change is not None:
        fields["closure_diff"] = msgspec.structs.replace(
            change, added=change.added[:HISTORY_MAX_PACKAGES],
            removed=change.removed[:HISTORY_MAX_PACKAGES],
            changed=change.changed[:HISTORY_MAX_PACKAGES])
    return HistoryEntry(**fields)


def iso_seconds(ts: str) -> str:
    """``2026-11-24T11:30:58.123Z`` -> ``2026-11-24T11:30:58+00:00`` (the original
    design's format)."""
    return ts[:19] + "+00:00" if len(ts) >= 19 else ts


def encode_record(record: LastBuild) -> bytes:
    """``last-build.json``'s bytes: indented JSON and a final newline."""
    return msgspec.json.format(msgspec.json.encode(record), indent=2) + b"\n"
