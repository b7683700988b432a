"""``nixos-build-status [--json] [--verbose] [--no-eval]``: the health of this machine
(also ``nixos-build-status status``).  Exit 0 in sync and healthy, 1 out of sync,
2 build errors or failed units, 3 bad arguments; see docs/status.md."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Mapping
from typing import Any

from status.commands.common import print_out
from status.exitcodes import EXIT_USAGE

DESCRIPTION = ("Report this machine's generations (system and Home Manager), the last "
               "build's errors, failed systemd units, and whether the flake evaluates.")


def positive_seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {text!r}") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be more than 0 seconds: {text!r}")
    return value


def add_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    parser.add_argument("-v", "--verbose", action="store_true",
                        help="details: every error with its log tail, the failed units' last "
                             "journal lines, recent journal errors")
    parser.add_argument("--no-eval", action="store_true",
                        help="do not evaluate the flake (fast: no nix process)")
    parser.add_argument("--log-dir", metavar="DIR",
                        help="where the build records are (default: NIXOS_BUILD_LOG_DIR, else "
                             "the newer of /var/log/nixos-builds and "
                             "$XDG_STATE_HOME/nixos-builds)")
    parser.add_argument("--eval-timeout", metavar="SECONDS", type=positive_seconds,
                        default=None,
                        help="give up evaluating after this long (default 60, or "
                             "NIXOS_BUILD_EVAL_TIMEOUT)")
    parser.add_argument("--timeout", metavar="SECONDS", type=positive_seconds, default=5.0,
                        help="time limit for each of systemctl, journalctl, nixos-version "
                             "(default 5)")
    parser.add_argument("--since", metavar="TIME", default="1 hour ago",
                        help="count journal errors since TIME (journalctl --since syntax; "
                             "default '1 hour ago')")
    parser.add_argument("--prometheus-textfile", metavar="DIR", dest="prometheus_dir",
                        help="also write the report's metrics to DIR/nixos-status.prom for "
                             "node_exporter's textfile collector (default: "
                             "$NIXOS_BUILD_PROMETHEUS_DIR; docs/metrics.md)")


def register(sub: Any) -> None:
    parser = sub.add_parser("status", help="the status report (the same as no subcommand)",
                            description=DESCRIPTION)
    add_options(parser)
    parser.set_defaults(func=run)


DEFAULT_EVAL_TIMEOUT = 60.0


def eval_timeout(args: argparse.Namespace, env: Mapping[str, str]) -> float:
    """``--eval-timeout``, else ``NIXOS_BUILD_EVAL_TIMEOUT``, else 60.  Raises
    ``argparse.ArgumentTypeError`` naming the variable when it is not a duration."""
    if args.eval_timeout is not None:
        return float(args.eval_timeout)
    text = env.get("NIXOS_BUILD_EVAL_TIMEOUT")
    if not text:
        return DEFAULT_EVAL_TIMEOUT
    try:
        return positive_seconds(text)
    except argparse.ArgumentTypeError as exc:
        raise argparse.ArgumentTypeError(f"NIXOS_BUILD_EVAL_TIMEOUT: {exc}") from None


def options_from(args: argparse.Namespace) -> Any:
    from status.report import StatusOptions

    return StatusOptions(log_dir=args.log_dir, evaluate=not args.no_eval,
                         eval_timeout=eval_timeout(args, os.environ),
                         probe_timeout=args.timeout, journal_since=args.since,
                         verbose=args.verbose)


PROMETHEUS_ENV = "NIXOS_BUILD_PROMETHEUS_DIR"


def _write_metrics(args: argparse.Namespace, report: Any) -> None:
    """The textfile, when asked for.  From the variable (set for every user by the NixOS
    module) a directory this user cannot write is passed over in silence; a directory
    given with the option that cannot be written is reported.  Never the exit code."""
    directory = args.prometheus_dir or os.environ.get(PROMETHEUS_ENV)
    if not directory:
        return
    if not args.prometheus_dir and not os.access(directory, os.W_OK):
        return
    from pathlib import Path

    from records.files import describe
    from status.prometheus import write

    try:
        write(Path(directory), report, os.environ, args.timeout)
    except OSError as exc:
        sys.stderr.write(f"nixos-build-status: metrics not written: {describe(exc)}\n")


def run(args: argparse.Namespace) -> int:
    from status.report import collect

    try:
        options = options_from(args)
    except argparse.ArgumentTypeError as exc:
        sys.stderr.write(f"nixos-build-status: error: {exc}\n")
        return EXIT_USAGE
    report = collect(options)
    _write_metrics(args, report)
    if args.json:
        from status.schema import encode_report

        text = encode_report(report).decode()
    else:
        from status.render import render, use_colour

        text = render(report, verbose=args.verbose, colour=use_colour(sys.stdout))
    print_out(text)
    return report.exit_code
