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
from collections import deque
from collections.abc import Callable
from typing import Final

from parsers import activation, nh, nomview
from parsers.errors import blocks
from parsers.errors import classify as nixerrors
from parsers.events import Activation, ErrorEvent, LogLine, UnitFailed
from parsers.state import HINT, WRAPPER, ParseState
from parsers.store import machine_name, store_name
from parsers.terminal import unwrap, visible

EVIDENCE_WINDOW: Final = 40  # lines: how far back a clue may explain an error
RECENT_OUTPUT: Final = 25

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

_FRAME_CHARS: Final = nomview.FRAME_CHARS
_STEPS: Final = activation.STEPS


class TextParser:
    """Text lines of any of the formats above; events go to ``state.out``."""

    def __init__(self, state: ParseState) -> None:
        self.state = state
        self.out = state.out
        self._plan = state.plan
        self._lineno = 0
        self._block: blocks.Block | None = None
        self._status: activation.StatusBlock | None = None
        self._nom = nomview.NomView()
        self._nom_failed: set[str] = set()
        self._evidence: list[tuple[int, ErrorEvent]] = []
        # Builder output we could not attribute to a derivation (plain nix-build prints
        # every running build's log unprefixed): the tail of a failure without its own.
        self._recent: deque[str] = deque(maxlen=RECENT_OUTPUT)
        self._building = False  # builds are running: unknown lines are their output
        self._nix_seen = False  # nix's own framing was seen (else: a bare builder log)
        self._bare_phases = 0
        self._bare_output: str | None = None
        self._hm_failed = False
        self._snippet_failed = False  # an activation snippet's failure was reported
        # The last line of a tool's own output (not a builder's): what a program nix ran
        # (git) said before nix reported that it failed.
        self._tool_said: tuple[int, str] | None = None
        self._journals = 0  # journal prefixes of the current line
        self._by_name: dict[str, str] = {}  # "name> " prefixes to derivation paths
        # Keyed by a line's first two characters: most lines (a builder's output) find
        # no handler at all.
        self._handlers: dict[str, Callable[[str], bool]] = {
            "er": self._error_line, "bu": self._build_line, "co": self._copy_or_old_dependency,
            "ca": self._copy_or_old_dependency, "ha": self._unprefixed_hash_mismatch,
            "ou": self._old_hash_mismatch, "th": self._plan_line, "wa": self._warning,
            "Ex": self._tool_error, "Er": self._tool_error, "ER": self._tool_error,
            "Fa": self._activation_failure, "Ac": self._activation_failure,
            "Oo": self._activation_failure, "Jo": self._activation_failure,
            "Co": self._wrapper_command, "Tr": self._traceback_start, "Wa": self._init_changed,
            "Ru": self._phase_banner, "su": self._sudo, "/n": self._store_path_line,
        }

    # --- per line ---------------------------------------------------------------------

    def line(self, raw: str, *, logged: bool = True) -> None:
        if logged:  # not for text read again out of a report (parsers/nh.py)
            self.out.append(LogLine(text=raw))
        self._lineno += 1
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
        if self._plan.active and self._plan.feed(text):
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
            self._tool_said = (self._lineno, text.strip())
        if "No space left on device" in text or "Disk quota exceeded" in text:
            self._hint(ErrorEvent(kind="out-of-space", message=text.strip()))
        elif "denied" in text or "verification failed" in text:
            if _SSH_DENIED.search(text):
                self._hint(ErrorEvent(kind="permission", message=text.strip()))
        elif "Assertion `" in text and _CXX_ASSERT.match(text):
            # Nix itself crashed (a C++ assert), not a NixOS assertion.
            self._error(ErrorEvent(kind="other", message=text.strip()))
        elif ("doas" in text or "auth" in text or "pkexec" in text) and \
                _ELEVATION_FAILED.match(text):
            self._error(ErrorEvent(kind="permission", message=text.strip()))

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
        elif text.startswith("warning: error(s) occurred while switching"):
            self.state.weak(ErrorEvent(kind="other", message=text.strip()), WRAPPER)
        return True

    def _tool_error(self, text: str) -> bool:
        if text.startswith("Existing file '"):
            event = activation.clobber(text)
            if event is not None:
                self._hm_failed = True
                self._error(event)
            return True
        if text.startswith("Error:"):
            event = activation.activation_failure(text)
            if event is not None:
                self._error(event)
                return True
            if self._building:
                return False  # a builder's own output
            self._block = blocks.Block(blocks.CHAIN, text)
            return True
        if text.startswith("ERROR ") and not self._building:
            m = _NH_ERROR.match(text)
            if m:
                self.state.weak(ErrorEvent(kind=nixerrors.kind_of(m.group(1)) or "other",
                                           message=m.group(1).strip()), WRAPPER)
                return True
        return False

    def _activation_failure(self, text: str) -> bool:
        """switch-to-configuration's and Home Manager's failure lines, and systemctl's
        "Job for … failed" / "Failed to start …" (a clue: the units-failed warning
        that follows says it with the unit's status)."""
        event = activation.activation_failure(text)
        if event is not None:
            if activation.is_activation_summary(event) and self._snippet_failed:
                self.state.weak(event, WRAPPER)
            else:
                self._snippet_failed = event.message.startswith("Activation script snippet ")
                self._error(event)
            return True
        event = activation.unit_job_failure(text)
        if event is not None:
            self._hint(event)
            return True
        return False

    def _wrapper_command(self, text: str) -> bool:
        if text.startswith("Command '") and not self._building:
            m = _COMMAND_FAILED.match(text)
            if m:
                code = int(m.group(1)) if m.group(1) else 128 + int(m.group(2))
                self.state.weak(ErrorEvent(kind="other", message=text.strip(), exit_code=code),
                                WRAPPER)
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
            self.state.weak(ErrorEvent(kind="other", message=" ".join(text.split())), WRAPPER)
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
                self._error(ErrorEvent(kind="timeout" if m.group(1) else "permission",
                                       message=text.strip()))
            elif text.startswith("sudo: a password is required"):
                self._hint(ErrorEvent(kind="permission", message=text.strip()))
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
        if c in ("…", "e") and (stripped.startswith(("… ", "error: ")) or stripped == "error:"):
            # A report pasted without its first line: a trace, or the inner error.
            self._block = blocks.Block(blocks.REPORT, text)
            return True
        return False

    # --- nom's view -------------------------------------------------------------------

    def _nom_line(self, text: str) -> None:
        self._nix_seen = True
        kind, payload, extra = self._nom.line(text)
        if kind == nomview.FINISHED:
            self.state.succeeded = True
        if kind == nomview.ERROR_TEXT:
            self._text(payload)
            return
        if self._block is not None:
            self._close_block()
        if kind == nomview.FAILED_NODE:
            if payload not in self._nom_failed:
                self._nom_failed.add(payload)
                code, hash_mismatch, phase = extra
                event = ErrorEvent(
                    kind="hash-mismatch" if hash_mismatch else "build-failure",
                    message=text[text.index("⚠") + 1:].strip(), derivation=payload,
                    exit_code=int(code) if code else None, phase=phase)
                self.state.fallback(event)
        elif kind == nomview.SUMMARY:
            self.state.weak(ErrorEvent(kind="other", message=payload), WRAPPER)

    # --- derivations ------------------------------------------------------------------

    def _start(self, path: str, machine: str | None) -> None:
        drv = self.state.tracker.start(path, machine)
        # nix -L and nom prefix log lines with the name without its version (nix's
        # DrvName: up to the first dash not followed by a letter), nom sometimes whole.
        self._by_name.setdefault(drv.name, path)
        m = _VERSION_DASH.search(drv.name)
        if m:
            self._by_name.setdefault(drv.name[:m.start()], path)

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
        self.state.activated = True
        self.out.append(Activation(step=step, text=text, units=units))

    def _cause_in_journal(self, message: str) -> ErrorEvent | None:
        if message.startswith("Existing file '"):
            event = activation.clobber(message)
            if event is not None:
                self._hm_failed = True
            return event
        if message.startswith(("Oops, ", "Activation script snippet ")):
            return activation.activation_failure(message)
        return None

    def _close_status(self) -> None:
        status, self._status = self._status, None
        if status is None:
            return
        for cause in status.causes:
            self._error(cause)
        self._error(status.error(self._hm_failed))

    # --- blocks -----------------------------------------------------------------------

    def _open_report(self, text: str) -> None:
        kind = blocks.BANNER if nixerrors.is_banner(text) else blocks.REPORT
        self._block = blocks.Block(kind, text)

    def _close_block(self) -> None:
        block, self._block = self._block, None
        if block is None:
            return
        kind = block.kind
        if kind in (blocks.REPORT, blocks.BANNER):
            self._report(block.lines)
        elif kind == blocks.QUOTE:
            event = blocks.quote_error(block.lines)
            if event is not None:
                self._error(event)
        elif kind == blocks.CHAIN:
            self._clue_or_wrapper(blocks.chain_error(block.lines))
            for quoted in nh.captured_stderr(block.lines):  # nh >= 4.3.1 (parsers/nh.py)
                self.line(quoted, logged=False)
            self._close_status()
        elif kind == blocks.TRACEBACK:
            self._clue_or_wrapper(blocks.traceback_error(block.lines))

    def _report(self, lines: list[str]) -> None:
        event = nixerrors.classify_lines(lines)
        if self._building and not nixerrors.is_nix_report(event):
            # A builder's own "error:" (a compiler, a test) printed in nix's log.
            self._recent.extend(lines)
            return
        self._nix_seen = True
        said = self._tool_said
        if said is not None and self._lineno - said[0] <= len(lines) + 2:
            nixerrors.explain_program_failure(event, said[1])
        self._error(event)

    def _clue_or_wrapper(self, event: ErrorEvent) -> None:
        """A tool's own error report: a clue when it names a cause (no space left, a
        permission), else a wrapper of a failure reported elsewhere."""
        if event.kind == "other":
            self.state.weak(event, WRAPPER)
        else:
            self._hint(event)

    # --- committing -------------------------------------------------------------------

    def _hint(self, event: ErrorEvent) -> None:
        self._evidence.append((self._lineno, event))

    def _error(self, event: ErrorEvent) -> None:
        """Commit an error, letting recent clues explain it.

        A generic failure ("failed to start SSH connection", "Failed to install
        bootloader") takes the kind and words of a specific clue printed just before it
        (``Permission denied (publickey)``, ``No space left on device``); a builder
        failure becomes ``out-of-space`` if the disk filled up."""
        recent = [(n, e) for n, e in self._evidence if self._lineno - n <= EVIDENCE_WINDOW]
        if event.drv_path and event.kind == "build-failure":
            if not event.log_tail and not self.state.tracker.tail(event.drv_path) and self._recent:
                event.log_tail = list(self._recent)
            nixerrors.refine_build_kind(event, "\n".join(self._recent))
            if event.kind == "build-failure" and any(e.kind == "out-of-space" for _, e in recent):
                event.kind = "out-of-space"
            self._recent.clear()
        elif event.kind == "other" and event.derivation is None:
            clue = next((e for _, e in reversed(recent)
                         if e.kind in ("permission", "out-of-space", "timeout")), None)
            if clue is not None:
                event.kind = clue.kind
                event.detail = "\n".join(filter(None, (clue.message, event.detail or event.message)))
                event.message = clue.message
                self._evidence = [(n, e) for n, e in self._evidence if e is not clue]
        self.state.error(event)

    def flush(self) -> None:
        """End of stream: whatever is still open is complete now."""
        if self._block is not None:
            self._close_block()
        if self._status is not None:
            self._close_status()
        for _, event in self._evidence:
            self.state.weak(event, HINT)
        self._evidence.clear()
        if self._bare_phases and not self._nix_seen:
            self._bare_log_failure()

    def _bare_log_failure(self) -> None:
        """A builder's log without nix around it (``nix log``, a CI artifact): it failed
        if its last lines say so."""
        tail = list(self._recent)
        key = nixerrors.key_line(tail[-10:])
        if key is None or not nixerrors.is_strong_key_line(key):
            return
        name = store_name(self._bare_output) if self._bare_output else None
        event = ErrorEvent(kind="build-failure", message=key, derivation=name, log_tail=tail)
        nixerrors.refine_build_kind(event, "")
        self.state.weak(event, HINT)
