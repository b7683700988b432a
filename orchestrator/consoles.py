"""Which console a build gets, from the request, the terminal and the tool.

- ``auto``: the live view on a terminal (colour allowed, TERM not dumb), plain lines
  otherwise; under nh with the user's nom installed, nom's own view (then ours only
  adds the summary).
- ``ours``: our view even when nom is installed.  ``tool``: the tool's own output
  passed through.  ``plain``: plain lines.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sinks.base import Sink

if TYPE_CHECKING:
    from orchestrator.session import BuildSession


def live_capable(session: BuildSession) -> bool:
    """A person at a terminal that can show colours and box drawing."""
    env = session.env
    encoding = (getattr(session.stderr, "encoding", None) or "").lower().replace("-", "")
    return (session.interactive and "NO_COLOR" not in env
            and env.get("TERM", "") not in ("", "dumb") and encoding == "utf8")


def make_console(session: BuildSession) -> Sink | None:
    files = session.files

    def footer() -> list[str]:
        if files is None:
            return ["  no log written (see the message above)"]
        return [f"  log:  {files.directory / 'last-build.log'}",
                f"  json: {files.last_build_json}"]

    mode = session.request.console
    tool_view = session.invocation.tool_view or mode == "tool"
    if not tool_view and mode in ("auto", "ours") and live_capable(session):
        from sinks.console_live import LiveConsole

        return LiveConsole(session.stderr.fileno(), clock=session.clock, footer=footer)

    from sinks.console_plain import PlainConsole

    color = session.interactive and "NO_COLOR" not in session.env
    return PlainConsole(session.stderr, color=color, tool_text=not tool_view,
                        progress=not tool_view, footer=footer)
