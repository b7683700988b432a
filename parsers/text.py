"""Plain-text output, one line at a time: plain nix of every version (plans,
``building '…'``, ``copying path``, error reports), nix-output-monitor's rendered view,
nixos-rebuild(-ng) and nh lines, switch-to-configuration and Home Manager activation,
and a builder's bare log (``nix log``).

The format is decided per line, so a log that mixes them (nh: nom's view, then
activation text) parses whole.  Lines are first reduced to what the terminal showed
(redraws, colours, hyperlinks), then stripped of prefixes that wrap real messages
(journal, deployment hosts, nom's ``┃`` gutter).

Several things span lines and are collected before they are judged: a nix error report
(an ``error:`` line and its indented continuation), the ``systemctl status`` block after
``the following units failed``, a builder's quoted log lines pasted without their
header, a Rust error chain, a Python traceback.  Everything else is decided on the line.

Per-line work is kept small: the common line (a builder's output) costs a few
substring tests and one dictionary lookup on its first two characters.
"""

from __future__ import annotations

import re
from collections import OrderedDict
from collections.abc import Callable
from typing import Final

from parsers import activation, nh, nomview
from parsers.derivations import MAX_OPEN
from parsers.errors import blocks
from parsers.errors import classify as nixerrors
from parsers.errors.finding import Finding
from parsers.errors.policy import Strength
from parsers.events import Activation, LogLine, UnitFailed
from parsers.nomview import NomLine
from parsers.state import ParseState
from parsers.store import machine_name
from parsers.terminal import has_reset, unwrap, visible

_BUILDING = re.compile(r"^building '(/nix/store/[^']+\.drv)'(?: on '([^']+)')?\.\.\.\s*$")
_COPYING = re.compile(r"^copying path '(/nix/store/[^']+)' (from|to) '([^']+)'\.\.\.\s*$")
_COMMAND_FAILED = re.compile(
    r"^Command '.*' (?:returned non-zero exit status (-?\d+)|died with <Signals\.\w+: (\d+)>)\.?\s*$")
_NH_ERROR = re.compile(r"^ERROR (.*?)(?: \(nh/[^)]*\))?\s*$")
_SUDO_FATAL = re.compile(
    r"^sudo: (?:(timed out reading password)|\d+ incorrect password attempts?"
    r"|no tty present.*|a terminal is required.*|.* is not in the sudoers file.*)")
_SSH_DENIED = re.compile(r"Permission denied \((?:publickey|password|keyboard-interactive)"
                         r"|Host key verification failed")
_CXX_ASSERT = re.compile(r"^\S+: \S+\.(?:cc|cpp|hh|h):\d+: [^`]*Assertion `.*' failed\.?\s*$")
_BARE_OUTPUT = re.compile(
    r"(?:shrinking RPATHs of ELF executables and libraries in |patching script interpreter paths in "
    r"|checking for references to /build/ in |--prefix=)(/nix/store/[0-9a-z]{32}-[^/\s]+)")
_VERSION_DASH = re.compile(r"-(?![A-Za-z])")
# Elevation that failed before the tool could run.
_ELEVATION_FAILED = re.compile(
    r"^(?:doas: Authentication failed|Error executing command as another user: Not authorized"
    r"|pkexec: .*not authorized|.*: pam_authenticate failed)")

# Nix's progress bar and evaluation status, captured without the erase that removes
# them (a paste, a pipe): the next line's text is glued to them.
_PROGRESS = re.compile(r"^(?:\[\d+(?:/\d+){0,3} (?:built|copied)\b[^\]]*\]|evaluating (?:derivation|file) '[^']*')")
# Nix crashing (2.2x: "terminating due to unexpected unrecoverable internal error: …",
# then "Nix crashed. This is a bug.").
_NIX_CRASH: Final = "terminating due to unexpected unrecoverable internal error: "

_FRAME_CHARS: Final = nomview.FRAME_CHARS
_MAX_NAMES: Final = 2 * MAX_OPEN  # "name> " prefixes remembered
_STEPS: Final = activation.STEPS


