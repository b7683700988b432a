"""``nixos-build-wrapper demo``: a recorded real build replayed through the whole pipeline.

A fake ``nixos-rebuild`` (shipped with the package, stdlib only) replays a recording of
real nix building a small system, with the recording's timing, wrapped in
nixos-rebuild's and switch-to-configuration's messages.  Everything else is the real
thing: the PTY, the parsers, every sink, the live console.  Logs and records go to a
temporary directory named at the end.  Needs nothing but Python: no Nix.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

SCENARIOS = ("success", "build-failure", "eval-error", "hash-mismatch")


def fixtures_dir() -> Path:
    """The fake tools and recordings: inside the installed package, or the repository's
    fixtures/ when running from a checkout."""
    packaged = Path(__file__).resolve().parent / "_fixtures"
    if (packaged / "bin").is_dir():
        return packaged
    return Path(__file__).resolve().parent.parent / "fixtures"


def _launchers(fixtures: Path, directory: Path) -> None:
    """Executables named like the real tools that run the fakes with this Python."""
    for name in ("nixos-rebuild", "home-manager"):
        target = fixtures / "bin" / name
        launcher = directory / name
        launcher.write_text(
            f"#!{sys.executable}\n"
            "import runpy, sys\n"
            f"sys.argv[0] = {str(target)!r}\n"
            f"runpy.run_path({str(target)!r}, run_name='__main__')\n")
        launcher.chmod(0o755)


def _system_tree(root: Path) -> None:
    """A system with generation 41 active, for the before/after in the record."""
    profiles = root / "nix/var/nix/profiles"
    profiles.mkdir(parents=True)
    old = "/nix/store/2f3kqyvv1d2jh6bp6m4fn0a4lq8xw9yz-nixos-system-demo-24.05.20240601"
    (profiles / "system-41-link").symlink_to(old)
    (profiles / "system").symlink_to("system-41-link")
    (root / "run").mkdir()
    (root / "run/current-system").symlink_to(old)


def main(argv: Sequence[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="nixos-build-wrapper demo",
        description="Replay a recorded real NixOS build through the whole pipeline "
                    "(terminal, parsers, logs, records, live view). No Nix needed.")
    parser.add_argument("--speed", type=float, default=1.0,
                        help="replay N times faster than recorded (default 1)")
    parser.add_argument("--scenario", choices=SCENARIOS, default="success",
                        help="which recording (default success)")
    parser.add_argument("--unit-failure", action="store_true",
                        help="make a systemd unit fail during activation")
    parser.add_argument("--console", choices=("auto", "ours", "plain"), default="auto")
    parser.add_argument("--events", choices=["ndjson"], help="also stream events on stdout")
    args = parser.parse_args(list(argv))
    if args.speed <= 0:
        parser.error("--speed must be positive")

    from orchestrator.build import run
    from orchestrator.invocation import Request

    fixtures = fixtures_dir()
    work = Path(tempfile.mkdtemp(prefix="nixos-build-demo."))
    bin_dir = work / "bin"
    bin_dir.mkdir()
    _launchers(fixtures, bin_dir)
    root = work / "root"
    _system_tree(root)
    env = dict(os.environ)
    env.update({
        "PATH": f"{bin_dir}{os.pathsep}{env.get('PATH', '')}",
        "FAKE_SPEED": str(args.speed),
        "FAKE_SCENARIO": args.scenario,
        "FAKE_ACTIVATION": "unit-failed" if args.unit_failure else "ok",
        "FAKE_ROOT": str(root),
        "NIXOS_BUILD_ROOT": str(root),
    })
    for key in ("NH_FLAKE", "NH_OS_FLAKE", "FAKE_LIVE_NIX", "FAKE_SUDO_PROMPT"):
        env.pop(key, None)
    logs = work / "logs"
    request = Request(target="os", action="switch", no_nh=True, log_dir=str(logs),
                      console=args.console, events=args.events)
    sys.stderr.write(f"demo: replaying a recorded nix build ({args.scenario}) through "
                     f"nixos-build-wrapper os switch\n")
    code = run(request, env)
    hint = ("  nixos-build-wrapper demo --scenario build-failure   # a failure, with its root cause\n"
            if args.scenario == "success" else "")
    sys.stderr.write(
        f"\ndemo: everything the wrapper wrote is in {logs}\n"
        f"  jq . {logs}/last-build.json\n"
        f"  nixos-build-status events {logs}/last-build.log | jq -c 'select(.type != \"log.line\")'\n"
        + hint)
    return code
