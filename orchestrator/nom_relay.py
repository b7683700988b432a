"""Show nix-output-monitor's own view of a build whose stream the wrapper reads.

nh normally pipes nix into ``nom --json``.  The wrapper instead runs nh with
``--no-nom`` and asks nix for ``--log-format internal-json -v`` (the exact stream then
arrives on the terminal the wrapper reads), and, for users who keep nom's view, hands
the structured lines to a real ``nom --json`` itself while the tool's other text goes
straight to the terminal.  (A ``nom`` of ours first on PATH cannot do this: the nh of
nixpkgs wraps itself with nom's directory *prefixed* to PATH.)

nom draws on stderr and needs end-of-input to print its last frame, so a nom run ends
when the tool prints its own text again after nix's stream (nh's "> Activating
configuration", a sudo prompt); a later stream starts a new one.
"""

from __future__ import annotations

import contextlib
import os
import re
import subprocess
from collections.abc import Callable
from pathlib import Path

from records.files import write_all

PREFIX = b"@nix "
# The PATH prefix in nixpkgs' nh wrapper names nom's directory
# (/nix/store/<hash>-nix-output-monitor-<version>/bin).  nixpkgs wraps nh with
# makeBinaryWrapper (pkgs/by-name/nh/nh/package.nix; make-binary-wrapper.sh @0368f123):
# an ELF whose C source holds the path as a string literal, so it is among the binary's
# NUL-terminated strings; makeWrapper's shell script (older nixpkgs) has it quoted.
_WRAPPED_NOM = re.compile(rb"(/[^'\":\s\x00]*nix-output-monitor[^/'\":\s\x00]*/bin)")
WRAPPER_BYTES = 1 << 20
_NOM, _TEXT = 1, 2  # where a line goes  # a makeBinaryWrapper ELF is some 20 KiB; a script far less


def find_nom(which: Callable[[str], str | None]) -> str | None:
    """The nom the user would see: on PATH, else the one nh's own wrapper provides."""
    found = which("nom")
    if found:
        return found
    nh = which("nh")
    if nh is None:
        return None
    try:
        with open(Path(nh).resolve(), "rb") as f:
            head = f.read(WRAPPER_BYTES)
    except OSError:
        return None
    if not head.startswith((b"#!", b"\x7fELF")):
        return None
    for directory in _WRAPPED_NOM.findall(head):
        candidate = os.path.join(directory.decode(), "nom")
        if os.access(candidate, os.X_OK):
            return candidate
    return None


class NomRelay:
    """Structured lines to a real nom, everything else to the terminal, as it comes."""

    def __init__(self, nom: str, out_fd: int = 2, report: Callable[[str], None] | None = None,
                 env: dict[str, str] | None = None) -> None:
        self._nom = nom
        self._out = out_fd
        self._report = report or (lambda message: None)
        self._env = env
        self._proc: subprocess.Popen[bytes] | None = None
        # The line being read: None until its first bytes say where it goes (up to
        # five, held in _head), then _NOM or _TEXT.  Its bytes are passed on as they
        # come, never held: a long line or a progress meter redrawn with \r and no
        # \n costs linear time and no memory.
        self._dest: int | None = None
        self._head = b""
        self._broken = False

    def feed(self, data: bytes) -> None:
        if not data:
            return
        # Consecutive pieces for one destination go out in one write.
        runs: list[tuple[int, list[bytes]]] = []
        pieces = data.split(b"\n")
        last = len(pieces) - 1
        for i, piece in enumerate(pieces):
            ended = i < last
            dest = self._dest
            if dest is None:
                piece = self._head + piece
                if not ended and len(piece) < len(PREFIX) and PREFIX.startswith(piece):
                    self._head = piece  # "@ni": could still be either
                    continue
                self._head = b""
                dest = _NOM if piece.startswith(PREFIX) else _TEXT
            if ended:
                piece += b"\n"
                self._dest = None
            else:
                self._dest = dest
            if not piece:
                continue
            if runs and runs[-1][0] == dest:
                runs[-1][1].append(piece)
            else:
                runs.append((dest, [piece]))
        for dest, parts in runs:
            out = parts[0] if len(parts) == 1 else b"".join(parts)
            if dest == _NOM:
                self._to_nom(out)
            else:
                # Text of the tool's (a prompt, nh's next step): nom's run ends here.
                self._stop_nom()
                write_all(self._out, out)

    def _to_nom(self, line: bytes) -> None:
        if self._broken:
            return
        if self._proc is None:
            try:
                self._proc = subprocess.Popen([self._nom, "--json"], stdin=subprocess.PIPE,
                                              stdout=self._out, stderr=self._out, env=self._env)
            except OSError as exc:
                self._fail(f"cannot start nom ({exc.strerror})")
                return
        assert self._proc.stdin is not None
        try:
            write_all(self._proc.stdin.fileno(), line)
        except OSError:
            self._fail("nom stopped reading")

    def _stop_nom(self) -> None:
        proc, self._proc = self._proc, None
        if proc is None:
            return
        with contextlib.suppress(OSError):
            if proc.stdin:
                proc.stdin.close()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()

    def _fail(self, why: str) -> None:
        self._broken = True
        self._stop_nom()
        self._report(f"{why}: nom's view stops here; the build and its records go on")

    def close(self) -> None:
        """End of output: the unfinished line, and nom's last frame."""
        if self._head:
            # An unfinished line too short to be nix's: the tool's text.
            self._stop_nom()
            write_all(self._out, self._head)
            self._head = b""
        self._dest = None
        self._stop_nom()
