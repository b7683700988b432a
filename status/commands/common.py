"""Bits every subcommand uses."""

from __future__ import annotations

import os
import sys


def silence_stdout() -> None:
    """After EPIPE on stdout: point it at /dev/null so the interpreter's final flush
    does not complain."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)


def print_out(text: str) -> None:
    """Write a command's output; a reader that went away (``| head``) is not an error."""
    try:
        sys.stdout.write(text)
        sys.stdout.flush()
    except BrokenPipeError:
        silence_stdout()
