"""Activating a configuration: switch-to-configuration (perl and -ng), nh's and
nixos-rebuild's own lines around it, and Home Manager's activation script.

Home Manager's messages are gettext-translated; we read them as printed with
``LC_ALL=C`` (the wrapper runs it so).  systemd's journal lines keep the locale of the
machine (``Nov 08`` or ``mar 12``): :mod:`parsers.terminal` strips them in any locale.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Final

from parsers.errors.finding import Finding

UNITS_FAILED = re.compile(r"^warning: the following (?:user )?units failed: (.+?)\s*$")
_CLOBBER_WAY = re.compile(r"^Existing file '([^']+)' is in the way of '([^']+)'\s*$")
_CLOBBER = re.compile(r"^Existing file '([^']+)' would be clobbered(?: by backing up '([^']+)')?")
_ACTIVATION_FAILED = re.compile(
    r"^(?:Failed to run activate script|Activation script snippet '.*' failed.*"
    r"|Failed to install bootloader|Error: Failed to run user activation.*"
    r"|Oops, Nix failed to install your new Home Manager profile!.*)\s*$"
)
_UNIT = r"[\w@:.\\-]+\.(?:service|socket|target|timer|mount|automount|path|slice|scope|swap|device)"
_UNIT_JOB_FAILED = re.compile(
    rf"^(?:Failed to (?:start|restart|reload|stop|try-restart|reload-or-restart) ({_UNIT})\b"
    rf"|Job for ({_UNIT}) failed\b)")
# "× kanidm.service - kanidm identity management daemon" (● ○ ↻ × and older symbols).
_STATUS_HEADER = re.compile(rf"^[●○↻×✗◆*] ({_UNIT})(?: - |$)")

Steps = dict[str, tuple[tuple[str, re.Pattern[str], str], ...]]


def _steps(*table: tuple[str, str, str]) -> Steps:
    """Steps indexed by first character: (prefix, full pattern, step)."""
    index: dict[str, list[tuple[str, re.Pattern[str], str]]] = {}
    for prefix, pattern, step in table:
        index.setdefault(prefix[0], []).append((prefix, re.compile(pattern), step))
    return {first: tuple(entries) for first, entries in index.items()}


STEPS: Final = _steps(
    ("activating the configuration", r"^activating the configuration\.\.\.$", "activate"),
    ("setting up /etc", r"^setting up /etc\.\.\.$", "setup-etc"),
    ("stopping the following units: ", r"^stopping the following units: (.*)$", "stop-units"),
    ("NOT restarting the following changed units: ",
     r"^NOT restarting the following changed units: (.*)$", "not-restarting"),
    ("restarting systemd", r"^restarting systemd\.\.\.$", "restart-systemd"),
    ("reloading user units for ", r"^reloading user units for (.*)\.\.\.$", "reload-user-units"),
    ("restarting sysinit-reactivation", r"^restarting sysinit-reactivation\.target$",
     "sysinit-reactivation"),
    ("reloading the following units: ", r"^reloading the following units: (.*)$", "reload-units"),
    ("restarting the following units: ", r"^restarting the following units: (.*)$",
     "restart-units"),
    ("starting the following units: ", r"^starting the following units: (.*)$", "start-units"),
    ("the following new units were started: ", r"^the following new units were started: (.*)$",
     "new-units"),
    ("would ", r"^would (?:stop|NOT stop|reload|restart|start) the following(?: changed)? units: (.*)$",
     "dry-activate"),
    ("would ", r"^would (?:activate the configuration|restart systemd)\.*$", "dry-activate"),
    ("stopping swap device: ", r"^stopping swap device: (.*)$", "stop-swap"),
    # nixos-rebuild between the build and activation (boot skips the check).
    ("Checking switch inhibitors", r"^Checking switch inhibitors", "switch-inhibitors"),
    ("Not checking switch inhibitors", r"^Not checking switch inhibitors", "switch-inhibitors"),
    ("updating GRUB 2 menu", r"^updating GRUB 2 menu", "bootloader"),
    ("installing the GRUB 2 boot loader", r"^installing the GRUB 2 boot loader", "bootloader"),
    ("Copied ", r"^Copied .* to /boot/", "bootloader"),
    ("Installed: ", r"^Installed: .*systemd-boot", "bootloader"),
    ("updating systemd-boot", r"^updating systemd-boot", "bootloader"),
    ("Starting Home Manager activation", r"^Starting Home Manager activation$", "home-manager-start"),
    ("Activating ", r"^Activating (\w+)$", "home-manager"),
    ("Creating new profile generation", r"^Creating new profile generation$", "home-manager-profile"),
    ("No change so reusing latest profile generation",
     r"^No change so reusing latest profile generation", "home-manager-profile"),
    ("> Activating configuration", r"^> Activating configuration$", "activate"),
    ("> Adding configuration to bootloader", r"^> Adding configuration to bootloader$",
     "bootloader"),
)
STEPS_WITH_UNITS: Final = frozenset(
    ("stop-units", "not-restarting", "reload-units", "restart-units", "start-units", "new-units",
     "dry-activate"))


def step(text: str) -> tuple[str, list[str]] | None:
    """The activation step a line announces, and the units it names."""
    entries = STEPS.get(text[:1])
    if entries is None:
        return None
    for prefix, pattern, name in entries:
        if text.startswith(prefix):
            m = pattern.match(text)
            if m:
                units = (split_units(m.group(1)) if m.groups() and name in STEPS_WITH_UNITS
                         else [])
                return name, units
    return None


def split_units(text: str) -> list[str]:
    return [u.strip() for u in text.split(",") if u.strip()]


def clobber(text: str) -> Finding | None:
    """Home Manager refusing to overwrite a file it does not manage (a backup or a
    skip of an identical file is not an error)."""
    m = _CLOBBER_WAY.match(text)
    if m:
        return Finding(kind="home-manager-clobber", message=text.strip(),
                          paths=[m.group(1), m.group(2)])
    m = _CLOBBER.match(text)
    if m:
        return Finding(kind="home-manager-clobber", message=text.strip(),
                          paths=[p for p in m.groups() if p])
    return None


def activation_failure(text: str) -> Finding | None:
    """switch-to-configuration's and Home Manager's own failure lines."""
    if _ACTIVATION_FAILED.match(text):
        return Finding(kind="other", message=text.strip())
    return None


def is_activation_summary(event: Finding) -> bool:
    """``Failed to run activate script``: says that a snippet failed, not which."""
    return event.message.startswith("Failed to run activate script")


def unit_job_failure(text: str) -> Finding | None:
    """``Failed to restart foo.service`` / ``Job for foo.service failed``: a hint; the
    ``units failed`` warning that usually follows says it with the unit's status."""
    m = _UNIT_JOB_FAILED.match(text)
    if m:
        unit = m.group(1) or m.group(2)
        return Finding(kind="activation-unit-failed", message=text.strip(), units=[unit])
    return None


