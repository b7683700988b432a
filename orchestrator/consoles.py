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


def record_lines(session: BuildSession) -> list[str]:
    """What the summary says from the whole build's record: the slowest builds, the
    critical path, the builders, and what the new generation changed."""
    from sinks.summary_text import format_duration

    record = session.record
    lines = []
    timed = sorted((d for d in record.built if d.duration_ms is not None),
                   key=lambda d: d.duration_ms or 0, reverse=True)[:3]
    if timed:
        lines.append("  slowest: " + ", ".join(
            f"{d.name} {format_duration(d.duration_ms)}" for d in timed))
    if record.critical_path and len(record.critical_path[1]) > 1:
        length, chain = record.critical_path
        lines.append(f"  critical path: {format_duration(length)} "
                     f"({' → '.join(chain[:4])}{' …' if len(chain) > 4 else ''})")
    remote = {m: n for m, n in record.machines.items() if m != "local"}
    if remote:
        lines.append("  builders: " + ", ".join(
            f"{m}: {n}" for m, n in sorted(record.machines.items())))
    if session.closure is not None:
        from system.closure import describe

        lines.append("  new generation:")
        lines.extend("  " + line for line in describe(session.closure))
    return lines


def make_console(session: BuildSession) -> Sink | None:
    files = session.files

    def footer() -> list[str]:
        lines = record_lines(session)
        if files is None:
            return [*lines, "  no log written (see the message above)"]
        return [*lines, f"  log:  {files.directory / 'last-build.log'}",
                f"  json: {files.last_build_json}"]

    mode = session.request.console
    tool_view = session.invocation.tool_view or mode == "tool"
    if not tool_view and mode in ("auto", "ours") and live_capable(session):
        from sinks.console_live import LiveConsole

        return LiveConsole(session.stderr.fileno(), clock=session.clock, footer=footer,
                           build_times=session.build_times, graph=session.drv_graph)

    from sinks.console_plain import PlainConsole

    color = session.interactive and "NO_COLOR" not in session.env
    return PlainConsole(session.stderr, color=color, tool_text=not tool_view,
                        progress=not tool_view, footer=footer)
