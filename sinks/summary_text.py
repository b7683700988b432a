"""Errors and the end-of-build summary in words, for people: shared by the consoles and
the ``errors`` command, so that an error reads the same everywhere."""

from __future__ import annotations

from collections.abc import Sequence

from parsers.errors.classify import key_line
from parsers.errors.order import ordered_errors
from parsers.events import BuildFinished, ErrorEvent

MAX_NAMES = 8
SHOWN_TAIL = 6
SHOWN_FRAMES = 3
# Nix's own report is shown whole up to this many lines (more with ``verbose``): nix
# without --show-trace prints fewer, so the person sees at least what bare nix shows.
SHOWN_REPORT = 60


def format_duration(ms: int | None) -> str:
    if ms is None:
        return "?"
    seconds = ms / 1000
    if seconds < 60:
        return f"{seconds:.1f}s"
    minutes, secs = divmod(int(seconds), 60)
    if minutes < 60:
        return f"{minutes}m{secs:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m{secs:02d}s"


def _size(n: int) -> str:
    return f"{n / 2**20:.1f} MiB" if n >= 1 << 20 else f"{n / 1024:.1f} KiB"


def describe_error(error: ErrorEvent) -> str:
    """One line a person can act on: for a failed build the derivation, the phase and
    the exit code rather than nix's sentence with the full store path."""
    if error.kind == "build-failure" and error.derivation and error.root_cause:
        code = f" with exit code {error.exit_code}" if error.exit_code is not None else ""
        phase = f" in {error.phase}" if error.phase else ""
        return f"{error.derivation} failed{phase}{code}"
    if error.kind == "hash-mismatch" and error.derivation:
        return f"{error.derivation}: hash mismatch (specified {error.specified}, got {error.got})"
    return f"[{error.kind}] {error.message}"


def error_lines(error: ErrorEvent, *, verbose: bool = False) -> list[str]:
    """One error for people, never less than nix shows: what failed (derivation, phase
    and exit code; units), where (position, innermost frames), the builder's or the
    journal's last lines, nix's report as printed (code frame and caret, "Did you mean",
    the trace hint), the fix when it is mechanical and the command that shows more.
    Lines without colours or newlines; the first says what failed."""
    title = _title(error)
    lines = [f"✗ {error.kind}: {title}"]
    if error.message and error.message != title:
        lines.append(f"  {error.message}")
    if error.file:
        position = ":".join(str(p) for p in (error.file, error.line, error.column) if p is not None)
        lines.append(f"  at {position}")
    report = _report(error, verbose)
    frames = error.trace if verbose else error.trace[-SHOWN_FRAMES:]
    if frames and (verbose or not report):
        lines.append("  trace (innermost last):")
        lines.extend(f"    … {frame}" for frame in frames)
    if error.specified or error.got:
        lines.append(f"  specified: {error.specified}")
        lines.append(f"  got:       {error.got}")
    tail = error.log_tail if verbose else error.log_tail[-SHOWN_TAIL:]
    if tail:
        key = key_line(error.log_tail)
        if key and key not in tail:
            lines.append(f"  log: {key}")
        lines.append("  journal:" if error.kind == "activation-unit-failed" else "  last log lines:")
        lines.extend(f"    > {text}" for text in tail)
    if report:
        lines.append("  as printed:")
        lines.extend(f"    {text}".rstrip() for text in report)
    if error.hint:
        lines.append(f"  fix: {error.hint}")
    more = _more(error)
    if more:
        lines.append(f"  {more}")
    return lines


def _report(error: ErrorEvent, verbose: bool) -> list[str]:
    """Nix's report as printed, when it says more than the fields above (an evaluation
    error's code frame; not a builder's report, whose tail is shown already)."""
    detail = error.detail
    if not detail or detail == error.message:
        return []
    if not verbose and (error.log_tail or error.kind in ("hash-mismatch", "dependency-failure")):
        return []
    lines = detail.splitlines()
    if verbose or len(lines) <= SHOWN_REPORT:
        return lines
    return [*lines[:SHOWN_REPORT], f"… {len(lines) - SHOWN_REPORT} more lines "
            "(nixos-build-status errors -v)"]


def _title(error: ErrorEvent) -> str:
    if error.kind == "activation-unit-failed" and error.units:
        return ", ".join(error.units) + " failed"
    if error.derivation:
        details = []
        if error.exit_code is not None:
            details.append(f"exit code {error.exit_code}")
        if error.phase:
            details.append(f"in {error.phase}")
        return error.derivation + (f" ({', '.join(details)})" if details else "")
    return error.message


def _more(error: ErrorEvent) -> str | None:
    """The command that shows more (or frees space)."""
    if error.drv_path and error.kind in ("build-failure", "out-of-space", "download", "timeout"):
        return f"full log: nix log {error.drv_path}"
    if error.kind == "activation-unit-failed" and error.units:
        unit = error.units[0]
        return f"more: systemctl status {unit}; journalctl -xeu {unit}"
    if error.kind == "out-of-space":
        return "free space: nix-collect-garbage -d (and remove old boot entries if /boot is full)"
    return None


def summary_lines(finished: BuildFinished, errors: Sequence[ErrorEvent],
                  built_names: Sequence[str] = ()) -> list[str]:
    counts = [f"{finished.built} built"]
    if finished.failed:
        counts.append(f"{finished.failed} failed")
    if finished.aborted:
        counts.append(f"{finished.aborted} aborted")
    if finished.downloaded:
        counts.append(f"{finished.downloaded} downloaded")
    if finished.uploaded:
        counts.append(f"{finished.uploaded} uploaded")
    took = format_duration(finished.duration_ms)
    if finished.success:
        head = f"✔ build succeeded in {took}: {', '.join(counts)}"
    else:
        how = (f"exit code {finished.exit_code}" if finished.exit_code is not None
               else "failed")
        if finished.interrupted:
            how += ", interrupted"
        head = f"✘ build failed ({how}) after {took}: {', '.join(counts)}"
    lines = [head]
    if finished.substituters:
        caches = ", ".join(f"{use.url} {use.paths} ({_size(use.bytes)})"
                           for use in finished.substituters)
        lines.append(f"  substituted: {finished.downloaded} paths, "
                     f"{_size(finished.downloaded_bytes)} from {caches}")
    if built_names:
        names = ", ".join(built_names[:MAX_NAMES])
        more = f" and {len(built_names) - MAX_NAMES} more" if len(built_names) > MAX_NAMES else ""
        lines.append(f"  built: {names}{more}")
    ordered = ordered_errors(errors)
    roots = [e for e in ordered if e.root_cause] or ordered
    if roots:
        root = roots[0]
        lines.append(f"  root cause: {describe_error(root)}")
        if root.file:
            where = f"{root.file}:{root.line}" if root.line else root.file
            lines.append(f"    at {where}" + (f":{root.column}" if root.line and root.column else ""))
        lines.extend(f"    > {tail}" for tail in root.log_tail[-5:])
        lines.extend(f"    unit: {unit}" for unit in root.units[:5])
        if len(ordered) > 1:
            more_roots = len([e for e in ordered if e.root_cause]) - 1
            rest = len(ordered) - 1
            kind = f"{more_roots} more cause{'s' * (more_roots != 1)}" if more_roots > 0 else \
                f"{rest} consequence{'s' * (rest != 1)}"
            lines.append(f"  ({kind}; all errors: nixos-build-status errors)")
    return lines
