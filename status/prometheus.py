"""``nixos-build-status --prometheus-textfile DIR``: the report as ``DIR/nixos-status.prom``
for node_exporter's textfile collector (docs/metrics.md).  Loaded only when asked for:
the plain report imports none of this.

What is unknown is left out rather than guessed (no ``nixos_system_in_sync`` when the
running generation cannot be told); ``nixos_status_overall`` always says which of the
report's states the host is in, ``unknown`` included."""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Final, get_args

from records.prometheus import Family, write_textfile
from status.probes.tools import DEFAULT_TIMEOUT, ToolRun
from status.schema import OverallStatus, StatusReport

FILE_NAME: Final = "nixos-status.prom"
KINDS: Final = ("current", "booted", "latest")
_NIX_VERSION: Final = re.compile(r"(\d+\.\d+(?:\.\d+)?\S*)")


def _number(text: str | None) -> int | None:
    """``g42`` (the report's form) or ``42`` -> 42; ``unknown`` -> None."""
    digits = text[1:] if text and text.startswith("g") else text
    return int(digits) if digits and digits.isdigit() else None


def _sync(status: str) -> int | None:
    return {"in-sync": 1, "out-of-sync": 0}.get(status)


def families(report: StatusReport, nix_version: str | None) -> list[Family]:
    g = report.generation
    in_sync = Family("nixos_system_in_sync", "gauge",
                     "1 if the running system is the latest system generation, 0 if not "
                     "(absent when it cannot be told).")
    if (value := _sync(g.status)) is not None:
        in_sync.add(value)
    home = Family("nixos_home_manager_in_sync", "gauge",
                  "1 if the user's Home Manager generation is the latest, 0 if not.")
    if g.home_manager_user and (value := _sync(g.home_manager_status)) is not None:
        home.add(value, user=g.home_manager_user)
    generation = Family("nixos_system_generation", "gauge",
                        "System generation number: current (running), booted, latest "
                        "(the profile's newest).")
    for kind, text in zip(KINDS, (g.generation, g.booted_generation, g.latest_generation),
                          strict=True):
        if (number := _number(text)) is not None:
            generation.add(number, kind=kind)
    failed = Family("nixos_system_failed_units", "gauge",
                    "Failed systemd units of the system (systemctl --failed).")
    if report.boot_status.scopes.get("system") not in (None, "unknown"):
        failed.add(sum(1 for u in report.boot_status.failed_unit_list if u.scope == "system"))
    info = Family("nixos_system_info", "gauge",
                  "Always 1: the running NixOS version, the configuration's revision and "
                  "nix's version as labels.")
    info.add(1, nixos_version=g.nixos_version or "unknown",
             configuration_revision=g.commit_full or "unknown",
             nix_version=nix_version or "unknown")
    overall = Family("nixos_status_overall", "gauge",
                     "1 for the host's overall status in nixos-build-status (success, "
                     "build-errors, degraded, out-of-sync, unknown), 0 for the others.")
    for status in get_args(OverallStatus):
        overall.add(1 if status == report.overall_status else 0, status=status)
    evaluates = Family("nixos_system_flake_evaluates", "gauge",
                       "1 if the configuration's flake evaluated, 0 if it failed (absent "
                       "when not evaluated: --no-eval).")
    if report.buildability.status in ("ok", "failed"):
        evaluates.add(1 if report.buildability.status == "ok" else 0)
    return [in_sync, home, generation, failed, info, overall, evaluates]


def nix_version(env: Mapping[str, str], timeout: float = DEFAULT_TIMEOUT) -> str | None:
    """``nix --version``'s number (``nix (Nix) 2.8.0`` -> ``2.8.0``)."""
    result = ToolRun(["nix", "--version"], timeout, env).result()
    if not result.ok:
        return None
    m = _NIX_VERSION.search(result.stdout)
    return m.group(1) if m else None


def write(directory: Path, report: StatusReport, env: Mapping[str, str],
          timeout: float = DEFAULT_TIMEOUT) -> Path:
    path = directory / FILE_NAME
    directory.mkdir(parents=True, exist_ok=True)
    write_textfile(path, families(report, nix_version(env, timeout)))
    return path
