"""``nixos-build-status events LOGFILE|-``: the typed events of a saved log, as NDJSON."""

from __future__ import annotations

import argparse
import os
import sys
import uuid
from typing import Any, BinaryIO

from status.commands.common import silence_stdout
from status.exitcodes import EXIT_USAGE

# A read is one batch of events in memory, encoded at once: 64 KiB (a pipe's) keeps
# memory flat whatever the lines (a million empty ones are a megabyte).
READ_SIZE = 1 << 16


def register(sub: Any) -> None:
    parser = sub.add_parser("events", help="print the typed events of a saved log as NDJSON",
                            description="Parse a saved log (plain nix, nom's view, internal-json, "
                                        "activation output, mixed) into the event stream the "
                                        "wrapper emits with --events ndjson.")
    parser.add_argument("log", help="log file, or - for stdin")
    parser.add_argument("--no-log-lines", action="store_true", help="leave log lines out")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import msgspec

    from parsers.clock import SystemClock
    from parsers.events import BuildStarted
    from parsers.replay import replay
    from records.files import write_all

    try:
        source: BinaryIO = sys.stdin.buffer if args.log == "-" else open(args.log, "rb")  # noqa: SIM115
    except OSError as exc:
        sys.stderr.write(f"nixos-build-status: cannot read {args.log}: {exc.strerror}\n")
        return EXIT_USAGE
    encode_lines = msgspec.json.Encoder().encode_lines
    out = sys.stdout.fileno()
    log_path = None if args.log == "-" else os.path.abspath(args.log)
    started = BuildStarted(build_id=str(uuid.uuid4()), source="log", log_path=log_path)
    read = source.read
    try:
        for batch in replay(iter(lambda: read(READ_SIZE), b""), clock=SystemClock(),
                            log_lines=not args.no_log_lines, started=started):
            write_all(out, encode_lines(batch))
    except BrokenPipeError:
        silence_stdout()  # the reader went away (| head): not an error of ours
    finally:
        if source is not sys.stdin.buffer:
            source.close()
    return 0
