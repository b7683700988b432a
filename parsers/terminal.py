"""What a terminal showed for one line of captured output, and the prefixes other
programs put in front of the messages we read.

A raw terminal capture (``script``, ``&> file``, nh + nom) keeps every redraw: progress
meters overwrite themselves with ``\\r``, nom erases its frame with ``ESC[2K`` and moves
the cursor up with ``ESC[1F`` before printing the next log line *on the same line of the
file*.  What the person saw last on that line is the text after the last such reset.

Prefixes: journal lines (``Nov 08 12:14:18 host unit[pid]: `` in any locale, or ISO
timestamps), and deployment tools that tag each line with its host (colmena's
``host | ``).
"""

from __future__ import annotations

import re

from parsers.store import strip_ansi

# Carriage return, erase-whole-line, cursor to column 1 / previous or next line start.
_RESET = re.compile(r"\r|\x1b\[2K|\x1b\[[0-9]*[GFE]|\x1b\[[0-9;]*H")

# journalctl's short format ("%b %d %H:%M:%S host ident[pid]: "; the month name follows
# the locale: "Nov", "nov.", "mar", "11月") and short-iso.
_JOURNAL = re.compile(
    r"(?:\S{1,12} {1,2}\d{1,2} |\d{4}-\d\d-\d\dT)\d\d:\d\d:\d\d(?:[.,]\d+)?(?:[+-]\d\d:?\d\d|Z)? "
    r"\S+ [^\s\[]+?(?:\[\d+\])?:(?: |$)"
)
# colmena and similar: "      host-a | message".
_HOST = re.compile(r"\s{0,40}[\w.@:-]{1,64} \| ")


def has_reset(raw: str) -> bool:
    """``raw`` returns to the start of its line somewhere (what it shows is the text
    after the last reset)."""
    return _RESET.search(raw) is not None


def visible(raw: str) -> str:
    """The text a terminal would show last on this line, without escapes."""
    if "\x1b" not in raw:
        if "\r" not in raw:
            return raw
        # Carriage returns only (a progress meter): the last non-blank redraw, found
        # from the end without splitting a line of a million redraws into a list.
        end = len(raw)
        while end >= 0:
            start = raw.rfind("\r", 0, end)
            part = raw[start + 1:end]
            if part.strip():
                return part
            end = start
        return ""
    # nom's redraws put many resets before the line it prints last: read what follows
    # the last erase or carriage return first, the whole line only if that is blank.
    cut = max(raw.rfind("\x1b[2K"), raw.rfind("\r"))
    if cut > 0:
        shown = _last_shown(raw[cut:])
        if shown is not None:
            return shown
        raw = raw[:cut]
    return _last_shown(raw) or ""


def _last_shown(raw: str) -> str | None:
    """The last non-blank text between resets, without escapes; None if none."""
    for part in reversed(_RESET.split(raw)):
        text = strip_ansi(part) if "\x1b" in part else part
        if text.strip():
            return text
    return None


def journal_prefix_end(text: str) -> int:
    """Length of a journal prefix at the start of ``text``, 0 if there is none."""
    m = _JOURNAL.match(text)
    return m.end() if m else 0


def host_prefix_end(text: str) -> int:
    """Length of a deployment tool's ``host | `` prefix, 0 if there is none."""
    m = _HOST.match(text)
    return m.end() if m and m.end() == text.find(" | ") + 3 else 0


def unwrap(text: str) -> tuple[str, int]:
    """``text`` without the prefixes that wrap it, and how many journal prefixes were
    removed (a journal read from the journal, ``journalctl -u nixos-upgrade`` showing a
    unit's status, has two).  Hosts and journals may wrap each other."""
    journals = 0
    for _ in range(4):
        # Cheap tests first: this runs for every line.
        if " | " in text:
            end = host_prefix_end(text)
            if end:
                text = text[end:]
                continue
        colon = text.find(":", 4, 24)
        if colon > 0 and text[colon + 3 : colon + 4] == ":":
            end = journal_prefix_end(text)
            if end:
                text = text[end:]
                journals += 1
                continue
        break
    return text, journals
