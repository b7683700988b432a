"""``nixos-build-status generations [--json]``: system and Home Manager generations,
newest first, with their date, NixOS version, kernel, configuration revision and
markers (current = running, booted, latest = what the profile points to)."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from status.commands.common import print_out
from status.exitcodes import EXIT_OK, EXIT_USAGE


def register(sub: Any) -> None:
    parser = sub.add_parser("generations", help="system and Home Manager generations",
                            description="System and Home Manager generations with their "
                                        "metadata, read under NIXOS_BUILD_ROOT.")
    parser.add_argument("--json", action="store_true", help="print JSON")
    parser.add_argument("--diff", nargs=2, metavar=("A", "B"),
                        help="what changed from generation A to B (numbers, or store paths): "
                             "packages added, removed and changed, and the closure's size")
    parser.add_argument("--home", action="store_true",
                        help="with --diff: Home Manager generations instead of the system's")
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


def _generation_path(root: Any, which: str, home: bool) -> str | None:
    """A generation number's store path (its link's target), or a path as given."""
    if not which.isdigit():
        return which
    from system.generations import SYSTEM_PROFILES, home_manager_profiles, home_user

    if home:
        link = f"{home_manager_profiles(root, home_user())}/home-manager-{which}-link"
    else:
        link = f"{SYSTEM_PROFILES}/system-{which}-link"
    target = root.readlink(link)
    return target if target is not None else None


def run_diff(args: argparse.Namespace) -> int:
    import msgspec

    from system.closure import describe, diff_paths
    from system.sysroot import SystemRoot

    root = SystemRoot()
    before, after = (_generation_path(root, a, args.home) for a in args.diff)
    missing = [a for a, p in zip(args.diff, (before, after), strict=True) if p is None]
    if missing or before is None or after is None:
        sys.stderr.write(f"nixos-build-status: no such generation: {', '.join(missing)}\n")
        return EXIT_USAGE
    change = diff_paths(root, before, after)
    if change is None:
        sys.stderr.write("nixos-build-status: the store has no closure for "
                         f"{before} or {after} (not built here, or garbage-collected)\n")
        return EXIT_USAGE
    if args.json:
        print_out(msgspec.json.encode(change).decode() + "\n")
    else:
        a, b = args.diff
        print_out(f"Closure of {a} → {b}:\n" + "\n".join(describe(change)) + "\n")
    return EXIT_OK


def run(args: argparse.Namespace) -> int:
    if args.diff:
        return run_diff(args)
    data = collect()
    text = json.dumps(data, indent=2) + "\n" if args.json else render(data)
    print_out(text)
    return EXIT_OK
