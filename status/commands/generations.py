"""``nixos-build-status generations [--json]``: system and Home Manager generations,
newest first, with their date, NixOS version, kernel, configuration revision and
markers (current = running, booted, latest = what the profile points to)."""

from __future__ import annotations

import argparse
import json
from typing import Any

from status.commands.common import print_out
from status.exitcodes import EXIT_OK


def register(sub: Any) -> None:
    parser = sub.add_parser("generations", help="system and Home Manager generations",
                            description="System and Home Manager generations with their "
                                        "metadata, read under NIXOS_BUILD_ROOT.")
    parser.add_argument("--json", action="store_true", help="print JSON")
    parser.set_defaults(func=run)


def collect() -> dict[str, Any]:
    from status.probes import genlist
    from system.generations import SYSTEM_PROFILE, home_user
    from system.sysroot import SystemRoot

    root = SystemRoot()
    user = home_user()
    hm_profile, hm_entries = genlist.home_manager_generations(root, user)
    return {
        "root": str(root.root),
        "system": {"profile": SYSTEM_PROFILE,
                   "generations": [g.to_json(True) for g in genlist.system_generations(root)]},
        "homeManager": {"user": user.name, "profile": hm_profile,
                        "generations": [g.to_json(False) for g in hm_entries]},
    }


def _markers(entry: dict[str, Any]) -> str:
    return ", ".join(name for name in ("current", "booted", "latest") if entry.get(name))


def _date(value: Any) -> str:
    return str(value)[:16].replace("T", " ") if value else "?"


def _table(rows: list[tuple[str, ...]]) -> list[str]:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return ["  " + "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip()
            for row in rows]


def render(data: dict[str, Any]) -> str:
    lines = []
    system = data["system"]["generations"]
    where = f" under {data['root']}" if data["root"] != "/" else ""
    lines.append(f"System generations ({data['system']['profile']}{where}):")
    if system:
        rows: list[tuple[str, ...]] = [
            ("Generation", "Date", "NixOS version", "Kernel", "Revision", "")]
        rows += [(str(g["generation"]), _date(g["date"]), g["nixosVersion"] or "?",
                  g["kernelVersion"] or "?", (g["configurationRevision"] or "?")[:12],
                  _markers(g)) for g in system]
        lines += _table(rows)
    else:
        lines.append("  none found")
    hm = data["homeManager"]
    lines.append("")
    lines.append(f"Home Manager generations of {hm['user']} ({hm['profile']}):")
    if hm["generations"]:
        rows = [("Generation", "Date", "")]
        rows += [(str(g["generation"]), _date(g["date"]), _markers(g)) for g in hm["generations"]]
        lines += _table(rows)
    else:
        lines.append("  none found")
    return "\n".join(lines) + "\n"


def run(args: argparse.Namespace) -> int:
    data = collect()
    text = json.dumps(data, indent=2) + "\n" if args.json else render(data)
    print_out(text)
    return EXIT_OK
