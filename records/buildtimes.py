"""How long each derivation took to build, kept across builds (``build-times.json`` in
the log directory), for an ETA and for "what is slow" in the record.

Keyed by the derivation's name without hash and version (``openssl``, not
``openssl-3.0.14``): the next version builds in about the same time, and a store hash
never repeats.  The time kept is a moving average that follows the latest builds
(``ALPHA``), with the last time and a count beside it.  At most ``MAX_ENTRIES`` names are
kept, the least recently built go first, so the file stays small whatever is built.

Example::

    {"schemaVersion": 1, "derivations": {"openssl": {"meanMs": 61250, "lastMs": 60100,
     "count": 4, "lastBuilt": "2026-12-02T08:15:04Z"}}}
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path

import msgspec

from parsers.store import split_name
from records.files import atomic_write, locked, read_nofollow

BUILD_TIMES_JSON = "build-times.json"
SCHEMA_VERSION = 1
MAX_ENTRIES = 2000
MAX_FILE_BYTES = 4 << 20  # a damaged or hostile file is not read past this
ALPHA = 0.3  # weight of the newest build in the moving average


class BuildTime(msgspec.Struct, rename="camel", kw_only=True):
    mean_ms: int
    last_ms: int
    count: int = 1
    last_built: str = ""


class BuildTimes(msgspec.Struct, rename="camel", kw_only=True):
    schema_version: int = SCHEMA_VERSION
    derivations: dict[str, BuildTime] = {}


_decoder = msgspec.json.Decoder(BuildTimes)


def key(derivation_name: str) -> str:
    """The name builds are remembered by: no hash, no version, no ``.drv``."""
    name = derivation_name.removesuffix(".drv")
    return split_name(name)[0]


def decode(data: bytes | None) -> BuildTimes:
    """The file's content; empty when it is absent, too large or damaged (a cache of
    timings is worth nothing next to the build it would delay)."""
    if not data or len(data) > MAX_FILE_BYTES:
        return BuildTimes()
    try:
        return _decoder.decode(data)
    except (msgspec.DecodeError, msgspec.ValidationError, RecursionError):
        return BuildTimes()


def load(path: Path) -> BuildTimes:
    try:
        return decode(read_nofollow(path))
    except OSError:
        return BuildTimes()


def updated(times: BuildTimes, finished: Iterable[tuple[str, int]], when: str) -> BuildTimes:
    """``times`` with the builds ``finished`` now (``(derivation name, milliseconds)``)."""
    entries = dict(times.derivations)
    for name, ms in finished:
        if ms < 0:
            continue
        name = key(name)
        old = entries.get(name)
        if old is None:
            entries[name] = BuildTime(mean_ms=ms, last_ms=ms, count=1, last_built=when)
        else:
            mean = round(ALPHA * ms + (1 - ALPHA) * old.mean_ms)
            entries[name] = BuildTime(mean_ms=mean, last_ms=ms, count=old.count + 1,
                                      last_built=when)
    if len(entries) > MAX_ENTRIES:
        newest = sorted(entries.items(), key=lambda kv: kv[1].last_built, reverse=True)
        entries = dict(newest[:MAX_ENTRIES])
    return BuildTimes(derivations=entries)


def save(path: Path, finished: Iterable[tuple[str, int]], when: str) -> None:
    """Add this build's times to the file, under its lock, replacing it atomically."""
    finished = list(finished)
    if not finished:
        return
    with locked(path.with_name(path.name + ".lock")):
        times = updated(load(path), finished, when)
        atomic_write(path, msgspec.json.encode(times) + b"\n")


def estimate(times: BuildTimes, derivation_name: str) -> int | None:
    """Milliseconds this derivation is expected to take; None if never built."""
    entry = times.derivations.get(key(derivation_name))
    return entry.mean_ms if entry is not None else None


def remaining_ms(times: BuildTimes, running: Mapping[str, int], planned: Iterable[str],
                 jobs: int = 1) -> int | None:
    """Expected time left: each running build's expected time less what it has run
    (``running``: name -> elapsed ms), plus the planned builds' expected times shared
    over ``jobs`` builders.  None when nothing of it has been built before."""
    known = False
    longest_running = 0
    for name, elapsed in running.items():
        expected = estimate(times, name)
        if expected is not None:
            known = True
            longest_running = max(longest_running, expected - elapsed)
    queued = 0
    for name in planned:
        expected = estimate(times, name)
        if expected is not None:
            known = True
            queued += expected
    if not known:
        return None
    return max(0, longest_running) + queued // max(1, jobs)
