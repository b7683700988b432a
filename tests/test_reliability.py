"""The fault matrix of docs/reliability.md: hostile log directories, records that are
data, overlapping builds, a held lock, closed pipes, full and read-only disks, bad
environment values, hostile input to every reader.  Each test names the bug it guards
(issue 11's numbering) and fails without its fix."""

from __future__ import annotations

import fcntl
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import msgspec
import pytest

from orchestrator import buildfiles
from orchestrator.invocation import Request, UsageError, plan
from parsers.clock import ManualClock
from parsers.events import BuildStarted
from parsers.stream import LogStream
from records.files import LockTimeout, locked, remove_stale_temporaries, try_lock
from sinks.history import History, append_history, move_aside
from sinks.record import BuildRecord
from sinks.summary import LastBuildJson
from tests.conftest import ROOT, of_type, recorded, run_wrapper, wrapper_env
from tests.test_status_fakes import FakeSystem

WRAPPER = [sys.executable, "-m", "orchestrator.wrapper_cli"]



def _our_traceback(text: str) -> bool:
    """A traceback of ours: a frame in this repository (the fake nixos-rebuild-ng prints
    the real tool's own traceback when its build fails, which is the tool's output)."""
    return any(line.strip().startswith("File \"") and str(ROOT) in line
               for line in text.splitlines()) or "KeyboardInterrupt" in text

def warnings(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith("nixos-build-wrapper:")]


