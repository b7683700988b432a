"""``nixos-build-wrapper demo``: a recorded real build replayed through the whole pipeline.

A fake ``nixos-rebuild`` (shipped with the package, stdlib only) replays a recording of
real nix building a small system, with the recording's timing, wrapped in
nixos-rebuild's and switch-to-configuration's messages.  Everything else is the real
thing: the PTY, the parsers, every sink, the live console.  Logs and records go to a
temporary directory named at the end, with commands to
look at them that work as printed.  Needs nothing but Python: no Nix.
"""

from __future__ import annotations

import argparse
import os
import shlex
import shutil
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
    from orchestrator.demo_files import OLD_SYSTEM

    old = OLD_SYSTEM
    (profiles / "system-41-link").symlink_to(old)
    (profiles / "system").symlink_to("system-41-link")
    (root / "run").mkdir()
    (root / "run/current-system").symlink_to(old)


def _as_if_built_before(fixtures: Path, work: Path, logs: Path, root: Path, scenario: str,
                        env: dict[str, str]) -> None:
    """The tree (the recording's .drv files), the ETA (an earlier run's build times)
    and the closure diff (a store database with the old and new system)."""
    from orchestrator import demo_files

    recording = fixtures / "recorded" / f"{scenario}.internal-json.log"
    timing = recording.with_suffix(".timing")
    if not recording.is_file():
        return
    data = recording.read_bytes()
    demo_files.write_derivations(work / "drv", data, scenario)
    env["NIXOS_BUILD_DRV_DIR"] = str(work / "drv")
    if timing.is_file():
        demo_files.seed_build_times(logs, data, timing.read_text())
    demo_files.store_database(root)
    env["FAKE_TOPLEVEL"] = demo_files.NEW_SYSTEM


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
    _as_if_built_before(fixtures, work, logs, root, args.scenario, env)
    request = Request(target="os", action="switch", no_nh=True, log_dir=str(logs),
                      console=args.console, events=args.events)
    sys.stderr.write(f"demo: replaying a recorded nix build ({args.scenario}) through "
                     f"nixos-build-wrapper os switch\n")
    code = run(request, env)
    sys.stderr.write(closing_hints(work, logs, args.scenario, root if code == 0 else None))
    return code


def command(name: str) -> str:
    """How to type ``name`` here: bare when that is what the shell finds, else its full
    path (``python3 tasks.py demo`` runs from a venv that is not on the user's PATH)."""
    beside = Path(sys.argv[0]).resolve().parent / name
    if not beside.is_file():
        beside = Path(sys.executable).parent / name
    found = shutil.which(name)
    if found and (not beside.is_file() or Path(found).resolve() == beside.resolve()) \
            and not _only_on_our_path(Path(found)):
        return name
    if beside.is_file():
        return shlex.quote(str(beside))
    module = "status.cli" if name == "nixos-build-status" else "orchestrator.wrapper_cli"
    return f"{shlex.quote(sys.executable)} -m {module}"


def _only_on_our_path(found: Path) -> bool:
    """A venv's command is on PATH here only because a runner (``tasks.py``) put it
    there, unless the user activated that venv (which sets VIRTUAL_ENV)."""
    prefix = Path(sys.prefix).resolve()
    if prefix == Path(sys.base_prefix).resolve():
        return False
    active = os.environ.get("VIRTUAL_ENV")
    if active and Path(active).resolve() == prefix:
        return False
    return found.resolve().is_relative_to(prefix) or found.parent.resolve() == prefix / "bin"


def closing_hints(work: Path, logs: Path, scenario: str, root: Path | None = None) -> str:
    """What to try next, each line a command that works as printed."""
    status = command("nixos-build-status")
    quoted = shlex.quote(str(logs))
    if shutil.which("jq"):
        show_json, drop_log_lines = "jq .", "jq -c 'select(.type != \"log.line\")'"
    else:  # only python3 on PATH
        show_json, drop_log_lines = "python3 -m json.tool", "grep -v '\"type\":\"log.line\"'"
    lines = [
        "",
        f"demo: everything the wrapper wrote is in {logs}",
        f"  {show_json} {quoted}/last-build.json",
        f"  {status} errors --log-dir {quoted}",
        f"  {status} events {quoted}/last-build.log | {drop_log_lines}",
    ]
    if root is not None and (root / "nix/var/nix/profiles/system-42-link").is_symlink():
        lines.append(f"  NIXOS_BUILD_ROOT={shlex.quote(str(root))} {status} generations "
                     "--diff 41 42   # what the switch changed")
    if scenario == "success":
        lines.append(f"  {command('nixos-build-wrapper')} demo --scenario build-failure"
                     "   # a failure, with its root cause")
    lines.append(f"demo: its files (logs, fake tools, fake system) stay in {work}; "
                 f"rm -r {shlex.quote(str(work))} removes them")
    return "\n".join(lines) + "\n"
