"""One build, start to end: plan the command, run it in a session, print the record
when ``--json`` asks for it.  The wrapper's command line and the demo both come here."""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING

from orchestrator.invocation import Request, UsageError, plan

if TYPE_CHECKING:
    from records.schema import LastBuild

EXIT_USAGE = 3


def run(request: Request, env: dict[str, str] | None = None) -> int:
    """Run one build as asked; the tool's exit code."""
    import shutil

    import anyio

    from orchestrator.consoles import make_console
    from orchestrator.session import BuildSession
    from orchestrator.versions import probe

    env = dict(os.environ if env is None else env)
    interactive = os.isatty(2)
    path = env.get("PATH", os.defpath)

    def which(name: str) -> str | None:
        return shutil.which(name, path=path)

    wanted = ("nh", "nixos-rebuild", "nixos-rebuild-ng") if request.target == "os" else (
        "nh", "home-manager")
    try:
        host = probe(env, which, wanted if not request.no_nh else wanted[1:])
        invocation = plan(request, env, which, interactive=interactive, host=host)
    except UsageError as exc:
        sys.stderr.write(f"nixos-build-wrapper: error: {exc}\n")
        return EXIT_USAGE
    session = BuildSession(request, invocation, env=env, interactive=interactive,
                           console_factory=make_console)
    outcome = anyio.run(session.run, backend="trio")
    if request.json:
        print_record(outcome.record)
    return outcome.exit_code


def print_record(record: LastBuild) -> None:
    """``--json``: the record on stdout.  A reader that went away (``| true``) or a
    full disk costs the printout, never the build's exit code."""
    from records.files import describe, write_all
    from records.schema import encode_record

    try:
        sys.stdout.flush()
        write_all(sys.stdout.fileno(), encode_record(record))
    except OSError as exc:
        if not isinstance(exc, BrokenPipeError):
            sys.stderr.write(f"nixos-build-wrapper: the record was not printed: {describe(exc)}\n")
        # Nothing more may reach stdout, and the interpreter's final flush must not fail.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
