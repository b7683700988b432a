"""``nixos-build-status history``: the recorded builds, newest first, with the mean
duration, read from build-history.json (also as the wrapper really writes it)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import run_wrapper, wrapper_env
from tests.test_status_fakes import FakeSystem


def build(i: int, success: bool = True, **extra: Any) -> dict[str, Any]:
    return {"buildId": f"id-{i}", "buildStart": f"2024-11-{i:02d}T10:00:00+00:00",
            "buildDuration": 60 * i, "target": "os", "action": "switch", "tool": "nh",
            "success": success, "exitCode": 0 if success else 1,
            "errors": "" if success else f"error: broken {i}\nerror: consequence", **extra}


@pytest.fixture
def machine(tmp_path: Path) -> FakeSystem:
    fake = FakeSystem(tmp_path)
    fake.history([build(i, success=i % 3 != 0) for i in range(1, 13)])  # 3, 6, 9, 12 failed
    return fake


def history(fake: FakeSystem, *args: str) -> dict[str, Any]:
    proc = fake.status("history", "--json", *args)
    assert proc.returncode == 0, proc.stderr
    return dict(json.loads(proc.stdout))


def test_last_ten_newest_first_with_mean(machine: FakeSystem) -> None:
    data = history(machine)
    assert [b["buildId"] for b in data["builds"]] == [f"id-{i}" for i in range(12, 2, -1)]
    assert (data["total"], data["shown"], data["succeeded"], data["failed"]) == (12, 10, 6, 4)
    assert data["meanDuration"] == sum(60 * i for i in range(3, 13)) / 10


def test_count_and_failed_only(machine: FakeSystem) -> None:
    assert [b["buildId"] for b in history(machine, "-n", "2")["builds"]] == ["id-12", "id-11"]
    failed = history(machine, "--failed", "-n", "3")
    assert [b["buildId"] for b in failed["builds"]] == ["id-12", "id-9", "id-6"]
    assert failed["succeeded"] == 0 and failed["meanDuration"] == 540.0
    assert history(machine, "-n", "0")["shown"] == 12  # 0: all


def test_millisecond_durations_are_preferred(tmp_path: Path) -> None:
    fake = FakeSystem(tmp_path)
    fake.history([build(1, buildDuration=0, buildDurationMs=400), build(2, buildDuration=1,
                                                                        buildDurationMs=1100)])
    assert history(fake)["meanDuration"] == 0.8


def test_human_table(machine: FakeSystem) -> None:
    lines = machine.status("history", "-n", "3").stdout.splitlines()
    assert lines[0].split() == ["Start", "Target", "Action", "Tool", "Result", "Duration", "Error"]
    assert lines[1].startswith("2024-11-12 10:00 UTC  os")
    assert "failed (1)" in lines[1] and lines[1].endswith("error: broken 12")
    assert "ok" in lines[2].split()
    assert lines[-1] == "3 of 12 builds: 2 succeeded, 1 failed; mean duration 11m 00s"


def test_no_history_yet(tmp_path: Path) -> None:
    fake = FakeSystem(tmp_path)
    proc = fake.status("history")
    assert proc.returncode == 0
    assert proc.stdout == f"No builds recorded in {fake.log_dir}\n"
    assert history(fake)["builds"] == []


def test_damaged_history_is_reported(machine: FakeSystem) -> None:
    (machine.log_dir / "build-history.json").write_text('{"not": "a list"}')
    proc = machine.status("history")
    assert proc.returncode == 1
    assert "is not a JSON list" in proc.stderr


def test_history_the_wrapper_wrote(tmp_path: Path) -> None:
    for scenario in ("success", "build-failure", "success"):
        run_wrapper(tmp_path, ["os", "build", "--no-nh"], FAKE_SCENARIO=scenario)
    env = wrapper_env(tmp_path)
    fake = FakeSystem(tmp_path / "status")
    proc = fake.status("history", "--json", "--log-dir", str(tmp_path / "logs"),
                       env={**fake.env(), "PATH": env["PATH"]})
    data = json.loads(proc.stdout)
    assert [b["success"] for b in data["builds"]] == [True, False, True]
    assert data["builds"][1]["errors"].startswith("error: builder for")
    assert data["meanDuration"] is not None
