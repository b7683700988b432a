"""The status report for people: the original design's layout (``=== NixOS Build
Status ===`` … ``✓ System is healthy``), rendered from the report's Struct
(``status.schema.StatusReport``) so both always say the same thing.  Colour only on a terminal, and never with ``NO_COLOR``."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any, TextIO

from status.probes.lastbuild import TOOL_NOT_RUN
from status.schema import (
    BootStatus,
    Buildability,
    BuildErrors,
    JournalErrors,
    LastBuildSummary,
    StatusReport,
)

OK, FAIL, WARN, UNKNOWN, SKIP = "✓", "✗", "⚠", "?", "-"
_COLOURS = {OK: "\x1b[32m", FAIL: "\x1b[31m", WARN: "\x1b[33m", UNKNOWN: "\x1b[33m", SKIP: ""}
_RESET = "\x1b[0m"
MAX_ERRORS = 5  # without --verbose


def use_colour(stream: TextIO, env: Mapping[str, str] | None = None) -> bool:
    env = os.environ if env is None else env
    return "NO_COLOR" not in env and env.get("TERM") != "dumb" and stream.isatty()


def duration(seconds: float | None) -> str:
    if seconds is None:
        return "?"
    seconds = round(seconds)
    minutes, secs = divmod(seconds, 60)
    hours, minutes = divmod(minutes, 60)
    if hours:
        return f"{hours}h {minutes:02d}m"
    return f"{minutes}m {secs:02d}s" if minutes else f"{secs}s"


def when(timestamp: Any) -> str:
    """``2025-11-14T15:30:00+00:00`` -> ``2025-11-14 15:30 UTC``."""
    if not isinstance(timestamp, str) or len(timestamp) < 16:
        return "?"
    zone = " UTC" if timestamp.endswith(("+00:00", "Z")) else ""
    return timestamp[:16].replace("T", " ") + zone


class _Writer:
    def __init__(self, colour: bool) -> None:
        self.lines: list[str] = []
        self.colour = colour

    def line(self, text: str = "") -> None:
        self.lines.append(text)

    def mark(self, symbol: str, text: str) -> None:
        if self.colour and _COLOURS[symbol]:
            symbol = f"{_COLOURS[symbol]}{symbol}{_RESET}"
        self.lines.append(f"{symbol} {text}")

    def field(self, name: str, value: Any) -> None:
        self.lines.append(f"{name + ':':<20}{value}")


def render(report: StatusReport, *, verbose: bool = False, colour: bool = False) -> str:
    out = _Writer(colour)
    out.line("=== NixOS Build Status ===")
    out.line()
    _generation(out, report)
    out.line()
    _build_errors(out, report.build_errors, verbose)
    out.line()
    _boot(out, report.boot_status, report.journal_errors, verbose)
    out.line()
    _flake(out, report.buildability, verbose)
    out.line()
    _summary(out, report)
    return "\n".join(out.lines) + "\n"


def _generation(out: _Writer, report: StatusReport) -> None:
    gen = report.generation
    out.line("Generation Information:")
    if report.root != "/":
        out.field("System root", report.root)
    out.field("Current generation", gen.generation)
    out.field("Latest generation", gen.latest_generation)
    if gen.booted_generation not in ("unknown", gen.generation):
        out.field("Booted generation", gen.booted_generation)
    out.field("Status", gen.status)
    if gen.home_manager_status != "unknown" or gen.home_manager_generation != "unknown":
        out.field("Home Manager user", gen.home_manager_user)
        out.field("HM generation", gen.home_manager_generation)
        if gen.home_manager_latest_generation != gen.home_manager_generation:
            out.field("HM latest", gen.home_manager_latest_generation)
        out.field("HM status", gen.home_manager_status)
    else:
        out.field("Home Manager", f"no generations found for {gen.home_manager_user}")
    source = f" (from the {gen.commit_source})" if gen.commit_source == "flake checkout" else ""
    out.field("Commit", f"{gen.commit}{source}")
    if gen.nixpkgs_revision:
        out.field("Nixpkgs", gen.nixpkgs_revision[:12])
    if gen.nixos_version:
        out.field("NixOS version", gen.nixos_version)
    last = report.build_errors.last_build
    if last:
        out.field("Last build", f"{_what(last)}, {_result(last)}, "
                                f"{when(last.build_end or last.build_start)}"
                                f" ({duration(last.build_duration)})")
    else:
        out.field("Last build", f"none recorded in {report.build_errors.log_dir}")


def _what(last: LastBuildSummary) -> str:
    what = " ".join(v for v in (last.target, last.action) if v)
    return what + (f" with {last.tool}" if last.tool else "")


def _result(last: LastBuildSummary) -> str:
    if last.success:
        return "succeeded"
    if last.interrupted:
        return "interrupted"
    if last.exit_code in TOOL_NOT_RUN:
        return f"did not run: {TOOL_NOT_RUN[last.exit_code]} (exit {last.exit_code})"
    return f"failed (exit {last.exit_code})"


def _build_errors(out: _Writer, errors: BuildErrors, verbose: bool) -> None:
    out.line("Build Error Check:")
    count = errors.error_count
    if not count:
        out.mark(OK, "No recent build errors detected")
        return
    roots = errors.root_cause_count
    plural = "s" if count != 1 else ""
    cause = f" ({roots} root cause{'s' if roots != 1 else ''})" if roots != count else ""
    out.mark(FAIL, f"The last build failed with {count} error{plural}{cause}:")
    shown = errors.errors if verbose else errors.errors[:MAX_ERRORS]
    details = errors.details
    for i, message in enumerate(shown):
        out.line(f"  {message}")
        detail = details[i] if i < len(details) else None
        if detail is None:
            continue
        if detail.file:
            out.line(f"    at {detail.file}:{detail.line or '?'}")
        if verbose and isinstance(detail.log_tail, list):
            for tail in detail.log_tail:
                out.line(f"    > {tail}")
    if len(shown) < count:
        out.line(f"  … {count - len(shown)} more (--verbose shows all)")
    last = errors.last_build
    if last and last.build_log_path:
        out.line(f"  Log: {last.build_log_path}")


def _boot(out: _Writer, boot: BootStatus, journal: JournalErrors, verbose: bool) -> None:
    out.line("Boot Status:")
    units = boot.failed_unit_list
    if units:
        names = ", ".join(u.unit + (" (user)" if u.scope == "user" else "") for u in units)
        out.mark(FAIL, f"{len(units)} failed unit{'s' if len(units) != 1 else ''}: {names}")
        for unit in units:
            if isinstance(unit.journal, list) and unit.journal:
                out.line(f"  {unit.unit}, last lines of its journal:")
                for line in unit.journal:
                    out.line(f"    {line}")
    elif boot.status == "ok":
        out.mark(OK, "All systemd units started successfully")
    else:
        out.mark(UNKNOWN, f"Could not check systemd units: {boot.reasons.get('system', '?')}")
    if journal.status != "ok":
        if verbose:
            out.mark(UNKNOWN, f"Journal not read: {journal.reason}")
        return
    count = journal.error_count
    if count or verbose:
        out.mark(WARN if count else OK,
                 f"{count} error message{'s' if count != 1 else ''} in the journal since "
                 f"{journal.since}")
    for entry in journal.entries if isinstance(journal.entries, list) else []:
        out.line(f"    {when(entry.timestamp)} {entry.source}: {entry.message}")


def _flake(out: _Writer, b: Buildability, verbose: bool) -> None:
    out.line("Flake Status:")
    where = f"{b.flake}#{b.attribute}" if b.flake else ""
    status = b.status
    if status == "ok":
        cached = f", cached {when(b.checked_at)}" if b.cached else ""
        out.mark(OK, f"Flake can be evaluated ({where}{cached})")
    elif status == "failed":
        out.mark(FAIL, f"Flake cannot be evaluated ({where}):")
        out.line(f"  {b.build_error}")
        first = b.error_details[0] if b.error_details else None
        if first is not None and first.file:
            out.line(f"    at {first.file}:{first.line or '?'}")
        if verbose and first is not None and isinstance(first.detail, str) and first.detail:
            for line in first.detail.splitlines()[1:]:
                out.line(f"  {line}")
    elif status == "skipped":
        out.mark(SKIP, f"Flake evaluation skipped ({b.reason})" + (f": {where}" if where else ""))
    else:
        out.mark(UNKNOWN, f"Flake not evaluated: {b.reason}")


_SUMMARY = {
    "success": (OK, "System is healthy"),
    "build-errors": (FAIL, "Build errors detected"),
    "degraded": (FAIL, "System is degraded: systemd units have failed"),
    "out-of-sync": (WARN, "System is out of sync"),
    "unknown": (UNKNOWN, "System state unknown: no running NixOS generation found"),
}


def _summary(out: _Writer, report: StatusReport) -> None:
    out.line("=== Summary ===")
    symbol, text = _SUMMARY[report.overall_status]
    out.mark(symbol, text)
    for hint in hints(report):
        out.line(f"  {hint}")


def hints(report: StatusReport) -> list[str]:
    """One line per problem beyond the headline: what it is and what to do."""
    gen = report.generation
    lines = []
    problems = report.problems
    if "last-build-failed" in problems:
        lines.append("the last build failed: see the errors above")
    if "evaluation-failed" in problems:
        lines.append("the flake does not evaluate: the next rebuild will fail")
    if "failed-units" in problems:
        lines.append("failed units: systemctl --failed; journalctl -u <unit>")
    if "system-out-of-sync" in problems:
        if gen.generation == "unknown":
            lines.append("the running system is no profile generation "
                         "(after nixos-rebuild test, or its link was removed)")
        else:
            lines.append(f"running {gen.generation}, latest is {gen.latest_generation}: "
                         "switch to it or reboot")
    if "home-manager-out-of-sync" in problems:
        lines.append(f"Home Manager {gen.home_manager_latest_generation} is not active "
                     "(its activation failed or did not finish)")
    return lines
