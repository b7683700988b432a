"""Our ``nom``: what nh finds first on PATH when the wrapper runs it.

nh runs ``nix build … --log-format internal-json --verbose 2>&1 | nom --json``.  This
program copies that exact stream to the wrapper (a FIFO named by
``NIXOS_BUILD_WRAPPER_NIX_FIFO``) and, when the user has the real nom
(``NIXOS_BUILD_WRAPPER_REAL_NOM``), hands every byte on to it so the user keeps nom's
view.  Without a real nom it prints nothing (the wrapper draws its own console) and
exits like ``nom --json`` would: 1 if nix reported an error, else 0 (nh before 4.3
took the build's status from nom).

Kept to the standard library and small: it sits in the hot path of every nh build.
"""

from __future__ import annotations

import os
import subprocess
import sys

FIFO_ENV = "NIXOS_BUILD_WRAPPER_NIX_FIFO"
REAL_NOM_ENV = "NIXOS_BUILD_WRAPPER_REAL_NOM"
_ERROR_MARK = b'"action":"msg"'


def _write_all(fd: int, data: bytes) -> bool:
    view = memoryview(data)
    while view:
        try:
            view = view[os.write(fd, view):]
        except InterruptedError:
            continue
        except OSError:
            return False
    return True


def _reports_error(line: bytes) -> bool:
    return _ERROR_MARK in line and b'"level":0' in line and b"error" in line


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    fifo = os.environ.get(FIFO_ENV)
    real = os.environ.get(REAL_NOM_ENV) or None
    if not fifo:
        if real:
            os.execv(real, [real, *args])
        sys.stderr.write("nom: not the real nix-output-monitor (run through nixos-build-wrapper)\n")
        return 1
    try:
        out: int | None = os.open(fifo, os.O_WRONLY | os.O_CLOEXEC)
    except OSError:
        out = None
    nom = subprocess.Popen([real, *args], stdin=subprocess.PIPE) if real else None
    nom_in = nom.stdin.fileno() if nom and nom.stdin else None
    failed = False
    tail = b""
    while True:
        try:
            chunk = os.read(0, 1 << 16)
        except InterruptedError:
            continue
        if not chunk:
            break
        if out is not None and not _write_all(out, chunk):
            os.close(out)
            out = None
        if nom_in is not None and not _write_all(nom_in, chunk):
            nom_in = None
        if nom is None and not failed:
            lines = (tail + chunk).split(b"\n")
            tail = lines.pop()
            failed = any(_reports_error(line) for line in lines)
    if out is not None:
        os.close(out)
    if nom is not None:
        if nom.stdin:
            nom.stdin.close()
        return nom.wait()
    return 1 if failed or _reports_error(tail) else 0


if __name__ == "__main__":
    sys.exit(main())
