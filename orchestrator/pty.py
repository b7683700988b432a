"""Run a program under a pseudo-terminal, as if it ran bare in the user's terminal.

The child gets a new session whose controlling terminal is the PTY's slave, so sudo's
password prompt, colours and progress output work.  No shell sits between argv and the
child: it is started with ``posix_spawn`` (``setsid`` first, then the slave opened as
stdin, stdout and stderr).  The slave's output post-processing is switched off so the
bytes we read are the bytes the child wrote (no ``\\n`` -> ``\\r\\n``), and its suspend
character is disabled: Ctrl-Z must not stop a build nobody could then resume.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import signal
import struct
import sys
import termios
from collections.abc import Iterator, Mapping
from dataclasses import dataclass

import anyio

DEFAULT_SIZE = (24, 80)
# Dispositions Python changes that a child must not inherit.
_RESET_SIGNALS = (signal.SIGPIPE, signal.SIGXFSZ, signal.SIGINT, signal.SIGQUIT,
                  signal.SIGTERM, signal.SIGHUP, signal.SIGTTOU, signal.SIGTTIN, signal.SIGTSTP)


@dataclass(frozen=True)
class ChildExit:
    exit_code: int
    """The exit status, or 128+N for a death by signal N (as a shell reports it)."""
    signal: int | None


def terminal_size(fds: tuple[int, ...] = (2, 0, 1)) -> tuple[int, int] | None:
    """(rows, columns) of the first terminal among ``fds``."""
    for fd in fds:
        try:
            rows, cols, _, _ = struct.unpack(
                "HHHH", fcntl.ioctl(fd, termios.TIOCGWINSZ, b"\0" * 8))
        except OSError:
            continue
        if rows and cols:
            return rows, cols
    return None


def set_size(fd: int, size: tuple[int, int]) -> None:
    rows, cols = size
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))


class PtyChild:
    """A spawned child on a PTY.  Read its output from ``master_fd`` (non-blocking);
    end of output is EIO."""

    def __init__(self, pid: int, master_fd: int) -> None:
        self.pid = pid
        self.master_fd = master_fd
        self._pidfd: int | None = None
        with contextlib.suppress(AttributeError, OSError):
            self._pidfd = os.pidfd_open(pid)
        self.exit: ChildExit | None = None

    @classmethod
    def spawn(cls, argv: list[str], env: Mapping[str, str], *,
              size: tuple[int, int] | None = None) -> PtyChild:
        """Start ``argv`` (``argv[0]`` a path) on a new PTY of ``size`` (rows, cols)."""
        executable = argv[0]
        master, slave = os.openpty()
        try:
            set_size(master, size or DEFAULT_SIZE)
            attrs = termios.tcgetattr(slave)
            attrs[1] &= ~termios.OPOST
            attrs[6][termios.VSUSP] = b"\0"
            termios.tcsetattr(slave, termios.TCSANOW, attrs)
            # Opened by the child after setsid(): it becomes its controlling terminal.
            slave_name = os.ttyname(slave)
            pid = os.posix_spawn(
                executable, argv, dict(env),
                file_actions=[
                    (os.POSIX_SPAWN_OPEN, 0, slave_name, os.O_RDWR, 0),
                    (os.POSIX_SPAWN_DUP2, 0, 1),
                    (os.POSIX_SPAWN_DUP2, 0, 2),
                ],
                setsid=True,
                setsigdef=_RESET_SIGNALS,
                setsigmask=(),
            )
        except BaseException:
            os.close(master)
            raise
        finally:
            # Our copy of the slave must go, or reads never see the end (EIO).
            os.close(slave)
        os.set_blocking(master, False)
        return cls(pid, master)

    async def wait(self) -> ChildExit:
        if self.exit is not None:
            return self.exit
        while True:
            if self._pidfd is not None:
                await anyio.wait_readable(self._pidfd)
            pid, status = os.waitpid(self.pid, os.WNOHANG if self._pidfd is None else 0)
            if pid == self.pid:
                break
            await anyio.sleep(0.05)
        if self._pidfd is not None:
            os.close(self._pidfd)
            self._pidfd = None
        if os.WIFSIGNALED(status):
            sig = os.WTERMSIG(status)
            self.exit = ChildExit(128 + sig, sig)
        else:
            self.exit = ChildExit(os.waitstatus_to_exitcode(status), None)
        return self.exit

    def send_signal(self, sig: int) -> None:
        """To the child's process group and the terminal's foreground group (a tool
        may run its build in a group of its own)."""
        if self.exit is not None:
            return
        groups = {self.pid}
        with contextlib.suppress(OSError):
            groups.add(os.tcgetpgrp(self.master_fd))
        for group in groups:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(group, sig)

    def resize(self, size: tuple[int, int]) -> None:
        with contextlib.suppress(OSError):
            set_size(self.master_fd, size)

    def read(self, limit: int = 1 << 16) -> bytes | None:
        """Bytes available now; b"" if none yet; None at the end of output."""
        try:
            return os.read(self.master_fd, limit)
        except BlockingIOError:
            return b""
        except OSError as exc:
            if exc.errno == errno.EIO:
                return None
            raise

    def write(self, data: bytes) -> None:
        """Input for the child (as if typed).  Dropped if the child is gone."""
        view = memoryview(data)
        while view:
            try:
                view = view[os.write(self.master_fd, view):]
            except BlockingIOError:
                return
            except OSError:
                return

    def close(self) -> None:
        with contextlib.suppress(OSError):
            os.close(self.master_fd)


@contextlib.contextmanager
def raw_input(fd: int = 0) -> Iterator[bool]:
    """Put the user's terminal in raw input mode so every key goes to the child (whose
    own PTY then does echo, line editing and Ctrl-C).  Output processing is kept, so
    our own ``\\n`` still starts a new line.  Yields whether the mode was changed."""
    try:
        saved = termios.tcgetattr(fd)
    except (termios.error, OSError):
        yield False
        return
    attrs = termios.tcgetattr(fd)
    attrs[0] &= ~(termios.BRKINT | termios.ICRNL | termios.INPCK | termios.ISTRIP
                  | termios.IXON | termios.INLCR | termios.IGNCR)
    attrs[3] &= ~(termios.ECHO | termios.ICANON | termios.IEXTEN | termios.ISIG)
    attrs[6][termios.VMIN] = 1
    attrs[6][termios.VTIME] = 0
    try:
        termios.tcsetattr(fd, termios.TCSAFLUSH, attrs)
        yield True
    finally:
        with contextlib.suppress(termios.error, OSError):
            termios.tcsetattr(fd, termios.TCSAFLUSH, saved)


if sys.platform != "linux":  # pragma: no cover
    raise ImportError("orchestrator.pty needs Linux (posix_spawn with setsid, pidfd)")
