"""Build times kept across builds: keys, the moving average, bounds, damaged files."""

from __future__ import annotations

import threading
from pathlib import Path

import msgspec
import pytest
from hypothesis import given
from hypothesis import strategies as st

from records import buildtimes
from records.buildtimes import BuildTimes, estimate, key, load, remaining_ms, save, updated


def test_builds_are_remembered_by_name_without_version_or_hash() -> None:
    assert key("openssl-3.0.14") == "openssl"
    assert key("/nix/store/mn1ndvl7kaspp8qcmjsg3r01i3pgc648-zlib-1.3.1.drv") == "zlib"
    assert key("etc") == "etc"


def test_the_average_follows_the_latest_builds() -> None:
    times = updated(BuildTimes(), [("openssl-3.0.14", 60_000)], "2026-12-01T00:00:00Z")
    times = updated(times, [("openssl-3.0.15", 80_000)], "2026-12-02T00:00:00Z")
    entry = times.derivations["openssl"]
    assert (entry.last_ms, entry.count, entry.last_built) == (80_000, 2, "2026-12-02T00:00:00Z")
    assert 60_000 < entry.mean_ms < 80_000
    assert estimate(times, "openssl-3.1.0") == entry.mean_ms
    assert estimate(times, "never-built-1.0") is None


def test_the_least_recently_built_names_go_first(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(buildtimes, "MAX_ENTRIES", 3)
    times = BuildTimes()
    for day, name in enumerate(["a-1", "b-1", "c-1", "d-1"], start=1):
        times = updated(times, [(name, 1000)], f"2026-12-0{day}T00:00:00Z")
    assert sorted(times.derivations) == ["b", "c", "d"]


@given(st.binary(max_size=200))
def test_a_damaged_file_reads_as_empty(data: bytes) -> None:
    assert isinstance(buildtimes.decode(data), BuildTimes)


def test_nested_or_huge_files_read_as_empty(tmp_path: Path) -> None:
    assert buildtimes.decode(b"[" * 100_000 + b"]" * 100_000).derivations == {}
    big = tmp_path / "build-times.json"
    big.write_bytes(b" " * (buildtimes.MAX_FILE_BYTES + 1))
    assert load(big).derivations == {}


def test_concurrent_builds_keep_every_time(tmp_path: Path) -> None:
    path = tmp_path / buildtimes.BUILD_TIMES_JSON
    threads = [threading.Thread(target=save, args=(path, [(f"pkg{i}-1.0", 1000 + i)],
                                                  "2026-12-02T00:00:00Z")) for i in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    data = msgspec.json.decode(path.read_bytes())
    assert sorted(data["derivations"]) == sorted(f"pkg{i}" for i in range(20))
    assert data["schemaVersion"] == 1


def test_remaining_time() -> None:
    times = updated(BuildTimes(), [("gcc-13", 600_000), ("hello-2", 10_000),
                                   ("curl-8", 40_000)], "2026-12-02T00:00:00Z")
    assert remaining_ms(times, {"gcc-13.2": 100_000}, ["hello-2.12", "curl-8.9"], jobs=2) == \
        500_000 + 25_000
    assert remaining_ms(times, {}, ["unknown-1"]) is None
    assert remaining_ms(times, {"gcc-13.2": 900_000}, []) == 0
