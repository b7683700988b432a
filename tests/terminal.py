"""A pseudo-terminal a test runs the wrapper in, as if a person sat in front of it;
optionally rendered with pyte so tests can assert on what the screen shows."""

from __future__ import annotations

import fcntl
import os
import pty
import re
import select
import struct
import subprocess
import sys
import termios
import time

import pyte


class Terminal:
    """A pseudo-terminal the wrapper runs in, as if a person sat in front of it."""

    def __init__(self, args: list[str], env: dict[str, str], size: tuple[int, int] = (30, 100)) -> None:
        rows, cols = size
        self.pyte_screen = pyte.Screen(cols, rows)
        self._pyte = pyte.ByteStream(self.pyte_screen)
        self.master, slave = pty.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", *size, 0, 0))

        def controlling_terminal() -> None:
            os.setsid()
            fcntl.ioctl(0, termios.TIOCSCTTY, 0)

        self.proc = subprocess.Popen([sys.executable, "-m", "orchestrator.wrapper_cli", *args],
                                     stdin=slave, stdout=slave, stderr=slave, env=env,
                                     preexec_fn=controlling_terminal)
        os.close(slave)
        self.screen = b""

    def read(self, timeout: float) -> bool:
        ready, _, _ = select.select([self.master], [], [], timeout)
        if not ready:
            return True
        try:
            data = os.read(self.master, 65536)
        except OSError:
            return False
        self.screen += data
        self._pyte.feed(data)
        return bool(data)

    def display(self) -> str:
        """What the terminal shows now, one line per row."""
        return "\n".join(line.rstrip() for line in self.pyte_screen.display)

    def wait_for_display(self, pattern: str, timeout: float = 20) -> str:
        deadline = time.monotonic() + timeout
        while not re.search(pattern, self.display(), re.M):
            assert time.monotonic() < deadline, f"screen never showed {pattern!r}:\n{self.display()}"
            if not self.read(0.05):
                assert re.search(pattern, self.display(), re.M), self.display()
        return self.display()

    def expect(self, pattern: bytes, timeout: float = 20) -> None:
        deadline = time.monotonic() + timeout
        while not re.search(pattern, self.screen):
            assert time.monotonic() < deadline, f"no {pattern!r} in {self.screen[-2000:]!r}"
            if not self.read(0.1):
                assert re.search(pattern, self.screen), f"no {pattern!r} in {self.screen[-2000:]!r}"

    def type(self, keys: bytes) -> None:
        os.write(self.master, keys)

    def resize(self, rows: int, cols: int) -> None:
        fcntl.ioctl(self.master, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))

    def finish(self, timeout: float = 30) -> int:
        deadline = time.monotonic() + timeout
        while self.proc.poll() is None and time.monotonic() < deadline:
            self.read(0.1)
        while self.read(0.05):
            pass
        os.close(self.master)
        return self.proc.wait(5)


