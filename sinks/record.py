"""The build record: what ``last-build.json`` holds and ``build-history.json`` keeps
(the format: ``records/schema.py``, docs/records.md).  A pure sink: it accumulates
events; the file sinks write what :meth:`BuildRecord.to_record` makes of them."""

from __future__ import annotations

import shlex
from collections.abc import Mapping, Sequence
from typing import Any

import msgspec

from parsers.errors.order import ordered_errors
from parsers.events import (
    BuildFinished,
    BuildStarted,
    DerivationFailed,
    DerivationFinished,
    DownloadFinished,
    ErrorEvent,
    Event,
)
from records.schema import (
    RECORD_SCHEMA_VERSION,
    SLOWEST,
    CacheSummary,
    ClosureChange,
    DerivationCounts,
    FailedDerivation,
    GenerationInfo,
    LastBuild,
    SlowBuild,
    SubstituterUse,
    error_detail,
    iso_seconds,
)
from sinks.base import Handlers, LogLinesRead


def generation(info: Mapping[str, Any] | None) -> GenerationInfo | None:
    """``system.generations.generation_info``'s object as the record keeps it."""
    if info is None:
        return None
    try:
        return msgspec.convert(info, GenerationInfo)
    except msgspec.ValidationError:
        return None


class BuildRecord:
    """Accumulates the record from events."""

    name = "build record"
    log_lines: LogLinesRead = "none"  # reads no log.line event (sinks/base.py)

    def __init__(self) -> None:
        self.started: BuildStarted | None = None
        self.finished: BuildFinished | None = None
        self.errors: list[ErrorEvent] = []
        self.failed: list[DerivationFailed] = []
        # Set by the session, which takes them around the build.
        self.pre_generation: GenerationInfo | None = None
        self.post_generation: GenerationInfo | None = None
        self.log_dir: str | None = None
        self.events_from: str | None = None
        self.tool_version: str | None = None
        self.built: list[DerivationFinished] = []
        self.machines: dict[str, int] = {}
        self.downloads: list[DownloadFinished] = []
        self.critical_path: tuple[int, list[str]] | None = None  # set by the session
        self.closure_diff: ClosureChange | None = None          # set by the session
        self._handlers = (Handlers().on(ErrorEvent, self.errors.append)
                          .on(DerivationFinished, self._built)
                          .on(DownloadFinished, self.downloads.append)
                          .on(DerivationFailed, self._failed)
                          .on(BuildStarted, self._started).on(BuildFinished, self._finished))

    def handle(self, events: Sequence[Event]) -> None:
        self._handlers(events)

    def _built(self, event: DerivationFinished) -> None:
        self.built.append(event)
        self._count_machine(event.machine)

    def _failed(self, event: DerivationFailed) -> None:
        self.failed.append(event)
        self._count_machine(event.machine)

    def _started(self, event: BuildStarted) -> None:
        self.started = event

    def _finished(self, event: BuildFinished) -> None:
        self.finished = event

    def close(self) -> None:
        pass

    def _count_machine(self, machine: str | None) -> None:
        key = machine or "local"
        self.machines[key] = self.machines.get(key, 0) + 1

    def build_times(self) -> list[tuple[str, int]]:
        """(name, milliseconds) of each build that succeeded, for ``build-times.json``."""
        return [(d.name, d.duration_ms) for d in self.built if d.duration_ms is not None]

    def _slowest(self) -> list[SlowBuild]:
        timed = [d for d in self.built if d.duration_ms is not None]
        timed.sort(key=lambda d: d.duration_ms or 0, reverse=True)
        return [SlowBuild(name=d.name, duration_ms=d.duration_ms or 0, machine=d.machine)
                for d in timed[:SLOWEST]]

    def _cache(self, finished: BuildFinished | None) -> CacheSummary:
        by_url: dict[str, SubstituterUse] = {}
        for d in self.downloads:
            use = by_url.setdefault(d.source or "unknown", SubstituterUse(url=d.source or "unknown"))
            use.paths += 1
            use.bytes += d.bytes or 0
        return CacheSummary(
            built=finished.built if finished else len(self.built),
            substituted=len(self.downloads),
            downloaded_bytes=sum(u.bytes for u in by_url.values()),
            substituters=list(by_url.values()),
        )

    def to_record(self) -> LastBuild:
        started, finished = self.started, self.finished
        errors = ordered_errors(self.errors)
        duration_ms = finished.duration_ms if finished else None
        return LastBuild(
            schema_version=RECORD_SCHEMA_VERSION,
            build_id=started.build_id if started else None,
            build_start=iso_seconds(started.ts) if started else None,
            build_end=iso_seconds(finished.ts) if finished else None,
            build_duration=round(duration_ms / 1000) if duration_ms is not None else None,
            build_duration_ms=duration_ms,
            target=started.target if started else None,
            action=started.action if started else None,
            tool=started.tool if started else None,
            flake_path=started.flake if started else None,
            exit_code=finished.exit_code if finished else None,
            success=bool(finished and finished.success),
            hostname=started.hostname if started else None,
            user=started.user if started else None,
            command=shlex.join(started.argv) if started and started.argv else None,
            argv=list(started.argv) if started else [],
            pre_generation=self.pre_generation,
            post_generation=self.post_generation,
            build_log_path=started.log_path if started else None,
            errors="\n".join(e.message for e in errors),
            error_count=len(errors),
            root_cause_count=sum(1 for e in errors if e.root_cause),
            error_details=[error_detail(e) for e in errors],
            failed_derivations=[
                FailedDerivation(name=d.name, drv_path=d.drv_path, exit_code=d.exit_code,
                                 phase=d.phase, reason=d.reason)
                for d in self.failed
            ],
            derivations=DerivationCounts(
                built=finished.built if finished else 0,
                failed=finished.failed if finished else 0,
                aborted=finished.aborted if finished else 0,
                downloaded=finished.downloaded if finished else 0,
                uploaded=finished.uploaded if finished else 0,
            ),
            signal=finished.signal if finished else None,
            interrupted=finished.interrupted if finished else False,
            log_dir=self.log_dir,
            events_from=self.events_from,
            tool_version=self.tool_version,
            slowest=self._slowest(),
            critical_path_ms=self.critical_path[0] if self.critical_path else None,
            critical_path=self.critical_path[1] if self.critical_path else [],
            machines=dict(self.machines),
            cache=self._cache(finished),
            closure_diff=self.closure_diff,
            build_host=started.build_host if started else None,
            target_host=started.target_host if started else None,
            capture=started.capture if started else None,
            nix_version=started.nix_version if started else None,
            nix_flavour=started.nix_flavour if started else None,
        )
