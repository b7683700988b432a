"""``nixos-build-status errors [LOG|-] [--json]``: what broke and why.

With no file, the last build's log (``last-build.log``: everything the tool wrote, nix's
structured stream included).  Any saved or pasted log works too: plain nix of any
version, nom's view, internal-json, activation output.

Human output puts the root causes first, each in a few lines a person can act on, and
sums up the consequences (dependents that could not be built) in one line.  ``--json``
prints ``{"errors": [...]}``, root causes first.  Exit code 2 when errors were found,
0 when none, 3 when the log cannot be read.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from status.commands.common import print_out
from status.exitcodes import EXIT_BUILD_ERRORS, EXIT_OK, EXIT_USAGE

if TYPE_CHECKING:
    from parsers.events import ErrorEvent

READ_SIZE = 1 << 20


def register(sub: Any) -> None:
    parser = sub.add_parser(
        "errors", help="the errors of the last build, or of any saved log, root causes first",
        description="Extract structured errors from a build log: plain nix (any version), "
                    "nix-output-monitor's view, internal-json, nixos-rebuild, nh, "
                    "switch-to-configuration and Home Manager output.  Without LOG, the "
                    "last build's log is read.")
    parser.add_argument("log", nargs="?", help="log file, or - for stdin (default: the last build)")
    parser.add_argument("--json", action="store_true", help='print {"errors": [...]}')
    parser.add_argument("--log-dir", help="where the last build's logs are")
    parser.add_argument("-v", "--verbose", action="store_true",
                        help="show every error in full (log tail, trace, detail)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from parsers.errors.order import ordered_errors
    from parsers.replay import extract
    from records.schema import error_dict

    try:
        sources, exit_code, names = _sources(args)
    except OSError as exc:
        sys.stderr.write(f"nixos-build-status: cannot read {exc.filename}: {exc.strerror}\n")
        return EXIT_USAGE
    try:
        errors, _ = extract(sources, exit_code=exit_code)
    except OSError as exc:
        sys.stderr.write(f"nixos-build-status: cannot read {exc.filename}: {exc.strerror}\n")
        return EXIT_USAGE
    errors = ordered_errors(errors)
    if args.json:
        print_out(json.dumps({"errors": [error_dict(e) for e in errors]}, ensure_ascii=False) + "\n")
    else:
        print_out(render(errors, names, verbose=args.verbose))
    return EXIT_BUILD_ERRORS if errors else EXIT_OK


def _sources(args: argparse.Namespace) -> tuple[Iterator[bytes], int | None, str]:
    """What to read, the build's exit code when the record knows it, and a name for
    the human output."""
    if args.log == "-":
        return _chunks(sys.stdin.buffer), None, "standard input"
    if args.log:
        path = Path(args.log)
        return _read(path), None, str(path)
    from records.logdir import log_dir_for_reading
    from records.read import read_last_build
    from status.probes.lastbuild import last_log_path

    directory = log_dir_for_reading(args.log_dir)
    # The log of the build last-build.json describes (builds may overlap).
    record = read_last_build(directory)
    log = last_log_path(directory, record)
    if not log.exists():
        raise FileNotFoundError(2, "no such file (no build recorded yet?)", str(log))
    return _read(log), record.exit_code if record else None, str(log)


def _read(path: Path) -> Iterator[bytes]:
    handle = open(path, "rb")  # noqa: SIM115 - closed by the generator
    return _chunks(handle, close=True)


def _chunks(handle: IO[bytes], close: bool = False) -> Iterator[bytes]:
    try:
        while chunk := handle.read(READ_SIZE):
            yield chunk
    finally:
        if close:
            handle.close()


# --- human output ---------------------------------------------------------------------


def render(errors: list[ErrorEvent], source: str, *, verbose: bool = False) -> str:
    """Root causes first, a few lines each; consequences summed up."""
    if not errors:
        return f"No errors found in {source}.\n"
    causes = [e for e in errors if e.root_cause]
    consequences = [e for e in errors if not e.root_cause]
    out: list[str] = []
    heading = (f"{len(causes)} root cause{'s' if len(causes) != 1 else ''}" if causes
               else "no root cause found")
    out.append(f"{heading} in {source}:\n")
    for error in causes:
        out.extend(_describe(error, verbose))
    if consequences:
        if verbose:
            out.append("\nconsequences:\n")
            for error in consequences:
                out.extend(_describe(error, verbose))
        else:
            out.append("\n" + _sum_up(consequences) + "\n")
    return "".join(out)


def _describe(error: ErrorEvent, verbose: bool) -> list[str]:
    from sinks.summary_text import error_lines

    lines = error_lines(error, verbose=verbose)
    return [f"\n{lines[0]}\n", *(f"{line}\n" for line in lines[1:])]


def _sum_up(consequences: list[ErrorEvent]) -> str:
    names = [e.derivation or e.message for e in consequences]
    shown = ", ".join(names[:6]) + (f", … ({len(names) - 6} more)" if len(names) > 6 else "")
    noun = "derivation" if len(names) == 1 else "derivations"
    verb = "was" if len(names) == 1 else "were"
    if all(e.kind == "dependency-failure" for e in consequences):
        return f"Because of this, {len(names)} dependent {noun} {verb} not built: {shown}"
    return f"Consequences ({len(names)}): {shown}"
