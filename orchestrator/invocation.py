"""From what the user asked to the exact command to run (pure: no processes here).

The plan depends on the request, the environment and the facts of ``versions.Host``
(installed tools and versions, the effective user, the default flakes); each tool
version's behaviour comes from ``compat.py`` (``docs/compat.md``).  nh is used when it
is installed and can do what was asked (unless ``--no-nh``), with ``--no-nom`` and nix
asked for ``--log-format internal-json -v`` after ``--``; nixos-rebuild and
home-manager are asked for ``--log-format internal-json`` directly (no ``-v``: they
would take it for themselves too), where the version accepts it.  Either way
the events come from nix's structured stream on the terminal the wrapper reads; where
no version can give it, the tool's text is parsed (``Invocation.capture``).

One rule for arguments: the wrapper's own options (``--sudo``, ``--target-host``,
``--build-host``, ``--backup-extension``, ``--specialisation``, ``--show-trace``) are
mapped to each tool's flag; everything after ``--`` is for nix, under every tool;
``--tool-arg X`` passes ``X`` to the tool itself.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import Literal

from orchestrator.compat import (
    HOME_MANAGER_ROWS,
    NH_MIN,
    NH_ROWS,
    REBUILD_ROWS,
    NhRow,
    NixFlavour,
    home_manager_row,
    nh_row,
    nix_json_log_path,
    nix_log_format,
    version_text,
)
from orchestrator.nom_relay import find_nom
from orchestrator.versions import Host, Tool

Target = Literal["os", "home"]
ACTIONS: dict[str, tuple[str, ...]] = {
    "os": ("switch", "boot", "test", "build", "dry-build"),
    "home": ("switch", "build"),
}
ACTIVATING = frozenset({"switch", "boot", "test"})
CONSOLES = ("auto", "ours", "tool", "plain")
# Where the wrapper reads a flake from when none is given (FLAKE: what nh 3.x reads).
FLAKE_ENV = {"os": ("NH_OS_FLAKE", "NH_FLAKE", "FLAKE"),
             "home": ("NH_HOME_FLAKE", "NH_FLAKE", "FLAKE")}
# nh's own flake variables: removed from nh's environment once the flake is given
# positionally (nh 4.0-4.2 let them win over it; sudo drops them anyway).
NH_FLAKE_VARS = ("NH_FLAKE", "NH_OS_FLAKE", "NH_HOME_FLAKE", "FLAKE", "NH_FILE")
# Decided by the plan, never inherited: nh 4.3.0 exits 2 on NH_SHOW_ACTIVATION_LOGS=1,
# every nh on NH_BYPASS_ROOT_CHECK=1 (clap's bool parser takes only true/false).
NH_PLANNED_VARS = ("NH_SHOW_ACTIVATION_LOGS", "NH_BYPASS_ROOT_CHECK")
NIX_STREAM = ("--log-format", "internal-json", "-v")
# nixos-rebuild (bash and ng) and home-manager take -v as their own verbosity too (ng:
# DEBUG logging and failures as Python tracebacks; bash: a `$ cmd` line per command;
# Home Manager: VERBOSE=1, a verbose activation and --show-trace instead of -v), while
# nix's -v only adds its level-4 messages, which no event needs: the stream alone.
TOOL_STREAM = ("--log-format", "internal-json")

Capture = Literal["json-log-path", "log-format", "text"]
"""How the events are captured: ``json-log-path``: Nix >= 2.30 (Determinate >= 3.1)
copies its stream to a Unix socket the wrapper listens on, named by ``NIX_CONFIG``
(``orchestrator/capture.py``), where the tool builds with the ``nix`` command (nh,
flake nixos-rebuild, flake home-manager) and the tool's argv is left alone;
``log-format``: nix is asked for ``--log-format internal-json`` on the command line
(with ``-v`` under nh, where it reaches nix only) and the stream is read from the
terminal; ``text``: the tool's text is parsed (no
version of it passes the format on, Nix 2.3 has none, or the user wants the tool's own
view)."""
JSON_LOG_PATH_SETTING = "json-log-path"


def merge_nix_config(user: str | None, socket: str) -> str:
    """``NIX_CONFIG`` with ``json-log-path`` added after the user's own settings (one a
    line, as nix reads it: src/libstore/globals.cc ``loadConfFile``)."""
    head = (user or "").rstrip("\n")
    return f"{head}\n{JSON_LOG_PATH_SETTING} = {socket}\n" if head else \
        f"{JSON_LOG_PATH_SETTING} = {socket}\n"


def _user_sets_json_log_path(env: Mapping[str, str]) -> bool:
    return any(line.split("=", 1)[0].strip() == JSON_LOG_PATH_SETTING
               for line in env.get("NIX_CONFIG", "").splitlines())


def _capture(stream: bool, new_cli: bool, host: Host, env: Mapping[str, str],
             notes: list[str]) -> Capture:
    """Where the structured stream comes from.  ``stream``: the terminal may carry it
    (no ``--console tool``, no log format of the user's own).  json-log-path changes
    nothing the user sees, so it is used whenever nix and the tool allow it."""
    if new_cli and nix_json_log_path(host.nix):
        if not _user_sets_json_log_path(env):
            return "json-log-path"
        notes.append("NIX_CONFIG sets json-log-path already: nix's stream is read "
                     "from the terminal instead" if stream else
                     "NIX_CONFIG sets json-log-path already: the tool's text is parsed")
    return "log-format" if stream else "text"


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
    """After ``--``: options for nix."""
    log_dir: str | None = None
    console: str = "auto"
    quiet: bool = False
    log_lines: bool = True
    sudo: bool = False
    """Elevate the activation although the wrapper would not (it does for a normal
    user's switch/boot/test)."""
    target_host: str | None = None
    build_host: str | None = None
    backup_extension: str | None = None
    specialisation: str | None = None
    show_trace: bool = False
    tool_args: tuple[str, ...] = ()
    """``--tool-arg X``: flags for the tool itself."""
    # CI output and result files (docs/ci.md): --ci auto|github|gitlab|buildkite|off,
    # --result-file KIND:PATH as (kind, path) pairs.
    ci: str = "auto"
    result_files: tuple[tuple[str, str], ...] = ()
    # Fleet outputs (docs/fleet.md): node_exporter's textfile directory, journal
    # entries, OpenTelemetry traces; each also switched on by its variable
    # (orchestrator/fleet.py).
    prometheus_dir: str | None = None
    journal: bool = False
    otel: bool = False


@dataclass(frozen=True)
class Invocation:
    argv: list[str]
    tool: str
    """``nh``, ``nixos-rebuild``, ``nixos-rebuild-ng`` or ``home-manager``."""
    flake: str | None
    real_nom: str | None = None
    """The user's nom, when they keep its view: the wrapper hands it nix's stream."""
    tool_view: bool = False
    """The terminal shows the tool's own rendering (nom's view, nix's own progress
    format); our console then only adds the summary."""
    tool_version: str | None = None
    """The version the plan was made for (``4.3.1``, ``24.11``, ``bash``, ``ng``)."""
    compat_row: str | None = None
    """The row of docs/compat.md used (``nh 4.3.1-4.3.2``)."""
    capture: Capture = "log-format"
    env_unset: tuple[str, ...] = ()
    """Variables removed from the tool's environment."""
    env_set: tuple[tuple[str, str], ...] = ()
    notes: tuple[str, ...] = ()
    """One line each, shown to the user: why another tool was used, an unknown version."""
    activation_exit_dropped: bool = False
    """This tool version exits 0 when activation fails (nh <= 4.1): the events decide."""
    nix_version: str | None = None
    """The installed nix the plan was made for (``2.34.8``), if known."""
    nix_flavour: NixFlavour | None = None
    """``nix``, ``lix`` or ``determinate``, if known."""

    @property
    def events_from(self) -> str:
        """Where the events came from: ``internal-json`` or ``text``."""
        return "text" if self.capture == "text" else "internal-json"

    def child_env(self, env: Mapping[str, str], json_log_path: str | None = None) -> dict[str, str]:
        """The tool's environment; ``json_log_path``: the socket nix streams to."""
        out = {k: v for k, v in env.items() if k not in self.env_unset}
        out.update(self.env_set)
        if json_log_path is not None:
            out["NIX_CONFIG"] = merge_nix_config(out.get("NIX_CONFIG"), json_log_path)
        return out


@dataclass(frozen=True)
class _View:
    tool_view: bool
    real_nom: str | None
    stream: bool
    """Ask nix for the internal-json stream."""


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
    if request.target == "home" and request.target_host:
        raise UsageError("--target-host is for os: Home Manager builds for this user here")
    if request.target == "os" and request.backup_extension:
        raise UsageError("--backup-extension is Home Manager's (-b): use it with home")


def _user_log_format(extra: tuple[str, ...]) -> str | None:
    for i, arg in enumerate(extra):
        if arg == "--log-format" and i + 1 < len(extra):
            return extra[i + 1]
        if arg.startswith("--log-format="):
            return arg.split("=", 1)[1]
    return None


def split_flake(flake: str) -> tuple[str, str | None]:
    """``path#name`` -> (``path``, ``name``): the configuration's name is given to nh
    by its own flag (-H / -c), which every version reads the same way."""
    ref, sep, name = flake.partition("#")
    return (ref, name) if sep and name else (ref or flake, None)


def _host_from(which: Callable[[str], str | None]) -> Host:
    """Facts when the caller has none (tests, the library): tools found, versions not
    known, a normal user."""
    names = ("nh", "nixos-rebuild", "nixos-rebuild-ng", "home-manager")
    return Host(tools={n: Tool(p) for n in names if (p := which(n))})


def plan(request: Request, env: Mapping[str, str],
         which: Callable[[str], str | None] = shutil.which, *,
         interactive: bool = True, host: Host | None = None) -> Invocation:
    """Decide tool and arguments.  ``which`` finds executables (tests inject one);
    ``host`` holds the installed versions and the user (``versions.probe``);
    ``interactive`` says whether a person watches a terminal (only then is nom's own
    view worth keeping)."""
    validate(request)
    host = host if host is not None else _host_from(which)
    sudo_user = env.get("SUDO_USER")
    if request.target == "home" and host.euid == 0 and sudo_user and sudo_user != "root":
        raise UsageError(f"under sudo, home would build root's Home Manager, not {sudo_user}'s: "
                         f"run `nixos-build-wrapper home {request.action}` as {sudo_user}, "
                         "without sudo")
    flake = request.flake or next((env[k] for k in FLAKE_ENV[request.target] if env.get(k)), None)
    notes: list[str] = []
    nh = None if request.no_nh else host.tools.get("nh")
    if nh is not None:
        row = nh_row(nh.version)
        reason = _why_not_nh(request, nh, row, flake, env, host)
        if reason is None and row is not None:
            if nh.version is None:
                notes.append(f"nh's version is unknown: planned as nh {NH_ROWS[-1].label}")
            return _with_nix(_plan_nh(request, nh, row, flake, env, host, which, interactive,
                                      notes), host)
        notes.append(reason or "")
    if request.target == "os":
        return _with_nix(_plan_rebuild(request, flake, env, host, notes), host)
    return _with_nix(_plan_home_manager(request, flake, env, host, notes), host)


def _with_nix(invocation: Invocation, host: Host) -> Invocation:
    if host.nix is None:
        return invocation
    return replace(invocation, nix_version=host.nix.text, nix_flavour=host.nix.flavour)


def _why_not_nh(request: Request, nh: Tool, row: NhRow | None, flake: str | None,
                env: Mapping[str, str], host: Host) -> str | None:
    """Why nh cannot do what was asked (then the other tool is used), or None."""
    other = "nixos-rebuild" if request.target == "os" else "home-manager"
    version = version_text(nh.version) if nh.version else "?"
    if row is None:
        return (f"nh {version} is older than {version_text(NH_MIN)} (no --no-nom): "
                f"using {other}")
    default = host.system_flake if request.target == "os" else host.home_flake
    uses_file = bool(env.get("NH_FILE")) and row.since >= (4, 0)
    if flake is None and default is None and not uses_file:
        where = "/etc/nixos/flake.nix" if request.target == "os" else "~/.config/home-manager/flake.nix"
        return f"nh builds flakes only and there is none (--flake, $NH_FLAKE, {where}): using {other}"
    if request.action == "dry-build" and not row.nix_dry_run:
        return (f"nh {version} cannot dry-run (`nh os build --dry` builds; `-- --dry-run` "
                "fails): using nixos-rebuild dry-build")
    if request.target == "os" and (request.target_host or request.build_host) \
            and not row.remote_hosts:
        return f"nh {version} has no --target-host/--build-host (since 4.1): using nixos-rebuild"
    if request.target == "home" and request.build_host and not row.home_build_host:
        raise UsageError(f"--build-host for home needs nh >= 4.3.1 (nh {version} installed)")
    return None


def _view(request: Request, nom: str | None, interactive: bool, can_stream: bool) -> _View:
    """Whose rendering the terminal shows and whether nix is asked for the stream."""
    user_format = _user_log_format(request.extra)
    keep_nom_view = (request.console in ("auto", "tool") and nom is not None
                     and interactive and user_format is None and can_stream)
    tool_view = keep_nom_view or request.console == "tool" or (
        user_format is not None and user_format != "internal-json")
    stream = can_stream and user_format is None and (keep_nom_view or request.console != "tool")
    return _View(tool_view, nom if keep_nom_view else None,
                 stream or user_format == "internal-json")


def _plan_nh(request: Request, nh: Tool, row: NhRow, flake: str | None, env: Mapping[str, str],
             host: Host, which: Callable[[str], str | None], interactive: bool,
             notes: list[str]) -> Invocation:
    os_target = request.target == "os"
    dry = request.action == "dry-build"
    activating = request.action in ACTIVATING
    argv = ["nh", request.target, "build" if dry else request.action]
    env_unset: list[str] = list(NH_PLANNED_VARS)
    if flake is None and not (env.get("NH_FILE") and row.since >= (4, 0)):
        flake = host.system_flake if os_target else host.home_flake
    if flake is not None:
        ref, name = split_flake(flake)
        argv.append(ref)
        if name:
            argv += ["-H" if os_target else "-c", name]
        env_unset += NH_FLAKE_VARS
    if os_target and host.euid == 0:
        argv.append("-R")  # nh refuses root without it (v3.5.26 nixos.rs:36 ... master :1172)
    if request.specialisation:
        argv += ["-s", request.specialisation]
    if request.backup_extension:
        argv += ["-b", request.backup_extension]
    if request.target_host:
        argv += ["--target-host", request.target_host]
    if request.build_host:
        argv += ["--build-host", request.build_host]
    if activating and row.show_logs_flag:
        argv.append("--show-activation-logs")
    argv += request.tool_args
    view = _view(request, find_nom(which), interactive, can_stream=nix_log_format(host.nix))
    # nh builds with `nix build` (every version): json-log-path reaches it, unless the
    # build runs on another machine (nix there never sees our NIX_CONFIG nor socket).
    capture = _capture(view.stream, request.build_host is None, host, env, notes)
    real_nom = view.real_nom
    if capture == "json-log-path" and real_nom is not None:
        real_nom = None  # nh runs the user's nom itself: their view, untouched
    else:
        argv.append("--no-nom")
    nix_args = (["--dry-run"] if dry else []) + (["--show-trace"] if request.show_trace else [])
    if capture == "log-format" and _user_log_format(request.extra) is None:
        nix_args += NIX_STREAM
    nix_args += request.extra
    if nix_args:
        argv += ["--", *nix_args]
    return Invocation(
        argv=argv, tool="nh", flake=flake, real_nom=real_nom, tool_view=view.tool_view,
        tool_version=version_text(nh.version) if nh.version else None,
        compat_row=f"nh {row.label}", capture=capture,
        env_unset=tuple(dict.fromkeys(env_unset)), notes=tuple(notes),
        activation_exit_dropped=activating and row.activation_exit_dropped)


def _plan_rebuild(request: Request, flake: str | None, env: Mapping[str, str], host: Host,
                  notes: list[str]) -> Invocation:
    name = next((n for n in ("nixos-rebuild", "nixos-rebuild-ng") if n in host.tools),
                "nixos-rebuild")
    tool = host.tools.get(name)
    kind = tool.kind if tool is not None else None
    if kind is None:
        kind = "ng"
        if tool is not None:
            notes.append(f"{name}: cannot tell bash nixos-rebuild from nixos-rebuild-ng; "
                         "planned as nixos-rebuild-ng")
    row = REBUILD_ROWS[kind]
    argv = [name, request.action]
    if flake:
        argv += ["--flake", flake]
    if host.euid != 0 and (request.sudo or request.action in ACTIVATING):
        argv.append(row.elevate_flag)
    if request.specialisation:
        argv += ["--specialisation", request.specialisation]
    if request.target_host:
        argv += ["--target-host", request.target_host]
    if request.build_host:
        argv += ["--build-host", request.build_host]
    if request.show_trace:
        argv.append("--show-trace")
    argv += request.tool_args
    # The exact stream, unless the user wants the tool's own view (--console tool) or
    # asked nix for a format of their own (bar, raw…): then that is what they see.
    view = _view(request, None, False, can_stream=nix_log_format(host.nix))
    # With a flake nixos-rebuild builds with `nix build`, without one with nix-build;
    # with --build-host the build runs there, over ssh.
    capture = _capture(view.stream, flake is not None and request.build_host is None, host,
                       env, notes)
    if capture == "log-format" and _user_log_format(request.extra) is None:
        argv += TOOL_STREAM
    argv += request.extra
    return Invocation(argv=argv, tool=name, flake=flake, tool_view=view.tool_view,
                      tool_version=kind, compat_row=row.label, capture=capture,
                      notes=tuple(notes))


def _plan_home_manager(request: Request, flake: str | None, env: Mapping[str, str], host: Host,
                       notes: list[str]) -> Invocation:
    tool = host.tools.get("home-manager")
    version = tool.version if tool is not None else None
    row = home_manager_row(version)
    shown = f"{version[0]}.{version[1]:02d}" if version and len(version) > 1 else None
    if tool is not None and version is None:
        notes.append(f"home-manager's version is unknown: planned as Home Manager "
                     f"{HOME_MANAGER_ROWS[-1].label}")
    if request.build_host:
        raise UsageError("home-manager has no --build-host: nh >= 4.3.1 has (nh home)")
    argv = ["home-manager", request.action]
    if flake:
        argv += ["--flake", flake]
    if request.backup_extension:
        argv += ["-b", request.backup_extension]
    if request.specialisation:
        if not row.specialisation:
            raise UsageError(f"Home Manager {shown or ''} has no --specialisation (since 25.11)")
        if request.action != "switch":
            raise UsageError("Home Manager takes --specialisation with switch only")
        argv += ["--specialisation", request.specialisation]
    if request.show_trace:
        argv.append("--show-trace")
    argv += request.tool_args
    view = _view(request, None, False, can_stream=nix_log_format(host.nix))
    # Home Manager builds a flake with `nix build` (json-log-path reaches it, on every
    # version); otherwise nix-build, which takes --log-format only from 25.05 on.
    capture = _capture(view.stream and (flake is not None or row.log_format), flake is not None,
                       host, env, notes)
    if capture == "log-format" and not row.log_format:
        capture = "text"
    if capture == "log-format" and _user_log_format(request.extra) is None:
        argv += TOOL_STREAM
    argv += request.extra
    return Invocation(argv=argv, tool="home-manager", flake=flake, tool_view=view.tool_view,
                      tool_version=shown, compat_row=f"Home Manager {row.label}",
                      capture=capture, notes=tuple(notes))
