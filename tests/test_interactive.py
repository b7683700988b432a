"""The wrapper in a user's terminal: sudo's password prompt shows and can be answered,
Ctrl-C reaches the build, window resizes reach the tool."""

from __future__ import annotations

import json
import os
import signal
import sys
from pathlib import Path

from tests.conftest import wrapper_env
from tests.terminal import Terminal


def test_sudo_password_prompt_is_visible_and_answerable(tmp_path: Path):
    env = wrapper_env(tmp_path, FAKE_SUDO_PROMPT="1", USER="alice")
    term = Terminal(["os", "switch", "--no-nh", "--log-dir", str(tmp_path / "logs")], env)
    term.expect(rb"\[sudo\] password for alice: ")
    term.type(b"hunter2\r")
    code = term.finish()
    assert code == 0, term.screen.decode(errors="replace")
    assert b"hunter2" not in term.screen                 # the tool switched echo off
    assert b"activating the configuration..." in term.screen
    log = (tmp_path / "logs" / "last-build.log").read_bytes()
    assert b"[sudo] password for alice: " in log and b"hunter2" not in log
    events_prompt = json.loads((tmp_path / "logs" / "last-build.json").read_text())
    assert events_prompt["success"] is True


def test_ctrl_c_typed_by_the_user_stops_the_build(tmp_path: Path):
    env = wrapper_env(tmp_path, FAKE_SPEED="0.2")
    term = Terminal(["os", "switch", "--no-nh", "--log-dir", str(tmp_path / "logs")], env)
    term.expect(rb"zlib-1\.3\.1")
    term.type(b"\x03")
    code = term.finish()
    assert code == 128 + signal.SIGINT
    record = json.loads((tmp_path / "logs" / "last-build.json").read_text())
    assert record["interrupted"] is True and record["exitCode"] == 130
    assert record["derivations"]["aborted"] >= 1
    assert b"build failed" in term.screen and b"interrupted" in term.screen


def test_window_resize_reaches_the_tool(tmp_path: Path):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    tool = bin_dir / "nixos-rebuild"
    tool.write_text(
        f"#!{sys.executable}\n"
        "import os, signal, sys\n"
        "print('size', *os.get_terminal_size(1), flush=True)\n"
        "signal.signal(signal.SIGWINCH, lambda *a: print('resized', *os.get_terminal_size(1), flush=True))\n"
        "signal.sigtimedwait([signal.SIGUSR1], 0.01)\n"
        "import time\n"
        "deadline = time.monotonic() + 10\n"
        "while time.monotonic() < deadline: time.sleep(0.05)\n")
    tool.chmod(0o755)
    env = wrapper_env(tmp_path)
    env["PATH"] = f"{bin_dir}{os.pathsep}{env['PATH']}"
    term = Terminal(["os", "switch", "--no-nh", "--log-dir", str(tmp_path / "logs")], env, size=(30, 100))
    term.expect(rb"size 100 30")
    term.resize(40, 120)
    term.expect(rb"resized 120 40")
    term.proc.send_signal(signal.SIGTERM)
    assert term.finish() == 128 + signal.SIGTERM
