"""The order errors are reported in: root causes first, then consequences, each in the
order they happened (``last-build.json``, the ``errors`` command, the consoles)."""

from __future__ import annotations

from collections.abc import Sequence

from parsers.events import ErrorEvent


def ordered_errors(errors: Sequence[ErrorEvent]) -> list[ErrorEvent]:
    """Root causes first, then consequences, each in the order they happened."""
    return [e for e in errors if e.root_cause] + [e for e in errors if not e.root_cause]
