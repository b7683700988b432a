"""``nixos-build-status history [-n N] [--failed] [--json]``: the recorded builds
(``build-history.json``), newest first, with their mean duration."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .common import EXIT_OK, print_out

DEFAULT_COUNT = 10
EXIT_DAMAGED = 1  # the history file is not a JSON list


def count_argument(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be 0 (all) or more: {text!r}")
    return value


def register(sub: Any) -> None:
    parser = sub.add_parser("history", help="recorded builds, newest first, with mean duration",
                            description="The builds recorded in build-history.json (the "
                                        "wrapper keeps the last 100), newest first.")
    parser.add_argument("-n", "--count", type=count_argument, default=DEFAULT_COUNT,
                        metavar="N", help=f"show the last N builds (default {DEFAULT_COUNT}; "
                                          "0: all)")
    parser.add_argument("--failed", action="store_true", help="only builds that failed")
    parser.add_argument("--json", action="store_true", help="print JSON")
    parser.add_argument("--log-dir", metavar="DIR", help="where the build records are")
    parser.set_defaults(func=run)


def _seconds(record: dict[str, Any]) -> float | None:
    ms = record.get("buildDurationMs")
    if isinstance(ms, int | float) and not isinstance(ms, bool):
        return ms / 1000
    seconds = record.get("buildDuration")
    if isinstance(seconds, int | float) and not isinstance(seconds, bool):
        return float(seconds)
    return None


def summary(history: Sequence[dict[str, Any]], directory: Path, count: int = DEFAULT_COUNT,
            failed_only: bool = False) -> dict[str, Any]:
    """The selection as ``history --json`` prints it."""
    selected = [r for r in history if not failed_only or r.get("success") is not True]
    shown = list(reversed(selected[-count:] if count else selected))
    durations = [d for r in shown if (d := _seconds(r)) is not None]
    succeeded = sum(1 for r in shown if r.get("success") is True)
    return {
        "logDir": str(directory),
        "total": len(history),
        "shown": len(shown),
        "succeeded": succeeded,
        "failed": len(shown) - succeeded,
        "meanDuration": round(sum(durations) / len(durations), 1) if durations else None,
        "builds": shown,
    }


def run(args: argparse.Namespace) -> int:
    from ..probes.lastbuild import log_dir, read_history
    from ..report_text import duration, when

    directory = log_dir(args.log_dir)
    history = read_history(directory)
    if history is None:
        sys.stderr.write(f"nixos-build-status: {directory}/build-history.json is not a JSON "
                         "list\n")
        return EXIT_DAMAGED
    result = summary(history, directory, args.count, args.failed)
    if args.json:
        text = json.dumps(result, indent=2, ensure_ascii=False) + "\n"
    elif not result["builds"]:
        what = "failed builds" if args.failed else "builds"
        text = f"No {what} recorded in {directory}\n"
    else:
        rows = [("Start", "Target", "Action", "Tool", "Result", "Duration", "Error")]
        for r in result["builds"]:
            outcome = "ok" if r.get("success") is True else (
                "interrupted" if r.get("interrupted") else f"failed ({r.get('exitCode')})")
            first_error = (str(r.get("errors") or "").splitlines() or [""])[0]
            rows.append((when(r.get("buildStart")), str(r.get("target") or ""),
                         str(r.get("action") or ""), str(r.get("tool") or ""), outcome,
                         duration(_seconds(r)), first_error[:80]))
        widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]) - 1)]
        lines = ["  ".join(c.ljust(w) for c, w in zip(row, widths, strict=False)) + "  " + row[-1]
                 for row in rows]
        mean = result["meanDuration"]
        lines.append("")
        lines.append(f"{result['shown']} of {result['total']} builds: {result['succeeded']} "
                     f"succeeded, {result['failed']} failed; mean duration "
                     f"{duration(mean) if mean is not None else 'unknown'}")
        text = "\n".join(line.rstrip() for line in lines) + "\n"
    print_out(text)
    return EXIT_OK
