"""The Prometheus textfiles against the real engines (Debian's prometheus 2.42 and
prometheus-node-exporter 1.5; .ci/run installs them): three simulated hosts, each with
its own node_exporter reading its textfile directory, one Prometheus scraping them, the
builds run through the fakes; the values asked back from Prometheus's HTTP API.  Also
``promtool check metrics`` on every file and ``promtool test rules`` on the example
alert rules, and the read-back of the previous file (counts kept, garbage ignored)."""

from __future__ import annotations

import contextlib
import json
import shutil
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from parsers.events import BuildFinished, BuildStarted, DownloadFinished
from records.outcome import pipeline_result
from records.prometheus import Family, read_samples, render
from records.schema import ErrorDetail, LastBuild
from sinks.prometheus import FILE_NAME, BuildMetrics, PrometheusTextfile
from sinks.record import BuildRecord
from tests.conftest import ROOT, in_ci, run_wrapper, wrapper_env
from tests.test_status_fakes import FakeSystem

EXAMPLES = ROOT / "examples" / "prometheus"
NODE_EXPORTER = ("prometheus-node-exporter", "node_exporter")
DEADLINE_S = 90.0


def tool(*names: str) -> str:
    for name in names:
        found = shutil.which(name)
        if found:
            return found
    message = f"{names[0]} is not installed (apt-get install prometheus prometheus-node-exporter)"
    if in_ci():
        pytest.fail(message)
    pytest.skip(message)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def started(argv: list[str], log: Path) -> Iterator[subprocess.Popen[bytes]]:
    with log.open("wb") as out:
        proc = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL)
    try:
        yield proc
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=15)


def api(port: int, path: str, **params: str) -> Any:
    url = f"http://127.0.0.1:{port}/api/v1/{path}?{urllib.parse.urlencode(params)}"
    with urllib.request.urlopen(url, timeout=10) as response:
        body = json.load(response)
    assert body["status"] == "success", body
    return body["data"]


def query(port: int, expr: str) -> dict[tuple[tuple[str, str], ...], float]:
    """Instant query: each series' labels (without __name__, instance, job) -> value."""
    out = {}
    for series in api(port, "query", query=expr)["result"]:
        labels = tuple(sorted((k, v) for k, v in series["metric"].items()
                              if k not in ("__name__", "instance", "job")))
        out[labels] = float(series["value"][1])
    return out


def wait_for(check: Any, what: str, deadline_s: float = DEADLINE_S) -> None:
    """Poll until ``check()`` is true; bounded (the engines scrape every second)."""
    deadline = time.monotonic() + deadline_s
    while True:
        with contextlib.suppress(OSError, ValueError, KeyError):
            if check():
                return
        if time.monotonic() > deadline:
            pytest.fail(f"not within {deadline_s:.0f} s: {what}")
        time.sleep(0.5)


HOSTS = {
    # host: (FAKE_SCENARIO, FAKE_ACTIVATION, failed units, running generation of 3)
    "alpha": ("success", "ok", "", 3),
    "beta": ("build-failure", "ok", "", 2),
    "gamma": ("success", "unit-failed", "nginx.service,acme-example.service", 3),
}


def simulate(tmp_path: Path, host: str) -> Path:
    """Two builds and a status report on ``host``; its textfile directory."""
    scenario, activation, units, running = HOSTS[host]
    textfiles = tmp_path / host / "textfiles"
    for _ in range(2):
        run = run_wrapper(tmp_path / host, ["os", "switch", "--no-nh", "--prometheus-textfile",
                                            str(textfiles)],
                          FAKE_SCENARIO=scenario, FAKE_ACTIVATION=activation)
        assert run.returncode == {"success": 4 if activation != "ok" else 0,
                                  "build-failure": 100}[scenario], run.stderr
    machine = FakeSystem(tmp_path / host / "status")
    for n in (1, 2, 3):
        machine.system(n, revision="b7e1f00d" * 5)
    machine.profile(3)
    machine.running(running, booted=running)
    machine.home_manager(7)
    proc = machine.status("--json", "--no-eval", "--prometheus-textfile", str(textfiles),
                          FAKE_FAILED_UNITS=units)
    assert proc.returncode in (0, 1, 2), proc.stderr
    assert "metrics not written" not in proc.stderr
    return textfiles


