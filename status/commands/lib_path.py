"""The shell library's two commands:

    nixos-build-status lib-path           the path of build-status.sh, for
                                          ``source "$(nixos-build-status lib-path)"``
    nixos-build-status lib NAME [ARGS…]   run one library function with bash's
                                          conventions (what build-status.sh calls)
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from status.exitcodes import EXIT_OK


def register(sub: Any) -> None:
    parser = sub.add_parser("lib-path", help="print the path of the bash library to source",
                            description='source "$(nixos-build-status lib-path)" defines the '
                                        "original design's bash functions (docs/library.md).")
    parser.set_defaults(func=run_lib_path)
    call = sub.add_parser("lib", help="run one library function (what the bash library calls)",
                          description="Run one function of the library with the bash "
                                      "library's conventions: 0/1 for predicates, JSON for "
                                      "the _json functions, 3 for bad arguments.")
    call.add_argument("function", metavar="FUNCTION",
                      help="get_current_generation, is_generation_in_sync, … "
                           "(docs/library.md)")
    call.add_argument("arguments", nargs=argparse.REMAINDER, metavar="ARG")
    call.set_defaults(func=run_lib)


def run_lib_path(args: argparse.Namespace) -> int:
    from nixos_build_status import LIBRARY_SH

    sys.stdout.write(f"{LIBRARY_SH}\n")
    return EXIT_OK


def run_lib(args: argparse.Namespace) -> int:
    from status.shell import call

    try:
        return call(args.function, args.arguments)
    except BrokenPipeError:
        from status.commands.common import silence_stdout

        silence_stdout()
        return EXIT_OK
