"""Bytes to lines.  Reads end anywhere (PTY reads come in ~4 KiB pieces), so the
splitter keeps the unfinished tail until its newline arrives.

The tail is kept as a list of the reads it came in, joined once when its newline
arrives: a line that takes a million reads to finish (one huge line, a progress meter
redrawing itself with ``\\r`` and no ``\\n``) costs time linear in its length, not the
square of it, which re-joining the tail on every read would.
"""

from __future__ import annotations

# Longer unfinished lines are cut: memory stays bounded whatever the tool prints (the
# raw log keeps every byte; events carry the line in pieces of this size).
DEFAULT_MAX_LINE = 16 * 1024 * 1024


class LineSplitter:
    """Splits a byte stream on ``\\n``.  Lines come out without the ``\\n`` (a ``\\r``
    before it stays; callers that want text strip it).  A line longer than
    ``max_line`` bytes is cut into pieces of that size so memory stays bounded."""

    __slots__ = ("_chunks", "_max_line", "_size")

    def __init__(self, max_line: int = DEFAULT_MAX_LINE) -> None:
        self._chunks: list[bytes] = []   # the unfinished line, as the reads brought it
        self._size = 0                   # its length
        self._max_line = max_line

    def feed(self, data: bytes) -> list[bytes]:
        if not data:
            return []
        chunks = self._chunks
        if chunks:
            end = data.find(b"\n")
            if end < 0:
                # Still no newline: keep the read, join nothing.
                chunks.append(data)
                self._size += len(data)
                return self._cut() if self._size > self._max_line else []
            chunks.append(data[:end])
            first = b"".join(chunks)
            chunks.clear()
            self._size = 0
            lines = self._bounded(first)
            if end + 1 == len(data):
                return lines
            rest = data[end + 1:]
            lines += rest.split(b"\n") if len(rest) <= self._max_line else self._split_bounded(rest)
        elif len(data) <= self._max_line:
            lines = data.split(b"\n")
        else:
            lines = self._split_bounded(data)
        tail = lines.pop()
        if tail:
            chunks.append(tail)
            self._size = len(tail)
            if self._size > self._max_line:
                lines += self._cut()
        return lines

    # A line is always cut at multiples of the limit from its start, whether it came in
    # one read or a thousand: the lines never depend on where reads end.

    def _bounded(self, line: bytes) -> list[bytes]:
        """A finished line, in pieces if it is longer than the limit."""
        limit = self._max_line
        if len(line) <= limit:
            return [line]
        return [line[i:i + limit] for i in range(0, len(line), limit)]

    def _split_bounded(self, data: bytes) -> list[bytes]:
        """``data.split(b"\\n")`` with each finished line bounded (a read larger than
        the limit); the last element is the unfinished tail, left whole for _cut."""
        parts = data.split(b"\n")
        tail = parts.pop()
        lines: list[bytes] = []
        for part in parts:
            lines += self._bounded(part)
        lines.append(tail)
        return lines

    def _cut(self) -> list[bytes]:
        """The tail grew past the limit: its whole pieces out.  The last piece (1 to
        ``max_line`` bytes) stays, so the newline that may follow ends it rather than
        an empty line of its own."""
        tail = b"".join(self._chunks)
        limit = self._max_line
        cut = (len(tail) - 1) // limit * limit
        rest = tail[cut:]
        self._chunks[:] = [rest]
        self._size = len(rest)
        return [tail[i:i + limit] for i in range(0, cut, limit)]

    @property
    def pending(self) -> bytes:
        """The unfinished line so far (no newline yet)."""
        chunks = self._chunks
        if len(chunks) > 1:
            chunks[:] = [b"".join(chunks)]
        return chunks[0] if chunks else b""

    def has_pending(self) -> bool:
        return bool(self._chunks)

    def flush(self) -> list[bytes]:
        """End of stream: the unfinished line, if any, as a last line."""
        tail = b"".join(self._chunks)
        self._chunks.clear()
        self._size = 0
        return [tail] if tail else []
