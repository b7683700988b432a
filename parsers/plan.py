"""Nix's announcement of work: "these 4 derivations will be built:" and "these 12 paths
will be fetched (34.5 MiB download, 120.1 MiB unpacked):", each followed by indented
store paths (one message per path, or one message with embedded newlines)."""

from __future__ import annotations

import re

from parsers.events import Event, Plan

_HEADER = re.compile(
    r"^(?:these|this) (?:(\d+) )?(derivations?|paths?) (will|would) be (built|fetched)"
    r"(?: \(([\d.]+) ?([KMGTPEZY]?i?B) download, ([\d.]+) ?([KMGTPEZY]?i?B) unpacked\))?:\s*$"
)
_ITEM = re.compile(r"^\s+(/nix/store/\S+)\s*$")
_UNITS = {"B": 1, "KiB": 1 << 10, "MiB": 1 << 20, "GiB": 1 << 30, "TiB": 1 << 40,
          "PiB": 1 << 50, "KB": 1000, "MB": 10**6, "GB": 10**9, "TB": 10**12}


def _size(number: str | None, unit: str | None) -> int | None:
    if number is None or unit is None:
        return None
    try:
        return int(float(number) * _UNITS.get(unit, 1))
    except ValueError:
        return None


class PlanCollector:
    __slots__ = ("_items", "current", "dry_run", "out")

    def __init__(self, out: list[Event]) -> None:
        self.out = out
        # A dry run (``dry-build``): nix 2.8 to 2.34 say "will be built" there too, so
        # the wording alone cannot tell (only Nix <= 2.3 says "would be").
        self.dry_run = False
        # The plan being read, None when none is (an attribute, not a property: the
        # text parser asks on every line).
        self.current: Plan | None = None
        self._items: list[str] = []

    def feed(self, text: str) -> bool:
        """Take one message or text line; True if it belonged to a plan."""
        if "\n" in text:
            parts = text.split("\n")
            if not _HEADER.match(parts[0]) and not (self.current and _ITEM.match(parts[0])):
                return False
            for part in parts:
                if part.strip() and not self.feed(part):
                    self.flush()
                    return False
            return True
        if self.current is not None:
            if self.item(text):
                return True
            self.flush()
        if not text.startswith("th"):
            return False
        header = _HEADER.match(text)
        if header is None:
            return False
        is_build = header.group(4) == "built"
        self._items = []
        self.current = Plan(
            builds=self._items if is_build else [],
            downloads=[] if is_build else self._items,
            download_bytes=None if is_build else _size(header.group(5), header.group(6)),
            unpacked_bytes=None if is_build else _size(header.group(7), header.group(8)),
            dry_run=self.dry_run or header.group(3) == "would",
        )
        return True

    def item(self, text: str) -> bool:
        """Take ``text`` if it is a store path of the plan being read (a line of its
        list); the text parser asks this first of a line that may be one."""
        if self.current is None:
            return False
        item = _ITEM.match(text)
        if item is None:
            return False
        self._items.append(item.group(1))
        return True

    def flush(self) -> None:
        if self.current is not None:
            self.out.append(self.current)
            self.current = None
