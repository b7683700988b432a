"""nixos-build-wrapper end to end, through fake nixos-rebuild / nh / home-manager that
replay real recordings: tool choice, exit codes, files, the NDJSON stream."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import ROOT, manifest, recorded, run_wrapper, wrapper_env


def argv_log(tmp_path: Path) -> list[list[str]]:
    path = tmp_path / "argv.log"
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def assert_well_formed(events: list[dict]) -> None:
    assert events[0]["type"] == "build.started"
    assert events[-1]["type"] == "build.finished"
    assert [e["type"] for e in events].count("build.finished") == 1
    seqs = [e["seq"] for e in events]
    assert seqs == sorted(set(seqs)) and seqs[0] == 1
    assert all(e["v"] == 1 and e["ts"].endswith("Z") for e in events)


def test_nixos_rebuild_success_records_everything(tmp_path: Path):
    run = run_wrapper(tmp_path, ["os", "build", "--no-nh"], FAKE_ARGV_LOG=str(tmp_path / "argv.log"))
    assert run.returncode == 0, run.stderr
    (invoked,) = argv_log(tmp_path)
    assert invoked == ["nixos-rebuild", "build", "--log-format", "internal-json"]
    record = run.last_build()
    assert record["success"] is True and record["exitCode"] == 0
    assert record["tool"] == "nixos-rebuild" and record["target"] == "os" and record["action"] == "build"
    assert record["derivations"]["built"] == 5
    assert record["errors"] == "" and record["errorDetails"] == []
    assert record["command"] == "nixos-rebuild build --log-format internal-json"
    assert run.history()[-1]["buildId"] == record["buildId"]
    log = (run.log_dir / "last-build.log").read_bytes()
    assert recorded("success.internal-json") in log           # every byte the child wrote
    assert Path(record["buildLogPath"]).read_bytes() == log
    assert "✔ build succeeded" in run.stderr and str(run.log_dir / "last-build.json") in run.stderr
    assert "@nix" not in run.stderr                             # our own readable view


def test_build_failure_exit_code_and_root_cause(tmp_path: Path):
    run = run_wrapper(tmp_path, ["os", "switch", "--no-nh"], FAKE_SCENARIO="build-failure")
    assert run.returncode == manifest()["build-failure.internal-json"]["exitCode"] == 100
    record = run.last_build()
    assert record["success"] is False
    root = record["errorDetails"][0]
    assert (root["kind"], root["derivation"], root["exitCode"], root["phase"]) == (
        "build-failure", "broken-tool-0.3.1", 2, "buildPhase")
    assert root["logTail"][-1] == "make: *** [Makefile:12: src/main.o] Error 1"
    assert record["errors"].splitlines()[0].startswith("error: builder for ")
    assert record["failedDerivations"][0]["name"] == "broken-tool-0.3.1"
    assert "root cause: broken-tool-0.3.1 failed in buildPhase with exit code 2" in run.stderr


def test_ndjson_stream_on_stdout_carries_nothing_else(tmp_path: Path):
    run = run_wrapper(tmp_path, ["os", "switch", "--no-nh", "--events", "ndjson"])
    assert run.returncode == 0, run.stderr
    events = run.ndjson()               # every stdout line is one JSON event
    assert_well_formed(events)
    types = {e["type"] for e in events}
    assert {"derivation.started", "phase", "log.line", "progress", "derivation.finished",
            "activation", "plan"} <= types
    steps = [e["step"] for e in events if e["type"] == "activation"]
    assert steps[:3] == ["bootloader", "activate", "setup-etc"]
    started = events[0]
    assert started["tool"] == "nixos-rebuild" and started["buildId"] == run.last_build()["buildId"]
    assert events[-1]["built"] == 5 and events[-1]["exitCode"] == 0


def test_activation_failure_gives_unit_events_and_exit_code(tmp_path: Path):
    run = run_wrapper(tmp_path, ["os", "switch", "--no-nh", "--events", "ndjson"],
                      FAKE_ACTIVATION="unit-failed")
    assert run.returncode == 4
    events = run.ndjson()
    assert [e["unit"] for e in events if e["type"] == "unit.failed"] == ["demo-web.service"]
    errors = [e for e in events if e["type"] == "error"]
    assert errors[0]["kind"] == "activation-unit-failed" and errors[0]["units"] == ["demo-web.service"]
    assert events[-1]["exitCode"] == 4 and events[-1]["success"] is False


def test_nh_runs_without_nom_and_nix_gives_the_exact_stream(tmp_path: Path):
    run = run_wrapper(tmp_path, ["os", "switch", "--events", "ndjson", "--", "--show-trace"],
                      FAKE_ARGV_LOG=str(tmp_path / "argv.log"))
    assert run.returncode == 0, run.stderr
    # The flake at /etc/nixos given positionally (nh 3.x needs it), -R as root (every nh
    # refuses root without it), activation logs asked for (nh >= 4.4).
    assert argv_log(tmp_path) == [["nh", "os", "switch", str(tmp_path / "root/etc/nixos"), "-R",
                                   "--show-activation-logs", "--no-nom", "--", "--log-format",
                                   "internal-json", "-v", "--show-trace"]]
    events = run.ndjson()
    assert_well_formed(events)
    assert events[0]["tool"] == "nh"
    assert len([e for e in events if e["type"] == "derivation.finished"]) == 5
    assert any(e["type"] == "log.line" and "Building NixOS configuration" in e["text"] for e in events)
    log = (run.log_dir / "last-build.log").read_bytes()
    assert recorded("success.internal-json") in log      # one log holds nh's text and nix's stream
    assert b"Building NixOS configuration" in log


def test_nh_failure_is_nhs_exit_code_with_nix_errors(tmp_path: Path):
    run = run_wrapper(tmp_path, ["os", "switch"], FAKE_SCENARIO="eval-error")
    assert run.returncode == 1
    record = run.last_build()
    assert record["errorDetails"][0]["kind"] == "attribute-missing"
    assert record["errorDetails"][0]["line"] == 10


def test_home_manager_clobber(tmp_path: Path):
    run = run_wrapper(tmp_path, ["home", "switch", "--no-nh"], FAKE_ACTIVATION="clobber",
                      FAKE_ARGV_LOG=str(tmp_path / "argv.log"))
    assert run.returncode == 1
    assert argv_log(tmp_path)[0][:2] == ["home-manager", "switch"]
    errors = run.last_build()["errorDetails"]
    assert [e["kind"] for e in errors] == ["home-manager-clobber"] * 2
    assert errors[0]["paths"][0] == "/home/alice/.config/git/config"


def test_json_flag_prints_the_record_and_only_it(tmp_path: Path):
    run = run_wrapper(tmp_path, ["os", "dry-build", "--no-nh", "--json"])
    assert run.returncode == 0
    printed = json.loads(run.stdout)
    assert printed == run.last_build()
    assert printed["action"] == "dry-build"


def test_flake_from_environment_and_extra_args(tmp_path: Path):
    run = run_wrapper(tmp_path, ["os", "build", "--no-nh", "--", "--show-trace", "-j", "4"],
                      NH_OS_FLAKE="/srv/flake", FAKE_ARGV_LOG=str(tmp_path / "argv.log"))
    assert run.returncode == 0
    assert argv_log(tmp_path)[0] == ["nixos-rebuild", "build", "--flake", "/srv/flake", "--log-format",
                                     "internal-json", "--show-trace", "-j", "4"]
    assert run.last_build()["flakePath"] == "/srv/flake"
    run = run_wrapper(tmp_path, ["os", "boot", "--flake", "/x", "--", "-L"],
                      FAKE_ARGV_LOG=str(tmp_path / "argv2.log"))
    assert [json.loads(line) for line in (tmp_path / "argv2.log").read_text().splitlines()] == [
        ["nh", "os", "boot", "/x", "-R", "--show-activation-logs", "--no-nom", "--", "--log-format",
         "internal-json", "-v", "-L"]]


@pytest.mark.parametrize("args", [
    ["os", "rollback"], ["home", "boot"], ["nixos", "switch"], ["os", "switch", "--json", "--events", "ndjson"],
    ["os"], ["os", "switch", "--console", "fancy"],
])
def test_bad_arguments_exit_3(tmp_path: Path, args):
    run = run_wrapper(tmp_path, args)
    assert run.returncode == 3
    assert "error" in run.stderr
    assert not (run.log_dir / "last-build.json").exists()


def test_missing_tool_is_127(tmp_path: Path):
    env = wrapper_env(tmp_path)
    env["PATH"] = "/nonexistent"
    run = run_wrapper(tmp_path, ["os", "switch", "--no-nh"], env=env)
    assert run.returncode == 127
    assert "nixos-rebuild: not found" in run.stderr


def make_generation_tree(root: Path) -> None:
    profiles = root / "nix/var/nix/profiles"
    profiles.mkdir(parents=True)
    (profiles / "system-1-link").symlink_to("/nix/store/aaaa-nixos-system-demo-1")
    (profiles / "system").symlink_to("system-1-link")
    (root / "run").mkdir()
    (root / "run/current-system").symlink_to("/nix/store/aaaa-nixos-system-demo-1")


def test_generations_before_and_after_a_switch(tmp_path: Path):
    make_generation_tree(tmp_path / "root")
    run = run_wrapper(tmp_path, ["os", "switch", "--no-nh"], FAKE_ROOT=str(tmp_path / "root"))
    assert run.returncode == 0, run.stderr
    record = run.last_build()
    assert record["preGeneration"]["generation"] == "g1"
    assert record["postGeneration"]["generation"] == "g2"
    assert record["postGeneration"]["status"] == "in-sync"


def test_two_wrappers_at_once_lose_nothing(tmp_path: Path):
    env = wrapper_env(tmp_path, FAKE_SPEED="4")
    log_dir = tmp_path / "logs"
    procs = [subprocess.Popen([sys.executable, "-m", "orchestrator.wrapper_cli", "--log-dir", str(log_dir),
                               "os", "build", "--no-nh"], env=env, stdin=subprocess.DEVNULL,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) for _ in range(2)]
    assert [p.wait(60) for p in procs] == [0, 0]
    history = json.loads((log_dir / "build-history.json").read_text())
    assert len(history) == 2 and history[0]["buildId"] != history[1]["buildId"]
    for entry in history:
        assert recorded("success.internal-json") in Path(entry["buildLogPath"]).read_bytes()


def fake_tool(tmp_path: Path, name: str, body: str) -> dict[str, str]:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    tool = bin_dir / name
    tool.write_text(f"#!{sys.executable}\n{body}")
    tool.chmod(0o755)
    env = wrapper_env(tmp_path)
    env["PATH"] = f"{bin_dir}{os.pathsep}{env['PATH']}"
    return env


def test_garbage_invalid_utf8_and_huge_lines_keep_every_byte(tmp_path: Path):
    env = fake_tool(tmp_path, "nixos-rebuild", (
        "import sys\n"
        "out = sys.stdout.buffer\n"
        "out.write(b'@nix {\"action\":\"msg\",\"level\":1,\"msg\":\"warning: hi\"}\\n')\n"
        "out.write(b'\\xff\\xfe\\xfd not utf-8\\n@nix {broken\\n')\n"
        "out.write(b'y' * 1_000_000 + b'\\n')\n"
        "out.write(b'@nix ' + b'{\"action\":\"msg\",\"level\":1,\"msg\":\"' + b'z' * 1_000_000 + b'\"}\\n')\n"
        "out.write(b'no newline at the end')\n"))
    run = run_wrapper(tmp_path, ["os", "build", "--no-nh", "--events", "ndjson"], env=env)
    assert run.returncode == 0
    log = (run.log_dir / "last-build.log").read_bytes()
    assert log.startswith(b'@nix {"action":"msg"') and log.endswith(b"no newline at the end")
    assert len(log) > 2_000_000 and b"\xff\xfe\xfd not utf-8" in log
    events = run.ndjson()
    assert_well_formed(events)
    texts = [e.get("text", "") for e in events]
    assert "\ufffd\ufffd\ufffd not utf-8" in texts and "@nix {broken" in texts
    assert any(len(t) == 1_000_000 for t in texts)
    assert "no newline at the end" in texts


def test_child_killed_by_a_signal_is_128_plus_n(tmp_path: Path):
    env = fake_tool(tmp_path, "nixos-rebuild",
                    "import os, signal\nprint('building the system configuration...', flush=True)\n"
                    "os.kill(os.getpid(), signal.SIGSEGV)\n")
    run = run_wrapper(tmp_path, ["os", "switch", "--no-nh", "--events", "ndjson"], env=env)
    assert run.returncode == 128 + signal.SIGSEGV
    finished = run.ndjson()[-1]
    assert finished["type"] == "build.finished"
    assert (finished["exitCode"], finished["signal"]) == (139, signal.SIGSEGV)
    assert run.last_build()["exitCode"] == 139


def test_sigint_is_forwarded_and_the_stream_still_ends_properly(tmp_path: Path):
    env = wrapper_env(tmp_path, FAKE_SPEED="0.3")
    log_dir = tmp_path / "logs"
    proc = subprocess.Popen([sys.executable, "-m", "orchestrator.wrapper_cli", "--log-dir", str(log_dir),
                             "os", "switch", "--no-nh", "--events", "ndjson"], env=env,
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stdout is not None
    seen = b""
    deadline = time.monotonic() + 20
    while b'"derivation.started"' not in seen and time.monotonic() < deadline:
        seen += proc.stdout.readline()
    proc.send_signal(signal.SIGINT)
    rest, _ = proc.communicate(timeout=30)
    events = [json.loads(line) for line in (seen + rest).splitlines()]
    assert_well_formed(events)
    finished = events[-1]
    assert proc.returncode == 130 == finished["exitCode"]     # the child's own death by SIGINT
    assert finished["interrupted"] is True
    assert any(e["type"] == "derivation.aborted" for e in events)
    assert json.loads((log_dir / "last-build.json").read_text())["interrupted"] is True


def test_full_disk_keeps_the_builds_exit_code(tmp_path: Path):
    """Log directory on a 100 KiB tmpfs, already full: every file sink fails, the build
    runs to its end and its exit code comes back."""
    script = (
        # mode=755: a tmpfs is 1777 by default, a log directory the wrapper refuses.
        f'mount -t tmpfs -o size=100k,mode=755 tmpfs "{tmp_path}/logs" && '
        f'head -c 200000 /dev/zero > "{tmp_path}/logs/filler" 2>/dev/null; '
        f'exec "{sys.executable}" -m orchestrator.wrapper_cli --log-dir "{tmp_path}/logs" '
        'os switch --no-nh --events ndjson')
    (tmp_path / "logs").mkdir()
    env = wrapper_env(tmp_path, FAKE_SCENARIO="build-failure")
    proc = subprocess.run(["unshare", "-rm", "sh", "-c", script], env=env, cwd=ROOT,
                          capture_output=True, timeout=60, check=False)
    stderr = proc.stderr.decode()
    assert proc.returncode == 100, stderr
    events = [json.loads(line) for line in proc.stdout.splitlines()]
    assert_well_formed(events)
    assert events[-1]["failed"] == 1
    assert "No space left on device" in stderr
