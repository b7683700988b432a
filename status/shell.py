"""The bash library's conventions on top of the Python API: what each function prints
and returns.  ``nixos-build-status lib NAME ARGS…`` runs this; ``build-status.sh``
defines one bash function per name that calls it.

    is_/was_ predicates        exit 0 (true) or 1 (false), print nothing
    _json functions, reports   print JSON
    get_* values               print the value; exit 1 (and say why on stderr) when it
                               cannot be read
    check_failed_units         print a JSON array of unit names; when systemd cannot be
    check_journal_errors       asked: print [] / 0 and exit 1
    bad arguments              exit 3 (as the command line)
"""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from typing import TextIO

from status import api

EXIT_TRUE, EXIT_FALSE, EXIT_USAGE = 0, 1, 3


class Usage(Exception):
    """Wrong arguments for a library function."""


def _args(args: Sequence[str], at_most: int, usage: str) -> list[str | None]:
    if len(args) > at_most:
        raise Usage(usage)
    return [*args, *[None] * (at_most - len(args))]


class _Call:
    def __init__(self, out: TextIO, err: TextIO) -> None:
        self.out, self.err = out, err

    def value(self, value: object, missing: str) -> int:
        if value is None:
            self.err.write(f"{missing}\n")
            return EXIT_FALSE
        self.out.write(f"{value}\n")
        return EXIT_TRUE

    def json(self, value: object) -> int:
        self.out.write(json.dumps(value, ensure_ascii=False) + "\n")
        return EXIT_TRUE

    def predicate(self, value: bool) -> int:
        return EXIT_TRUE if value else EXIT_FALSE


def _stdin_or(args: Sequence[str]) -> str:
    return args[0] if args else sys.stdin.read()


def _log_file(args: Sequence[str], name: str) -> str:
    if len(args) != 1 or not args[0]:
        raise Usage(f"usage: {name} <log_file>")
    return args[0]


def _run(name: str, args: Sequence[str], c: _Call) -> int:
    match name:
        case "json_escape":
            _args(args, 1, "usage: json_escape [string] (else standard input)")
            return c.value(api.json_escape(_stdin_or(args)), "")
        case "json_bool":
            (value,) = _args(args, 1, "usage: json_bool <value>")
            return c.value(api.json_bool(value or ""), "")
        case "get_current_generation":
            _args(args, 0, "usage: get_current_generation")
            return c.value(api.get_current_generation(), "no running system generation found")
        case "get_current_generation_json":
            _args(args, 0, "usage: get_current_generation_json")
            c.out.write(api.get_current_generation_json() + "\n")
            return EXIT_TRUE
        case "get_generation_short":
            _args(args, 0, "usage: get_generation_short")
            return c.value(api.get_generation_short(), "no running system generation found")
        case "is_generation_in_sync":
            _args(args, 0, "usage: is_generation_in_sync")
            return c.predicate(api.is_generation_in_sync())
        case "get_last_build_status":
            (log_dir,) = _args(args, 1, "usage: get_last_build_status [log_dir]")
            record = api.get_last_build_status(log_dir or None)
            if record is None:
                c.err.write("no last-build.json found\n")
                return EXIT_FALSE
            return c.json(record)
        case "get_last_build_exit_code":
            (log_dir,) = _args(args, 1, "usage: get_last_build_exit_code [log_dir]")
            return c.value(api.get_last_build_exit_code(log_dir or None),
                           "no last build with an exit code found")
        case "was_last_build_successful":
            (log_dir,) = _args(args, 1, "usage: was_last_build_successful [log_dir]")
            return c.predicate(api.was_last_build_successful(log_dir or None))
        case "get_build_history":
            (log_dir,) = _args(args, 1, "usage: get_build_history [log_dir]")
            return c.json(api.get_build_history(log_dir or None))
        case "get_build_history_summary":
            log_dir, count = _args(args, 2, "usage: get_build_history_summary [log_dir] [count]")
            if count is not None and not count.isdigit():
                raise Usage(f"get_build_history_summary: count must be a number: {count!r}")
            return c.json(api.get_build_history_summary(log_dir or None,
                                                        int(count) if count else 10))
        case "extract_nix_errors":
            for message in api.extract_nix_errors(_log_file(args, name)):
                c.out.write(message + "\n")
            return EXIT_TRUE
        case "extract_build_phase":
            phase = api.extract_build_phase(_log_file(args, name))
            if phase:
                c.out.write(phase + "\n")
            return EXIT_TRUE
        case "check_failed_units":
            _args(args, 0, "usage: check_failed_units")
            units = api.check_failed_units()
            c.json(units if units is not None else [])
            if units is None:
                c.err.write("check_failed_units: systemd cannot be asked on this system\n")
                return EXIT_FALSE
            return EXIT_TRUE
        case "check_journal_errors":
            (since,) = _args(args, 1, "usage: check_journal_errors [since]")
            errors = api.check_journal_errors(since or "1 hour ago")
            c.out.write(f"{errors or 0}\n")
            if errors is None:
                c.err.write("check_journal_errors: the journal cannot be read on this system\n")
                return EXIT_FALSE
            return EXIT_TRUE
        case "get_current_commit":
            _args(args, 0, "usage: get_current_commit")
            return c.value(api.get_current_commit(), "the configuration's commit is unknown")
        case "get_current_nixpkgs_rev":
            _args(args, 0, "usage: get_current_nixpkgs_rev")
            return c.value(api.get_current_nixpkgs_rev(), "the nixpkgs revision is unknown")
        case "get_home_manager_generation":
            _args(args, 0, "usage: get_home_manager_generation")
            return c.value(api.get_home_manager_generation(),
                           "no active Home Manager generation found")
        case "create_status_report":
            return _report(args, c)
    raise Usage(f"unknown library function: {name}")


def _report(args: Sequence[str], c: _Call) -> int:
    """``create_status_report [json|human] [--no-eval] [--verbose]``."""
    fmt, *flags = list(args) or ["json"]
    unknown = [f for f in flags if f not in ("--no-eval", "--verbose", "-v")]
    if fmt not in ("json", "human") or unknown:
        raise Usage("usage: create_status_report [json|human] [--no-eval] [--verbose]")
    c.out.write(api.create_status_report(fmt, evaluate="--no-eval" not in flags,
                                         verbose="--verbose" in flags or "-v" in flags))
    return EXIT_TRUE


def call(name: str, args: Sequence[str], out: TextIO | None = None,
         err: TextIO | None = None) -> int:
    """Run library function ``name`` with bash's conventions; the exit status."""
    out, err = out or sys.stdout, err or sys.stderr
    try:
        return _run(name, args, _Call(out, err))
    except Usage as exc:
        err.write(f"{exc}\n")
        return EXIT_USAGE
    except BrokenPipeError:
        raise  # the reader went away (| head): the caller silences stdout
    except (OSError, ValueError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        where = f" {exc.filename}" if isinstance(exc, OSError) and exc.filename else ""
        err.write(f"{name}:{where} {reason}\n")
        return EXIT_FALSE

