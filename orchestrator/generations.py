"""System and Home Manager generations, read from profile links.

Current system generation = the ``system-N-link`` whose target is what
``/run/current-system`` points to; latest = what ``/nix/var/nix/profiles/system``
points to.  Home Manager: the profile ``home-manager`` -> ``home-manager-N-link`` in
``$XDG_STATE_HOME/nix/profiles`` (else ``/nix/var/nix/profiles/per-user/$USER``); the
active one is what ``~/.local/state/home-manager/gcroots/current-home`` points to (made
only after an activation succeeds)."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .sysroot import SystemRoot

SYSTEM_PROFILES = "/nix/var/nix/profiles"
_SYSTEM_LINK = re.compile(r"^system-(\d+)-link$")
_HM_LINK = re.compile(r"^home-manager-(\d+)-link$")


@dataclass(frozen=True)
class Generations:
    current: int | None
    latest: int | None
    current_path: str | None
    latest_path: str | None

    @property
    def status(self) -> str:
        if self.latest is None and self.current is None:
            return "unknown"
        return "in-sync" if self.current is not None and self.current == self.latest else "out-of-sync"


def _numbered_links(root: SystemRoot, directory: str, pattern: re.Pattern[str]) -> dict[int, str]:
    links: dict[int, str] = {}
    try:
        names = os.listdir(root.path(directory))
    except OSError:
        return links
    for name in names:
        m = pattern.match(name)
        if m:
            target = root.readlink(f"{directory}/{name}")
            if target is not None:
                links[int(m.group(1))] = target
    return links


def _generation_of(link: str | None, pattern: re.Pattern[str]) -> int | None:
    if link is None:
        return None
    m = pattern.match(os.path.basename(link))
    return int(m.group(1)) if m else None


def system_generations(root: SystemRoot) -> Generations:
    links = _numbered_links(root, SYSTEM_PROFILES, _SYSTEM_LINK)
    latest = _generation_of(root.readlink(f"{SYSTEM_PROFILES}/system"), _SYSTEM_LINK)
    running = root.readlink("/run/current-system")
    current = None
    if running is not None:
        matches = [n for n, target in links.items() if target.rstrip("/") == running.rstrip("/")]
        if matches:
            current = latest if latest in matches else max(matches)
    return Generations(current, latest, running, links.get(latest) if latest is not None else None)


def home_paths(env: Mapping[str, str]) -> tuple[str, str]:
    home = env.get("HOME") or os.path.expanduser("~")
    user = env.get("USER") or env.get("LOGNAME") or os.path.basename(home)
    return home, user


def home_manager_generations(root: SystemRoot, env: Mapping[str, str] | None = None) -> Generations:
    env = os.environ if env is None else env
    home, user = home_paths(env)
    state = env.get("XDG_STATE_HOME") or f"{home}/.local/state"
    profiles = f"{state}/nix/profiles"
    if not os.path.isdir(root.path(profiles)):
        profiles = f"{SYSTEM_PROFILES}/per-user/{user}"
    links = _numbered_links(root, profiles, _HM_LINK)
    latest = _generation_of(root.readlink(f"{profiles}/home-manager"), _HM_LINK)
    active = root.readlink(f"{state}/home-manager/gcroots/current-home")
    if active is None:
        active = root.readlink(f"/nix/var/nix/gcroots/per-user/{user}/current-home")
    current = None
    if active is not None:
        matches = [n for n, target in links.items() if target.rstrip("/") == active.rstrip("/")]
        if matches:
            current = latest if latest in matches else max(matches)
    return Generations(current, latest, active, links.get(latest) if latest is not None else None)


def generation_info(root: SystemRoot | None = None,
                    env: Mapping[str, str] | None = None) -> dict[str, Any]:
    """The original design's generation object (``g42``, ``hm12``, in-sync…)."""
    root = root or SystemRoot(env=env)
    system = system_generations(root)
    hm = home_manager_generations(root, env)
    return {
        "generation": f"g{system.current}" if system.current is not None else "unknown",
        "generationRaw": str(system.current) if system.current is not None else "",
        "latestGeneration": f"g{system.latest}" if system.latest is not None else "unknown",
        "status": system.status,
        "systemPath": system.current_path,
        "homeManagerGeneration": f"hm{hm.current}" if hm.current is not None else
                                 (f"hm{hm.latest}" if hm.latest is not None else "unknown"),
        "homeManagerLatestGeneration": f"hm{hm.latest}" if hm.latest is not None else "unknown",
        "homeManagerStatus": hm.status if hm.latest is not None else "unknown",
    }
