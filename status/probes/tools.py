"""Running the system's tools (systemctl, journalctl, nixos-version, nix) concurrently,
each with a deadline.  A tool that is not installed is a result ("missing"), not an
exception: containers have no systemd, non-NixOS machines no nixos-version."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import threading
from collections.abc import Mapping, Sequence
from typing import Literal, NamedTuple

ToolState = Literal["ok", "failed", "missing", "timeout", "error"]
DEFAULT_TIMEOUT = 5.0


class ToolResult(NamedTuple):
    argv: tuple[str, ...]
    state: ToolState
    returncode: int | None = None
    stdout: str = ""
    stderr: str = ""

    @property
    def ok(self) -> bool:
        return self.state == "ok"

    def why(self) -> str:
        """Why the tool gave no usable answer, for a person."""
        name = self.argv[0]
        if self.state == "missing":
            return f"{name} not found"
        if self.state == "timeout":
            return f"{name} timed out"
        if self.state == "error":
            return f"{name} could not be started: {self.stderr}"
        detail = self.stderr.strip().splitlines()
        reason = detail[-1] if detail else f"exit code {self.returncode}"
        return f"{name} failed: {reason}"


class ToolRun:
    """A started tool.  ``result()`` waits for it, but never past its deadline: then
    the tool's whole process group is killed."""

    def __init__(self, argv: Sequence[str], timeout: float = DEFAULT_TIMEOUT,
                 env: Mapping[str, str] | None = None) -> None:
        self.argv = tuple(argv)
        self._timeout = timeout
        self._result: ToolResult | None = None
        self._thread: threading.Thread | None = None
        env = os.environ if env is None else env
        executable = shutil.which(self.argv[0], path=env.get("PATH", os.defpath))
        if executable is None:
            self._result = ToolResult(self.argv, "missing")
            return
        try:
            self._proc = subprocess.Popen(
                [executable, *self.argv[1:]], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                stderr=subprocess.PIPE, env=dict(env), start_new_session=True)
        except OSError as exc:
            self._result = ToolResult(self.argv, "error", stderr=exc.strerror or str(exc))
            return
        # A thread per tool drains its pipes: a chatty tool must not stall on a full
        # pipe while we wait for another one.
        self._thread = threading.Thread(target=self._wait, daemon=True)
        self._thread.start()

    def _wait(self) -> None:
        proc = self._proc
        try:
            out, err = proc.communicate(timeout=self._timeout)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(OSError):  # it may have just exited
                os.killpg(proc.pid, signal.SIGKILL)
            out, err = proc.communicate()
            self._result = ToolResult(self.argv, "timeout", None, _text(out), _text(err))
            return
        state: ToolState = "ok" if proc.returncode == 0 else "failed"
        self._result = ToolResult(self.argv, state, proc.returncode, _text(out), _text(err))

    def result(self) -> ToolResult:
        if self._thread is not None:
            self._thread.join()
        assert self._result is not None
        return self._result


def _text(data: bytes) -> str:
    return data.decode("utf-8", "replace")


def run_tool(argv: Sequence[str], timeout: float = DEFAULT_TIMEOUT,
             env: Mapping[str, str] | None = None) -> ToolResult:
    return ToolRun(argv, timeout, env).result()
