"""`nixos-build-status --json --no-eval` wall time (target: <= 150 ms), against
`python -c pass` as the baseline, on:

- this machine as it is (here: no systemd running, no NixOS: the tools fail fast);
- a NixOS-like tree (NIXOS_BUILD_ROOT) whose systemctl, journalctl and nixos-version are
  shell stand-ins answering at once in the real formats, as real tools (C programs)
  would — the fake tools of fixtures/bin are Python and would time themselves instead;
- the same with PYTHONDONTWRITEBYTECODE=1 (as ``tasks.py`` runs things): the project's
  modules are compiled at every start.

Otherwise bytecode goes to a cache under bench/.cache (PYTHONPYCACHEPREFIX), as an
installed package has it."""

from __future__ import annotations

import json
import os
import shutil
import statistics
import sys
import tempfile
from pathlib import Path

from common import CACHE, heading, measure, tool

RUNS = 15
TARGET_MS = 150.0

STAND_INS = {
    "systemctl": "#!/bin/sh\nprintf '[]\\n'\n",
    "journalctl": ("#!/bin/sh\n"
                   "printf '%s\\n' '{\"__REALTIME_TIMESTAMP\":\"1732406400000000\",\"PRIORITY\":\"3\","
                   "\"SYSLOG_IDENTIFIER\":\"kernel\",\"MESSAGE\":\"ACPI Error: AE_NOT_FOUND\"}'\n"),
    "nixos-version": ("#!/bin/sh\nprintf '%s\\n' '{\"nixosVersion\":\"24.11.20241124.5e4fbfb\","
                      "\"nixpkgsRevision\":\"5e4fbfb6b3de1aa2872b76d49fafc942626e2add\"}'\n"),
}


def nixos_tree(base: Path) -> dict[str, str]:
    """A machine with 30 generations, Home Manager, a last build and a history; the
    environment that points the status at it."""
    root = base / "root"
    profiles = root / "nix/var/nix/profiles"
    profiles.mkdir(parents=True)
    for n in range(1, 31):
        (profiles / f"system-{n}-link").symlink_to(f"/nix/store/{n:032d}-nixos-system-demo")
    (profiles / "system").symlink_to("system-30-link")
    (root / "run").mkdir()
    (root / "run/current-system").symlink_to("/nix/store/" + f"{30:032d}-nixos-system-demo")
    hm = root / "home/alice/.local/state/nix/profiles"
    hm.mkdir(parents=True)
    (hm / "home-manager-4-link").symlink_to("/nix/store/hm4")
    (hm / "home-manager").symlink_to("home-manager-4-link")
    gcroots = root / "home/alice/.local/state/home-manager/gcroots"
    gcroots.mkdir(parents=True)
    (gcroots / "current-home").symlink_to("/nix/store/hm4")
    logs = base / "logs"
    logs.mkdir()
    record = {"buildStart": "2024-11-24T10:00:00+00:00", "success": True, "exitCode": 0,
              "target": "os", "action": "switch", "tool": "nh", "buildDuration": 135,
              "errors": "", "errorDetails": []}
    (logs / "last-build.json").write_text(json.dumps(record))
    (logs / "build-history.json").write_text(json.dumps([record] * 100))
    bin_dir = base / "bin"
    bin_dir.mkdir()
    for name, script in STAND_INS.items():
        (bin_dir / name).write_text(script)
        (bin_dir / name).chmod(0o755)
    return {"NIXOS_BUILD_ROOT": str(root), "NIXOS_BUILD_LOG_DIR": str(logs),
            "HOME": "/home/alice", "USER": "alice", "XDG_CACHE_HOME": str(base / "cache"),
            "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}"}


def median_ms(command: list[str], env: dict[str, str]) -> tuple[float, float, int]:
    """Median and slowest wall time in ms over RUNS, and the exit code."""
    measure(command, env=env)  # warm: page cache, bytecode cache
    results = [measure(command, env=env) for _ in range(RUNS)]
    walls = [r[1] * 1000 for r in results]
    return statistics.median(walls), max(walls), results[-1][0]


def main() -> None:
    heading("status: nixos-build-status --json --no-eval vs python -c pass")
    status = tool("nixos-build-status")
    if status is None:
        sys.exit("nixos-build-status is not installed in this environment")
    cached = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    cached["PYTHONPYCACHEPREFIX"] = str(CACHE / "pycache")
    base = Path(tempfile.mkdtemp(prefix="bench-status."))
    try:
        tree = {**cached, **nixos_tree(base)}
        # as tasks.py runs it: the project's modules compiled at every start (unless a
        # __pycache__ was left in the checkout)
        cold = {**tree, "PYTHONDONTWRITEBYTECODE": "1"}
        cold.pop("PYTHONPYCACHEPREFIX")
        baseline, _, _ = median_ms([sys.executable, "-c", "pass"], cached)
        rows = [
            ("python -c pass (baseline)", baseline, None, None),
            ("this machine as it is", *median_ms([status, "--json", "--no-eval"], cached)),
            ("NixOS-like tree, answering tools", *median_ms([status, "--json", "--no-eval"], tree)),
            ("same, PYTHONDONTWRITEBYTECODE=1", *median_ms([status, "--json", "--no-eval"], cold)),
        ]
    finally:
        shutil.rmtree(base, ignore_errors=True)
    for name, median, worst, code in rows:
        extra = f"  (slowest {worst:5.1f} ms, exit {code})" if worst is not None else ""
        print(f"{name:34} {median:6.1f} ms median of {RUNS}{extra}")
    realistic = rows[2][1]
    print(f"ratio: status / python -c pass = {realistic / baseline:.1f}x; "
          f"{realistic:.0f} ms against the {TARGET_MS:.0f} ms target "
          f"({'met' if realistic <= TARGET_MS else 'MISSED'})")


if __name__ == "__main__":
    main()
