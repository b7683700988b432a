"""Which console a build gets: chosen from the request, the terminal and the tool."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from sinks.base import Sink

if TYPE_CHECKING:
    from .session import BuildSession


def make_console(session: BuildSession) -> Sink | None:
    from sinks.console_plain import PlainConsole

    files = session.files
    tool_view = session.invocation.tool_view or session.request.console == "tool"

    def footer() -> list[str]:
        if files is None:
            return ["  no log written (see the message above)"]
        lines = [f"  log:  {files.directory / 'last-build.log'}",
                 f"  json: {files.last_build_json}"]
        if files.nix_log_path is not None:
            lines.insert(1, f"  nix:  {files.directory / 'last-build.nix.log'}")
        return lines

    color = session.interactive and "NO_COLOR" not in session.env
    return PlainConsole(session.stderr, color=color, tool_text=not tool_view,
                        progress=not tool_view, footer=footer)


def wants_color(env: dict[str, str], fd: int = 2) -> bool:
    return os.isatty(fd) and "NO_COLOR" not in env
