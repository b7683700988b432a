"""What the record and the stream say about the whole build, from real builds: build
times kept for the next ETA, the slowest builds and the critical path, the closure a
switch changed (real store paths), and what a real binary cache sent."""

from __future__ import annotations

import json
import os
import subprocess
import uuid
from pathlib import Path

import pytest

from tests.conftest import ROOT, run_wrapper
from tests.test_closure import two_systems  # noqa: F401 - the fixture: two real systems

SUCCESS_NAMES = ["zlib-1.3.1", "openssl-3.0.14", "curl-8.9.1", "etc",
                 "nixos-system-demo-24.11.20241124"]


def test_build_times_are_kept_and_give_the_next_build_an_eta(tmp_path: Path) -> None:
    first = run_wrapper(tmp_path, ["os", "build", "--no-nh", "--events", "ndjson"])
    assert first.returncode == 0, first.stderr
    builds = [e for e in first.ndjson() if e["type"] == "progress" and e["scope"] == "builds"]
    assert builds and all(e["etaMs"] is None for e in builds)   # nothing known yet
    times = json.loads((first.log_dir / "build-times.json").read_text())
    assert sorted(times["derivations"]) == ["curl", "etc", "nixos-system-demo", "openssl", "zlib"]
    assert {t["count"] for t in times["derivations"].values()} == {1}

    second = run_wrapper(tmp_path, ["os", "build", "--no-nh", "--events", "ndjson"])
    assert second.returncode == 0, second.stderr
    builds = [e for e in second.ndjson() if e["type"] == "progress" and e["scope"] == "builds"]
    ahead = [e for e in builds if e["done"] < e["expected"]]
    assert ahead and all(isinstance(e["etaMs"], int) for e in ahead)
    times = json.loads((second.log_dir / "build-times.json").read_text())
    assert {t["count"] for t in times["derivations"].values()} == {2}


@pytest.mark.realnix
def test_a_real_build_records_its_slowest_builds_and_critical_path(tmp_path: Path) -> None:
    run = run_wrapper(tmp_path, ["os", "build", "--no-nh", "--events", "ndjson"],
                      FAKE_LIVE_NIX="1", timeout=300)
    assert run.returncode == 0, run.stderr
    took = {e["name"]: e["durationMs"] for e in run.ndjson() if e["type"] == "derivation.finished"}
    record = run.last_build()
    assert [s["name"] for s in record["slowest"]] == sorted(took, key=took.__getitem__, reverse=True)
    # The system needs etc and curl, etc needs curl, curl needs openssl and zlib, openssl
    # needs zlib: every build waited for the one below it.
    assert record["criticalPath"] == ["nixos-system-demo-24.11.20241124", "etc", "curl-8.9.1",
                                      "openssl-3.0.14", "zlib-1.3.1"]
    assert record["criticalPathMs"] == sum(took.values())
    assert record["machines"] == {"local": 5}
    assert record["cache"] == {"built": 5, "substituted": 0, "downloadedBytes": 0,
                               "substituters": []}


@pytest.mark.realnix
def test_a_switch_to_a_real_new_system_records_its_closure_diff(
        tmp_path: Path, two_systems: tuple[str, str]) -> None:  # noqa: F811
    before, after = two_systems
    root = tmp_path / "root"
    profiles = root / "nix/var/nix/profiles"
    profiles.mkdir(parents=True)
    (profiles / "system-1-link").symlink_to(before)
    (profiles / "system").symlink_to("system-1-link")
    (root / "run").mkdir()
    (root / "run/current-system").symlink_to(before)
    (root / "nix/var/nix/db").symlink_to("/nix/var/nix/db")  # the real store's database
    run = run_wrapper(tmp_path, ["os", "switch", "--no-nh"], FAKE_ROOT=str(root),
                      FAKE_TOPLEVEL=after)
    assert run.returncode == 0, run.stderr
    diff = run.last_build()["closureDiff"]
    assert (diff["before"], diff["after"]) == (before, after)
    assert diff["added"] == [{"name": "ripgrep", "versions": ["14.1.0"]}]
    assert diff["removed"] == [{"name": "nano", "versions": ["7.2"]}]
    assert {"name": "hello", "before": ["2.12"], "after": ["2.12.1"]} in diff["changed"]
    assert diff["sizeDelta"] == diff["sizeAfter"] - diff["sizeBefore"] != 0
    # The same as the command shows for the two generations.
    env = dict(os.environ, NIXOS_BUILD_ROOT=str(root), PYTHONPATH=str(ROOT))
    shown = subprocess.run([os.sys.executable, "-m", "status.cli", "generations", "--diff",  # type: ignore[attr-defined]
                            "1", "2", "--json"], env=env, capture_output=True, text=True,
                           timeout=60, check=True)
    assert json.loads(shown.stdout) == diff
    # And in the summary.
    assert "changed: hello 2.12 → 2.12.1" in run.stderr
    assert "added:   ripgrep 14.1.0" in run.stderr


