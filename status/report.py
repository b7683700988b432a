"""The status report: every probe's answer, put together as the original design's JSON
object (``timestamp``, ``hostname``, ``generation``, ``buildErrors``, ``bootStatus``,
``buildability``, ``overallStatus``, ``exitCode``), with new keys added beside the old
ones and none renamed.

The overall status is the most serious problem found (docs/status.md):

    build-errors  (exit 2)  the last build failed, or the flake does not evaluate
    degraded      (exit 2)  systemd units (system or user) have failed
    out-of-sync   (exit 1)  the running system or Home Manager is not the latest generation
    unknown       (exit 1)  the running generation cannot be determined (not NixOS?)
    success       (exit 0)

``problems`` lists every one that applies, so the order never hides anything.  The
report is a ``status.schema.StatusReport`` (docs/records.md)."""

from __future__ import annotations

import os
import threading
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, NamedTuple, cast

from msgspec import UNSET

from records.read import read_last_build
from records.schema import ErrorDetail, LastBuild
from status.exitcodes import EXIT_BUILD_ERRORS, EXIT_OK, EXIT_OUT_OF_SYNC
from status.probes import journal, lastbuild, units, version
from status.probes.buildability import DEFAULT_EVAL_TIMEOUT, Buildability, skipped
from status.probes.tools import DEFAULT_TIMEOUT, ToolRun
from status.schema import (
    BootStatus,
    BuildErrors,
    ErrorsSource,
    FailedUnit,
    Generation,
    JournalEntry,
    JournalErrors,
    LastBuildSummary,
    OverallStatus,
    Problem,
    ReportErrorDetail,
    StatusReport,
)
from status.schema import Buildability as BuildabilityReport
from system.flake import Flake, find_flake, git_revision, locked_revision
from system.generations import CURRENT_SYSTEM, SYSTEM_PROFILES, generation_info, home_user
from system.sysroot import SystemRoot

NOT_RUNNING = "the inspected system is not running"
# overallStatus, most serious first, with its exit code.
SEVERITY: tuple[tuple[OverallStatus, int], ...] = (
    ("build-errors", EXIT_BUILD_ERRORS),
    # Failed units are not build errors, but 2 is the design's only code for "needs
    # attention" (1 means "out of sync": scripts may answer it with a switch).
    ("degraded", EXIT_BUILD_ERRORS),
    ("out-of-sync", EXIT_OUT_OF_SYNC),
    ("unknown", EXIT_OUT_OF_SYNC),
    ("success", EXIT_OK),
)
# problems -> the overallStatus they lead to
PROBLEMS: dict[Problem, OverallStatus] = {
    "last-build-failed": "build-errors",
    "evaluation-failed": "build-errors",
    "failed-units": "degraded",
    "system-out-of-sync": "out-of-sync",
    "home-manager-out-of-sync": "out-of-sync",
    "system-generation-unknown": "unknown",
}


class StatusOptions(NamedTuple):
    log_dir: str | None = None
    evaluate: bool = True
    eval_timeout: float = DEFAULT_EVAL_TIMEOUT
    probe_timeout: float = DEFAULT_TIMEOUT
    journal_since: str = journal.DEFAULT_SINCE
    verbose: bool = False
    env: Mapping[str, str] = os.environ


def overall(problems: list[Problem]) -> tuple[OverallStatus, int]:
    statuses = {PROBLEMS[p] for p in problems}
    return next((s, code) for s, code in SEVERITY if s in statuses or s == "success")


def hostname(root: SystemRoot) -> str:
    if not root.is_host:
        text = root.read_text("/etc/hostname")
        if text and text.strip():
            return text.strip()
    return os.uname().nodename  # gethostname(), without importing socket


PROBES = ("system", "user", "journal", "version")


