"""The live console as nom draws it: the dependency tree of real derivations (the real
nix-instantiate writes them), collapsed for thousands of derivations and narrow
terminals, transfers with bytes and rate, the evaluation and activation, the ETA from
earlier builds, the final state kept, and a terminal that reports 0x0."""

from __future__ import annotations

import subprocess
import tempfile
import time

import pytest

from parsers.clock import ManualClock
from parsers.events import (
    Activation,
    ActivityStarted,
    BuildFinished,
    BuildStarted,
    DerivationFailed,
    DerivationFinished,
    DerivationStarted,
    DownloadStarted,
    LogLine,
    Phase,
    Plan,
    Progress,
    UnitFailed,
)
from parsers.store import drv_name
from records.buildtimes import BuildTime, BuildTimes
from sinks.console_live import LiveConsole
from sinks.drv_graph import DrvGraph, critical_path
from sinks.eta import Eta
from tests.conftest import ROOT
from tests.test_console import rendered


def console(clock: ManualClock, size: tuple[int, int] = (100, 30), **kwargs):
    out = tempfile.TemporaryFile()  # noqa: SIM115 - read after the console wrote
    return LiveConsole(out.fileno(), clock=clock, size=lambda: size, color_system="standard",
                       **kwargs), out


@pytest.fixture(scope="module")
def success_drvs() -> dict[str, str]:
    """name -> .drv path of fixtures/nix/success.nix, written by the real nix."""
    top = subprocess.run(
        ["nix-instantiate", str(ROOT / "fixtures/nix/success.nix"), "--argstr", "seed", "tree-view"],
        capture_output=True, text=True, check=True).stdout.strip()
    paths = subprocess.run(["nix-store", "-qR", top], capture_output=True, text=True,
                           check=True).stdout.split()
    return {drv_name(p): p for p in paths if p.endswith(".drv")}


@pytest.mark.realnix
def test_running_builds_are_drawn_under_what_needs_them(success_drvs: dict[str, str]) -> None:
    drvs = success_drvs
    clock = ManualClock()
    live, out = console(clock)
    live.handle([BuildStarted(build_id="t", target="os"), Plan(builds=list(drvs.values()))])
    clock.advance(500)
    live.handle([DerivationStarted(drv_path=drvs["zlib-1.3.1"], name="zlib-1.3.1")])
    clock.advance(2000)
    live.handle([DerivationFinished(drv_path=drvs["zlib-1.3.1"], name="zlib-1.3.1"),
                 DerivationStarted(drv_path=drvs["openssl-3.0.14"], name="openssl-3.0.14"),
                 Phase(drv_path=drvs["openssl-3.0.14"], name="openssl-3.0.14", phase="buildPhase"),
                 LogLine(text="  CC  ssl.o", source="build", drv_path=drvs["openssl-3.0.14"])])
    clock.advance(1000)
    live.tick()
    screen = rendered(out).splitlines()
    # The top-level system, then down the first branch to what runs: the system needs
    # etc and curl, curl is drawn under etc (once), openssl under curl.
    body = [line.removeprefix("┃ ") for line in screen if line.startswith("┃")]
    assert body[:4] == [
        "⏸ nixos-system-demo-24.11.20241124",
        "└─ ⏸ etc",
        "   └─ ⏸ curl-8.9.1",
        "      └─ ⏵ openssl-3.0.14  buildPhase  ⏱ 1.0s",
    ]
    assert body[4] == "         │   CC  ssl.o"     # its log under it
    assert screen[-1].startswith("┗━ ⏵ 1 │ ✔ 1 │ ⏸ 3 │ ⏱ 3.5s")


