"""``nixos-build-status``: the state of this machine's builds, and tools over saved logs.

With no subcommand it prints the status report (``--json``, ``--verbose``,
``--no-eval``…; see ``commands/status.py`` and docs/status.md).  Subcommands live in
``orchestrator/commands/`` (one module each).  Nothing heavy (trio, rich, msgspec) is
imported on the status path.  Exit codes: 0 in sync and healthy, 1 out of sync, 2 build
errors or failed units, 3 bad arguments.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import NoReturn

from status.commands import debug_bundle, errors, events, generations, history, lib_path, status
from status.exitcodes import EXIT_USAGE

SUBCOMMANDS = (events, errors, status, history, generations, lib_path, debug_bundle)


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message}\n")


class _Version(argparse.Action):
    """``--version``: the installed distribution's version, looked up only when asked
    (importlib.metadata is not free, and the status path must stay fast)."""

    def __init__(self, option_strings: Sequence[str], dest: str = argparse.SUPPRESS,
                 default: str = argparse.SUPPRESS, help: str | None = None) -> None:
        super().__init__(option_strings, dest=dest, default=default, nargs=0, help=help)

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace,
                 values: object, option_string: str | None = None) -> None:
        from importlib.metadata import PackageNotFoundError, version

        try:
            number = version("nixos-build-status")
        except PackageNotFoundError:
            number = "unknown (not installed)"
        sys.stdout.write(f"{parser.prog} {number}\n")  # stdout, as argparse's own version action
        parser.exit(0)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="nixos-build-status",
                     description="Build status of this NixOS machine, and tools over build logs.",
                     epilog="Exit status of the report: 0 in sync and healthy, 1 out of sync "
                            "(system or Home Manager) or unknown, 2 build errors or failed "
                            "units, 3 invalid arguments (docs/status.md).")
    parser.add_argument("--version", action=_Version, help="print the version and exit")
    status.add_options(parser)  # the bare command is the status report
    parser.set_defaults(func=status.run)
    sub = parser.add_subparsers(dest="command", parser_class=_Parser)
    for module in SUBCOMMANDS:
        module.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    parser = build_parser()
    args = parser.parse_args(argv)
    if getattr(args, "func", None) is None:
        parser.print_help(sys.stderr)
        return EXIT_USAGE
    return int(args.func(args))


if __name__ == "__main__":
    sys.exit(main())
