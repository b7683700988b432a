"""System and Home Manager generations, read from profile links.

Current system generation = the ``system-N-link`` whose target is what
``/run/current-system`` points to; latest = what ``/nix/var/nix/profiles/system``
points to.  Home Manager: the profile ``home-manager`` -> ``home-manager-N-link`` in
``$XDG_STATE_HOME/nix/profiles`` (else ``/nix/var/nix/profiles/per-user/$USER``); the
active one is what ``~/.local/state/home-manager/gcroots/current-home`` points to (made
only after an activation succeeds).  Everything is read under the ``SystemRoot``."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from typing import Any, NamedTuple

from system.sysroot import SystemRoot

SYSTEM_PROFILES = "/nix/var/nix/profiles"
SYSTEM_PROFILE = f"{SYSTEM_PROFILES}/system"
CURRENT_SYSTEM = "/run/current-system"
BOOTED_SYSTEM = "/run/booted-system"
_SYSTEM_LINK = re.compile(r"^system-(\d+)-link$")
_HM_LINK = re.compile(r"^home-manager-(\d+)-link$")


class Generations(NamedTuple):
    current: int | None
    latest: int | None
    current_path: str | None  # what runs / is active: the link's target
    # A system with no /run/current-system is not running (a tree mounted at /mnt): its
    # sync status is unknown.  Home Manager without its gcroot never finished an
    # activation: that is out of sync.
    unknown_without_current: bool = False

    @property
    def status(self) -> str:
        if self.latest is None and self.current is None:
            return "unknown"
        if self.current_path is None and self.unknown_without_current:
            return "unknown"
        return "in-sync" if self.current is not None and self.current == self.latest else "out-of-sync"


class HomeUser(NamedTuple):
    """Whose Home Manager generations to read: the invoking user, or under ``sudo``
    the user behind it (root's own Home Manager is rarely what one asks about)."""

    name: str
    home: str
    state_dir: str  # $XDG_STATE_HOME
    via_sudo: bool = False  # not the process's own user

    @property
    def gcroot(self) -> str:
        return f"{self.state_dir}/home-manager/gcroots/current-home"

    @property
    def legacy_gcroot(self) -> str:
        return f"/nix/var/nix/gcroots/per-user/{self.name}/current-home"


def _numbered_links(root: SystemRoot, directory: str, pattern: re.Pattern[str]) -> dict[int, str]:
    links: dict[int, str] = {}
    for name in root.listdir(directory):
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


def _matching(links: Mapping[int, str], target: str | None, latest: int | None) -> int | None:
    """The generation whose link points where ``target`` does.  Several can (the same
    configuration built twice): prefer the latest, else the newest."""
    if target is None:
        return None
    matches = [n for n, t in links.items() if t.rstrip("/") == target.rstrip("/")]
    if not matches:
        return None
    return latest if latest in matches else max(matches)


def system_generations(root: SystemRoot) -> Generations:
    links = _numbered_links(root, SYSTEM_PROFILES, _SYSTEM_LINK)
    latest = _generation_of(root.readlink(SYSTEM_PROFILE), _SYSTEM_LINK)
    running = root.readlink(CURRENT_SYSTEM)
    current = _matching(links, running, latest)
    return Generations(current, latest, running, unknown_without_current=True)


def booted_generation(root: SystemRoot) -> int | None:
    links = _numbered_links(root, SYSTEM_PROFILES, _SYSTEM_LINK)
    latest = _generation_of(root.readlink(SYSTEM_PROFILE), _SYSTEM_LINK)
    return _matching(links, root.readlink(BOOTED_SYSTEM), latest)


def home_paths(env: Mapping[str, str]) -> tuple[str, str]:
    home, user = env.get("HOME") or os.path.expanduser("~"), env.get("USER") or env.get("LOGNAME")
    return home, user or os.path.basename(home)


def home_user(env: Mapping[str, str] | None = None) -> HomeUser:
    env = os.environ if env is None else env
    sudo_user = env.get("SUDO_USER")
    if sudo_user and sudo_user != "root" and os.geteuid() == 0:
        import pwd

        try:
            home = pwd.getpwnam(sudo_user).pw_dir
        except KeyError:
            home = f"/home/{sudo_user}"
        # XDG_STATE_HOME, if set at all under sudo, is root's: not the user's.
        return HomeUser(sudo_user, home, f"{home}/.local/state", via_sudo=True)
    home, user = home_paths(env)
    return HomeUser(user, home, env.get("XDG_STATE_HOME") or f"{home}/.local/state")


def home_manager_profiles(root: SystemRoot, user: HomeUser) -> str:
    """Home Manager's own rule: ``$XDG_STATE_HOME/nix/profiles`` if that directory
    exists, else ``/nix/var/nix/profiles/per-user/$USER``."""
    profiles = f"{user.state_dir}/nix/profiles"
    if root.is_dir(profiles):
        return profiles
    return f"{SYSTEM_PROFILES}/per-user/{user.name}"


def home_manager_active(root: SystemRoot, user: HomeUser) -> str | None:
    active = root.readlink(user.gcroot)
    return active if active is not None else root.readlink(user.legacy_gcroot)


def home_manager_generations(root: SystemRoot, env: Mapping[str, str] | None = None,
                             user: HomeUser | None = None) -> Generations:
    user = user or home_user(env)
    profiles = home_manager_profiles(root, user)
    links = _numbered_links(root, profiles, _HM_LINK)
    latest = _generation_of(root.readlink(f"{profiles}/home-manager"), _HM_LINK)
    active = home_manager_active(root, user)
    current = _matching(links, active, latest)
    return Generations(current, latest, active)


def generation_info(root: SystemRoot | None = None,
                    env: Mapping[str, str] | None = None) -> dict[str, Any]:
    """The original design's generation object (``g42``, ``hm12``, in-sync…), from the
    profile links alone (no processes: the wrapper takes it before and after each
    build).  The status report adds ``commit``."""
    root = root or SystemRoot(env=env)
    system = system_generations(root)
    user = home_user(env)
    hm = home_manager_generations(root, env, user)
    booted = booted_generation(root)
    return {
        "generation": f"g{system.current}" if system.current is not None else "unknown",
        "generationRaw": str(system.current) if system.current is not None else "",
        "latestGeneration": f"g{system.latest}" if system.latest is not None else "unknown",
        "latestGenerationRaw": str(system.latest) if system.latest is not None else "",
        "bootedGeneration": f"g{booted}" if booted is not None else "unknown",
        "status": system.status,
        "systemPath": system.current_path,
        "homeManagerUser": user.name,
        "homeManagerGeneration": f"hm{hm.current}" if hm.current is not None else "unknown",
        "homeManagerLatestGeneration": f"hm{hm.latest}" if hm.latest is not None else "unknown",
        "homeManagerStatus": hm.status if hm.latest is not None else "unknown",
    }
