"""``--journal`` against a real systemd-journald: a journal namespace of the test's own
(``systemd-journald NAMESPACE``: its socket under /run/systemd/journal.NAMESPACE, its
files under /var/log/journal/MACHINE-ID.NAMESPACE, both removed afterwards), builds
through the fakes, the entries read back with ``journalctl --namespace -o json``.  And
the protocol's binary form for values holding a newline, decoded per the protocol's
documentation."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import socket
import struct
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from sinks.journal import IDENTIFIER, MESSAGE_IDS, SOCKET_ENV, encode
from tests.conftest import in_ci, run_wrapper

JOURNALD = Path("/lib/systemd/systemd-journald")
DEADLINE_S = 30.0


def _unavailable(why: str) -> None:
    if in_ci():
        pytest.fail(why)
    pytest.skip(why)


@contextlib.contextmanager
def journal_namespace(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    if not JOURNALD.exists() or shutil.which("journalctl") is None:
        _unavailable("systemd-journald is not installed (Debian's systemd package)")
    if os.geteuid() != 0:
        _unavailable("systemd-journald needs root to run a namespace")
    namespace = f"nbstest{uuid.uuid4().hex[:10]}"
    runtime = Path(f"/run/systemd/journal.{namespace}")
    machine_id = Path("/etc/machine-id").read_text().strip()
    stored = [Path(f"/var/log/journal/{machine_id}.{namespace}"),
              Path(f"/run/log/journal/{machine_id}.{namespace}")]
    with (tmp_path / "journald.log").open("wb") as log:
        proc = subprocess.Popen([str(JOURNALD), namespace], stdout=log, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + DEADLINE_S
        while not (runtime / "socket").exists():
            if proc.poll() is not None or time.monotonic() > deadline:
                _unavailable(f"systemd-journald {namespace} did not start: "
                             f"{(tmp_path / 'journald.log').read_text()}")
            time.sleep(0.05)
        yield namespace, runtime / "socket"
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=15)
        for path in (runtime, *stored):
            shutil.rmtree(path, ignore_errors=True)


def entries(namespace: str, count: int) -> list[dict[str, Any]]:
    """Our entries in the namespace, once ``count`` have arrived (bounded wait)."""
    deadline = time.monotonic() + DEADLINE_S
    while True:
        proc = subprocess.run(["journalctl", f"--namespace={namespace}", "-o", "json",
                               "--no-pager", f"SYSLOG_IDENTIFIER={IDENTIFIER}"],
                              capture_output=True, text=True, timeout=30, check=False)
        found = [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]
        if len(found) >= count or time.monotonic() > deadline:
            return found
        time.sleep(0.2)


def test_a_real_journald_gets_the_builds_entries(tmp_path: Path) -> None:
    with journal_namespace(tmp_path) as (namespace, path):
        ok = run_wrapper(tmp_path / "ok", ["os", "switch", "--no-nh", "--journal"],
                         **{SOCKET_ENV: str(path)})
        assert ok.returncode == 0, ok.stderr
        failed = run_wrapper(tmp_path / "failed", ["os", "switch", "--no-nh"],
                             FAKE_SCENARIO="build-failure", NIXOS_BUILD_JOURNAL="1",
                             **{SOCKET_ENV: str(path)})
        assert failed.returncode == 100, failed.stderr
        units = run_wrapper(tmp_path / "units", ["os", "switch", "--no-nh", "--journal"],
                            FAKE_ACTIVATION="unit-failed", **{SOCKET_ENV: str(path)})
        assert units.returncode == 4, units.stderr
        found = entries(namespace, 7)

    by_build: dict[str, list[dict[str, Any]]] = {}
    for entry in found:
        by_build.setdefault(entry["NIXOS_BUILD_ID"], []).append(entry)
    ids = [run.last_build()["buildId"] for run in (ok, failed, units)]
    assert list(by_build) == ids
    for entry in found:
        assert entry["_TRANSPORT"] == "journal"
        assert entry["MESSAGE_ID"] == MESSAGE_IDS[entry["NIXOS_BUILD_EVENT"]]
        assert "\n" not in entry["MESSAGE"]
        assert (entry["NIXOS_BUILD_TARGET"], entry["NIXOS_BUILD_ACTION"]) == ("os", "switch")

    events = {b: [e["NIXOS_BUILD_EVENT"] for e in by_build[b]] for b in ids}
    assert events[ids[0]] == ["build.started", "build.finished"]   # no log lines, ever
    assert events[ids[1]] == ["build.started", "derivation.failed", "build.finished"]
    assert events[ids[2]][0] == "build.started" and events[ids[2]][-1] == "build.finished"
    assert "unit.failed" in events[ids[2]]

    end = {b: by_build[b][-1] for b in ids}
    assert (end[ids[0]]["NIXOS_BUILD_RESULT"], end[ids[0]]["PRIORITY"],
            end[ids[0]]["NIXOS_BUILD_EXIT_CODE"]) == ("success", "6", "0")
    assert (end[ids[1]]["NIXOS_BUILD_RESULT"], end[ids[1]]["PRIORITY"],
            end[ids[1]]["NIXOS_BUILD_EXIT_CODE"]) == ("failure", "3", "100")
    assert end[ids[1]]["NIXOS_BUILD_ERROR_TYPE"] == "build-failure"
    drv = next(e for e in by_build[ids[1]] if e["NIXOS_BUILD_EVENT"] == "derivation.failed")
    assert drv["NIXOS_BUILD_DRV"].endswith("-broken-tool-0.3.1.drv")
    assert drv["MESSAGE"] == "broken-tool-0.3.1 failed with exit code 2"
    unit = next(e for e in by_build[ids[2]] if e["NIXOS_BUILD_EVENT"] == "unit.failed")
    assert unit["NIXOS_BUILD_UNIT"].endswith(".service") and unit["PRIORITY"] == "3"
    assert end[ids[2]]["NIXOS_BUILD_RESULT"] == "failure"
    assert end[ids[2]]["NIXOS_BUILD_EXIT_CODE"] == "4"


def test_no_journal_socket_switches_the_sink_off_once_and_the_build_goes_on(
        tmp_path: Path) -> None:
    run = run_wrapper(tmp_path, ["os", "switch", "--no-nh", "--journal"],
                      **{SOCKET_ENV: str(tmp_path / "no-such-socket")})
    assert run.returncode == 0
    assert run.stderr.count("journal switched off") == 1
    assert run.last_build()["success"] is True


def decode(datagram: bytes) -> list[tuple[str, str]]:
    """The native protocol, per its documentation (systemd.io/JOURNAL_NATIVE_PROTOCOL)."""
    fields, pos = [], 0
    while pos < len(datagram):
        end = datagram.index(b"\n", pos)
        line = datagram[pos:end]
        if b"=" in line:
            key, _, value = line.partition(b"=")
            pos = end + 1
        else:
            key = line
            (size,) = struct.unpack("<Q", datagram[end + 1:end + 9])
            value = datagram[end + 9:end + 9 + size]
            assert datagram[end + 9 + size:end + 10 + size] == b"\n"
            pos = end + 10 + size
        fields.append((key.decode(), value.decode()))
    return fields


def test_values_with_newlines_use_the_binary_form() -> None:
    fields = [("MESSAGE", "one line"), ("NIXOS_BUILD_DRV", "a\nb=c"), ("PRIORITY", "6")]
    a, b = socket.socketpair(socket.AF_UNIX, socket.SOCK_DGRAM)
    with a, b:
        a.send(encode(fields))
        assert decode(b.recv(65536)) == fields
    assert decode(encode([("MESSAGE", "x" * 10_000)])) == [("MESSAGE", "x" * 4096)]
