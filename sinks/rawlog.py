"""Every byte the tool wrote, in order, written as it arrives."""

from __future__ import annotations

import os
from pathlib import Path

from records.files import open_append, write_all


class RawLog:
    """A byte sink (it takes the child's bytes, not events).  Unbuffered: ``tail -f``
    and a crash of the wrapper both see everything received so far."""

    def __init__(self, path: Path, name: str = "raw log") -> None:
        self.path = path
        self.name = name
        self.bytes = 0
        self._fd: int | None = open_append(path)

    def write(self, data: bytes) -> None:
        if self._fd is not None:
            write_all(self._fd, data)
            self.bytes += len(data)

    def close(self) -> None:
        fd, self._fd = self._fd, None
        if fd is not None:
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