def status(fake: FakeSystem, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return fake.status(*args, **env)


# --- 1. the log directory: only directories we may trust ------------------------------------

def test_1_a_symlinked_logs_dir_is_refused_and_nothing_elsewhere_is_touched(tmp_path: Path):
    victim = tmp_path / "victim"
    victim.mkdir()
    for i in range(15):
        (victim / f"2020010{i % 10}T000000Z-{i:08x}.log").write_text("keep me")
    log_dir = tmp_path / "logs"
    log_dir.mkdir()
    (log_dir / "logs").symlink_to(victim)
    run = run_wrapper(tmp_path, ["os", "switch", "--no-nh"], FAKE_SCENARIO="build-failure",
                      NIXOS_BUILD_KEEP_LOGS="1")
    assert run.returncode == 100                         # the build ran, its exit code kept
    assert sorted(p.read_text() for p in victim.iterdir()) == ["keep me"] * 15
    assert not (log_dir / "last-build.json").exists()
    [message] = warnings(run.stderr)
    assert "logs/ is a symbolic link" in message and str(log_dir) in message


@pytest.mark.parametrize("how", ["world-writable", "someone else's"])
def test_1_a_log_dir_writable_by_others_or_owned_by_another_user_is_refused(tmp_path: Path,
                                                                             how: str):
    if os.geteuid() != 0 and how == "someone else's":
        pytest.skip("only root can give a directory away")
    log_dir = tmp_path / "logs"
    log_dir.mkdir()
    if how == "world-writable":
        log_dir.chmod(0o1777)
    else:
        os.chown(log_dir, 65534, 65534)
    (log_dir / "build-history.json").write_text('[{"buildId": "forged"}]')
    run = run_wrapper(tmp_path, ["os", "build", "--no-nh"])
    assert run.returncode == 0
    [message] = warnings(run.stderr)
    assert "no build logs or records" in message
    assert ("writable by every user" if how == "world-writable" else "owned by another user") \
        in message
    assert sorted(p.name for p in log_dir.iterdir()) == ["build-history.json"]


def test_1_a_group_writable_dir_of_root_is_used(tmp_path: Path):
    log_dir = tmp_path / "logs"
    log_dir.mkdir()
    log_dir.chmod(0o2775)   # the admins' shared directory
    run = run_wrapper(tmp_path, ["os", "build", "--no-nh"])
    assert run.returncode == 0 and not warnings(run.stderr)
    assert run.last_build()["success"] is True


# --- 2. records are data: nothing read from them is evaluated --------------------------------

def test_2_status_never_evaluates_a_flake_named_only_in_last_build_json(tmp_path: Path):
    fake = FakeSystem(tmp_path)
    fake.in_sync_system(1, 2)
    planted = tmp_path / "planted"
    planted.mkdir()
    (planted / "flake.nix").write_text("{ outputs = _: builtins.abort \"ran\"; }")
    fake.last_build(flakePath=str(planted), success=False, exitCode=1)
    _, report = fake.report(FAKE_ARGV_LOG=str(tmp_path / "argv.log"))
    calls = (tmp_path / "argv.log").read_text() if (tmp_path / "argv.log").exists() else ""
    assert str(planted) not in calls
    assert report["buildability"]["status"] == "unavailable"
    assert report["buildErrors"]["lastBuild"]["flakePath"] == str(planted)   # shown, not run


def test_2_errors_reads_only_a_log_inside_the_log_dir(tmp_path: Path):
    secret = tmp_path / "secret.log"
    secret.write_text("error: builder for '/nix/store/x-secret.drv' failed with exit code 1\n")
    log_dir = tmp_path / "logs"
    log_dir.mkdir()
    (log_dir / "last-build.log").write_text("all good\n")
    (log_dir / "last-build.json").write_text(json.dumps(
        {"exitCode": 1, "success": False, "buildLogPath": str(secret)}))
    proc = subprocess.run([sys.executable, "-m", "status.cli", "errors", "--log-dir",
                           str(log_dir), "--json"], cwd=ROOT, capture_output=True, text=True,
                          timeout=60, check=False)
    assert proc.returncode == 0 and json.loads(proc.stdout) == {"errors": []}


# --- 3. pruning never removes a running build's log ------------------------------------------

def test_3_pruning_spares_the_log_a_running_build_holds(tmp_path: Path):
    log_dir = tmp_path / "logs"
    (log_dir / "logs").mkdir(parents=True)
    running = log_dir / "logs" / "20200101T000000Z-aaaaaaaa.log"
    finished = log_dir / "logs" / "20200101T000001Z-bbbbbbbb.log"
    running.write_text("still building")
    finished.write_text("done")
    fd = os.open(running, os.O_RDONLY)
    fcntl.flock(fd, fcntl.LOCK_SH)      # what a running wrapper holds on its log
    try:
        run = run_wrapper(tmp_path, ["os", "build", "--no-nh"], NIXOS_BUILD_KEEP_LOGS="1")
    finally:
        os.close(fd)
    assert run.returncode == 0 and not warnings(run.stderr)
    assert running.read_text() == "still building"
    assert not finished.exists()
    assert Path(run.last_build()["buildLogPath"]).exists()


def test_3_a_build_holds_its_log_while_it_runs(tmp_path: Path):
    files = buildfiles.prepare(Request(target="os", action="build", log_dir=str(tmp_path)),
                               {}, ManualClock(), pytest.fail)
    assert files is not None
    other = os.open(files.log_path, os.O_RDONLY)
    try:
        assert not try_lock(other, exclusive=True)
        files.close()
        assert try_lock(other, exclusive=True)
    finally:
        os.close(other)


def test_3_a_log_another_pruner_removed_first_is_no_warning(tmp_path: Path):
    """50 concurrent builds printed 'old log not removed: No such file or directory'."""
    reports: list[str] = []
    dir_fd = os.open(tmp_path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        buildfiles._remove_unheld(dir_fd, "20200101T000000Z-gone.log", reports.append)
    finally:
        os.close(dir_fd)
    assert reports == []


# --- 4. errors and last-build.json describe the same build -----------------------------------

def test_4_the_record_written_last_brings_its_log_link_along(tmp_path: Path):
    """Build A starts, B starts (last-build.log -> B), B ends, A ends: both the record
    and the log must then be A's."""
    request = Request(target="os", action="build", log_dir=str(tmp_path))
    a = buildfiles.prepare(request, {}, ManualClock(), pytest.fail)
    a.log_path.write_text("A's log\n")  # type: ignore[union-attr]
    b = buildfiles.prepare(request, {}, ManualClock(), pytest.fail)
    assert a is not None and b is not None
    b.log_path.write_text("B's log\n")
    a.link_latest(pytest.fail)
    b.link_latest(pytest.fail)

    def close(files: buildfiles.BuildFiles) -> None:
        record = BuildRecord()
        record.handle([BuildStarted(build_id=files.build_id, log_path=str(files.log_path))])
        LastBuildJson(files.last_build_json, record,
                      link_log=lambda: files.link_latest(pytest.fail)).close()

    close(b)
    close(a)
    assert json.loads((tmp_path / "last-build.json").read_text())["buildId"] == a.build_id
    assert (tmp_path / "last-build.log").read_text() == "A's log\n"


def test_4_errors_reads_the_log_of_the_recorded_build(tmp_path: Path):
    (tmp_path / "logs").mkdir()
    mine = tmp_path / "logs" / "20200101T000000Z-aaaaaaaa.log"
    mine.write_bytes(recorded("build-failure.plain"))
    (tmp_path / "last-build.log").write_text("another build, fine\n")
    (tmp_path / "last-build.json").write_text(json.dumps(
        {"exitCode": 100, "success": False, "buildLogPath": str(mine)}))
    proc = subprocess.run([sys.executable, "-m", "status.cli", "errors", "--log-dir",
                           str(tmp_path), "--json"], cwd=ROOT, capture_output=True, text=True,
                          timeout=60, check=False)
    assert proc.returncode == 2
    assert json.loads(proc.stdout)["errors"][0]["kind"] == "build-failure"


# --- 5. the history lock: waited for at most 30 s, Ctrl-C is a clean exit ----------------------

def test_5_a_held_history_lock_is_waited_for_then_reported_once(tmp_path: Path):
    path = tmp_path / "build-history.json"
    reports: list[str] = []
    with locked(path.with_name(path.name + ".lock")):
        History(path, BuildRecord(), reports.append, lock_timeout=0.2).close()
        with pytest.raises(LockTimeout):
            append_history(path, {"n": 1}, lock_timeout=0.1)
    assert len(reports) == 1 and "not updated" in reports[0] and "lock" in reports[0]
    assert not path.exists()
    assert History(path, BuildRecord()).__dict__["_lock_timeout"] == 30.0


def test_5_ctrl_c_while_waiting_for_the_lock_is_a_clean_exit(tmp_path: Path):
    log_dir = tmp_path / "logs"
    log_dir.mkdir()
    env = wrapper_env(tmp_path, FAKE_SCENARIO="build-failure")
    with locked(log_dir / "build-history.json.lock"):
        proc = subprocess.Popen([*WRAPPER, "--log-dir", str(log_dir), "os", "build", "--no-nh"],
                                env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                stderr=subprocess.PIPE, text=True, cwd=ROOT)
        # last-build.json is written just before the history: then the wrapper waits.
        deadline = time.monotonic() + 60
        while not (log_dir / "last-build.json").exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.5)
        assert proc.poll() is None, "the wrapper did not wait for the lock"
        proc.send_signal(signal.SIGINT)
        _, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 100, stderr
    assert not _our_traceback(stderr)
    assert "interrupted while waiting for its lock" in stderr


# --- 6. --json to a closed pipe or a full disk keeps the build's exit code ---------------------

@pytest.mark.parametrize("where", ["closed pipe", "/dev/full"])
def test_6_json_to_a_closed_pipe_or_full_disk_keeps_the_exit_code(tmp_path: Path, where: str):
    env = wrapper_env(tmp_path, FAKE_SCENARIO="build-failure")
    if where == "closed pipe":
        read, write = os.pipe()
        os.close(read)
        out = write
    else:
        out = os.open("/dev/full", os.O_WRONLY)
    try:
        proc = subprocess.run([*WRAPPER, "--log-dir", str(tmp_path / "logs"), "os", "build",
                               "--no-nh", "--json"], env=env, stdin=subprocess.DEVNULL,
                              stdout=out, stderr=subprocess.PIPE, text=True, timeout=60,
                              check=False, cwd=ROOT)
    finally:
        os.close(out)
    assert proc.returncode == 100, proc.stderr
    assert not _our_traceback(proc.stderr)
    assert json.loads((tmp_path / "logs" / "last-build.json").read_text())["exitCode"] == 100


# --- 7. LINES / COLUMNS a terminal cannot have ---------------------------------------------------

@pytest.mark.parametrize("lines", ["-1", "70000", "0"])
def test_7_impossible_terminal_sizes_from_the_environment_are_ignored(tmp_path: Path, lines: str):
    run = run_wrapper(tmp_path, ["os", "build", "--no-nh", "--events", "ndjson"], LINES=lines,
                      COLUMNS="80")
    assert run.returncode == 0, run.stderr
    assert run.ndjson()[-1]["type"] == "build.finished"


# --- 8. a bad NIXOS_BUILD_EVAL_TIMEOUT ----------------------------------------------------------

def test_8_a_bad_eval_timeout_variable_is_a_usage_error_of_the_report_only(tmp_path: Path):
    fake = FakeSystem(tmp_path)
    fake.in_sync_system(1, 2)
    fake.history([])
    proc = status(fake, "--json", NIXOS_BUILD_EVAL_TIMEOUT="soon")
    assert proc.returncode == 3 and "Traceback" not in proc.stderr
    assert "NIXOS_BUILD_EVAL_TIMEOUT" in proc.stderr and "'soon'" in proc.stderr
    assert status(fake, "history", NIXOS_BUILD_EVAL_TIMEOUT="soon").returncode == 0
    ok = status(fake, "--json", "--no-eval", "--eval-timeout", "5", NIXOS_BUILD_EVAL_TIMEOUT="x")
    assert ok.returncode == 0


# --- 9. the parsers never raise -----------------------------------------------------------------

HOSTILE_LINES = [
    b"@nix " + b"[" * 1000 + b"]" * 1000,
    b'@nix {"action":"result","id":1,"type":999,"fields":[],"x":1e991}',
    b'@nix {"action":"result","id":1,"type":999,"fields":[],"\xff":1}',
    b'@nix {"action":"msg","level":0,"msg":"x","' + b'[' * 3000 + b'":1}',
    b'@nix {"action":"start","id":9,"type":0,"level":0,"text":"","fields":[' + b"[" * 1500
    + b"]" * 1500 + b"]}",
]


@pytest.mark.parametrize("line", HOSTILE_LINES, ids=range(len(HOSTILE_LINES)))
def test_9_a_hostile_line_costs_nothing_of_the_rest_of_the_build(line: bytes):
    def derivations(prefix: bytes) -> tuple[int, int, list[str]]:
        stream = LogStream(ManualClock())
        events = stream.begin(BuildStarted(build_id="b", source="log"))
        events += stream.feed(prefix + recorded("build-failure.internal-json"))
        events += stream.end(100)
        finished = events[-1]
        return finished.built, finished.failed, [e.kind for e in of_type(events, "error")]

    assert derivations(line + b"\n") == derivations(b"")


def test_9_events_and_errors_of_stdin_survive_hostile_lines():
    data = b"\n".join(HOSTILE_LINES) + b"\n"
    for command in (["events", "-"], ["errors", "-"]):
        proc = subprocess.run([sys.executable, "-m", "status.cli", *command], input=data,
                              cwd=ROOT, capture_output=True, timeout=60, check=False)
        assert proc.returncode == 0, proc.stderr
        assert b"Traceback" not in proc.stderr


# --- 10-12. hostile record files ---------------------------------------------------------------

DEEP = "[" * 5000 + "]" * 5000


def test_10_a_deeply_nested_history_is_moved_aside_by_the_next_build(tmp_path: Path):
    log_dir = tmp_path / "logs"
    log_dir.mkdir()
    (log_dir / "build-history.json").write_text(DEEP)
    run = run_wrapper(tmp_path, ["os", "build", "--no-nh"])
    assert run.returncode == 0
    assert len(run.history()) == 1
    assert [p.read_text() for p in log_dir.glob("build-history.json.corrupt-*")] == [DEEP]
    assert sum("moved" in w for w in warnings(run.stderr)) == 1


def test_10_deep_records_never_crash_the_readers(tmp_path: Path):
    fake = FakeSystem(tmp_path)
    fake.in_sync_system(1, 2)
    fake.log_dir.mkdir()
    (fake.log_dir / "last-build.json").write_text(DEEP)
    (fake.log_dir / "build-history.json").write_text(DEEP)
    (fake.log_dir / "last-build.log").write_text("")
    report = status(fake, "--json", "--no-eval")
    assert report.returncode == 0 and json.loads(report.stdout)["buildErrors"]["lastBuild"] is None
    history = status(fake, "history")
    assert history.returncode == 1 and "not a JSON list" in history.stderr
    errors = status(fake, "errors")
    assert errors.returncode == 0 and "Traceback" not in errors.stderr


@pytest.mark.parametrize("record", [
    {"buildDuration": "135", "success": False, "exitCode": 1},
    {"flakePath": "/etc/nix\u0000os", "buildLogPath": "/x\u0000y", "success": False, "exitCode": 1},
    {"errorDetails": [{"message": 5}, "x", {"kind": "k", "message": "m", "logTail": "oops"}],
     "success": False, "exitCode": 1},
    {"errorDetails": {"kind": "k"}, "derivations": [], "success": "no"},
], ids=["string duration", "NUL in paths", "error details of the wrong shape", "wrong shapes"])
def test_11_12_wrong_types_in_a_record_never_crash_the_report(tmp_path: Path, record: dict):
    fake = FakeSystem(tmp_path)
    fake.in_sync_system(1, 2)
    fake.last_build(**record)
    for args in (["--json", "--no-eval"], ["--no-eval"], ["--no-eval", "--verbose"]):
        proc = status(fake, *args)
        assert proc.returncode in (0, 2), proc.stderr
        assert "Traceback" not in proc.stderr


def test_11_1e999_in_the_history_is_one_unreadable_value_not_a_crash(tmp_path: Path):
    fake = FakeSystem(tmp_path)
    fake.log_dir.mkdir()
    (fake.log_dir / "build-history.json").write_text(
        '[{"buildDuration": 1e999, "success": true}, {"buildDurationMs": 2000, "success": true}]')
    proc = status(fake, "history", "--json")
    assert proc.returncode == 0, proc.stderr
    summary = json.loads(proc.stdout)
    assert summary["total"] == 2 and summary["meanDuration"] == 2.0


def test_12_two_corrupt_histories_in_one_second_keep_both_copies(tmp_path: Path):
    path = tmp_path / "build-history.json"
    copies = []
    for text in ("first", "second"):
        path.write_text(text)
        copies.append(move_aside(path))
    assert sorted(p.read_text() for p in copies) == ["first", "second"]
    assert not path.exists()


def test_huge_history_is_moved_aside_without_being_read(tmp_path: Path):
    """A 50 MB history cost the wrapper 265 MB; now what is read is capped."""
    path = tmp_path / "build-history.json"
    with open(path, "wb") as f:
        f.truncate(50 << 20)       # sparse: no 50 MB written for the test
    reports: list[str] = []
    append_history(path, {"n": 1}, report=reports.append)
    assert json.loads(path.read_text()) == [{"n": 1}]
    assert len(reports) == 1 and "too large" in reports[0]


# --- 13. one clear warning for a log dir that cannot be written --------------------------------

def _in_namespace(tmp_path: Path, mount: str) -> subprocess.CompletedProcess[bytes]:
    script = (f'{mount} && exec "{sys.executable}" -m orchestrator.wrapper_cli '
              f'--log-dir "{tmp_path}/logs" os switch --no-nh --events ndjson')
    (tmp_path / "logs").mkdir()
    env = wrapper_env(tmp_path, FAKE_SCENARIO="build-failure")
    return subprocess.run(["unshare", "-rm", "sh", "-c", script], env=env, cwd=ROOT,
                          capture_output=True, timeout=60, check=False)


def test_13_a_read_only_log_dir_gives_one_warning(tmp_path: Path):
    logs = tmp_path / "logs"
    proc = _in_namespace(tmp_path, f'mount -t tmpfs -o size=100k,mode=755 tmpfs "{logs}" && '
                                   f'mount -o remount,ro "{logs}"')
    stderr = proc.stderr.decode()
    assert proc.returncode == 100, stderr
    [message] = warnings(stderr)
    assert str(logs) in message and "not writable" in message


def test_13_a_full_disk_gives_one_warning(tmp_path: Path):
    logs = tmp_path / "logs"
    proc = _in_namespace(tmp_path, f'mount -t tmpfs -o size=100k,mode=755 tmpfs "{logs}" && '
                                   f'head -c 200000 /dev/zero > "{logs}/filler" 2>/dev/null; true')
    stderr = proc.stderr.decode()
    assert proc.returncode == 100, stderr
    [message] = warnings(stderr)
    assert "No space left on device" in message and str(logs) in message
    assert json.loads(proc.stdout.splitlines()[-1])["type"] == "build.finished"


# --- 14. a flake reference is never an option ----------------------------------------------------

@pytest.mark.parametrize("flake", ["--dry", "-L", ""])
def test_14_a_flake_that_looks_like_an_option_is_refused(flake: str):
    request = Request(target="os", action="switch", flake=flake)
    with pytest.raises(UsageError):
        plan(request, {}, which=lambda name: f"/bin/{name}")


def test_14_the_wrapper_refuses_it_with_exit_3(tmp_path: Path):
    run = run_wrapper(tmp_path, ["os", "switch", "--flake=--dry"],
                      FAKE_ARGV_LOG=str(tmp_path / "argv.log"))
    assert run.returncode == 3 and "--flake" in run.stderr
    assert not (tmp_path / "argv.log").exists()


# --- temporary files of a killed wrapper ------------------------------------------------------

def test_temporary_files_of_a_killed_wrapper_are_removed_by_the_next_build(tmp_path: Path):
    log_dir = tmp_path / "logs"
    log_dir.mkdir()
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True).stdout.strip()
    left = [log_dir / f".build-history.json.{dead}.0123abcd.tmp",
            log_dir / f".last-build.log.{dead}.deadbeef.tmp"]
    for path in left:
        path.write_text("partial")
    mine = log_dir / f".last-build.json.{os.getpid()}.00112233.tmp"   # a live process's
    mine.write_text("in progress")
    other = log_dir / "notes.tmp"
    other.write_text("not ours")
    run = run_wrapper(tmp_path, ["os", "build", "--no-nh"])
    assert run.returncode == 0
    assert not any(p.exists() for p in left)
    assert mine.exists() and other.exists()
    assert remove_stale_temporaries(log_dir) == []