@pytest.mark.realnix
def test_a_home_manager_switch_records_its_closure_diff(
        tmp_path: Path, two_systems: tuple[str, str]) -> None:  # noqa: F811
    before, after = two_systems
    root = tmp_path / "root"
    profiles = root / str(tmp_path / "home/.local/state/nix/profiles").lstrip("/")
    profiles.mkdir(parents=True)
    (profiles / "home-manager-1-link").symlink_to(before)
    (profiles / "home-manager").symlink_to("home-manager-1-link")
    (root / "nix/var/nix/db").mkdir(parents=True)
    (root / "nix/var/nix/db/db.sqlite").symlink_to("/nix/var/nix/db/db.sqlite")
    run = run_wrapper(tmp_path, ["home", "switch", "--no-nh"], FAKE_ROOT=str(root),
                      FAKE_TOPLEVEL=after)
    assert run.returncode == 0, run.stderr
    diff = run.last_build()["closureDiff"]
    assert (diff["before"], diff["after"]) == (before, after)
    assert diff["added"] == [{"name": "ripgrep", "versions": ["14.1.0"]}]


def test_no_new_generation_no_closure_diff(tmp_path: Path) -> None:
    run = run_wrapper(tmp_path, ["os", "test", "--no-nh"], FAKE_ROOT=str(tmp_path / "root"))
    assert run.returncode == 0, run.stderr
    assert run.last_build()["closureDiff"] is None


NIX = ["--option", "sandbox", "false"]


@pytest.mark.realnix
def test_a_real_binary_cache_substitutes_and_is_counted(tmp_path: Path) -> None:
    """zlib and hello come from a real file:// binary cache, the rest is built.  (The
    closure fixture's paths are 10 KB and more: nix 2.8 reports no bytes for a path
    smaller than its 8 KiB copy buffer.)"""
    seed = f"cache-{uuid.uuid4().hex[:12]}"
    top = subprocess.run(
        ["nix-instantiate", str(ROOT / "fixtures/nix/closure.nix"), "--argstr", "seed", seed],
        capture_output=True, text=True, check=True).stdout.strip()
    drvs = subprocess.run(["nix-store", "-qR", top], capture_output=True, text=True,
                          check=True).stdout.split()
    wanted = [d for d in drvs if d.endswith(("-zlib-1.3.1.drv", "-hello-2.12.drv"))]
    outputs = subprocess.run(["nix-store", "--realise", *wanted, *NIX, "--option", "substituters", ""],
                             capture_output=True, text=True, check=True, timeout=300).stdout.split()
    cache = tmp_path / "cache"
    subprocess.run(["nix", "--extra-experimental-features", "nix-command", "copy", "--to",
                    f"file://{cache}", *outputs], capture_output=True, check=True, timeout=120)
    subprocess.run(["nix-store", "--delete", *reversed(outputs)], capture_output=True, check=True)
    sizes = {}
    for out in outputs:
        info = (cache / f"{Path(out).name[:32]}.narinfo").read_text()
        sizes[out] = int(next(line.split()[1] for line in info.splitlines()
                              if line.startswith("NarSize:")))

    run = run_wrapper(tmp_path, ["os", "build", "--no-nh", "--events", "ndjson"],
                      FAKE_LIVE_NIX="1", FAKE_SCENARIO="closure", FAKE_NIX_SEED=seed, timeout=300,
                      FAKE_NIX_ARGS=json.dumps(["--option", "substituters", f"file://{cache}",
                                                "--option", "require-sigs", "false"]))
    assert run.returncode == 0, run.stderr
    events = run.ndjson()
    finished = events[-1]
    assert finished["type"] == "build.finished"
    assert (finished["built"], finished["downloaded"]) == (3, 2)
    assert finished["substituters"] == [{"url": f"file://{cache}", "paths": 2,
                                         "bytes": sum(sizes.values())}]
    assert finished["downloadedBytes"] == sum(sizes.values())
    cache_summary = run.last_build()["cache"]
    assert cache_summary == {"built": 3, "substituted": 2, "downloadedBytes": sum(sizes.values()),
                             "substituters": finished["substituters"]}
    assert "substituted: 2 paths, " in run.stderr and f"from file://{cache} 2 (" in run.stderr


def test_build_and_target_hosts_are_recorded_and_activation_is_the_targets(tmp_path: Path) -> None:
    run = run_wrapper(tmp_path, ["os", "switch", "--no-nh", "--build-host", "root@builder",
                                 "--target-host", "root@web1", "--events", "ndjson"])
    assert run.returncode == 0, run.stderr
    started = run.ndjson()[0]
    assert (started["buildHost"], started["targetHost"]) == ("root@builder", "root@web1")
    record = run.last_build()
    assert (record["buildHost"], record["targetHost"]) == ("root@builder", "root@web1")


def test_the_activation_headline_names_the_target_host() -> None:
    import tempfile

    from parsers.clock import ManualClock
    from parsers.events import Activation, BuildStarted
    from sinks.console_live import LiveConsole
    from tests.test_console import rendered

    out = tempfile.TemporaryFile()  # noqa: SIM115
    live = LiveConsole(out.fileno(), clock=ManualClock(), size=lambda: (100, 30),
                       color_system="standard")
    live.handle([BuildStarted(build_id="t", target="os", target_host="root@web1"),
                 Activation(step="etc", text="setting up /etc...")])
    assert "┏━ activating on root@web1: setting up /etc..." in rendered(out)


def test_the_history_keeps_a_large_closure_diff_short() -> None:
    from records.schema import ClosureChange, LastBuild, PackageChange, history_entry

    change = ClosureChange(before="/nix/store/a", after="/nix/store/b", size_delta=5,
                           changed=[PackageChange(name=f"p{i}", before=["1"], after=["2"])
                                    for i in range(500)])
    entry = history_entry(LastBuild(closure_diff=change))
    assert entry.closure_diff is not None and len(entry.closure_diff.changed) == 20
    assert entry.closure_diff.size_delta == 5 and len(change.changed) == 500
