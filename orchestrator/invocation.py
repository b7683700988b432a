"""From what the user asked to the exact command to run (pure: no processes here).

nh is used when on PATH (unless ``--no-nh``), with ``--no-nom`` and nix asked for
``--log-format internal-json -v`` after ``--``; nixos-rebuild and home-manager are asked
for the same directly.  Either way the events come from nix's structured stream on the
terminal the wrapper reads, not from scraping its text.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Literal

from orchestrator.nom_relay import find_nom

Target = Literal["os", "home"]
ACTIONS: dict[str, tuple[str, ...]] = {
    "os": ("switch", "boot", "test", "build", "dry-build"),
    "home": ("switch", "build"),
}
CONSOLES = ("auto", "ours", "tool", "plain")
FLAKE_ENV = {"os": ("NH_OS_FLAKE", "NH_FLAKE"), "home": ("NH_HOME_FLAKE", "NH_FLAKE")}


class UsageError(Exception):
    """Bad arguments: reported with exit code 3."""


@dataclass(frozen=True)
class Request:
    target: Target
    action: str
    flake: str | None = None
    no_nh: bool = False
    json: bool = False
    events: str | None = None
    extra: tuple[str, ...] = ()
    log_dir: str | None = None
    console: str = "auto"
    quiet: bool = False
    log_lines: bool = True


@dataclass(frozen=True)
class Invocation:
    argv: list[str]
    tool: str
    """``nh``, ``nixos-rebuild`` or ``home-manager``."""
    flake: str | None
    real_nom: str | None = None
    """The user's nom, when they keep its view: the wrapper hands it nix's stream."""
    tool_view: bool = False
    """The terminal shows the tool's own rendering (nom's view, nix's own progress
    format); our console then only adds the summary."""


def validate(request: Request) -> None:
    if request.target not in ACTIONS:
        raise UsageError(f"unknown target {request.target!r}: use os or home")
    if request.action not in ACTIONS[request.target]:
        allowed = ", ".join(ACTIONS[request.target])
        raise UsageError(f"{request.target} does not support {request.action!r}: use {allowed}")
    if request.events not in (None, "ndjson"):
        raise UsageError(f"unknown event format {request.events!r}: use ndjson")
    if request.json and request.events:
        raise UsageError("--json and --events ndjson both write to stdout: choose one")
    if request.console not in CONSOLES:
        raise UsageError(f"unknown console {request.console!r}: use {', '.join(CONSOLES)}")
    if request.flake is not None and (not request.flake or request.flake.startswith("-")):
        # nh takes the flake as a positional argument: "--dry" there is an option.
        raise UsageError(f"--flake needs a flake reference, not {request.flake!r} "
                         "(write ./-name for a path that starts with -)")


def _user_log_format(extra: tuple[str, ...]) -> str | None:
    for i, arg in enumerate(extra):
        if arg == "--log-format" and i + 1 < len(extra):
            return extra[i + 1]
        if arg.startswith("--log-format="):
            return arg.split("=", 1)[1]
    return None


def plan(request: Request, env: Mapping[str, str],
         which: Callable[[str], str | None] = shutil.which, *,
         interactive: bool = True) -> Invocation:
    """Decide tool and arguments.  ``which`` finds executables (tests inject one);
    ``interactive`` says whether a person watches a terminal (only then is nom's own
    view worth keeping)."""
    validate(request)
    flake = request.flake
    if flake is None:
        flake = next((env[k] for k in FLAKE_ENV[request.target] if env.get(k)), None)
    user_format = _user_log_format(request.extra)
    extra = list(request.extra)

    if not request.no_nh and which("nh"):
        # nh with --no-nom runs nix with its output on the terminal we read; nix is
        # asked for the exact stream (nom_relay.py says why not a nom of ours on PATH).
        nh_action = "build" if request.action == "dry-build" else request.action
        argv = ["nh", request.target, nh_action]
        if request.action == "dry-build":
            argv.append("--dry")
        if request.flake:
            argv.append(request.flake)
        argv.append("--no-nom")
        real_nom = find_nom(which)
        keep_nom_view = (request.console in ("auto", "tool") and real_nom is not None
                         and interactive and user_format is None)
        tool_view = keep_nom_view or request.console == "tool" or (
            user_format is not None and user_format != "internal-json")
        nix_args = list(extra)
        if user_format is None and (keep_nom_view or request.console != "tool"):
            nix_args = ["--log-format", "internal-json", "-v", *nix_args]
        if nix_args:
            argv += ["--", *nix_args]
        return Invocation(argv=argv, tool="nh", flake=flake,
                          real_nom=real_nom if keep_nom_view else None, tool_view=tool_view)

    tool = "nixos-rebuild" if request.target == "os" else "home-manager"
    argv = [tool, request.action]
    if flake:
        argv += ["--flake", flake]
    # The exact stream, unless the user wants the tool's own view (--console tool) or
    # asked nix for a format of their own (bar, raw…): then that is what they see.
    tool_view = request.console == "tool" or (
        user_format is not None and user_format != "internal-json")
    if user_format is None and request.console != "tool":
        argv += ["--log-format", "internal-json", "-v"]
    argv += extra
    return Invocation(argv=argv, tool=tool, flake=flake, tool_view=tool_view)
