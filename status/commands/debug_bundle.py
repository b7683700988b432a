"""``nixos-build-status debug-bundle [--max-bytes N] [-o FILE] [--json]``: the last
build's failure, with everything needed to fix it, in one bounded, redacted piece of
Markdown (or JSON) to hand to an LLM or a colleague (``status/bundle.py``, docs/ci.md).

Exit code 0 when the bundle was written (whether the build failed or not), 3 when no
build is recorded or the output cannot be written."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from status.commands.common import print_out
from status.exitcodes import EXIT_OK, EXIT_USAGE

if TYPE_CHECKING:
    from records.schema import LastBuild
    from status.bundle import Probes


# status.bundle.DEFAULT_MAX_BYTES, repeated: registering every subcommand must not
# import the bundle (msgspec, parsers) on the status report's path.
DEFAULT_MAX_BYTES = 200_000


def register(sub: Any) -> None:
    parser = sub.add_parser(
        "debug-bundle", help="the last failure with its context, bounded and redacted, for an LLM",
        description="Everything needed to fix the last build's failure: the command and "
                    "versions, root causes with their log tails and hints, the source "
                    "around evaluation errors, failed units with their journals, recent "
                    "journal errors, the generation change and the raw log's tail. "
                    "Secrets are redacted; the whole is trimmed to --max-bytes, least "
                    "important first, saying what was cut.")
    parser.add_argument("--max-bytes", type=int, default=DEFAULT_MAX_BYTES, metavar="N",
                        help=f"size limit in bytes (default {DEFAULT_MAX_BYTES})")
    parser.add_argument("-o", "--output", metavar="FILE", help="write here instead of stdout")
    parser.add_argument("--json", action="store_true", help="one JSON object instead of Markdown")
    parser.add_argument("--log-dir", help="where the last build's logs are")
    parser.add_argument("--no-probes", action="store_true",
                        help="do not ask systemctl, journalctl, nix and nixos-version")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from records.logdir import log_dir_for_reading
    from records.read import read_last_build
    from status import bundle as b

    if args.max_bytes < b.MIN_MAX_BYTES:
        sys.stderr.write(f"nixos-build-status: --max-bytes must be at least {b.MIN_MAX_BYTES}\n")
        return EXIT_USAGE
    env = os.environ
    directory = log_dir_for_reading(args.log_dir, env)
    record = read_last_build(directory)
    if record is None:
        sys.stderr.write(f"nixos-build-status: no build recorded in {directory} "
                         "(run nixos-build-wrapper first)\n")
        return EXIT_USAGE
    probes = b.Probes([], []) if args.no_probes else _probe(record, env)
    bundle = b.gather(record, directory, probes, our_version=_our_version(),
                      flake_revision=_flake_revision(env))
    data = b.fit(b.redact(bundle), args.max_bytes, "json" if args.json else "markdown")
    if args.output:
        from records.files import atomic_write

        try:
            atomic_write(Path(args.output), data)
        except OSError as exc:
            sys.stderr.write(f"nixos-build-status: cannot write {args.output}: {exc.strerror}\n")
            return EXIT_USAGE
    else:
        print_out(data.decode("utf-8"))
    return EXIT_OK


def _probe(record: LastBuild, env: Any) -> Probes:
    """The running system's side, all tools started at once (each with a deadline)."""
    from status.bundle import UNIT_JOURNAL, Probes, UnitReport
    from status.probes import journal, units
    from status.probes.tools import ToolRun
    from status.report import LiveProbes, StatusOptions
    from system.sysroot import SystemRoot

    root = SystemRoot(env=env)
    live = LiveProbes(root, StatusOptions(env=env, evaluate=False))
    nix = ToolRun(["nix", "--version"], env=env)
    failed = live.units().units
    named = {u for d in record.error_details for u in d.units}
    known = {u.unit for u in failed}
    failed += [units.FailedUnit(u, "system") for u in sorted(named - known)]
    runs = [ToolRun(units.journal_argv(u, UNIT_JOURNAL), env=env) for u in failed]
    reports = []
    for unit, run in zip(failed, runs, strict=True):
        result = run.result()
        reports.append(UnitReport(unit=unit.unit, scope=unit.scope, description=unit.description,
                                  journal=result.stdout.splitlines()[-UNIT_JOURNAL:]
                                  if result.ok else []))
    errors = live.journal(journal.DEFAULT_SINCE)
    versions = live.version()
    nix_result = nix.result()
    return Probes(
        failed_units=reports, journal_errors=[e.line() for e in errors.recent],
        nix_version=nix_result.stdout.strip().splitlines()[0]
        if nix_result.ok and nix_result.stdout.strip() else None,
        nixos_version=versions.nixos_version, nixpkgs_revision=versions.nixpkgs_revision,
        configuration_revision=versions.configuration_revision)


def _flake_revision(env: Any) -> str | None:
    from system.flake import find_flake, git_revision
    from system.sysroot import SystemRoot

    try:
        flake = find_flake(SystemRoot(env=env), env)  # never the record's: it is data
    except (OSError, ValueError):
        return None
    return git_revision(flake.directory) if flake is not None else None


def _our_version() -> str | None:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("nixos-build-status")
    except PackageNotFoundError:
        return None