class LiveProbes:
    """The tools asked about the running system, started together."""

    def __init__(self, root: SystemRoot, options: StatusOptions,
                 wanted: tuple[str, ...] = PROBES) -> None:
        self.running = root.is_running
        env, timeout = options.env, options.probe_timeout
        starters = {
            "system": lambda: units.start("system", env, timeout),
            "user": lambda: units.start("user", env, timeout, _other_user(env)),
            "journal": lambda: journal.start(options.journal_since, env, timeout),
            "version": lambda: version.start(env, timeout),
        }
        self.runs: dict[str, ToolRun] = (
            {name: starters[name]() for name in wanted} if self.running else {})

    def units(self) -> units.FailedUnits:
        if not self.running:
            return units.FailedUnits(tuple(
                units.ScopeUnits(s, False, reason=NOT_RUNNING) for s in units.SCOPES))
        return units.FailedUnits(tuple(units.parse(self.runs[s].result(), s)
                                       for s in units.SCOPES))

    def journal(self, since: str) -> journal.JournalErrors:
        if not self.running:
            return journal.JournalErrors(since, False, reason=NOT_RUNNING)
        return journal.parse(self.runs["journal"].result(), since)

    def version(self) -> version.VersionInfo:
        if not self.running:
            return version.VersionInfo(False, reason=NOT_RUNNING)
        return version.parse(self.runs["version"].result())


def _other_user(env: Mapping[str, str]) -> str | None:
    user = home_user(env)
    return user.name if user.via_sudo else None


class _Evaluation(threading.Thread):
    """The flake evaluation, beside the other probes: it is the slow one."""

    def __init__(self, *args: Any) -> None:
        super().__init__(daemon=True)
        self._args = args
        self.outcome: Buildability | None = None

    def run(self) -> None:
        from status.probes.evaluation import evaluate

        self.outcome = evaluate(*self._args)


def collect(options: StatusOptions | None = None, root: SystemRoot | None = None) -> StatusReport:
    """The whole report."""
    options = options or StatusOptions()
    env = options.env
    root = root or SystemRoot(env=env)
    live = LiveProbes(root, options)  # first: they run while the files are read
    host = hostname(root)
    generation = generation_info(root, env)
    directory = lastbuild.log_dir(options.log_dir, env)
    record = read_last_build(directory)
    flake = find_flake(root, env)
    evaluation = None
    if options.evaluate:
        evaluation = _Evaluation(flake, host, env, options.eval_timeout)
        evaluation.start()
    errors = lastbuild.build_errors(record, directory)

    failed = live.units()
    failed_units = failed.units
    if options.verbose and failed_units:
        failed_units = units.with_journal(failed_units, env, options.probe_timeout)
    journal_errors = live.journal(options.journal_since)
    identity = _generation(generation, current_versions(root, generation, live), flake)

    if evaluation is not None:
        evaluation.join()
        buildability = evaluation.outcome or skipped("evaluation did not run", flake, host)
    else:
        buildability = skipped("--no-eval", flake, host)

    problems = _problems(generation, errors, failed, buildability)
    status, exit_code = overall(problems)
    return StatusReport(
        timestamp=datetime.now(UTC).isoformat(timespec="seconds"),
        hostname=host,
        generation=identity,
        build_errors=_build_errors(errors, record, directory, options.verbose),
        boot_status=_boot(failed, failed_units),
        journal_errors=_journal(journal_errors, options.verbose),
        buildability=_buildability(buildability, options.verbose),
        problems=problems,
        overall_status=status,
        exit_code=exit_code,
        root=str(root.root),
    )


def generation_object(options: StatusOptions | None = None,
                      root: SystemRoot | None = None) -> Generation:
    """The report's ``generation`` object alone (profile links, nixos-version, the
    flake checkout): no systemd, journal or evaluation."""
    options = options or StatusOptions()
    root = root or SystemRoot(env=options.env)
    live = LiveProbes(root, options, wanted=("version",))
    generation = generation_info(root, options.env)
    flake = find_flake(root, options.env)
    return _generation(generation, current_versions(root, generation, live), flake)


def current_versions(root: SystemRoot, generation: Mapping[str, Any],
                     live: LiveProbes) -> version.VersionInfo:
    versions = live.version()
    if versions.known:
        return versions
    # Not running, or no nixos-version: read the generation's own script.
    toplevel = CURRENT_SYSTEM if generation["systemPath"] else _latest_link(generation)
    return version.embedded(root, toplevel)


def _latest_link(generation: Mapping[str, Any]) -> str | None:
    raw = generation.get("latestGenerationRaw")
    return f"{SYSTEM_PROFILES}/system-{raw}-link" if raw else None


def _problems(generation: Mapping[str, Any], errors: lastbuild.BuildErrors,
              failed: units.FailedUnits, buildability: Buildability) -> list[Problem]:
    problems: list[Problem] = []
    if errors.error_count:
        problems.append("last-build-failed")
    if buildability.status == "failed":
        problems.append("evaluation-failed")
    if failed.units:
        problems.append("failed-units")
    if generation["status"] == "out-of-sync":
        problems.append("system-out-of-sync")
    elif generation["status"] == "unknown":
        problems.append("system-generation-unknown")
    if generation["homeManagerStatus"] == "out-of-sync":
        problems.append("home-manager-out-of-sync")
    return problems