# --- issue 12: a tool that is not installed is no build error ------------------------------------

def test_a_missing_tool_is_not_reported_as_build_errors(tmp_path: Path):
    fake = FakeSystem(tmp_path)
    fake.in_sync_system(1, 2)
    fake.last_build(success=False, exitCode=127, errors="", errorDetails=[], errorCount=0)
    code, report = fake.report("--no-eval")
    assert report["overallStatus"] == "success" and code == 0
    assert report["buildErrors"]["errorCount"] == 0
    text = status(fake, "--no-eval").stdout
    assert "Build errors detected" not in text and "the tool was not found" in text


def test_extract_nix_errors_takes_a_path_or_the_log_text(tmp_path: Path):
    import nixos_build_status as lib

    log = recorded("build-failure.plain")
    path = tmp_path / "build.log"
    path.write_bytes(log)
    from_path = lib.extract_nix_errors(path)
    assert from_path and from_path == lib.extract_nix_errors(str(path))
    assert lib.extract_nix_errors(log) == from_path
    assert lib.extract_nix_errors(log.decode()) == from_path
    structured = recorded("build-failure.internal-json")
    path.write_bytes(structured)
    assert lib.extract_build_phase(structured) == lib.extract_build_phase(path) == "buildPhase"
    with pytest.raises(OSError):
        lib.extract_nix_errors(tmp_path / "absent.log")


def test_the_report_struct_and_the_json_agree(tmp_path: Path):
    """What --json prints is the StatusReport (the same keys, in the same order)."""
    from status.schema import StatusReport

    fake = FakeSystem(tmp_path)
    fake.in_sync_system(1, 2)
    fake.last_build()
    proc = status(fake, "--json", "--no-eval")
    report = msgspec.json.decode(proc.stdout.encode(), type=StatusReport)
    assert json.loads(msgspec.json.encode(report)) == json.loads(proc.stdout)
