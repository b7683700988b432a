"""``json-log-path`` capture: nix's structured stream on a private Unix socket.

Nix >= 2.30 (and Determinate Nix >= 3.1) copies its internal-json stream, at the
verbosity of ``--log-format internal-json``, to the file or Unix socket that the
``json-log-path`` setting names: one JSON object a line, without the ``@nix `` prefix
(src/libutil/logging.cc ``makeJSONLogger``; nix connects when the path is a socket).
The wrapper listens on a socket in a directory only its user can enter and hands the
path to the tool through ``NIX_CONFIG`` (``Invocation.child_env``), so the tool's argv
and the user's view (nom under nh, nix's bar under nixos-rebuild) stay as they are.

Each nix process connects once (nh runs several, one after another; they may overlap),
so each connection has its own line buffer: lines never interleave.  With no listener
nix prints ``error (ignored): …`` and builds on, so a failure here never stops a build.
This module starts no process; it runs in the wrapper's anyio (trio) event loop.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Callable

import anyio
import anyio.abc

SOCKET_NAME = "nix-json-log.sock"
# After the tool exits, a connection still open (its nix exiting) is read this long.
DRAIN_S = 1.0
MAX_LINE = 64 << 20  # a line longer than this is cut (nix's own lines are far shorter)


class JsonLogCapture:
    """Listen for nix's JSON lines; each complete line goes to ``on_line``."""

    def __init__(self, on_line: Callable[[bytes], None],
                 report: Callable[[str], None] | None = None) -> None:
        self._on_line = on_line
        self._report = report or (lambda _message: None)
        self.directory = tempfile.mkdtemp(prefix="nixos-build-wrapper-")  # mode 0700
        self.path = os.path.join(self.directory, SOCKET_NAME)
        self._listener: anyio.abc.SocketListener | None = None
        self._open = 0
        self._idle = anyio.Event()
        self._idle.set()
        self.connections = 0
        self.lines = 0

    async def bind(self) -> None:
        """Listen (before the tool starts: nix connects when its logger is set up)."""
        self._listener = await anyio.create_unix_listener(self.path)

    async def serve(self) -> None:
        """Accept connections until cancelled."""
        if self._listener is None:
            return
        async with anyio.create_task_group() as group:
            while True:
                try:
                    stream = await self._listener.accept()
                except (anyio.ClosedResourceError, OSError) as exc:
                    self._report(f"json-log-path socket: {exc}")
                    return
                self.connections += 1
                self._open += 1
                self._idle = anyio.Event()
                group.start_soon(self._read, stream)

    async def _read(self, stream: anyio.abc.SocketStream) -> None:
        # The unfinished line as its chunks, joined once when it ends: a long line costs
        # linear time, not a copy of all it has so far per chunk.
        parts: list[bytes] = []
        size = 0
        try:
            async with stream:
                async for chunk in stream:
                    if b"\n" not in chunk:
                        parts.append(chunk)
                        size += len(chunk)
                        if size >= MAX_LINE:
                            self._line(b"".join(parts))
                            parts, size = [], 0
                        continue
                    first, *lines, last = chunk.split(b"\n")
                    parts.append(first)
                    self._line(b"".join(parts))
                    for line in lines:
                        self._line(line)
                    parts, size = ([last], len(last)) if last else ([], 0)
        except (anyio.BrokenResourceError, OSError):
            pass
        finally:
            if parts:
                self._line(b"".join(parts))  # nix died mid-line: what it wrote still counts
            self._open -= 1
            if self._open == 0:
                self._idle.set()

    def _line(self, line: bytes) -> None:
        line = line.rstrip(b"\r")
        if line:
            self.lines += 1
            self._on_line(line)

    async def drain(self) -> None:
        """The tool has exited: read what its nix processes still send, briefly."""
        with anyio.move_on_after(DRAIN_S):
            await self._idle.wait()

    async def close(self) -> None:
        if self._listener is not None:
            with contextlib.suppress(Exception):
                await self._listener.aclose()
            self._listener = None
        shutil.rmtree(self.directory, ignore_errors=True)
