"""The end-of-build summary in words, shared by the consoles."""

from __future__ import annotations

from collections.abc import Sequence

from parsers.errors.order import ordered_errors
from parsers.events import BuildFinished, ErrorEvent

MAX_NAMES = 8


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