class StatusBlock:
    """``warning: the following units failed: …`` and the ``systemctl status`` output
    that follows it: unit headers, indented properties, journal lines.

    The journal lines are kept as the error's log tail.  A Home Manager clobber found
    among them is the cause of its unit's failure: it is reported first, and the unit
    failure becomes a consequence."""

    MAX_TAIL: Final = 25

    def __init__(self, units: list[str], text: str, depth: int = 0) -> None:
        self.units = units
        self.text = text
        self.depth = depth  # journal prefixes around the whole log (0; 1 if it is a journal)
        self.tail: list[str] = []
        self.causes: list[Finding] = []
        self.explained: set[str] = set()
        self._current: str | None = None

    def take(self, text: str, journals: int,
             interpret: Callable[[str], Finding | None]) -> bool:
        """Take the line (without its prefixes; ``journals``: how many journal prefixes
        it had) if it belongs to the block; ``interpret`` names a cause in a journal
        message."""
        if journals > self.depth:
            if len(self.tail) < self.MAX_TAIL * 4:
                self.tail.append(text)
            cause = interpret(text)
            if cause is not None:
                self.causes.append(cause)
                self.explained.update([self._current] if self._current else self.units)
            return True
        if not text.strip() or text[0] in " \t":
            return True
        header = _STATUS_HEADER.match(text)
        if header:
            self._current = header.group(1)
            return True
        return text.startswith(("Hint: ", "Warning: journal has been rotated"))

    def error(self, hm_failed_before: bool) -> Finding:
        """The unit failure; a consequence when every unit's failure is explained."""
        explained = set(self.explained)
        if hm_failed_before:
            explained.update(u for u in self.units if u.startswith("home-manager-"))
        return Finding(
            kind="activation-unit-failed", message=self.text.strip(), units=self.units,
            root_cause=not all(u in explained for u in self.units),
            log_tail=self.tail[-self.MAX_TAIL:],
        )
