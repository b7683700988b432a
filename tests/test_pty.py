"""The PTY runner: the child gets a real terminal, its bytes arrive untouched, its exit
status (or the signal that killed it) comes back, nothing is lost at exit."""

from __future__ import annotations

import os
import re
import signal
import sys
from pathlib import Path

import anyio

from orchestrator.pty import PtyChild


async def read_all(child: PtyChild) -> bytes:
    chunks = []
    while True:
        data = child.read()
        if data is None:
            return b"".join(chunks)
        if data:
            chunks.append(data)
            continue
        with anyio.move_on_after(5):
            await anyio.wait_readable(child.master_fd)


def py(code: str) -> list[str]:
    return [sys.executable, "-c", code]


async def test_child_has_a_controlling_terminal_of_the_given_size():
    child = PtyChild.spawn(py(
        "import os, fcntl, termios, struct\n"
        "print(os.isatty(0), os.isatty(1), os.isatty(2))\n"
        "print(struct.unpack('HHHH', fcntl.ioctl(1, termios.TIOCGWINSZ, b'0' * 8))[:2])\n"
        "fd = os.open('/dev/tty', os.O_RDWR); os.write(fd, b'via /dev/tty\\n')\n"
        "print(os.getsid(0) == os.getpid())\n"), dict(os.environ), size=(30, 100))
    out = await read_all(child)
    exit = await child.wait()
    assert exit.exit_code == 0
    assert out.splitlines() == [b"True True True", b"(30, 100)", b"via /dev/tty", b"True"]


async def test_bytes_arrive_exactly_as_written():
    head = b"plain\nwindows\r\n\xff\xfe invalid utf-8 \x1b[31mred\x1b[0m"
    payload = head + b"z" * 300_000
    child = PtyChild.spawn(py(f"import sys\nsys.stdout.buffer.write({head!r} + b'z' * 300_000)"),
                           dict(os.environ))
    out = await read_all(child)
    assert (await child.wait()).exit_code == 0
    assert out == payload  # no \r added, nothing lost when the child exits at once


async def test_exit_status_and_death_by_signal():
    child = PtyChild.spawn(py("raise SystemExit(7)"), dict(os.environ))
    await read_all(child)
    assert (await child.wait()).exit_code == 7
    child = PtyChild.spawn(py("import os, signal; os.kill(os.getpid(), signal.SIGSEGV)"), dict(os.environ))
    await read_all(child)
    exit = await child.wait()
    assert (exit.exit_code, exit.signal) == (128 + signal.SIGSEGV, signal.SIGSEGV)


def is_gone(pid: int) -> bool:
    """Dead, or a zombie waiting for its new parent (here PID 1, which reaps when it
    gets round to it) to collect it: either way the signal reached it."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return True
    return stat.rpartition(")")[2].split()[0] in ("Z", "X")


async def test_signals_reach_the_childs_process_group():
    child = PtyChild.spawn(py(
        "import subprocess, sys, time\n"
        "sub = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(30)'])\n"
        "print('ready', sub.pid, flush=True)\n"
        "sub.wait()\n"), dict(os.environ))
    # The line may arrive in pieces: wait for all of it, not just for "ready".
    buf = b""
    while (ready := re.search(rb"ready (\d+)\r?\n", buf)) is None:
        with anyio.fail_after(30):
            await anyio.wait_readable(child.master_fd)
        buf += child.read() or b""
    grandchild = int(ready.group(1))
    child.send_signal(signal.SIGTERM)
    exit = await child.wait()
    assert exit.signal == signal.SIGTERM and exit.exit_code == 143
    with anyio.fail_after(30):  # a guard against a hang, not a timing assertion
        while not is_gone(grandchild):
            await anyio.sleep(0.05)


async def test_input_written_to_the_terminal_is_read_by_the_child():
    child = PtyChild.spawn(py("print('got', input())"), dict(os.environ))
    child.write(b"hello\n")
    out = await read_all(child)
    assert (await child.wait()).exit_code == 0
    assert out.splitlines()[-1] == b"got hello"