def test_real_prometheus_scrapes_every_host_through_node_exporter(tmp_path: Path) -> None:
    prometheus, promtool = tool("prometheus"), tool("promtool")
    node_exporter = tool(*NODE_EXPORTER)
    dirs = {host: simulate(tmp_path, host) for host in HOSTS}
    for directory in dirs.values():
        for name in (FILE_NAME, "nixos-status.prom"):
            check = subprocess.run([promtool, "check", "metrics"],
                                   input=(directory / name).read_bytes(),
                                   capture_output=True, timeout=30, check=False)
            assert check.returncode == 0, (name, check.stdout, check.stderr)
        assert sorted(p.name for p in directory.iterdir() if p.suffix == ".prom") == [
            FILE_NAME, "nixos-status.prom"]   # no temporary file left to be collected

    ports = {host: free_port() for host in HOSTS}
    with contextlib.ExitStack() as stack:
        for host, directory in dirs.items():
            stack.enter_context(started([
                node_exporter, f"--web.listen-address=127.0.0.1:{ports[host]}",
                "--collector.disable-defaults", "--collector.textfile",
                f"--collector.textfile.directory={directory}"], tmp_path / f"{host}.log"))
        config = {"global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
                  "scrape_configs": [{"job_name": "node", "static_configs": [
                      {"targets": [f"127.0.0.1:{ports[h]}"], "labels": {"host": h}}
                      for h in HOSTS]}]}
        (tmp_path / "prometheus.yml").write_text(json.dumps(config))  # JSON is YAML
        web = free_port()
        stack.enter_context(started([
            prometheus, f"--config.file={tmp_path / 'prometheus.yml'}",
            f"--storage.tsdb.path={tmp_path / 'tsdb'}",
            f"--web.listen-address=127.0.0.1:{web}"], tmp_path / "prometheus.log"))

        wait_for(lambda: len(query(web, "nixos_system_info")) == 3
                 and len(query(web, "up == 1")) == 3,
                 "Prometheus scraped all three node_exporters")

        assert query(web, "node_textfile_scrape_error") == {
            (("host", h),): 0 for h in HOSTS}
        switch = (("action", "switch"), ("target", "os"))
        assert query(web, "nixos_build_last_success") == {
            (*switch[:1], ("host", "alpha"), switch[1]): 1,
            (*switch[:1], ("host", "beta"), switch[1]): 0,
            (*switch[:1], ("host", "gamma"), switch[1]): 0}
        assert query(web, "nixos_build_last_exit_code") == {
            (*switch[:1], ("host", h), switch[1]): code
            for h, code in (("alpha", 0), ("beta", 100), ("gamma", 4))}
        runs = query(web, "nixos_build_runs_total")
        assert runs == {
            (("action", "switch"), ("host", h), ("result", result), ("target", "os")): 2
            for h, result in (("alpha", "success"), ("beta", "failure"), ("gamma", "failure"))}
        assert query(web, 'nixos_build_last_derivations{state="failed"}') == {
            (("action", "switch"), ("host", h), ("state", "failed"), ("target", "os")): n
            for h, n in (("alpha", 0), ("beta", 1), ("gamma", 0))}
        assert query(web, 'nixos_build_last_result{result="failure"} == 1').keys() == {
            (("action", "switch"), ("host", h), ("result", "failure"), ("target", "os"))
            for h in ("beta", "gamma")}
        assert query(web, "nixos_build_last_success_timestamp_seconds > 0").keys() == {
            (("action", "switch"), ("host", "alpha"), ("target", "os"))}
        assert query(web, "nixos_system_in_sync") == {
            (("host", "alpha"),): 1, (("host", "beta"),): 0, (("host", "gamma"),): 1}
        assert query(web, "nixos_system_failed_units") == {
            (("host", "alpha"),): 0, (("host", "beta"),): 0, (("host", "gamma"),): 2}
        assert query(web, 'nixos_system_generation{host="beta"}') == {
            (("host", "beta"), ("kind", k)): n
            for k, n in (("current", 2), ("booted", 2), ("latest", 3))}
        assert query(web, 'nixos_home_manager_in_sync') == {
            (("host", h), ("user", "alice")): 1 for h in HOSTS}
        info = query(web, 'nixos_system_info{host="alpha"}')
        ((labels, value),) = info.items()
        assert value == 1 and dict(labels)["nixos_version"] == "24.11.20241124.5e4fbfb"
        assert dict(labels)["nix_version"] == "unknown"   # the fake nix has no --version
        assert query(web, 'nixos_status_overall == 1') == {
            (("host", "alpha"), ("status", "success")): 1,
            (("host", "beta"), ("status", "out-of-sync")): 1,
            (("host", "gamma"), ("status", "degraded")): 1}