def _generation(info: Mapping[str, Any], versions: version.VersionInfo,
                flake: Flake | None) -> Generation:
    commit, commit_source = versions.configuration_revision, "nixos-version"
    if commit is None and flake is not None:
        commit, commit_source = git_revision(flake.directory), "flake checkout"
    nixpkgs = versions.nixpkgs_revision or locked_revision(flake.lock_file if flake else None)
    return Generation(
        generation=info["generation"],
        generation_raw=info["generationRaw"],
        latest_generation=info["latestGeneration"],
        status=info["status"],
        commit=version.short_revision(commit) or "unknown",
        home_manager_generation=info["homeManagerGeneration"],
        home_manager_status=info["homeManagerStatus"],
        latest_generation_raw=info["latestGenerationRaw"],
        booted_generation=info["bootedGeneration"],
        system_path=info["systemPath"],
        commit_full=commit,
        commit_source=commit_source if commit else None,
        nixpkgs_revision=nixpkgs,
        nixos_version=versions.nixos_version,
        home_manager_user=info["homeManagerUser"],
        home_manager_latest_generation=info["homeManagerLatestGeneration"],
    )


def report_detail(detail: ErrorDetail, verbose: bool) -> ReportErrorDetail:
    """An error of a record as the report shows it (the long parts with --verbose)."""
    fields = {f: getattr(detail, f) for f in ReportErrorDetail.__struct_fields__
              if verbose or f not in _HEAVY_FIELDS}
    return ReportErrorDetail(**fields)


_HEAVY_FIELDS = ("log_tail", "trace", "detail")


def last_build_summary(record: LastBuild | None, directory: Path) -> LastBuildSummary | None:
    """What the status report says about the last build."""
    if record is None:
        return None
    fields = {f: getattr(record, f) for f in LastBuildSummary.__struct_fields__
              if f != "log_dir"}
    return LastBuildSummary(**fields, log_dir=str(directory))


def _build_errors(errors: lastbuild.BuildErrors, record: LastBuild | None,
                  directory: Path, verbose: bool) -> BuildErrors:
    return BuildErrors(
        error_count=errors.error_count,
        errors=list(errors.messages),
        root_cause_count=errors.root_cause_count,
        details=[report_detail(d, verbose) for d in errors.details],
        source=cast("ErrorsSource", errors.source),
        last_build=last_build_summary(record, directory),
        log_dir=str(directory),
    )


def _boot(failed: units.FailedUnits, listed: list[units.FailedUnit]) -> BootStatus:
    known = failed.system_known
    return BootStatus(
        boot_failed=bool(listed) if known or listed else None,
        failed_units=" ".join(u.unit for u in listed),
        failed_unit_list=[FailedUnit(unit=u.unit, scope=u.scope, load=u.load, active=u.active,
                                     sub=u.sub, description=u.description,
                                     journal=list(u.journal) if u.journal else UNSET)
                          for u in listed],
        status="failed" if listed else ("ok" if known else "unknown"),
        scopes={s.scope: ("ok" if s.known else "unknown") for s in failed.scopes},
        reasons={s.scope: s.reason for s in failed.scopes if not s.known},
    )


def _journal(errors: journal.JournalErrors, verbose: bool) -> JournalErrors:
    return JournalErrors(
        error_count=errors.error_count if errors.known else None,
        since=errors.since,
        status="ok" if errors.known else "unknown",
        reason=errors.reason,
        entries=([JournalEntry(timestamp=e.timestamp, source=e.source, message=e.message)
                  for e in errors.recent] if verbose else UNSET),
    )


def _buildability(b: Buildability, verbose: bool) -> BuildabilityReport:
    return BuildabilityReport(
        can_build=b.can_build,
        build_error=b.error,
        status=b.status,
        reason=b.reason,
        flake=b.flake.ref if b.flake else None,
        flake_origin=b.flake.origin if b.flake else None,
        attribute=b.attribute,
        drv_path=b.drv_path,
        cached=b.cached,
        checked_at=b.checked_at,
        duration_ms=b.duration_ms,
        error_details=[report_detail(d, verbose) for d in b.error_details],
    )
