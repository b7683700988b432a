"""Plain-text output, one line at a time: plain nix (plans, ``building '…'``, ``copying
path``, ``error:`` reports), nixos-rebuild, nh's ``>`` lines, switch-to-configuration
and Home Manager activation.

An ``error:`` report spans lines (nix indents its continuation), so a report is
collected until the first line that does not continue it, then classified.
"""

from __future__ import annotations

import re
from typing import Final

from .events import Activation, ErrorEvent, LogLine, UnitFailed
from .nixerrors import classify
from .state import ParseState
from .store import machine_name, strip_ansi

MAX_REPORT_LINES: Final = 4000

_BUILDING = re.compile(r"^building '(/nix/store/[^']+\.drv)'(?: on '([^']+)')?\.\.\.\s*$")
_COPYING = re.compile(r"^copying path '(/nix/store/[^']+)' (from|to) '([^']+)'\.\.\.\s*$")
# "Nov 08 12:14:18 host unit[pid]: " in front of lines read from the journal.
_JOURNAL = re.compile(r"^\S{1,12}\.? {1,2}\d{1,2} \d\d:\d\d:\d\d \S+ [^\s:\[]+(?:\[\d+\])?: ")
_UNITS_FAILED = re.compile(r"^warning: the following units failed: (.+?)\s*$")
_CLOBBER_WAY = re.compile(r"^Existing file '([^']+)' is in the way of '([^']+)'\s*$")
_CLOBBER = re.compile(r"^Existing file '([^']+)' would be clobbered(?: by backing up '([^']+)')?")
_ACTIVATION_FAILED = re.compile(
    r"^(Failed to run activate script|Activation script snippet '.*' failed.*"
    r"|Failed to install bootloader|Error: Failed to run user activation.*)\s*$"
)
_STEPS: Final[tuple[tuple[re.Pattern[str], str], ...]] = (
    (re.compile(r"^activating the configuration\.\.\.$"), "activate"),
    (re.compile(r"^setting up /etc\.\.\.$"), "setup-etc"),
    (re.compile(r"^stopping the following units: (.*)$"), "stop-units"),
    (re.compile(r"^NOT restarting the following changed units: (.*)$"), "not-restarting"),
    (re.compile(r"^restarting systemd\.\.\.$"), "restart-systemd"),
    (re.compile(r"^reloading user units for (.*)\.\.\.$"), "reload-user-units"),
    (re.compile(r"^restarting sysinit-reactivation\.target$"), "sysinit-reactivation"),
    (re.compile(r"^reloading the following units: (.*)$"), "reload-units"),
    (re.compile(r"^restarting the following units: (.*)$"), "restart-units"),
    (re.compile(r"^starting the following units: (.*)$"), "start-units"),
    (re.compile(r"^the following new units were started: (.*)$"), "new-units"),
    (re.compile(r"^would (?:stop|NOT stop|reload|restart|start) the following(?: changed)? units: (.*)$"),
     "dry-activate"),
    (re.compile(r"^would (?:activate the configuration|restart systemd)\.*$"), "dry-activate"),
    (re.compile(r"^stopping swap device: (.*)$"), "stop-swap"),
    (re.compile(r"^(?:updating GRUB 2 menu|installing the GRUB 2 boot loader|Copied .* to /boot/|"
                r"Installed: .*systemd-boot|updating systemd-boot).*$"), "bootloader"),
    (re.compile(r"^Starting Home Manager activation$"), "home-manager-start"),
    (re.compile(r"^Activating (\w+)$"), "home-manager"),
    (re.compile(r"^(?:Creating new profile generation|No change so reusing latest profile generation)$"),
     "home-manager-profile"),
    (re.compile(r"^> Activating configuration$"), "activate"),
    (re.compile(r"^> Adding configuration to bootloader$"), "bootloader"),
)


class TextParser:
    """``nix_text`` False: the lines are a view of a stream we already read exactly
    (nom's rendering under nh), so plans, builds and copies in it are not counted
    again; errors still are (deduplicated), and so is everything after nix."""

    def __init__(self, state: ParseState, *, nix_text: bool = True) -> None:
        self.state = state
        self.out = state.out
        self.nix_text = nix_text
        self._report: list[str] = []

    def line(self, raw: str) -> None:
        self.out.append(LogLine(text=raw))
        text = strip_ansi(raw) if "\x1b" in raw else raw
        if "\r" in text:
            # A line redrawn in place (progress meters): what is left is the last draw.
            text = text.rsplit("\r", 1)[-1] if not text.endswith("\r") else text.rstrip("\r")
        if self._report:
            if _continues_report(text) and len(self._report) < MAX_REPORT_LINES:
                self._report.append(text)
                return
            self._close_report()
        if text[:1].isupper() or text[:1].isdigit():
            journal = _JOURNAL.match(text)
            if journal:
                text = text[journal.end():]
        self._interpret(text)

    def _interpret(self, text: str) -> None:
        state = self.state
        if self.nix_text:
            if state.plan.feed(text):
                return
            if text.startswith("building '"):
                m = _BUILDING.match(text)
                if m:
                    state.tracker.start(m.group(1), machine_name(m.group(2) or ""))
                    return
            elif text.startswith("copying path '"):
                m = _COPYING.match(text)
                if m:
                    download = m.group(2) == "from"
                    state.tracker.transfer_start(m.group(1), m.group(3), download)
                    return
        if text.startswith("error:") or text.startswith("error (ignored):"):
            self._report = [text]
            return
        if text.startswith("warning: the following units failed"):
            m = _UNITS_FAILED.match(text)
            if m:
                units = [u.strip() for u in m.group(1).split(",") if u.strip()]
                for unit in units:
                    self.out.append(UnitFailed(unit=unit, text=text))
                state.error(ErrorEvent(kind="activation-unit-failed", message=text.strip(),
                                       units=units))
                return
        if text.startswith("Existing file '"):
            self._clobber(text)
            return
        m = _ACTIVATION_FAILED.match(text)
        if m:
            state.error(ErrorEvent(kind="other", message=text.strip()))
            return
        for pattern, step in _STEPS:
            m = pattern.match(text)
            if m:
                units = ([u.strip() for u in m.group(1).split(",") if u.strip()]
                         if m.groups() and step.endswith(("units", "restarting", "activate"))
                         else [])
                self.out.append(Activation(step=step, text=text, units=units))
                return

    def _clobber(self, text: str) -> None:
        m = _CLOBBER_WAY.match(text)
        if m:
            self.state.error(ErrorEvent(kind="home-manager-clobber", message=text.strip(),
                                        paths=[m.group(1), m.group(2)]))
            return
        m = _CLOBBER.match(text)
        if m:
            paths = [p for p in m.groups() if p]
            self.state.error(ErrorEvent(kind="home-manager-clobber", message=text.strip(),
                                        paths=paths))

    def _close_report(self) -> None:
        report, self._report = self._report, []
        while report and not report[-1].strip():
            report.pop()
        if report:
            self.state.error(classify("\n".join(report)))

    def flush(self) -> None:
        """End of stream: a report still open is complete now."""
        if self._report:
            self._close_report()


def _continues_report(text: str) -> bool:
    """Nix indents everything that belongs to an error report."""
    return not text or text[0] in " \t" or text.startswith("…")