def test_promtool_runs_the_alert_rules_unit_tests() -> None:
    promtool = tool("promtool")
    check = subprocess.run([promtool, "check", "rules", "alerts.yml"], cwd=EXAMPLES,
                           capture_output=True, text=True, timeout=60, check=False)
    assert check.returncode == 0, check.stdout + check.stderr
    run = subprocess.run([promtool, "test", "rules", "alerts.test.yml"], cwd=EXAMPLES,
                         capture_output=True, text=True, timeout=60, check=False)
    assert run.returncode == 0 and "SUCCESS" in run.stdout, run.stdout + run.stderr


# --- the file, without the engines -------------------------------------------------------


def record(**fields: Any) -> LastBuild:
    base: dict[str, Any] = {"build_id": "b", "target": "os", "action": "switch",
                            "exit_code": 0, "success": True, "build_end": "2026-11-24T11:30:58+00:00",
                            "build_duration_ms": 1500}
    base.update(fields)
    return LastBuild(**base)


def test_counts_survive_runs_and_other_actions_keep_their_last_build(tmp_path: Path) -> None:
    path = tmp_path / FILE_NAME
    for rec in (record(), record(success=False, exit_code=1, build_end="2026-11-25T00:00:00+00:00"),
                record(action="build")):
        metrics = BuildMetrics.from_samples(read_samples(path))
        metrics.add(rec, 0, 0.0)
        path.write_bytes(render(metrics.families()))
    again = BuildMetrics.from_samples(read_samples(path))
    assert again.runs == {("os", "switch", "success"): 1, ("os", "switch", "failure"): 1,
                          ("os", "build", "success"): 1}
    switch = again.last[("os", "switch")]
    assert switch.values["last_success"] == 0 and switch.values["last_exit_code"] == 1
    # the failure keeps the time of the success before it
    assert switch.values["last_success_timestamp_seconds"] == datetime(
        2026, 11, 24, 11, 30, 58, tzinfo=UTC).timestamp()
    assert switch.values["last_run_timestamp_seconds"] == datetime(
        2026, 11, 25, tzinfo=UTC).timestamp()


@pytest.mark.parametrize("garbage", [
    b"\xff\xfe not utf-8",
    b"nixos_build_runs_total{target=\"os\",action=\"switch\",result=\"success\"} NaN\n",
    b"nixos_build_runs_total{target=\"os\",action=\"switch\",result=\"pwned\\\"}\"} 5\n",
    b"nixos_build_runs_total{target=\"../etc\",action=\"switch\",result=\"success\"} 5\n",
    b"nixos_build_runs_total{target=\"os\",action=\"switch\",result=\"success\"} -3\n",
    b"nixos_build_runs_total{target=\"os\" 5\n",
    b"x" * (2 << 20),
])
def test_a_damaged_or_hostile_previous_file_starts_over(tmp_path: Path, garbage: bytes) -> None:
    path = tmp_path / FILE_NAME
    path.write_bytes(garbage)
    metrics = BuildMetrics.from_samples(read_samples(path))
    metrics.add(record(), 0, 0.0)
    assert metrics.runs == {("os", "switch", "success"): 1}


