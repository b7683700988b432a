"""``nixos-build-status history [-n N] [--failed] [--json]``: the recorded builds
(``build-history.json``), newest first, with their mean duration."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from status.commands.common import print_out
from status.exitcodes import EXIT_OK
from status.history import DEFAULT_COUNT

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


def run(args: argparse.Namespace) -> int:
    from records.read import read_history
    from status.history import seconds, summary
    from status.probes.lastbuild import log_dir
    from status.render import duration, when
    from status.schema import encode_pretty

    directory = log_dir(args.log_dir)
    history = read_history(directory)
    if history is None:
        sys.stderr.write(f"nixos-build-status: {directory}/build-history.json is not a JSON "
                         "list (or is too large)\n")
        return EXIT_DAMAGED
    result = summary(history, directory, args.count, args.failed)
    if args.json:
        text = encode_pretty(result).decode()
    elif not result.builds:
        what = "failed builds" if args.failed else "builds"
        text = f"No {what} recorded in {directory}\n"
    else:
        rows = [("Start", "Target", "Action", "Tool", "Result", "Duration", "Error")]
        for r in result.builds:
            outcome = "ok" if r.success else (
                "interrupted" if r.interrupted else f"failed ({r.exit_code})")
            first_error = (r.errors.splitlines() or [""])[0]
            rows.append((when(r.build_start), r.target or "", r.action or "", r.tool or "",
                         outcome, duration(seconds(r)), first_error[:80]))
        widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]) - 1)]
        lines = ["  ".join(c.ljust(w) for c, w in zip(row, widths, strict=False)) + "  " + row[-1]
                 for row in rows]
        mean = result.mean_duration
        lines.append("")
        lines.append(f"{result.shown} of {result.total} builds: {result.succeeded} "
                     f"succeeded, {result.failed} failed; mean duration "
                     f"{duration(mean) if mean is not None else 'unknown'}")
        text = "\n".join(line.rstrip() for line in lines) + "\n"
    print_out(text)
    return EXIT_OK
