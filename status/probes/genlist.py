"""Every generation with what can be read about it under the root, for
``nixos-build-status generations``.

Like ``nixos-rebuild list-generations``: the date is the link's own mtime (``lstat``:
the store path it points to has mtime 1), the NixOS version comes from
``<generation>/nixos-version``, the kernel from ``kernel-modules/lib/modules/*``, the
configuration revision from the JSON embedded in ``sw/bin/nixos-version``,
specialisations from ``specialisation/``.  Unlike it, ``current`` means the running
system (``/run/current-system``); the profile's pointer is ``latest``, the booted
system ``booted``.  What cannot be read is null."""

from __future__ import annotations

import os
import re
from datetime import datetime
from typing import Any, NamedTuple

from status.probes import version
from system.generations import (
    BOOTED_SYSTEM,
    CURRENT_SYSTEM,
    SYSTEM_PROFILE,
    SYSTEM_PROFILES,
    HomeUser,
    home_manager_active,
    home_manager_profiles,
)
from system.sysroot import SystemRoot

_LINK = re.compile(r"^(system|home-manager)-(\d+)-link$")


class GenerationEntry(NamedTuple):
    number: int
    path: str
    date: str | None
    current: bool
    latest: bool
    booted: bool = False
    nixos_version: str | None = None
    kernel_version: str | None = None
    configuration_revision: str | None = None
    specialisations: tuple[str, ...] = ()

    def to_json(self, system: bool) -> dict[str, Any]:
        data: dict[str, Any] = {"generation": self.number, "path": self.path, "date": self.date}
        if system:
            data.update(nixosVersion=self.nixos_version, kernelVersion=self.kernel_version,
                        configurationRevision=self.configuration_revision,
                        specialisations=list(self.specialisations))
        data.update(current=self.current, latest=self.latest)
        if system:
            data["booted"] = self.booted
        return data


def _links(root: SystemRoot, directory: str, prefix: str) -> list[tuple[int, str]]:
    """(number, link path) of ``<prefix>-N-link`` in ``directory``, newest first."""
    found = []
    for name in root.listdir(directory):
        m = _LINK.match(name)
        if m and m.group(1) == prefix:
            found.append((int(m.group(2)), f"{directory}/{name}"))
    return sorted(found, reverse=True)


def _date(root: SystemRoot, link: str) -> str | None:
    mtime = root.lstat_mtime(link)
    if mtime is None:
        return None
    return datetime.fromtimestamp(mtime).astimezone().isoformat(timespec="seconds")


def _same(a: str | None, b: str | None) -> bool:
    return a is not None and b is not None and a.rstrip("/") == b.rstrip("/")


def kernel_version(root: SystemRoot, toplevel: str) -> str | None:
    modules = root.listdir(f"{toplevel}/kernel-modules/lib/modules")
    return modules[0] if modules else None


def system_generations(root: SystemRoot) -> list[GenerationEntry]:
    running, booted = root.readlink(CURRENT_SYSTEM), root.readlink(BOOTED_SYSTEM)
    latest = os.path.basename(root.readlink(SYSTEM_PROFILE) or "")
    entries = []
    for number, link in _links(root, SYSTEM_PROFILES, "system"):
        target = root.readlink(link) or ""
        info = version.embedded(root, link)
        entries.append(GenerationEntry(
            number, target, _date(root, link), _same(target, running),
            os.path.basename(link) == latest, _same(target, booted),
            info.nixos_version, kernel_version(root, link), info.configuration_revision,
            tuple(root.listdir(f"{link}/specialisation"))))
    return entries


def home_manager_generations(root: SystemRoot, user: HomeUser) -> tuple[str, list[GenerationEntry]]:
    profiles = home_manager_profiles(root, user)
    active = home_manager_active(root, user)
    latest = os.path.basename(root.readlink(f"{profiles}/home-manager") or "")
    entries = []
    for number, link in _links(root, profiles, "home-manager"):
        target = root.readlink(link) or ""
        entries.append(GenerationEntry(number, target, _date(root, link), _same(target, active),
                                       os.path.basename(link) == latest))
    return f"{profiles}/home-manager", entries
