"""The errors of a saved log, through the same pipeline the wrapper runs live.

Used by ``nixos-build-status errors`` and the accuracy scorer: bytes from one or more
sources go through :class:`LogStream` (per-line format detection, every parser), and
the ``error`` events come out in stream order.
"""

from __future__ import annotations

from collections.abc import Iterable

from .clock import ManualClock
from .events import BuildFinished, BuildStarted, ErrorEvent
from .stream import NIX, TTY, LogStream


def extract(sources: Iterable[tuple[str, Iterable[bytes]]], *,
            exit_code: int | None = None) -> tuple[list[ErrorEvent], BuildFinished]:
    """The errors of a build's output, and its closing event.

    ``sources``: ``(name, chunks)`` pairs; ``name`` is ``"tty"`` for what the terminal
    showed (``last-build.log``, a pasted log) or ``"nix"`` for nix's exact
    internal-json stream saved beside it (``last-build.nix.log``).  When both are given
    the terminal's view of nix (nom's rendering) is not counted twice."""
    sources = list(sources)
    has_nix = any(name == NIX for name, _ in sources)
    stream = LogStream(ManualClock(), log_lines=True, tty_is_nix=not has_nix)
    errors: list[ErrorEvent] = []

    def keep(events: Iterable[object]) -> None:
        errors.extend(e for e in events if type(e) is ErrorEvent)

    keep(stream.begin(BuildStarted(build_id="extract", source="log")))
    for name, chunks in sources:
        source = NIX if name == NIX else TTY
        for chunk in chunks:
            keep(stream.feed(chunk, source))
    end = stream.end(exit_code)
    keep(end)
    finished = end[-1]
    assert isinstance(finished, BuildFinished)
    return errors, finished


def extract_bytes(data: bytes, *, exit_code: int | None = None) -> list[ErrorEvent]:
    """The errors of one log held in memory, in stream order."""
    return extract([(TTY, [data])], exit_code=exit_code)[0]