class TextParser:
    """Text lines of any of the formats above; events go to ``state.out``, what they say
    about errors to ``state.policy`` (which decides what is reported)."""

    def __init__(self, state: ParseState) -> None:
        self.state = state
        self.out = state.out
        self.policy = state.policy
        self._plan = state.plan
        self._lineno = 0
        self._block: blocks.Block | None = None
        self._status: activation.StatusBlock | None = None
        self._nom = nomview.NomView()
        self._recent = self.policy.recent  # unattributed builder output (the policy's)
        # True iff a build is running as far as the log shows (a ``building '…'`` line or
        # a phase banner since the last activation step): unknown lines are its output.
        self._building = False
        # True iff nix's own framing (a build or copy line, a plan, a nix report, nom's
        # view) was seen; a log with phase banners but no framing is a bare builder log.
        self._nix_seen = False
        self._bare_phases = 0  # stdenv phase banners seen before any nix framing
        self._bare_output: str | None = None  # the output path a bare builder log names
        self._journals = 0  # journal prefixes of the current line
        # "name> " prefixes to derivation paths (ordered: the oldest go first).
        self._by_name: OrderedDict[str, str] = OrderedDict()
        # Keyed by a line's first two characters: most lines (a builder's output) find
        # no handler at all.
        self._handlers: dict[str, Callable[[str], bool]] = {
            "er": self._error_line, "bu": self._build_line, "co": self._copy_or_old_dependency,
            "ca": self._copy_or_old_dependency, "ha": self._unprefixed_hash_mismatch,
            "un": self._unprefixed_download,
            "ou": self._old_hash_mismatch, "th": self._plan_line, "wa": self._warning,
            "Ex": self._tool_error, "Er": self._tool_error, "ER": self._tool_error,
            "Fa": self._activation_failure, "Ac": self._activation_failure,
            "Oo": self._activation_failure, "Jo": self._activation_failure,
            "Co": self._wrapper_command, "Tr": self._traceback_start, "Wa": self._init_changed,
            "Ru": self._phase_banner, "su": self._sudo, "/n": self._store_path_line,
            "te": self._nix_crash, "Ni": self._nix_crash,
            "^C": self._glued, "ev": self._glued,
            **{f"[{digit}": self._glued for digit in "0123456789"},
        }

    # --- per line ---------------------------------------------------------------------

    def line(self, raw: str, logged: bool = True) -> None:
        if logged:  # not for text read again out of a report (parsers/nh.py)
            self.out.append(LogLine(text=raw))
        self._lineno += 1
        lead = raw[:1]
        if lead == "┃" and self._status is None and not self._nom.in_errors and \
                "⚠" not in raw and ":" not in raw and "\r" not in raw and \
                ("\x1b" not in raw or not has_reset(raw)):
            # nom's dependency graph or table (a third of a capture of nom): nothing in
            # it is read (NomLine.OTHER), so its colours are not stripped.  No colon:
            # no journal prefix; no reset: the line shows what it starts with.
            self._journals = 0
            self._nix_seen = True
            if self._block is not None:
                self._close_block()
            return
        if lead == " " and self._block is None and self._status is None and \
                "\x1b" not in raw and self._plan.item(raw):
            # A store path of the plan being announced (hundreds in a rebuild): no
            # prefix starts with a space, and a line that matches holds no "\r".
            self._journals = 0
            if self._nom.in_errors:
                self._nom.interrupted()
            return
        text = visible(raw) if ("\x1b" in raw or "\r" in raw) else raw
        # Prefixes: cheap tests first, this runs for every line.
        colon = text.find(":", 4, 24)
        if " | " in text or (colon > 0 and text[colon + 3 : colon + 4] == ":"):
            text, journals = unwrap(text)
        else:
            journals = 0
        status = self._status
        if status is not None:
            if status.take(text, journals, self._cause_in_journal):
                return
            self._close_status()
        self._journals = journals
        if text[:1] in _FRAME_CHARS:
            self._nom_line(text)
            return
        if self._nom.in_errors:
            self._nom.interrupted()
        self._text(text)

    def _text(self, text: str) -> None:
        """A line without its wrapping: from the log, or from behind nom's gutter."""
        block = self._block
        if block is not None:
            if block.take(text):
                if block.done:
                    self._close_block()
                return
            self._close_block()
        plan = self._plan
        if plan.current is not None and plan.feed(text):
            return
        first = text[:1]
        if first == " " or first == "\t":
            if self._indented(text):
                return
        else:
            handler = self._handlers.get(text[:2])
            if handler is not None and handler(text):
                return
        if first in _STEPS:
            found = activation.step(text)
            if found is not None:
                self._activation(found[0], text, found[1])
                return
        if self._building and not self._bare_phases and "> " not in text:
            self._recent.append(text)  # a builder's output: most lines (_other's case)
            return
        self._other(text, first)

    def _other(self, text: str, first: str) -> None:
        """A line no handler claimed: builder output, a clue, or nothing."""
        if "> " in text and first != " " and first != "\t":
            gt = text.find("> ", 1, 120)
            if gt > 0 and " " not in text[:gt] and self._prefixed_build_output(
                    text[:gt], text[gt + 2:]):
                return
        if self._building:
            self._recent.append(text)
            if self._bare_phases and self._bare_output is None and "/nix/store/" in text:
                m = _BARE_OUTPUT.search(text)
                if m:
                    self._bare_output = m.group(1)
            return
        if text.strip():
            self.policy.said = (self._lineno, text.strip())
        if "No space left on device" in text or "Disk quota exceeded" in text:
            self._clue(Finding(kind="out-of-space", message=text.strip()))
        elif "denied" in text or "verification failed" in text:
            if _SSH_DENIED.search(text):
                self._clue(Finding(kind="permission", message=text.strip()))
        elif "Assertion `" in text and _CXX_ASSERT.match(text):
            # Nix itself crashed (a C++ assert), not a NixOS assertion.
            self._found(Finding(kind="other", message=text.strip()))
        elif ("doas" in text or "auth" in text or "pkexec" in text) and \
                _ELEVATION_FAILED.match(text):
            self._found(Finding(kind="permission", message=text.strip()))

    # --- handlers by how a line starts (True: the line was taken) ----------------------

    def _error_line(self, text: str) -> bool:
        if text.startswith("error"):
            if text.startswith("error:"):
                self._open_report(text)
                return True
            if text.startswith("error (ignored)"):
                self._block = blocks.Block(blocks.IGNORED, text)
                return True
        return False

    def _build_line(self, text: str) -> bool:
        if text.startswith("building '"):
            m = _BUILDING.match(text)
            if m:
                self._nix_seen = True
                self._start(m.group(1), machine_name(m.group(2) or ""))
                self._building = True
                return True
        elif text.startswith("builder for "):
            self._open_report(text)
            return True
        elif text.startswith("building path(s) "):
            self._nix_seen = self._building = True
            return True
        return False

    def _copy_or_old_dependency(self, text: str) -> bool:
        if text.startswith("copying path '"):
            m = _COPYING.match(text)
            if m:
                self._nix_seen = True
                download = m.group(2) == "from"
                self.state.tracker.transfer_start(m.group(1), m.group(3), download)
                return True
        elif text.startswith("cannot build derivation "):
            self._open_report(text)
            return True
        return False

    def _unprefixed_hash_mismatch(self, text: str) -> bool:
        if text.startswith("hash mismatch in fixed-output derivation"):
            self._open_report(text)
            return True
        return False

    def _unprefixed_download(self, text: str) -> bool:
        if text.startswith("unable to download '"):
            self._open_report(text)  # nix 2.3: "unable to download '…': HTTP error 503"
            return True
        return False

    def _old_hash_mismatch(self, text: str) -> bool:
        if text.startswith("output path ") and " hash " in text:
            self._open_report(text)
            return True
        return False

    def _plan_line(self, text: str) -> bool:
        if self.state.plan.feed(text):
            self._nix_seen = True
            return True
        return False

    def _warning(self, text: str) -> bool:
        if not text.startswith("warning: "):
            return False
        if text.startswith("warning: the following"):
            m = activation.UNITS_FAILED.match(text)
            if m:
                units = activation.split_units(m.group(1))
                for unit in units:
                    self.out.append(UnitFailed(unit=unit, text=text))
                self._status = activation.StatusBlock(units, text, self._journals)
                self._building = False
                return True
        elif text.startswith("warning: Git tree '"):
            self.policy.dirty_tree = True
        elif text.startswith("warning: error(s) occurred while switching"):
            self.policy.weak(Finding(kind="other", message=text.strip()), Strength.WRAPPER)
        return True

    def _tool_error(self, text: str) -> bool:
        if text.startswith("Existing file '"):
            event = activation.clobber(text)
            if event is not None:
                self._found(event)
            return True
        if text.startswith("Error:"):
            event = activation.activation_failure(text)
            if event is not None:
                self._found(event)
                return True
            if self._building:
                return False  # a builder's own output
            self._block = blocks.Block(blocks.CHAIN, text)
            return True
        if text.startswith("ERROR ") and not self._building:
            m = _NH_ERROR.match(text)
            if m:
                self.policy.weak(Finding(kind=nixerrors.kind_of(m.group(1)) or "other",
                                         message=m.group(1).strip()), Strength.WRAPPER)
                return True
        return False

    def _activation_failure(self, text: str) -> bool:
        """switch-to-configuration's and Home Manager's failure lines, and systemctl's
        "Job for … failed" / "Failed to start …" (a clue: the units-failed warning
        that follows says it with the unit's status); a bare ``Failed assertions:``
        list (a paste without its ``error:`` line)."""
        if text.startswith("Failed assertions:"):
            self._bare_assertions(text)
            return True
        event = activation.activation_failure(text)
        if event is not None:
            self.policy.activation_failure(event, self._lineno)
            return True
        event = activation.unit_job_failure(text)
        if event is not None:
            self._clue(event)
            return True
        return False

    def _wrapper_command(self, text: str) -> bool:
        if text.startswith("Command '") and not self._building:
            m = _COMMAND_FAILED.match(text)
            if m:
                code = int(m.group(1)) if m.group(1) else 128 + int(m.group(2))
                self.policy.weak(Finding(kind="other", message=text.strip(), exit_code=code),
                                 Strength.WRAPPER)
                return True
        return False

    def _traceback_start(self, text: str) -> bool:
        if text.startswith("Traceback (most recent call last)") and not self._building:
            self._block = blocks.Block(blocks.TRACEBACK, text)
            return True
        return False

    def _init_changed(self, text: str) -> bool:
        if text.startswith("Warning: the new NixOS configuration has an"):
            # switch-to-configuration exits 100: the new init needs a reboot.
            self.policy.weak(Finding(kind="other", message=" ".join(text.split())),
                             Strength.WRAPPER)
            return True
        return False

    def _glued(self, text: str) -> bool:
        """A line behind the terminal's ``^C`` echo or nix's progress text, captured
        without the erase that removed them: the rest is read as a line of its own."""
        first = text[0]
        if first == "[":
            # nix's bar, a build's status ("building foo (checkPhase): …"), possibly
            # redrawn several times, then the line nix printed.  Cheap test first:
            # builder output (ninja's "[3/20] Building …") starts like this too.
            at = text.rfind("error: ")
            if at <= 0 or not _PROGRESS.match(text):
                return False
            rest = text[at:]
        elif first == "^":
            if not text.startswith("^C"):
                return False
            rest = text[2:]
            while rest.startswith("^C"):
                rest = rest[2:]
        else:
            m = _PROGRESS.match(text)  # "evaluating derivation '…'" + the next line
            if m is None or m.end() == len(text):
                return False
            rest = text[m.end():]
        self._text(rest)
        return True

    def _nix_crash(self, text: str) -> bool:
        if text.startswith(_NIX_CRASH):
            self._found(Finding(kind="other", message=text.strip()))
            return True
        if text.startswith("Nix crashed. This is a bug."):
            self.policy.weak(Finding(kind="other", message=text.strip()), Strength.WRAPPER)
            return True
        return False

    def _phase_banner(self, text: str) -> bool:
        if text.startswith("Running phase: "):
            # stdenv's phase banner: builder output, possibly a bare builder log.
            if not self._nix_seen:
                self._bare_phases += 1
            self._building = True
            self._recent.append(text)
            return True
        return False

    def _sudo(self, text: str) -> bool:
        if text.startswith("sudo: "):
            m = _SUDO_FATAL.match(text)
            if m:
                self._found(Finding(kind="timeout" if m.group(1) else "permission",
                                    message=text.strip()))
            elif text.startswith("sudo: a password is required"):
                self._clue(Finding(kind="permission", message=text.strip()))
            return True
        return False

    def _store_path_line(self, text: str) -> bool:
        if text.startswith("/nix/store/") and " timed out after " in text:
            self._open_report(text)  # nix 2.3: "/nix/store/….drv timed out after 3600 seconds"
            return True
        return False

    def _indented(self, text: str) -> bool:
        stripped = text.lstrip()
        c = stripped[:1]
        if c == ">" and (stripped.startswith("> ") or stripped == ">"):
            # A builder's quoted log lines without nix's header (a pasted excerpt).
            self._block = blocks.Block(blocks.QUOTE, text)
            return True
        if c == "F" and stripped.startswith("Failed assertions:"):
            self._bare_assertions(text)
            return True
        if c in ("…", "e") and (stripped.startswith(("… ", "error: ")) or stripped == "error:"):
            # A report pasted without its first line: a trace, or the inner error.
            self._block = blocks.Block(blocks.REPORT, text)
            return True
        return False

    def _bare_assertions(self, text: str) -> None:
        """NixOS's ``Failed assertions:`` list without nix's ``error:`` line before it:
        the report it belongs to."""
        block = blocks.Block(blocks.REPORT, "error:")
        block.lines.append(text)
        self._block = block

    # --- nom's view -------------------------------------------------------------------

    def _nom_line(self, text: str) -> None:
        self._nix_seen = True
        kind, payload, extra = self._nom.line(text)
        if kind is NomLine.ERROR_TEXT:
            self._text(payload)
            return
        if kind is NomLine.FINISHED:
            self.state.succeeded = True
        if self._block is not None:
            self._close_block()
        if kind is NomLine.FAILED_NODE:
            code, hash_mismatch, phase = extra
            self.policy.fallback(Finding(
                kind="hash-mismatch" if hash_mismatch else "build-failure",
                message=text[text.index("⚠") + 1:].strip(), derivation=payload,
                exit_code=int(code) if code else None, phase=phase))
        elif kind is NomLine.SUMMARY:
            self.policy.weak(Finding(kind="other", message=payload), Strength.WRAPPER)

    # --- derivations ------------------------------------------------------------------

    def _start(self, path: str, machine: str | None) -> None:
        drv = self.state.tracker.start(path, machine)
        # nix -L and nom prefix log lines with the name without its version (nix's
        # DrvName: up to the first dash not followed by a letter), nom sometimes whole.
        by_name = self._by_name
        by_name.setdefault(drv.name, path)
        m = _VERSION_DASH.search(drv.name)
        if m:
            by_name.setdefault(drv.name[:m.start()], path)
        if len(by_name) > _MAX_NAMES:  # bounded memory: the oldest names go first
            by_name.popitem(last=False)

    def _prefixed_build_output(self, name: str, rest: str) -> bool:
        """``name> text``: a builder's log line as nix -L and nom print it."""
        if rest.startswith("building '"):
            m = _BUILDING.match(rest)
            if m:
                self._nix_seen = True
                self._start(m.group(1), machine_name(m.group(2) or ""))
                return True
        path = self._by_name.get(name)
        if path is None:
            return name.isidentifier() or "-" in name or "." in name
        tracker = self.state.tracker
        if rest.startswith("Running phase: "):
            tracker.phase(path, rest[len("Running phase: "):].strip())
        tracker.log(path, rest)
        return True

    # --- activation -------------------------------------------------------------------

    def _activation(self, step: str, text: str, units: list[str]) -> None:
        self._building = False
        self.policy.activation_step()
        self.state.activated = True
        self.out.append(Activation(step=step, text=text, units=units))

    @staticmethod
    def _cause_in_journal(message: str) -> Finding | None:
        if message.startswith("Existing file '"):
            return activation.clobber(message)
        if message.startswith(("Oops, ", "Activation script snippet ")):
            return activation.activation_failure(message)
        return None

    def _close_status(self) -> None:
        status, self._status = self._status, None
        if status is not None:
            self.policy.unit_status(status, self._lineno)

    # --- blocks -----------------------------------------------------------------------

    def _open_report(self, text: str) -> None:
        kind = blocks.BANNER if nixerrors.is_banner(text) else blocks.REPORT
        self._block = blocks.Block(kind, text)

    def _close_block(self) -> None:
        block, self._block = self._block, None
        if block is None:
            return
        kind = block.kind
        if kind is blocks.REPORT or kind is blocks.BANNER:
            event = nixerrors.classify_lines(block.lines)
            if self.policy.report(event, block.lines, self._lineno, self._building):
                self._nix_seen = True
        elif kind is blocks.QUOTE:
            quoted = blocks.quote_error(block.lines)
            if quoted is not None:
                self._found(quoted)
        elif kind is blocks.CHAIN:
            self.policy.tool_report(blocks.chain_error(block.lines), self._lineno)
            for nh_line in nh.captured_stderr(block.lines):  # nh >= 4.3.1 (parsers/nh.py)
                self.line(nh_line, logged=False)
            self._close_status()
        elif kind is blocks.TRACEBACK:
            self.policy.tool_report(blocks.traceback_error(block.lines), self._lineno)

    def _clue(self, finding: Finding) -> None:
        self.policy.clue(finding, self._lineno)

    def _found(self, finding: Finding) -> None:
        self.policy.found(finding, self._lineno)

    def flush(self) -> None:
        """End of stream: whatever is still open is complete now."""
        if self._block is not None:
            self._close_block()
        if self._status is not None:
            self._close_status()
        self.policy.end_of_text()
        if self._bare_phases and not self._nix_seen:
            self.policy.bare_log_failure(self._bare_output)

