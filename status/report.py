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

``problems`` lists every one that applies, so the order never hides anything."""

from __future__ import annotations

import os
import threading
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, NamedTuple

from records.read import read_last_build
from status.exitcodes import EXIT_BUILD_ERRORS, EXIT_OK, EXIT_OUT_OF_SYNC
from status.probes import journal, lastbuild, units, version
from status.probes.buildability import DEFAULT_EVAL_TIMEOUT, Buildability, skipped
from status.probes.tools import DEFAULT_TIMEOUT, ToolRun
from system.flake import Flake, find_flake, git_revision, locked_revision
from system.generations import CURRENT_SYSTEM, SYSTEM_PROFILES, generation_info, home_user
from system.sysroot import SystemRoot

NOT_RUNNING = "the inspected system is not running"
# overallStatus, most serious first, with its exit code.
SEVERITY: tuple[tuple[str, int], ...] = (
    ("build-errors", EXIT_BUILD_ERRORS),
    # Failed units are not build errors, but 2 is the design's only code for "needs
    # attention" (1 means "out of sync": scripts may answer it with a switch).
    ("degraded", EXIT_BUILD_ERRORS),
    ("out-of-sync", EXIT_OUT_OF_SYNC),
    ("unknown", EXIT_OUT_OF_SYNC),
    ("success", EXIT_OK),
)
# problems -> the overallStatus they lead to
PROBLEMS: dict[str, str] = {
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


def overall(problems: list[str]) -> tuple[str, int]:
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


def collect(options: StatusOptions | None = None, root: SystemRoot | None = None) -> dict[str, Any]:
    """The whole report as a JSON-ready dict."""
    options = options or StatusOptions()
    env = options.env
    root = root or SystemRoot(env=env)
    live = LiveProbes(root, options)  # first: they run while the files are read
    host = hostname(root)
    generation = generation_info(root, env)
    directory = lastbuild.log_dir(options.log_dir, env)
    record = read_last_build(directory)
    flake = find_flake(root, env, record)
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
    identity = _generation_json(generation, current_versions(root, generation, live), flake)

    if evaluation is not None:
        evaluation.join()
        buildability = evaluation.outcome or skipped("evaluation did not run", flake, host)
    else:
        buildability = skipped("--no-eval", flake, host)

    problems = _problems(generation, errors, failed, buildability)
    status, exit_code = overall(problems)
    return {
        "timestamp": datetime.now(UTC).isoformat(timespec="seconds"),
        "hostname": host,
        "generation": identity,
        "buildErrors": _errors_json(errors, record, directory, options.verbose),
        "bootStatus": _boot_json(failed, failed_units),
        "journalErrors": _journal_json(journal_errors, options.verbose),
        "buildability": _buildability_json(buildability, options.verbose),
        "problems": problems,
        "overallStatus": status,
        "exitCode": exit_code,
        "root": str(root.root),
    }


def generation_object(options: StatusOptions | None = None,
                      root: SystemRoot | None = None) -> dict[str, Any]:
    """The report's ``generation`` object alone (profile links, nixos-version, the
    flake checkout): no systemd, journal or evaluation."""
    options = options or StatusOptions()
    root = root or SystemRoot(env=options.env)
    live = LiveProbes(root, options, wanted=("version",))
    generation = generation_info(root, options.env)
    record = read_last_build(lastbuild.log_dir(options.log_dir, options.env))
    flake = find_flake(root, options.env, record)
    return _generation_json(generation, current_versions(root, generation, live), flake)


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
              failed: units.FailedUnits, buildability: Buildability) -> list[str]:
    problems = []
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


def _generation_json(info: Mapping[str, Any], versions: version.VersionInfo,
                     flake: Flake | None) -> dict[str, Any]:
    commit, commit_source = versions.configuration_revision, "nixos-version"
    if commit is None and flake is not None:
        commit, commit_source = git_revision(flake.directory), "flake checkout"
    nixpkgs = versions.nixpkgs_revision or locked_revision(flake.lock_file if flake else None)
    return {
        "generation": info["generation"],
        "generationRaw": info["generationRaw"],
        "latestGeneration": info["latestGeneration"],
        "status": info["status"],
        "commit": version.short_revision(commit) or "unknown",
        "homeManagerGeneration": info["homeManagerGeneration"],
        "homeManagerStatus": info["homeManagerStatus"],
        "latestGenerationRaw": info["latestGenerationRaw"],
        "bootedGeneration": info["bootedGeneration"],
        "systemPath": info["systemPath"],
        "commitFull": commit,
        "commitSource": commit_source if commit else None,
        "nixpkgsRevision": nixpkgs,
        "nixosVersion": versions.nixos_version,
        "homeManagerUser": info["homeManagerUser"],
        "homeManagerLatestGeneration": info["homeManagerLatestGeneration"],
    }


def _errors_json(errors: lastbuild.BuildErrors, record: Mapping[str, Any] | None,
                 directory: Path, verbose: bool) -> dict[str, Any]:
    details = list(errors.details) if verbose else [lastbuild.slim(d) for d in errors.details]
    return {
        "errorCount": errors.error_count,
        "errors": list(errors.messages),
        "rootCauseCount": errors.root_cause_count,
        "details": details,
        "source": errors.source,
        "lastBuild": lastbuild.last_build_summary(record, directory),
        "logDir": str(directory),
    }


def _boot_json(failed: units.FailedUnits, listed: list[units.FailedUnit]) -> dict[str, Any]:
    known = failed.system_known
    scopes = {s.scope: ("ok" if s.known else "unknown") for s in failed.scopes}
    reasons = {s.scope: s.reason for s in failed.scopes if not s.known}
    return {
        "bootFailed": bool(listed) if known or listed else None,
        "failedUnits": " ".join(u.unit for u in listed),
        "failedUnitList": [u.to_json() for u in listed],
        "status": "failed" if listed else ("ok" if known else "unknown"),
        "scopes": scopes,
        "reasons": reasons,
    }


def _journal_json(errors: journal.JournalErrors, verbose: bool) -> dict[str, Any]:
    data: dict[str, Any] = {"errorCount": errors.error_count if errors.known else None,
                            "since": errors.since,
                            "status": "ok" if errors.known else "unknown",
                            "reason": errors.reason}
    if verbose:
        data["entries"] = [e.to_json() for e in errors.recent]
    return data


def _buildability_json(b: Buildability, verbose: bool) -> dict[str, Any]:
    details = list(b.error_details) if verbose else [lastbuild.slim(d) for d in b.error_details]
    return {
        "canBuild": b.can_build,
        "buildError": b.error,
        "status": b.status,
        "reason": b.reason,
        "flake": b.flake.ref if b.flake else None,
        "flakeOrigin": b.flake.origin if b.flake else None,
        "attribute": b.attribute,
        "drvPath": b.drv_path,
        "cached": b.cached,
        "checkedAt": b.checked_at,
        "durationMs": b.duration_ms,
        "errorDetails": details,
    }
