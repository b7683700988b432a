"""The end-of-build summary in words, shared by the consoles."""

from __future__ import annotations

from collections.abc import Sequence

from parsers.events import BuildFinished, ErrorEvent

from .record import ordered_errors


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


def summary_lines(finished: BuildFinished, errors: Sequence[ErrorEvent]) -> list[str]:
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
    ordered = ordered_errors(errors)
    roots = [e for e in ordered if e.root_cause] or ordered
    if roots:
        root = roots[0]
        lines.append(f"  root cause [{root.kind}]: {root.message}")
        if root.file:
            where = f"{root.file}:{root.line}" if root.line else root.file
            lines.append(f"  at {where}")
        for tail in root.log_tail[-5:]:
            lines.append(f"  > {tail}")
        if len(ordered) > 1:
            lines.append(f"  ({len(ordered) - 1} more error{'s' * (len(ordered) > 2)}: "
                         "nixos-build-status errors)")
    return lines
