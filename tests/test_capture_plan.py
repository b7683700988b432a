"""The capture the planner chooses from the installed nix (docs/compat.md, "Nix
itself"): json-log-path | log-format | text.  Pure; the real Nix 2.34 runs in
tests/test_json_log_path.py."""

from __future__ import annotations

import pytest

from orchestrator.compat import NixInfo, nix_json_log_path, nix_log_format, parse_nix_version
from orchestrator.invocation import Request, merge_nix_config, plan
from orchestrator.versions import Host, Tool

NIX_234 = parse_nix_version("nix (Nix) 2.34.8")
NIX_226 = parse_nix_version("nix (Nix) 2.26.3")
NIX_23 = parse_nix_version("nix (Nix) 2.3.16")
LIX = parse_nix_version("nix (Lix, like Nix) 2.91.1")
DETERMINATE = parse_nix_version("nix (Determinate Nix 3.6.2) 2.29.0")
OLD_DETERMINATE = parse_nix_version("nix (Determinate Nix 3.0.0) 2.26.3")


def which_of(**found: str):
    return lambda name: found.get(name)


def host(nix: NixInfo | None, *tools: str) -> Host:
    return Host(tools={t: Tool(f"/bin/{t}", (4, 4, 2) if t == "nh" else (25, 11)) for t in tools},
                euid=0, system_flake="/etc/nixos", nix=nix)


def test_nix_versions_are_read_with_their_flavour():
    assert NixInfo("nix", (2, 34, 8)) == NIX_234
    assert NixInfo("lix", (2, 91, 1)) == LIX
    assert NixInfo("determinate", (2, 29, 0), (3, 6, 2)) == DETERMINATE
    assert parse_nix_version("command not found") is None
    assert [nix_json_log_path(n) for n in (NIX_234, NIX_226, NIX_23, LIX, DETERMINATE,
                                           OLD_DETERMINATE, None)] == [
        True, False, False, False, True, False, False]
    assert [nix_log_format(n) for n in (NIX_234, NIX_23, LIX, None)] == [True, False, True, True]


@pytest.mark.parametrize(("nix", "flake", "capture"), [
    (NIX_234, "/f", "json-log-path"),
    (DETERMINATE, "/f", "json-log-path"),
    (NIX_234, None, "log-format"),       # nix-build ignores json-log-path
    (NIX_226, "/f", "log-format"),
    (LIX, "/f", "log-format"),
    (NIX_23, "/f", "text"),               # no --log-format before 2.4
    (None, "/f", "log-format"),
])
def test_nixos_rebuild_capture(nix: NixInfo | None, flake: str | None, capture: str):
    inv = plan(Request("os", "build", flake=flake), {}, which_of(), host=host(nix, "nixos-rebuild"))
    assert inv.capture == capture
    assert ("--log-format" in inv.argv) == (capture == "log-format")
    assert inv.events_from == ("text" if capture == "text" else "internal-json")
    assert inv.nix_version == (nix.text if nix else None)


def test_nh_keeps_its_argv_and_the_users_nom_with_json_log_path():
    inv = plan(Request("os", "switch", flake="/f"), {}, which_of(nom="/bin/nom"),
               interactive=True, host=host(NIX_234, "nh"))
    assert inv.capture == "json-log-path" and inv.real_nom is None
    # nh runs nom itself (no --no-nom), nix gets no extra arguments.
    assert "--no-nom" not in inv.argv and "--" not in inv.argv and inv.tool_view
    plain = plan(Request("os", "switch", flake="/f"), {}, which_of(), interactive=False,
                 host=host(NIX_234, "nh"))
    assert plain.capture == "json-log-path" and plain.argv[-1] == "--no-nom"
    old = plan(Request("os", "switch", flake="/f"), {}, which_of(), host=host(NIX_23, "nh"))
    assert old.capture == "text" and "--log-format" not in old.argv


def test_home_manager_with_a_flake_streams_on_every_version():
    old_hm = Host(tools={"home-manager": Tool("/bin/home-manager", (24, 11))}, nix=NIX_234)
    inv = plan(Request("home", "switch", flake="/h"), {}, which_of(), host=old_hm)
    assert inv.capture == "json-log-path" and "--log-format" not in inv.argv
    no_flake = plan(Request("home", "switch"), {}, which_of(), host=old_hm)
    assert no_flake.capture == "text"


def test_the_users_nix_config_is_kept_and_their_own_json_log_path_wins():
    inv = plan(Request("os", "build", flake="/f"), {}, which_of(), host=host(NIX_234, "nixos-rebuild"))
    env = inv.child_env({"NIX_CONFIG": "warn-dirty = false\nmax-jobs = 4"}, "/tmp/x/s.sock")
    assert env["NIX_CONFIG"] == "warn-dirty = false\nmax-jobs = 4\njson-log-path = /tmp/x/s.sock\n"
    assert merge_nix_config(None, "/s") == "json-log-path = /s\n"
    theirs = plan(Request("os", "build", flake="/f"), {"NIX_CONFIG": "json-log-path = /mine"},
                  which_of(), host=host(NIX_234, "nixos-rebuild"))
    assert theirs.capture == "log-format" and any("json-log-path" in n for n in theirs.notes)


def test_json_log_path_keeps_the_stream_under_the_tools_own_view():
    """--console tool or a log format of the user's own: the terminal shows what they
    asked for, and json-log-path still brings nix's stream (it changes no view)."""
    tool = plan(Request("os", "build", flake="/f", console="tool"), {}, which_of(),
                host=host(NIX_234, "nixos-rebuild"))
    assert (tool.capture, tool.tool_view, tool.events_from) == ("json-log-path", True,
                                                                "internal-json")
    theirs = plan(Request("os", "build", flake="/f", extra=("--log-format", "bar-with-logs")),
                  {}, which_of(), host=host(NIX_234, "nixos-rebuild"))
    assert theirs.capture == "json-log-path"
    assert theirs.argv[-2:] == ["--log-format", "bar-with-logs"]
    # Without json-log-path the tool's own view means its text is parsed, as before.
    old = plan(Request("os", "build", flake="/f", console="tool"), {}, which_of(),
               host=host(NIX_226, "nixos-rebuild"))
    assert old.capture == "text"


def test_nix_23_never_gets_a_log_format_under_any_tool():
    for target, tool in (("os", "nixos-rebuild"), ("os", "nh"), ("home", "home-manager")):
        inv = plan(Request(target, "build", flake="/f"), {}, which_of(), host=host(NIX_23, tool))
        assert inv.capture == "text" and "--log-format" not in inv.argv, tool


def test_a_build_on_another_host_reads_the_stream_from_the_terminal():
    """--build-host: nix builds over ssh, where neither NIX_CONFIG nor the socket is."""
    for tool in ("nixos-rebuild", "nh"):
        inv = plan(Request("os", "build", flake="/f", build_host="builder"), {}, which_of(),
                   host=host(NIX_234, tool))
        assert inv.capture == "log-format" and "--log-format" in inv.argv, tool
