"""``nixos-build-status``: the state of this machine's builds, and tools over saved logs.

    nixos-build-status events LOGFILE|-      NDJSON events parsed from a saved log

Kept light on purpose: nothing heavy (trio, rich) is imported on the status path.
Exit codes: 0 in sync, 1 out of sync, 2 build errors, 3 bad arguments.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from typing import BinaryIO, NoReturn

EXIT_USAGE = 3
READ_SIZE = 1 << 20


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message}\n")


def _open_input(name: str) -> BinaryIO:
    if name == "-":
        return sys.stdin.buffer
    return open(name, "rb")


def events_command(args: argparse.Namespace) -> int:
    """Parse a saved log (plain, nom-rendered or internal-json, mixed) to NDJSON."""
    import msgspec

    from parsers.clock import SystemClock
    from parsers.events import BuildStarted
    from parsers.stream import LogStream
    from sinks.files import write_all

    try:
        source = _open_input(args.log)
    except OSError as exc:
        sys.stderr.write(f"nixos-build-status: cannot read {args.log}: {exc.strerror}\n")
        return EXIT_USAGE
    import uuid

    encode_lines = msgspec.json.Encoder().encode_lines
    stream = LogStream(SystemClock(), log_lines=not args.no_log_lines)
    out = sys.stdout.fileno()
    log_path = None if args.log == "-" else os.path.abspath(args.log)
    try:
        write_all(out, encode_lines(stream.begin(
            BuildStarted(build_id=str(uuid.uuid4()), source="log", log_path=log_path))))
        read = source.read
        feed = stream.feed
        while chunk := read(READ_SIZE):
            events = feed(chunk)
            if events:
                write_all(out, encode_lines(events))
        write_all(out, encode_lines(stream.end(None)))
    except BrokenPipeError:
        # The reader went away (| head): not an error of ours.
        _silence_stdout()
        return 0
    finally:
        if source is not sys.stdin.buffer:
            source.close()
    return 0


def _silence_stdout() -> None:
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="nixos-build-status",
                     description="Build status of this NixOS machine, and tools over build logs.")
    sub = parser.add_subparsers(dest="command")
    events = sub.add_parser("events", help="print the typed events of a saved log as NDJSON")
    events.add_argument("log", help="log file, or - for stdin")
    events.add_argument("--no-log-lines", action="store_true",
                        help="leave builders' log lines out")
    events.set_defaults(func=events_command)
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