def test_a_symlink_is_not_read_back(tmp_path: Path) -> None:
    secret = tmp_path / "secret"
    secret.write_text('nixos_build_runs_total{target="os",action="switch",result="success"} 9\n')
    (tmp_path / FILE_NAME).symlink_to(secret)
    assert read_samples(tmp_path / FILE_NAME) == []


def test_label_values_and_help_are_escaped() -> None:
    text = render([Family("x_info", "gauge", "a \\ help\nline").add(1, v='a"b\\c\nd')]).decode()
    assert text == ('# HELP x_info a \\\\ help\\nline\n# TYPE x_info gauge\n'
                    'x_info{v="a\\"b\\\\c\\nd"} 1\n')


@pytest.mark.parametrize(("fields", "expected"), [
    ({}, "success"),
    ({"success": False, "exit_code": 1}, "failure"),
    ({"success": False, "exit_code": 4,
      "error_details": [ErrorDetail(kind="activation", message="unit failed")]}, "failure"),
    ({"success": False, "exit_code": 130, "interrupted": True}, "cancellation"),
    ({"success": False, "exit_code": 143, "signal": 15}, "cancellation"),
    ({"success": False, "exit_code": 137, "signal": 9}, "error"),
    ({"success": False, "exit_code": 127}, "error"),
    ({"success": False, "exit_code": None}, "error"),
    ({"success": False, "exit_code": 1,
      "error_details": [ErrorDetail(kind="out-of-space", message="No space left")]}, "error"),
    ({"success": False, "exit_code": 1,
      "error_details": [ErrorDetail(kind="timeout", message="timed out after 3600 s")]},
     "timeout"),
    ({"success": False, "exit_code": 124}, "timeout"),
])
def test_outcome_is_cicd_pipeline_result(fields: dict[str, Any], expected: str) -> None:
    assert pipeline_result(record(**fields)) == expected


def test_builds_finishing_together_both_count(tmp_path: Path) -> None:
    """The read-back and the rename happen under the lock: no count is lost."""
    textfiles = tmp_path / "textfiles"
    procs = []
    for n in range(3):
        env = wrapper_env(tmp_path / str(n))
        procs.append(subprocess.Popen(
            [sys.executable, "-m", "orchestrator.wrapper_cli", "--log-dir",
             str(tmp_path / str(n) / "logs"), "os", "build", "--no-nh", "--quiet",
             "--prometheus-textfile", str(textfiles)],
            env=env, cwd=ROOT, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL))
    assert [p.wait(timeout=120) for p in procs] == [0, 0, 0]
    samples = read_samples(textfiles / FILE_NAME)
    (runs,) = [s for s in samples if s.name == "nixos_build_runs_total"]
    assert runs.value == 3


def test_download_bytes_are_the_substitutions_of_the_build(tmp_path: Path) -> None:
    build = BuildRecord()
    sink = PrometheusTextfile(tmp_path, build, clock=lambda: 0.0)
    events = [BuildStarted(build_id="b", target="os", action="switch",
                           ts="2026-11-24T11:30:00.000Z"),
              DownloadFinished(path="/nix/store/a-x", name="x", bytes=1000),
              DownloadFinished(path="/nix/store/b-y", name="y", bytes=24),
              DownloadFinished(path="/nix/store/c-z", name="z", bytes=None),
              BuildFinished(exit_code=0, success=True, downloaded=3, duration_ms=2000,
                            ts="2026-11-24T11:30:02.000Z")]
    build.handle(events)
    sink.handle(events)
    sink.close()
    values = {(s.name, s.labels.get("state")): s.value for s in read_samples(tmp_path / FILE_NAME)}
    assert values[("nixos_build_last_download_bytes", None)] == 1024
    assert values[("nixos_build_last_derivations", "substituted")] == 3
    assert values[("nixos_build_last_duration_seconds", None)] == 2
