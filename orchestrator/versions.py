"""What is installed and who runs the build: read once per run, before planning.

The planner (``invocation.plan``) is pure; this module gathers the facts it plans from:
the installed tools and their versions (``nh --version``, ``home-manager --version``,
``nix --version``, which nixos-rebuild), the effective user, and whether the default flakes exist.  It
starts processes (the three ``--version`` queries, each with a short deadline), so it is
one of the modules ``docs/architecture.md`` allows to.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from orchestrator.compat import NixInfo, Version, parse_nix_version, parse_version
from system.sysroot import SystemRoot

VERSION_DEADLINE_S = 5.0
HEAD_BYTES = 1 << 20  # nixpkgs' wrappers are small; a binary's strings come early
RebuildKind = Literal["bash", "ng"]


@dataclass(frozen=True)
class Tool:
    path: str
    version: Version | None = None
    """None: installed, version not known (planned as the newest, with a note)."""
    kind: RebuildKind | None = None
    """nixos-rebuild only: the bash script or nixos-rebuild-ng."""


@dataclass(frozen=True)
class Host:
    """Facts the plan depends on."""

    tools: dict[str, Tool] = field(default_factory=dict)
    """By the name to run: ``nh``, ``nixos-rebuild``, ``nixos-rebuild-ng``,
    ``home-manager``."""
    euid: int = 1000
    system_flake: str | None = None
    """``/etc/nixos`` when ``/etc/nixos/flake.nix`` exists."""
    home_flake: str | None = None
    """``~/.config/home-manager`` when its ``flake.nix`` exists."""
    nix: NixInfo | None = None
    """``nix --version`` (None: no nix on PATH, or it did not answer)."""


def _run_version(path: str, env: Mapping[str, str]) -> str | None:
    try:
        done = subprocess.run([path, "--version"], env=dict(env), stdin=subprocess.DEVNULL,
                              capture_output=True, timeout=VERSION_DEADLINE_S, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    if done.returncode != 0:
        return None
    return done.stdout.decode("utf-8", "replace").strip()


def rebuild_kind(path: str) -> RebuildKind | None:
    """bash nixos-rebuild or nixos-rebuild-ng, without running it: the store path of
    nixpkgs' package says ``nixos-rebuild-ng`` (``pkgs/by-name/ni/nixos-rebuild-ng``,
    also when the NixOS module installs it as ``nixos-rebuild``); ng is a Python
    program behind a wrapper, the old one a bash script."""
    real = os.path.realpath(path)
    if "nixos-rebuild-ng" in real:
        return "ng"
    try:
        with open(real, "rb") as f:
            head = f.read(HEAD_BYTES)
    except OSError:
        return None
    if b"nixos-rebuild-ng" in head or b"nixos_rebuild" in head:
        return "ng"
    first = head.split(b"\n", 1)[0]
    if first.startswith(b"#!") and b"bash" in first:
        return "bash"
    return None


def probe(env: Mapping[str, str], which: Callable[[str], str | None],
          wanted: tuple[str, ...]) -> Host:
    """The facts for a run that may use the tools named in ``wanted``."""
    tools: dict[str, Tool] = {}
    for name in wanted:
        path = which(name)
        if path is None:
            continue
        if name in ("nh", "home-manager"):
            text = _run_version(path, env)
            tools[name] = Tool(path, parse_version(text) if text else None)
        else:
            tools[name] = Tool(path, kind="ng" if name == "nixos-rebuild-ng" else rebuild_kind(path))
    root = SystemRoot(env=env)
    system_flake = None
    if root.exists("/etc/nixos/flake.nix"):
        system_flake = "/etc/nixos" if root.is_host else str(root.path("/etc/nixos"))
    # Home Manager's and nh's default: ${XDG_CONFIG_HOME:-~/.config}/home-manager.
    config = env.get("XDG_CONFIG_HOME") or (str(Path(env["HOME"], ".config")) if env.get("HOME") else None)
    home_flake = None
    if config and Path(config, "home-manager", "flake.nix").exists():
        home_flake = str(Path(config, "home-manager"))
    # The nix the tools will run (the first on PATH): which capture and flags it takes.
    nix_path = which("nix")
    nix_text = _run_version(nix_path, env) if nix_path else None
    return Host(tools=tools, euid=os.geteuid(), system_flake=system_flake, home_flake=home_flake,
                nix=parse_nix_version(nix_text) if nix_text else None)
