"""Bytes to lines.  Reads end anywhere (PTY reads come in ~4 KiB pieces), so the
splitter keeps the unfinished tail until its newline arrives."""

from __future__ import annotations

DEFAULT_MAX_LINE = 16 * 1024 * 1024


class LineSplitter:
    """Splits a byte stream on ``\\n``.  Lines come out without the ``\\n`` (a ``\\r``
    before it stays; callers that want text strip it).  A line longer than
    ``max_line`` bytes is cut into pieces of that size so memory stays bounded."""

    __slots__ = ("_max_line", "_pending")

    def __init__(self, max_line: int = DEFAULT_MAX_LINE) -> None:
        self._pending = b""
        self._max_line = max_line

    def feed(self, data: bytes) -> list[bytes]:
        if not data:
            return []
        if self._pending:
            data = self._pending + data
        lines = data.split(b"\n")
        self._pending = lines.pop()
        if len(self._pending) > self._max_line:
            tail = self._pending
            cut = len(tail) - len(tail) % self._max_line
            lines.extend(tail[i : i + self._max_line] for i in range(0, cut, self._max_line))
            self._pending = tail[cut:]
        return lines

    @property
    def pending(self) -> bytes:
        """The unfinished line so far (no newline yet)."""
        return self._pending

    def flush(self) -> list[bytes]:
        """End of stream: the unfinished line, if any, as a last line."""
        tail, self._pending = self._pending, b""
        return [tail] if tail else []
