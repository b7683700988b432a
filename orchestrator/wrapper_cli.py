"""``nixos-build-wrapper``: run nh / nixos-rebuild / home-manager and record the build.

    nixos-build-wrapper {os|home} {switch|boot|test|build|dry-build} [--flake P]
        [--no-nh] [--json] [--events ndjson] [--log-dir DIR] [--console MODE]
        [--quiet] [--no-log-lines] [--sudo] [--target-host H] [--build-host H]
        [--backup-extension EXT] [--specialisation NAME] [--show-trace]
        [--tool-arg ARG]... [--ci MODE] [--result-file KIND:PATH] [-- nix options]
    nixos-build-wrapper demo [--speed N] [--scenario S]

Exit code: the tool's own (128+N if it died of signal N); 4 when activation failed
although the tool exited 0 (nh <= 4.1 drops activation's status); 3 for bad arguments;
127 if the tool is not installed.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import NoReturn

from orchestrator.invocation import ACTIONS, CONSOLES, Request, UsageError, validate

EXIT_USAGE = 3


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
    parser = _Parser(
        prog="nixos-build-wrapper",
        description="Run nh, nixos-rebuild or home-manager under a terminal of its own, "
                    "show a live view, and record the build (raw log, last-build.json, "
                    "history, optional NDJSON events).",
        epilog="Options for the tool are the wrapper's own (--sudo, --target-host, "
               "--build-host, --backup-extension, --specialisation, --show-trace), mapped "
               "to each tool's flag (docs/compat.md); --tool-arg X gives X to the tool "
               "itself; everything after -- is for nix, under every tool. "
               "Files go to --log-dir, else $NIXOS_BUILD_LOG_DIR, else /var/log/nixos-builds "
               "when writable, else $XDG_STATE_HOME/nixos-builds.",
    )
    parser.add_argument("--version", action=_Version, help="print the version and exit")
    parser.add_argument("target", choices=sorted(ACTIONS), help="os (NixOS) or home (Home Manager)")
    parser.add_argument("action", help="switch, boot, test, build or dry-build (home: switch, build)")
    parser.add_argument("--flake", metavar="PATH",
                        help="flake to build (default: $NH_OS_FLAKE / $NH_HOME_FLAKE / $NH_FLAKE, "
                             "else the tool's own default)")
    parser.add_argument("--no-nh", action="store_true", help="use nixos-rebuild / home-manager even if nh is installed")
    parser.add_argument("--json", action="store_true", help="print last-build.json's content on stdout at the end")
    parser.add_argument("--events", metavar="FORMAT", choices=["ndjson"],
                        help="stream typed events on stdout (ndjson); human output goes to stderr")
    parser.add_argument("--log-dir", metavar="DIR", help="where logs and records go")
    parser.add_argument("--console", default="auto", choices=CONSOLES,
                        help="auto (default): live view on a terminal, plain lines otherwise, nom's "
                             "own view under nh when nom is installed; ours: always our view; "
                             "tool: the tool's own output; plain: plain lines")
    parser.add_argument("--quiet", action="store_true", help="no console output of ours")
    parser.add_argument("--no-log-lines", dest="log_lines", action="store_false",
                        help="leave builders' log lines out of the event stream")
    tool = parser.add_argument_group("passed to the tool, in its own words (docs/compat.md)")
    tool.add_argument("--sudo", action="store_true",
                      help="elevate the activation (done anyway for a normal user's switch, "
                           "boot, test): --use-remote-sudo or --sudo, as the nixos-rebuild "
                           "installed expects; nh elevates by itself")
    tool.add_argument("--target-host", metavar="HOST", help="activate on HOST (os)")
    tool.add_argument("--build-host", metavar="HOST", help="build on HOST")
    tool.add_argument("--backup-extension", metavar="EXT",
                      help="home: back up files in the way with this extension (-b)")
    tool.add_argument("--specialisation", metavar="NAME", help="activate this specialisation")
    tool.add_argument("--show-trace", action="store_true", help="nix's --show-trace")
    tool.add_argument("--tool-arg", metavar="ARG", action="append", default=[],
                      help="give ARG to the tool itself (repeat for each word)")
    _add_ci_options(parser)
    _add_fleet_options(parser)
    return parser


def _add_fleet_options(parser: argparse.ArgumentParser) -> None:
    """Metrics, journal entries and traces for fleets (docs/fleet.md, docs/metrics.md)."""
    group = parser.add_argument_group("fleet")
    group.add_argument("--prometheus-textfile", metavar="DIR", dest="prometheus_dir",
                       help="after the build, write DIR/nixos-build.prom for node_exporter's "
                            "textfile collector (default: $NIXOS_BUILD_PROMETHEUS_DIR)")
    group.add_argument("--journal", action="store_true",
                       help="send a few structured entries per build to the systemd journal "
                            "(also NIXOS_BUILD_JOURNAL=1)")
    group.add_argument("--otel", action="store_true",
                       help="export the build as an OpenTelemetry trace over OTLP/HTTP, "
                            "configured by the standard OTEL_* variables (also "
                            "NIXOS_BUILD_OTEL=1; needs the otel extra)")


def _add_ci_options(parser: argparse.ArgumentParser) -> None:
    """CI output and result files (docs/ci.md)."""
    from sinks.ci import CI_MODES

    group = parser.add_argument_group("CI")
    group.add_argument("--ci", default="auto", choices=CI_MODES,
                       help="render for a CI log: folded groups per derivation, heartbeats, "
                            "error annotations and a job summary. auto (default): github, "
                            "gitlab or buildkite when GITHUB_ACTIONS, GITLAB_CI or BUILDKITE "
                            "is set and --console is auto; off: never")
    group.add_argument("--result-file", action="append", default=[], metavar="KIND:PATH",
                       type=_result_file,
                       help="also write junit:PATH (JUnit XML: a test case per derivation, "
                            "evaluation and activation) or json:PATH (the record); repeatable")


def _result_file(spec: str) -> tuple[str, str]:
    from sinks.results import parse_result_file

    try:
        parsed = parse_result_file(spec)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return parsed.kind, str(parsed.path)


def parse_request(argv: Sequence[str]) -> Request:
    args = list(argv)
    extra: list[str] = []
    if "--" in args:
        cut = args.index("--")
        args, extra = args[:cut], args[cut + 1:]
    # `--tool-arg --impure`: the value looks like an option to argparse; bind it.
    bound: list[str] = []
    words = iter(args)
    for word in words:
        if word == "--tool-arg":
            bound.append(f"--tool-arg={next(words, '')}")
        else:
            bound.append(word)
    ns = build_parser().parse_args(bound)
    request = Request(
        target=ns.target, action=ns.action, flake=ns.flake, no_nh=ns.no_nh, json=ns.json,
        events=ns.events, extra=tuple(extra), log_dir=ns.log_dir, console=ns.console,
        quiet=ns.quiet, log_lines=ns.log_lines, sudo=ns.sudo, target_host=ns.target_host,
        build_host=ns.build_host, backup_extension=ns.backup_extension,
        specialisation=ns.specialisation, show_trace=ns.show_trace,
        tool_args=tuple(ns.tool_arg),
        ci=ns.ci, result_files=tuple(ns.result_file),
        prometheus_dir=ns.prometheus_dir, journal=ns.journal, otel=ns.otel,
    )
    validate(request)
    return request


def main(argv: Sequence[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv[:1] == ["demo"]:
        from orchestrator.demo import main as demo_main

        return demo_main(argv[1:])
    try:
        request = parse_request(argv)
    except UsageError as exc:
        sys.stderr.write(f"nixos-build-wrapper: error: {exc}\n")
        return EXIT_USAGE
    from orchestrator.build import run

    return run(request)


if __name__ == "__main__":
    sys.exit(main())
