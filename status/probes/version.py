"""The running configuration's versions and revisions, from ``nixos-version --json``
(``{"nixosVersion", "nixpkgsRevision"?, "configurationRevision"?}``; the last two are
absent when unknown).

Where the tool cannot be run for the inspected tree (a system mounted at ``/mnt``, or
no ``nixos-version`` on PATH), the same JSON is read from the generation's own
``sw/bin/nixos-version`` script, which carries it verbatim in a here-document: reading
a file under the root works for any root, running a program only for the host."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, NamedTuple

from status.probes.tools import DEFAULT_TIMEOUT, ToolResult, ToolRun
from system.sysroot import SystemRoot


class VersionInfo(NamedTuple):
    known: bool
    nixos_version: str | None = None
    nixpkgs_revision: str | None = None
    configuration_revision: str | None = None
    source: str = ""
    reason: str = ""


def start(env: Mapping[str, str] | None = None, timeout: float = DEFAULT_TIMEOUT) -> ToolRun:
    return ToolRun(["nixos-version", "--json"], timeout, env)


def parse(result: ToolResult) -> VersionInfo:
    if not result.ok:
        return VersionInfo(False, reason=result.why())
    data = _version_json(result.stdout.strip())
    if data is None:
        return VersionInfo(False, reason="nixos-version --json printed no JSON object")
    return _info(data, "nixos-version --json")


def embedded(root: SystemRoot, toplevel: str | None) -> VersionInfo:
    """The JSON inside ``<toplevel>/sw/bin/nixos-version``; the version alone from
    ``<toplevel>/nixos-version`` when the script is unreadable."""
    if toplevel is None:
        return VersionInfo(False, reason="no system generation to read")
    script = f"{toplevel}/sw/bin/nixos-version"
    text = root.read_text(script)
    if text is not None:
        for line in text.splitlines():
            data = _version_json(line.strip())
            if data is not None:
                return _info(data, script)
    version = root.read_text(f"{toplevel}/nixos-version")
    if version:
        return VersionInfo(True, nixos_version=version.strip(), source=f"{toplevel}/nixos-version")
    return VersionInfo(False, reason=f"{script} is not readable")


def _version_json(text: str) -> dict[str, Any] | None:
    if not (text.startswith("{") and text.endswith("}")):
        return None
    try:
        data = json.loads(text)
    except ValueError:
        return None
    return data if isinstance(data, dict) and "nixosVersion" in data else None


def _info(data: dict[str, Any], source: str) -> VersionInfo:
    def text(key: str) -> str | None:
        value = data.get(key)
        return value if isinstance(value, str) and value else None
    return VersionInfo(True, text("nixosVersion"), text("nixpkgsRevision"),
                       text("configurationRevision"), source)


def short_revision(revision: str | None) -> str | None:
    """``3f4851e…`` -> ``3f4851e``; a ``-dirty`` suffix (``self.dirtyRev``) is kept."""
    if not revision:
        return None
    dirty = revision.endswith("-dirty")
    base = revision.removesuffix("-dirty")
    return base[:7] + ("-dirty" if dirty else "") if all(c in "0123456789abcdef" for c in base) \
        else revision
