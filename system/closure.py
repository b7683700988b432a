"""What a new generation changes: the closures of two store paths and their difference
(packages added, removed and changed with their versions, and the size), as nvd shows
it after a switch, but as data.

Closures are read from Nix's own store database (``/nix/var/nix/db/db.sqlite``, under
the :class:`SystemRoot`), read-only: the same table ``nix-store -qR`` and ``nix path-info
-S`` read (``ValidPaths`` with ``narSize``, ``Refs`` between them), without starting a
process and without the daemon.  Every Nix from 2.0 to 2.34 (and Lix) keeps this schema.
A store whose database cannot be read (another machine's, a permission) gives no
closure, never an error.

Package names and versions come from store names (:func:`parsers.store.split_name`), so
``openssl-3.0.14`` and ``openssl-3.0.14-bin`` are one package at one version.  Names
without a version (``etc``, ``unit-foo.service``) count in the size, not in the lists.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping
from typing import NamedTuple

import msgspec

from parsers.store import split_name
from system.sysroot import SystemRoot

STORE_DB = "/nix/var/nix/db/db.sqlite"

_CLOSURE = """
WITH RECURSIVE closure(id) AS (
    SELECT id FROM ValidPaths WHERE path = ?
    UNION
    SELECT Refs.reference FROM Refs JOIN closure ON Refs.referrer = closure.id
)
SELECT ValidPaths.path, ValidPaths.narSize FROM ValidPaths JOIN closure ON ValidPaths.id = closure.id
"""


class PackageVersion(msgspec.Struct, rename="camel", kw_only=True):
    """A package present on one side only."""

    name: str
    versions: list[str]


class VersionChange(msgspec.Struct, rename="camel", kw_only=True):
    """A package whose versions differ between the two closures."""

    name: str
    before: list[str]
    after: list[str]


class ClosureDiff(msgspec.Struct, rename="camel", kw_only=True):
    """Example (``last-build.json``'s ``closureDiff``, ``generations --diff --json``)::

        {"before": "/nix/store/…-nixos-system-demo-24.05", "after": "/nix/store/…-nixos-system-demo-24.11",
         "added": [{"name": "ripgrep", "versions": ["14.1.0"]}],
         "removed": [], "changed": [{"name": "hello", "before": ["2.12"], "after": ["2.12.1"]}],
         "pathsBefore": 812, "pathsAfter": 815, "sizeBefore": 2147483648,
         "sizeAfter": 2150000000, "sizeDelta": 2516352}
    """

    before: str
    after: str
    added: list[PackageVersion] = []
    removed: list[PackageVersion] = []
    changed: list[VersionChange] = []
    paths_before: int = 0
    paths_after: int = 0
    size_before: int = 0
    size_after: int = 0
    size_delta: int = 0


class Closure(NamedTuple):
    path: str
    sizes: dict[str, int]  # every store path of the closure -> its NAR size in bytes

    @property
    def size(self) -> int:
        return sum(self.sizes.values())


def _connect(root: SystemRoot) -> sqlite3.Connection | None:
    path = root.path(STORE_DB)
    # Read-only; ``immutable`` when the WAL's index cannot be opened (a normal user
    # reading root's database): a snapshot of what was checkpointed.
    for options in ("mode=ro", "mode=ro&immutable=1"):
        try:
            db = sqlite3.connect(f"file:{path}?{options}", uri=True, timeout=2.0)
            db.execute("SELECT 1 FROM ValidPaths LIMIT 1")
            return db
        except sqlite3.Error:
            continue
    return None


def closure(root: SystemRoot, path: str) -> Closure | None:
    """The runtime closure of ``path`` (a store path, or a link to one under the root),
    None when the store database has no such path or cannot be read."""
    resolved = root.resolve(path) if not path.startswith("/nix/store/") else path
    if resolved is None:
        return None
    store_path = "/".join(resolved.split("/")[:4])  # /nix/store/<hash>-name
    db = _connect(root)
    if db is None:
        return None
    try:
        rows = db.execute(_CLOSURE, (store_path,)).fetchall()
    except sqlite3.Error:
        return None
    finally:
        db.close()
    if not rows:
        return None
    return Closure(store_path, {p: int(size or 0) for p, size in rows})


def _versions(paths: Mapping[str, int]) -> dict[str, set[str]]:
    packages: dict[str, set[str]] = {}
    for path in paths:
        name, version = split_name(path)
        if version:
            packages.setdefault(name, set()).add(version)
    return packages


def diff(before: Closure, after: Closure) -> ClosureDiff:
    old, new = _versions(before.sizes), _versions(after.sizes)
    return ClosureDiff(
        before=before.path,
        after=after.path,
        added=[PackageVersion(name=n, versions=sorted(new[n])) for n in sorted(new.keys() - old)],
        removed=[PackageVersion(name=n, versions=sorted(old[n]))
                 for n in sorted(old.keys() - new)],
        changed=[VersionChange(name=n, before=sorted(old[n]), after=sorted(new[n]))
                 for n in sorted(old.keys() & new) if old[n] != new[n]],
        paths_before=len(before.sizes),
        paths_after=len(after.sizes),
        size_before=before.size,
        size_after=after.size,
        size_delta=after.size - before.size,
    )


def diff_paths(root: SystemRoot, before: str, after: str) -> ClosureDiff | None:
    """The difference between two store paths' closures; None when either cannot be
    read from the store."""
    old, new = closure(root, before), closure(root, after)
    if old is None or new is None:
        return None
    return diff(old, new)


def human_size(n: int) -> str:
    """``1536`` -> ``1.5 KiB`` (binary units, as nix path-info -h)."""
    value, unit = float(abs(n)), "B"
    for bigger in ("KiB", "MiB", "GiB", "TiB"):
        if value < 1024:
            break
        value, unit = value / 1024, bigger
    text = f"{int(value)} B" if unit == "B" else f"{value:.1f} {unit}"
    return f"-{text}" if n < 0 else text


def describe(change: ClosureDiff) -> list[str]:
    """The difference in a few lines a person reads (nvd's order: changed, added,
    removed, then the size)."""
    lines = [f"  changed: {c.name} {', '.join(c.before)} → {', '.join(c.after)}"
             for c in change.changed]
    lines += [f"  added:   {p.name} {', '.join(p.versions)}" for p in change.added]
    lines += [f"  removed: {p.name} {', '.join(p.versions)}" for p in change.removed]
    delta = human_size(change.size_delta)
    lines.append(f"  closure: {change.paths_before} → {change.paths_after} paths, "
                 f"{human_size(change.size_before)} → {human_size(change.size_after)} "
                 f"({'+' if change.size_delta >= 0 else ''}{delta})")
    return lines
