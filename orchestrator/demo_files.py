"""What the demo brings so its replayed build looks like one on a machine that has
built before, without Nix: the recording's ``.drv`` files (their dependencies, for the
tree), build times of an earlier run (for the ETA), and a store database with the old
and the new system's closures (for the closure diff after the switch).

Everything is written under the demo's own temporary directory; the files have the
formats the real tools read (nix's ATerm ``.drv``, nix's ``db.sqlite`` tables,
``build-times.json``)."""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path

from parsers.clock import ManualClock
from parsers.events import BuildStarted, DerivationFinished
from parsers.stream import LogStream
from records import buildtimes

# Who needs whom in the recorded builds: fixtures/nix/success.nix and build-failure.nix.
NEEDS: dict[str, dict[str, list[str]]] = {
    "success": {
        "nixos-system-demo-24.11.20241124": ["etc", "curl-8.9.1"],
        "etc": ["curl-8.9.1"],
        "curl-8.9.1": ["zlib-1.3.1", "openssl-3.0.14"],
        "openssl-3.0.14": ["zlib-1.3.1"],
    },
    "build-failure": {
        "nixos-system-demo-24.11.20241124": ["broken-tool-0.3.1", "slow-docs-2.1"],
        "broken-tool-0.3.1": ["libbase-1.0"],
    },
}
_DRV = re.compile(rb"/nix/store/[0-9a-z]{32}-[^\"' ]+?\.drv")
# The demo's old and new systems: what a channel update changes.
OLD_SYSTEM = "/nix/store/2f3kqyvv1d2jh6bp6m4fn0a4lq8xw9yz-nixos-system-demo-24.05.20240601"
NEW_SYSTEM = "/nix/store/95cb7fe6c4bc5475ba7c8fcc0c23d70e-nixos-system-demo-24.11.20241124"
_OLD = {"zlib-1.3.1": 120_000, "openssl-3.0.13": 6_500_000, "curl-8.7.1": 1_900_000,
        "nano-7.2": 2_800_000, "etc": 90_000}
_NEW = {"zlib-1.3.1": 120_000, "openssl-3.0.14": 6_600_000, "curl-8.9.1": 2_000_000,
        "ripgrep-14.1.0": 5_200_000, "etc": 95_000}


def write_derivations(directory: Path, recording: bytes, scenario: str) -> None:
    """One ATerm ``.drv`` a recorded derivation, naming its recorded inputs."""
    directory.mkdir(parents=True, exist_ok=True)
    paths = {m.decode() for m in _DRV.findall(recording)}
    by_name = {p.rsplit("/", 1)[1][33:-4]: p for p in paths}
    for name, path in by_name.items():
        inputs = ",".join(f'("{by_name[dep]}",["out"])'
                          for dep in NEEDS.get(scenario, {}).get(name, []) if dep in by_name)
        out = path[:-4].replace(".drv", "")
        (directory / path.rsplit("/", 1)[1]).write_text(
            f'Derive([("out","{out}","","")],[{inputs}],[],"x86_64-linux","/bin/sh",[],'
            f'[("name","{name}")])')


def seed_build_times(logs: Path, recording: bytes, timing: str) -> None:
    """The recording's own build times, as if this machine had built it once before."""
    clock = ManualClock()
    stream = LogStream(clock)
    events = stream.begin(BuildStarted(build_id="demo", source="log"))
    offset, start = 0, clock.monotonic_ms()
    for line in timing.splitlines():
        at, count = line.split()
        clock.advance(max(0, start + round(float(at) * 1000) - clock.monotonic_ms()))
        events += stream.feed(recording[offset:offset + int(count)])
        offset += int(count)
    events += stream.feed(recording[offset:])
    events += stream.end(None)
    times = [(e.name, e.duration_ms) for e in events
             if isinstance(e, DerivationFinished) and e.duration_ms is not None]
    logs.mkdir(parents=True, exist_ok=True)
    buildtimes.save(logs / buildtimes.BUILD_TIMES_JSON, times, "2026-11-24T11:51:06Z")


def store_database(root: Path) -> None:
    """Nix's ``ValidPaths`` and ``Refs`` for the two systems' closures."""
    db_dir = root / "nix/var/nix/db"
    db_dir.mkdir(parents=True, exist_ok=True)
    db = sqlite3.connect(db_dir / "db.sqlite")
    try:
        db.executescript(
            "CREATE TABLE ValidPaths (id integer primary key autoincrement not null, "
            "path text unique not null, hash text not null, registrationTime integer not null, "
            "deriver text, narSize integer, ultimate integer, sigs text, ca text);"
            "CREATE TABLE Refs (referrer integer not null, reference integer not null, "
            "primary key (referrer, reference));")

        def add(path: str, size: int) -> int:
            cursor = db.execute("INSERT OR IGNORE INTO ValidPaths (path, hash, registrationTime, "
                                "narSize) VALUES (?, '', 0, ?)", (path, size))
            if cursor.lastrowid and cursor.rowcount:
                return int(cursor.lastrowid)
            return int(db.execute("SELECT id FROM ValidPaths WHERE path = ?", (path,)).fetchone()[0])

        for top, packages in ((OLD_SYSTEM, _OLD), (NEW_SYSTEM, _NEW)):
            top_id = add(top, 40_000)
            for name, size in packages.items():
                ref = add(f"/nix/store/{_hash(name)}-{name}", size)
                db.execute("INSERT OR IGNORE INTO Refs VALUES (?, ?)", (top_id, ref))
        db.commit()
    finally:
        db.close()


def _hash(name: str) -> str:
    import hashlib

    alphabet = "0123456789abcdfghijklmnpqrsvwxyz"  # nix's base-32
    digest = hashlib.sha256(name.encode()).digest()
    return "".join(alphabet[b % 32] for b in digest[:32])