def test_thousands_of_derivations_fit_the_screen_and_a_narrow_terminal() -> None:
    # A chain of 40 levels over 3000 derivations, 200 of them running.
    store = "/nix/store/" + "x" * 32
    paths = [f"{store[:-len(str(i))]}{i}-pkg{i}-1.0.drv" for i in range(3000)]
    inputs = {p: [paths[i + 1], paths[min(i // 75 * 75 + 74, i + 2 + i * 7 % 40)]] if i % 75 and i < 2999 else []
              for i, p in enumerate(paths)}
    graph = DrvGraph(read=lambda p: None)
    graph._inputs = inputs                     # what the .drv files would say
    graph.edges = sum(map(len, inputs.values()))
    for size in ((120, 40), (40, 20)):
        clock = ManualClock()
        live, out = console(clock, size=size, graph=graph)
        live.handle([Plan(builds=paths)])
        live.handle([DerivationStarted(drv_path=p, name=drv_name(p)) for p in paths[::15]])
        clock.advance(200)
        t0 = time.perf_counter()
        live.tick()
        took = time.perf_counter() - t0
        assert took < 5  # not a timing test: a frame of 3000 derivations does not hang
        screen = rendered(out, size).splitlines()
        block = [line for line in screen if line[:1] in "┏┃┗"]
        assert len(block) <= size[1] - 2            # it can always be erased
        assert all(len(line) <= size[0] for line in screen)
        assert any(line.startswith("┃ … ") and line.endswith(" more") for line in block)
        assert block[-1].startswith("┗━ ⏵ 200 │ ✔ 0 │ ⏸ 2800")


def test_transfers_show_bytes_rate_and_source() -> None:
    clock = ManualClock()
    live, out = console(clock)
    path = "/nix/store/" + "a" * 32 + "-firefox-133.0"
    live.handle([DownloadStarted(path=path, name="firefox-133.0", source="https://cache.nixos.org")])
    clock.advance(2000)
    live.handle([Progress(scope="copy-path", path=path, done=8 << 20, expected=64 << 20)])
    clock.advance(200)
    live.tick()
    assert ("↓ firefox-133.0  8.0/64.0 MiB  4.0 MiB/s  from https://cache.nixos.org"
            in rendered(out))


def test_the_evaluation_shows_what_and_for_how_long() -> None:
    clock = ManualClock()
    live, out = console(clock)
    live.handle([ActivityStarted(id=1, activity="unknown",
                                 text="evaluating file '/etc/nixos/flake.nix'")])
    clock.advance(4200)
    live.tick()
    assert "┏━ evaluating: evaluating file '/etc/nixos/flake.nix'  ⏱ 4.2s" in rendered(out)


def test_activation_steps_stay_in_order_and_failed_units_are_red() -> None:
    clock = ManualClock()
    live, out = console(clock)
    warning = "warning: the following units failed: demo-web.service, nginx.service"
    live.handle([LogLine(text="setting up /etc..."),
                 Activation(step="etc", text="setting up /etc..."),
                 LogLine(text="starting the following units: demo-web.service"),
                 Activation(step="start", text="starting the following units: demo-web.service",
                            units=["demo-web.service"]),
                 LogLine(text=warning),
                 UnitFailed(unit="demo-web.service", text=warning),
                 UnitFailed(unit="nginx.service", text=warning)])
    clock.advance(200)
    live.tick()
    lines = rendered(out).splitlines()
    assert lines[:3] == ["⚙ setting up /etc...",
                         "⚙ starting the following units: demo-web.service", warning]
    out.seek(0)
    raw = out.read().decode()
    assert raw.count(warning) == 1
    assert f"\x1b[1;31m{warning}" in raw            # bold red
    assert "┏━ activating: starting the following units" in rendered(out)


def test_a_terminal_reporting_0x0_gets_a_default_size() -> None:
    clock = ManualClock()
    live, out = console(clock, size=(0, 0))
    live.handle([DerivationStarted(drv_path="/nix/store/" + "b" * 32 + "-hello-2.12.drv",
                                   name="hello-2.12")])
    screen = rendered(out, (80, 24))
    assert "┃ ⏵ hello-2.12  ⏱ 0.0s" in screen
    assert "┗━ ⏵ 1 │ ✔ 0 │ ⏸ 0 │ ⏱ 0.0s" in screen


def test_the_eta_comes_from_earlier_builds() -> None:
    times = BuildTimes(derivations={"hello": BuildTime(mean_ms=65_000, last_ms=60_000),
                                    "openssl": BuildTime(mean_ms=120_000, last_ms=120_000)})
    clock = ManualClock()
    live, out = console(clock, build_times=times)
    hello = "/nix/store/" + "c" * 32 + "-hello-2.12.1.drv"
    openssl = "/nix/store/" + "d" * 32 + "-openssl-3.0.15.drv"
    live.handle([Plan(builds=[hello, openssl]), DerivationStarted(drv_path=hello, name="hello-2.12.1")])
    clock.advance(15_000)
    live.tick()
    screen = rendered(out)
    assert "⏵ hello-2.12.1  ⏱ 15.0s of ~1m05s" in screen
    assert "⏳ ~2m50s left" in screen                 # 50 s of hello, then 2 min of openssl


def test_eta_in_progress_events() -> None:
    times = BuildTimes(derivations={"hello": BuildTime(mean_ms=10_000, last_ms=10_000)})
    eta = Eta(times)
    hello = "/nix/store/" + "c" * 32 + "-hello-2.12.1.drv"
    unknown = "/nix/store/" + "e" * 32 + "-new-thing-1.drv"
    eta.annotate([Plan(builds=[hello, unknown]),
                  DerivationStarted(drv_path=hello, name="hello-2.12.1")], 0)
    progress = Progress(scope="builds", done=0, expected=2, running=1)
    eta.annotate([progress], 4000)
    assert progress.eta_ms == 6000     # what hello took before, less its 4 s so far
    nothing_known = Eta(BuildTimes())
    progress = Progress(scope="builds", done=0, expected=1, running=1)
    nothing_known.annotate([Plan(builds=[unknown]), progress], 0)
    assert progress.eta_ms is None


def test_the_final_state_stays_with_the_failure_in_its_place() -> None:
    clock = ManualClock()
    top, broken = ("/nix/store/" + c * 32 + name for c, name in (("t", "-top.drv"), ("b", "-broken-1.drv")))
    graph = DrvGraph(read={top: f'Derive([],[("{broken}",["out"])],[],"s","b",[],[])'}.get)
    live, out = console(clock, graph=graph)
    live.handle([BuildStarted(build_id="t", target="os"), Plan(builds=[top, broken]),
                 DerivationStarted(drv_path=broken, name="broken-1")])
    clock.advance(1500)
    live.handle([DerivationFailed(drv_path=broken, name="broken-1", exit_code=2, duration_ms=1500),
                 BuildFinished(exit_code=1, success=False, duration_ms=1600, failed=1)])
    live.close()
    screen = rendered(out)
    assert "┏━ NixOS: build failed\n┃ ⏸ top\n┃ └─ ⚠ broken-1\n┗━ ✔ 0 │ ⏸ 1 │ ⚠ 1 │ ⏱ 1.6s" in screen
    assert "✘ build failed (exit code 1)" in screen


def test_critical_path_is_the_longest_chain_of_builds() -> None:
    needs = {"top": ["a", "b"], "a": ["c"], "b": [], "c": []}
    took = {"top": 1000, "a": 5000, "b": 9000, "c": 6000}
    assert critical_path(needs, took) == (12_000, ["top", "a", "c"])
