"""Every nh, nixos-rebuild and Home Manager version range, as docs/compat.md says it
behaves: the plan for each (pure), the fakes that play each version from its source,
and the wrapper end to end through them (record and NDJSON) for every row."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from orchestrator import compat
from orchestrator.invocation import Request, UsageError, plan
from orchestrator.nom_relay import find_nom
from orchestrator.versions import Host, Tool, probe, rebuild_kind
from parsers import nh as nh_reports
from tests.conftest import FAKE_BIN, FIXTURES, ROOT, of_type, parse, run_wrapper, wrapper_env

# One tag of each row of docs/compat.md (and the edges of the ranges).
NH_VERSIONS = {"3.5.x": "3.5.26", "4.0": "4.0.3", "4.1-4.2": "4.1.2", "4.2": "4.2.0",
               "4.3.0": "4.3.0", "4.3.1-4.3.2": "4.3.1", "4.3.2": "4.3.2", ">=4.4": "4.4.2"}
ALL_NH = sorted(set(NH_VERSIONS.values()), key=compat.parse_version)
BASH_REBUILD = FIXTURES / "bash-nixos-rebuild"


def v(text: str) -> compat.Version:
    version = compat.parse_version(text)
    assert version is not None
    return version


def nh_host(version: str | None, euid: int = 1000, **extra: Tool) -> Host:
    tools = {"nh": Tool("/run/current-system/sw/bin/nh", v(version) if version else None),
             "nixos-rebuild": Tool("/run/current-system/sw/bin/nixos-rebuild", kind="ng"), **extra}
    return Host(tools=tools, euid=euid, system_flake="/etc/nixos",
                home_flake="/home/alice/.config/home-manager")


def which_none(name: str) -> str | None:
    return None


def nh_plan(version: str | None, request: Request, env: dict[str, str] | None = None,
            euid: int = 1000, **kw: object):
    return plan(request, env or {}, which_none, interactive=False,
                host=nh_host(version, euid), **kw)  # type: ignore[arg-type]


# --- the table ---------------------------------------------------------------------------

def test_every_row_of_the_table_is_in_docs_compat_md():
    doc = (ROOT / "docs" / "compat.md").read_text()
    rows = {line.split("|")[1].strip() for line in doc.splitlines() if line.startswith("| ")}
    wanted = {f"nh {r.label}" for r in compat.NH_ROWS} | {r.label for r in compat.REBUILD_ROWS.values()}
    wanted |= {f"Home Manager {r.label}" for r in compat.HOME_MANAGER_ROWS}
    assert wanted <= rows, wanted - rows


@pytest.mark.parametrize(("text", "row"), [
    ("nh 3.5.26", "3.5.x"), ("nh 3.6.0", "3.5.x"), ("nh 4.0.0-beta.3", "4.0"), ("nh 4.1.2", "4.1-4.2"),
    ("nh 4.2.0", "4.1-4.2"), ("nh 4.3.0", "4.3.0"), ("nh 4.3.2", "4.3.1-4.3.2"),
    ("nh 4.4.0", ">=4.4"), ("nh 5.0.1", ">=4.4")])
def test_versions_fall_in_their_row(text: str, row: str):
    found = compat.nh_row(compat.parse_version(text))
    assert found is not None and found.label == row


def test_nh_older_than_no_nom_and_unknown_versions():
    assert compat.nh_row((3, 5, 3)) is None
    assert compat.nh_row(None) == compat.NH_ROWS[-1]
    assert compat.home_manager_row((24, 11)).log_format is False
    assert compat.home_manager_row((25, 5)).log_format is True
    assert compat.home_manager_row(None) == compat.HOME_MANAGER_ROWS[-1]


# --- what is installed -------------------------------------------------------------------

@pytest.mark.parametrize("version", ["3.5.26", "4.3.1", "4.4.2"])
def test_the_version_is_read_from_nh_itself(version: str):
    env = {**os.environ, "FAKE_NH_VERSION": version, "PATH": f"{FAKE_BIN}:{os.environ['PATH']}"}
    host = probe(env, lambda name: str(FAKE_BIN / name), ("nh", "home-manager"))
    assert host.tools["nh"].version == v(version)
    assert host.euid == os.geteuid()


@pytest.mark.parametrize(("version", "expected"), [("24.11", (24, 11)), ("25.05", (25, 5))])
def test_the_version_is_read_from_home_manager_itself(version: str, expected: tuple[int, int]):
    env = {**os.environ, "FAKE_HM_VERSION": version}
    host = probe(env, lambda name: str(FAKE_BIN / name), ("home-manager",))
    assert host.tools["home-manager"].version == expected


def test_bash_nixos_rebuild_and_ng_are_told_apart_without_running_them(tmp_path: Path):
    assert rebuild_kind(str(BASH_REBUILD / "nixos-rebuild")) == "bash"
    assert rebuild_kind(str(FAKE_BIN / "nixos-rebuild")) == "ng"
    store = tmp_path / "0123-nixos-rebuild-ng-25.11" / "bin"
    store.mkdir(parents=True)
    (store / "nixos-rebuild").write_text("#!/nix/store/x-bash/bin/bash\nexec python\n")
    assert rebuild_kind(str(store / "nixos-rebuild")) == "ng"  # the NixOS module's name
    host = probe({}, lambda name: str(FAKE_BIN / name) if name == "nixos-rebuild-ng" else None,
                 ("nh", "nixos-rebuild", "nixos-rebuild-ng"))
    assert host.tools == {"nixos-rebuild-ng": Tool(str(FAKE_BIN / "nixos-rebuild-ng"), kind="ng")}


def test_nixos_rebuild_ng_is_used_under_its_own_name():
    host = Host(tools={"nixos-rebuild-ng": Tool("/bin/nixos-rebuild-ng", kind="ng")}, euid=0)
    inv = plan(Request("os", "switch"), {}, which_none, host=host)
    assert inv.argv[:2] == ["nixos-rebuild-ng", "switch"] and inv.tool == "nixos-rebuild-ng"


def test_nom_is_found_inside_nixpkgs_binary_wrapper_of_nh(tmp_path: Path):
    """makeBinaryWrapper compiles a C program holding the PATH prefix as a literal
    (make-binary-wrapper.sh @0368f123): build one the same way and find nom in it."""
    nom_dir = tmp_path / "0123456789abcdfghijklmnpqrsvwxyz-nix-output-monitor-2.1.8" / "bin"
    nom_dir.mkdir(parents=True)
    (nom_dir / "nom").write_text("#!/bin/sh\n")
    (nom_dir / "nom").chmod(0o755)
    source = tmp_path / "wrapper.c"
    source.write_text(
        "#include <unistd.h>\n#include <stdlib.h>\n#include <string.h>\n"
        "int main(int argc, char **argv) {\n"
        f'  char *prefix = "{nom_dir}";\n'
        '  setenv("PATH", prefix, 1);\n'
        '  argv[0] = "nh"; return execv("/x/.nh-wrapped", argv); }\n')
    binary = tmp_path / "nh"
    compiled = subprocess.run(["cc", "-O2", "-o", str(binary), str(source)], capture_output=True,
                              check=False)
    assert compiled.returncode == 0, compiled.stderr
    assert binary.read_bytes().startswith(b"\x7fELF")
    assert find_nom(lambda name: str(binary) if name == "nh" else None) == str(nom_dir / "nom")


# --- the plan, row by row ----------------------------------------------------------------

@pytest.mark.parametrize("version", ALL_NH)
def test_root_runs_nh_with_the_bypass_flag(version: str):
    inv = nh_plan(version, Request("os", "switch", flake="/cfg"), euid=0)
    assert inv.tool == "nh" and "-R" in inv.argv
    assert "NH_BYPASS_ROOT_CHECK" in inv.env_unset  # "1" would be exit 2 on every version
    assert "-R" not in nh_plan(version, Request("os", "switch", flake="/cfg")).argv


@pytest.mark.parametrize("version", ALL_NH)
def test_the_configuration_name_goes_to_nhs_own_flag(version: str):
    os_inv = nh_plan(version, Request("os", "switch", flake="/cfg#laptop"))
    assert os_inv.argv[3:6] == ["/cfg", "-H", "laptop"] and os_inv.flake == "/cfg#laptop"
    home = nh_plan(version, Request("home", "switch", flake="/cfg#alice@laptop"))
    assert home.argv[3:6] == ["/cfg", "-c", "alice@laptop"]


@pytest.mark.parametrize("version", ALL_NH)
def test_the_flake_is_positional_and_nhs_variables_do_not_reach_it(version: str):
    env = {"NH_OS_FLAKE": "/env", "NH_FLAKE": "/other", "FLAKE": "/old", "PATH": "/bin"}
    inv = nh_plan(version, Request("os", "boot", flake="/asked"), env)
    assert inv.argv[3] == "/asked" and inv.flake == "/asked"
    assert inv.child_env(env) == {"PATH": "/bin"}
    assert nh_plan(version, Request("os", "boot"), {"FLAKE": "/old"}).argv[3] == "/old"
    assert nh_plan(version, Request("os", "boot"), {}).argv[3] == "/etc/nixos"


@pytest.mark.parametrize("version", ALL_NH)
def test_dry_build_never_builds(version: str):
    inv = nh_plan(version, Request("os", "dry-build", flake="/cfg"))
    assert "--dry" not in inv.argv
    if compat.nh_row(v(version)).nix_dry_run:  # type: ignore[union-attr]
        assert inv.argv[:3] == ["nh", "os", "build"] and inv.argv[inv.argv.index("--") + 1] == "--dry-run"
    else:
        assert inv.argv[:2] == ["nixos-rebuild", "dry-build"]
        assert len(inv.notes) == 1 and "cannot dry-run" in inv.notes[0]


@pytest.mark.parametrize("version", ALL_NH)
def test_activation_output_is_asked_for_the_way_each_version_accepts(version: str):
    inv = nh_plan(version, Request("os", "switch", flake="/cfg"))
    asked = "--show-activation-logs" in inv.argv
    # 4.3.0 and >= 4.4 show it with the flag; 4.3.1-4.3.2 would drop the stderr from the
    # failure report; older versions have no such flag.
    assert asked == (v(version)[:3] == (4, 3, 0) or v(version) >= (4, 4))
    assert "NH_SHOW_ACTIVATION_LOGS" in inv.env_unset  # 4.3.0: "1" is exit 2
    assert inv.activation_exit_dropped == (v(version) < (4, 2))
    assert "--show-activation-logs" not in nh_plan(version, Request("os", "build", flake="/c")).argv


@pytest.mark.parametrize("version", ALL_NH)
def test_remote_hosts_under_nh_or_nixos_rebuild(version: str):
    inv = nh_plan(version, Request("os", "switch", flake="/cfg", target_host="root@web",
                                   build_host="builder"))
    if v(version) >= (4, 1):
        assert inv.tool == "nh"
        assert inv.argv[inv.argv.index("--target-host") + 1] == "root@web"
        assert inv.argv[inv.argv.index("--build-host") + 1] == "builder"
    else:
        assert inv.tool == "nixos-rebuild" and "--target-host" in inv.argv
        assert "since 4.1" in inv.notes[0]


def test_a_setup_nh_cannot_build_falls_back_with_a_reason():
    host = Host(tools=nh_host("4.4.2").tools, euid=0)  # no /etc/nixos/flake.nix
    inv = plan(Request("os", "switch"), {}, which_none, host=host)
    assert inv.argv[:2] == ["nixos-rebuild", "switch"] and "--flake" not in inv.argv
    assert inv.notes == ("nh builds flakes only and there is none (--flake, $NH_FLAKE, "
                         "/etc/nixos/flake.nix): using nixos-rebuild",)
    # NH_FILE (nh >= 4.0 builds a file) keeps nh.
    assert plan(Request("os", "switch"), {"NH_FILE": "/etc/nixos/default.nix"}, which_none,
                host=host).tool == "nh"
    old = Host(tools=nh_host("3.5.3").tools, euid=0, system_flake="/etc/nixos")
    assert "older than 3.5.4" in plan(Request("os", "switch"), {}, which_none, host=old).notes[0]


def test_an_unknown_nh_version_gets_the_newest_behaviour_and_a_note():
    inv = nh_plan(None, Request("os", "switch", flake="/cfg"))
    assert inv.compat_row == "nh >=4.4" and "--show-activation-logs" in inv.argv
    assert inv.notes == ("nh's version is unknown: planned as nh >=4.4",)


@pytest.mark.parametrize(("kind", "flag"), [("bash", "--use-remote-sudo"), ("ng", "--sudo")])
def test_a_normal_users_activation_elevates_as_the_nixos_rebuild_expects(kind: str, flag: str):
    host = Host(tools={"nixos-rebuild": Tool("/bin/nixos-rebuild", kind=kind)})  # type: ignore[arg-type]
    for action in ("switch", "boot", "test"):
        assert flag in plan(Request("os", action), {}, which_none, host=host).argv
    assert flag not in plan(Request("os", "build"), {}, which_none, host=host).argv
    assert flag in plan(Request("os", "build", sudo=True), {}, which_none, host=host).argv
    root = Host(tools=host.tools, euid=0)
    assert flag not in plan(Request("os", "switch", sudo=True), {}, which_none, host=root).argv
    other = "--sudo" if kind == "bash" else "--use-remote-sudo"
    assert other not in plan(Request("os", "switch"), {}, which_none, host=host).argv


@pytest.mark.parametrize(("version", "stream"), [("24.11", False), ("25.05", True), ("25.11", True)])
def test_home_manager_gets_log_format_only_from_25_05(version: str, stream: bool):
    host = Host(tools={"home-manager": Tool("/bin/home-manager", v(version))})
    inv = plan(Request("home", "switch", flake="/h#alice"), {}, which_none, host=host)
    assert ("--log-format" in inv.argv) == stream
    assert "-v" not in inv.argv or stream
    assert inv.events_from == ("internal-json" if stream else "text")
    assert inv.argv[:4] == ["home-manager", "switch", "--flake", "/h#alice"]


def test_home_under_sudo_refuses_clearly():
    host = Host(tools={"home-manager": Tool("/bin/home-manager", (25, 5))}, euid=0)
    with pytest.raises(UsageError, match="root's Home Manager, not alice's"):
        plan(Request("home", "switch"), {"SUDO_USER": "alice"}, which_none, host=host)
    assert plan(Request("home", "switch"), {}, which_none, host=host).tool == "home-manager"


# One rule for the wrapper's options: each tool's own flag.
OPTIONS = {
    "nh os": (Request("os", "switch", flake="/c", specialisation="web", show_trace=True,
                      tool_args=("--ask",), extra=("--impure",)),
              ["-s", "web", "--show-activation-logs", "--ask", "--no-nom", "--", "--show-trace", "--log-format",
               "internal-json", "-v", "--impure"]),
    "nh home": (Request("home", "switch", flake="/c", backup_extension="bak", specialisation="x"),
                ["-s", "x", "-b", "bak"]),
    "nixos-rebuild": (Request("os", "switch", no_nh=True, specialisation="web", show_trace=True,
                              target_host="h", build_host="b", tool_args=("--fast",)),
                      ["--specialisation", "web", "--target-host", "h", "--build-host", "b",
                       "--show-trace", "--fast", "--log-format"]),
    "home-manager": (Request("home", "switch", no_nh=True, backup_extension="bak",
                             specialisation="x", show_trace=True),
                     ["-b", "bak", "--specialisation", "x", "--show-trace", "--log-format"]),
}


@pytest.mark.parametrize("case", sorted(OPTIONS))
def test_wrapper_options_become_each_tools_flag(case: str):
    request, expected = OPTIONS[case]
    host = Host(tools={**nh_host("4.4.2").tools,
                       "home-manager": Tool("/bin/home-manager", (25, 11))},
                euid=0, system_flake="/etc/nixos")
    argv = plan(request, {}, which_none, host=host, interactive=False).argv
    joined = " ".join(argv)
    assert " ".join(expected) in joined, argv


def test_options_a_tool_version_lacks_are_refused_before_running():
    old_hm = Host(tools={"home-manager": Tool("/bin/home-manager", (25, 5))})
    with pytest.raises(UsageError, match=r"since 25\.11"):
        plan(Request("home", "switch", specialisation="x"), {}, which_none, host=old_hm)
    with pytest.raises(UsageError, match="--target-host is for os"):
        plan(Request("home", "switch", target_host="h"), {}, which_none, host=old_hm)
    with pytest.raises(UsageError, match="Home Manager's"):
        plan(Request("os", "switch", backup_extension="b"), {}, which_none, host=old_hm)
    with pytest.raises(UsageError, match="home-manager has no --build-host"):
        plan(Request("home", "switch", build_host="b"), {}, which_none, host=old_hm)
    with pytest.raises(UsageError, match=r"nh >= 4\.3\.1"):
        nh_plan("4.3.0", Request("home", "switch", flake="/h", build_host="b"))


def test_the_wrapper_command_line_takes_the_tool_options():
    from orchestrator.wrapper_cli import parse_request

    request = parse_request(["home", "switch", "--backup-extension", "bak", "--specialisation", "s",
                             "--show-trace", "--tool-arg", "--impure", "--tool-arg", "-L",
                             "--sudo", "--build-host", "b", "--", "--option", "cores", "4"])
    assert (request.backup_extension, request.specialisation, request.show_trace, request.sudo,
            request.build_host) == ("bak", "s", True, True, "b")
    assert request.tool_args == ("--impure", "-L") and request.extra == ("--option", "cores", "4")


# --- nh's indented failure report (nh >= 4.3.1) -----------------------------------------

def test_the_indented_activation_report_is_read_as_activation_output():
    chain = ["Error: ", "   0: Activation (test) failed",
             "   1: Activating configuration (exit status ExitStatus(Exited(4)))",
             "      stderr:", "      activating the configuration...",
             "      warning: the following units failed: a.service, b.service", "",
             "Location:", "   crates/nh-nixos/src/nixos.rs:375"]
    assert nh_reports.captured_stderr(chain) == [
        "activating the configuration...", "warning: the following units failed: a.service, b.service"]
    events = parse(("\n".join(chain) + "\n").encode(), exit_code=1)
    assert [u.unit for u in of_type(events, "unit.failed")] == ["a.service", "b.service"]
    assert len(of_type(events, "log.line")) == len(chain)  # nothing logged twice
    assert nh_reports.captured_stderr(["Error: ", "   0: Failed to build configuration"]) == []


# --- the fakes play each version ---------------------------------------------------------

def fake(tool: str, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    full = {k: val for k, val in os.environ.items() if not k.startswith(("FAKE_", "NH_"))}
    full["FAKE_EUID"] = "1000"  # a normal user unless said otherwise
    full.update(env)
    return subprocess.run([sys.executable, str(FAKE_BIN / tool), *args], env=full,
                          capture_output=True, text=True, timeout=60, check=False)


@pytest.mark.parametrize("version", ALL_NH)
def test_fake_nh_refuses_root_without_the_bypass_flag(version: str):
    done = fake("nh", "os", "switch", "/cfg", "--no-nom", FAKE_NH_VERSION=version, FAKE_EUID="0")
    assert done.returncode == 1 and "Don't run nh os as root" in done.stderr
    bad = fake("nh", "os", "switch", "/cfg", "--no-nom", FAKE_NH_VERSION=version, FAKE_EUID="0",
               NH_BYPASS_ROOT_CHECK="1")
    assert bad.returncode == 2 and "invalid value '1'" in bad.stderr


@pytest.mark.parametrize("version", ALL_NH)
def test_fake_nh_sends_extras_to_nix(version: str):
    done = fake("nh", "home", "switch", "/h", "--no-nom", "--", "-b", "bak", FAKE_NH_VERSION=version)
    assert done.returncode == 1 and "unrecognised flag '-b'" in done.stderr


@pytest.mark.parametrize(("version", "fails"), [("3.5.26", True), ("4.0.3", True), ("4.2.0", True),
                                                ("4.3.0", False), ("4.4.2", False)])
def test_fake_nh_reads_path_hash_name_as_the_version_did(version: str, fails: bool):
    done = fake("nh", "os", "build", "/cfg#laptop", "--no-nom", FAKE_NH_VERSION=version)
    assert (done.returncode != 0) == fails
    assert fake("nh", "os", "build", "/cfg", "-H", "laptop", "--no-nom",
                FAKE_NH_VERSION=version).returncode == 0


def test_fake_nh_flake_sources_by_version():
    assert fake("nh", "os", "build", "--no-nom", FAKE_NH_VERSION="3.5.26",
                NH_FLAKE="/f").returncode == 2                         # 3.x reads FLAKE only
    assert fake("nh", "os", "build", "--no-nom", FAKE_NH_VERSION="4.0.3", FLAKE="/f").returncode == 0
    assert fake("nh", "os", "build", "--no-nom", FAKE_NH_VERSION="4.1.2", FLAKE="/f").returncode == 2


def test_fake_nh_show_activation_logs_values():
    bad = fake("nh", "os", "test", "/cfg", "--no-nom", FAKE_NH_VERSION="4.3.0",
               NH_SHOW_ACTIVATION_LOGS="1")
    assert bad.returncode == 2
    assert fake("nh", "os", "build", "/cfg", "--no-nom", FAKE_NH_VERSION="4.3.1",
                NH_SHOW_ACTIVATION_LOGS="1").returncode == 0
    assert fake("nh", "os", "build", "/cfg", "--show-activation-logs", "--no-nom",
                FAKE_NH_VERSION="4.2.0").returncode == 2          # no such flag before 4.3.0


@pytest.mark.parametrize(("flavour", "rejected", "code"), [("bash", "--sudo", 1), ("ng", "--bogus", 2)])
def test_fake_nixos_rebuild_options(flavour: str, rejected: str, code: int):
    done = fake("nixos-rebuild", "switch", rejected, FAKE_NIXOS_REBUILD=flavour)
    assert done.returncode == code and rejected in done.stderr
    user = fake("nixos-rebuild", "switch", FAKE_NIXOS_REBUILD=flavour, FAKE_EUID="1000")
    assert user.returncode == 1 and "Permission denied" in user.stderr
    flag = "--use-remote-sudo" if flavour == "bash" else "--sudo"
    assert fake("nixos-rebuild", "switch", flag, FAKE_NIXOS_REBUILD=flavour,
                FAKE_EUID="1000").returncode == 0


@pytest.mark.parametrize(("version", "code"), [("24.11", 1), ("25.05", 0)])
def test_fake_home_manager_log_format_by_version(version: str, code: int):
    done = fake("home-manager", "build", "--log-format", "internal-json", FAKE_HM_VERSION=version)
    assert done.returncode == code
    if code:
        assert "unknown option '--log-format'" in done.stderr


# --- the wrapper through each version, end to end ---------------------------------------

def nh_run(tmp_path: Path, version: str, args: list[str], **env: str):
    return run_wrapper(tmp_path, [*args, "--events", "ndjson"], FAKE_NH_VERSION=version,
                       FAKE_ARGV_LOG=str(tmp_path / "argv.log"), **env)


def calls(tmp_path: Path) -> list[list[str]]:
    path = tmp_path / "argv.log"
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def types(events: list[dict]) -> list[str]:
    return [e["type"] for e in events]


@pytest.mark.parametrize("version", ALL_NH)
def test_sudo_os_switch_through_each_nh(tmp_path: Path, version: str):
    run = nh_run(tmp_path, version, ["os", "switch"])
    assert run.returncode == 0, run.stderr
    events = run.ndjson()
    started, finished = events[0], events[-1]
    assert started["tool"] == "nh" and started["eventsFrom"] == "internal-json"
    assert finished["success"] is True and finished["exitCode"] == 0
    record = run.last_build()
    assert record["toolVersion"] == version and record["eventsFrom"] == "internal-json"
    assert record["success"] is True
    steps = [e["step"] for e in events if e["type"] == "activation"]
    row = compat.nh_row(v(version))
    assert row is not None
    shown = row.activation_logs != "hidden" or row.show_logs_flag
    assert ("activate" in steps) and (("restart-units" in steps) == shown)
    assert ("setup-etc" in steps) == (row.activation_logs == "shown" or row.show_logs_flag)


@pytest.mark.parametrize("version", ALL_NH)
def test_activation_failure_is_never_a_success(tmp_path: Path, version: str):
    run = nh_run(tmp_path, version, ["os", "switch"], FAKE_ACTIVATION="unit-failed")
    events = run.ndjson()
    expected = 4 if v(version) < (4, 2) else 1  # <= 4.1: nh said 0, the wrapper says 4
    assert run.returncode == expected, run.stderr
    assert events[-1]["success"] is False and events[-1]["exitCode"] == expected
    assert [e["unit"] for e in events if e["type"] == "unit.failed"] == ["demo-web.service"]
    record = run.last_build()
    assert record["success"] is False and record["exitCode"] == expected
    assert record["errorDetails"][0]["kind"] == "activation-unit-failed"
    if expected == 4:
        assert "activation failed although nh exited 0: exit code 4" in run.stderr


@pytest.mark.parametrize("version", ALL_NH)
def test_dry_build_through_each_nh_builds_nothing(tmp_path: Path, version: str):
    run = nh_run(tmp_path, version, ["os", "dry-build"], FAKE_CWD_RESULT="1")
    assert run.returncode == 0, run.stderr
    events = run.ndjson()
    assert "derivation.started" not in types(events) and "derivation.finished" not in types(events)
    plans = [e for e in events if e["type"] == "plan"]
    assert len(plans) == 1 and len(plans[0]["builds"]) == 5
    tool = calls(tmp_path)[-1][0]
    assert tool == ("nixos-rebuild" if (4, 1) <= v(version) < (4, 3) else "nh")
    assert not (ROOT / "result").is_symlink()


@pytest.mark.parametrize("version", ALL_NH)
def test_flake_hash_name_and_an_overriding_variable(tmp_path: Path, version: str):
    built = tmp_path / "built.log"
    run = nh_run(tmp_path, version, ["os", "build", "--flake", "/srv/cfg#laptop"],
                 NH_OS_FLAKE="/elsewhere", FAKE_BUILT_LOG=str(built))
    assert run.returncode == 0, run.stderr
    assert json.loads(built.read_text()) == \
        '/srv/cfg#nixosConfigurations."laptop".config.system.build.toplevel'
    assert run.last_build()["flakePath"] == "/srv/cfg#laptop"


def test_home_switch_through_nh_with_backup(tmp_path: Path):
    run = nh_run(tmp_path, "4.4.2", ["home", "switch", "--flake", "/h#alice",
                                     "--backup-extension", "bak"], FAKE_ACTIVATION="clobber")
    assert run.returncode == 0, run.stderr
    assert calls(tmp_path)[-1][:7] == ["nh", "home", "switch", "/h", "-c", "alice", "-b"]


def test_non_flake_system_falls_back_to_nixos_rebuild(tmp_path: Path):
    env = wrapper_env(tmp_path, FAKE_ARGV_LOG=str(tmp_path / "argv.log"))
    (tmp_path / "root" / "etc" / "nixos" / "flake.nix").unlink()
    run = run_wrapper(tmp_path, ["os", "switch", "--events", "ndjson"], env=env)
    assert run.returncode == 0, run.stderr
    assert calls(tmp_path)[-1][:2] == ["nixos-rebuild", "switch"]
    notes = [line for line in run.stderr.splitlines() if "note:" in line]
    assert notes == ["nixos-build-wrapper: note: nh builds flakes only and there is none "
                     "(--flake, $NH_FLAKE, /etc/nixos/flake.nix): using nixos-rebuild"]
    assert run.ndjson()[0]["tool"] == "nixos-rebuild"


@pytest.mark.parametrize(("version", "source"), [("24.11", "text"), ("25.05", "internal-json")])
def test_home_manager_by_version_end_to_end(tmp_path: Path, version: str, source: str):
    run = run_wrapper(tmp_path, ["home", "switch", "--no-nh", "--events", "ndjson"],
                      FAKE_HM_VERSION=version, FAKE_ARGV_LOG=str(tmp_path / "argv.log"))
    assert run.returncode == 0, run.stderr
    (call,) = calls(tmp_path)
    assert ("--log-format" in call) == (source == "internal-json")
    events = run.ndjson()
    assert events[0]["eventsFrom"] == source and run.last_build()["eventsFrom"] == source
    assert events[-1]["success"] is True
    assert len([e for e in events if e["type"] == "derivation.finished"]) == 5
    assert run.last_build()["toolVersion"] == version


def test_home_under_sudo_end_to_end(tmp_path: Path):
    run = run_wrapper(tmp_path, ["home", "switch"], SUDO_USER="alice")
    assert run.returncode == 3
    assert "run `nixos-build-wrapper home switch` as alice, without sudo" in run.stderr


def test_bash_nixos_rebuild_end_to_end(tmp_path: Path):
    env = wrapper_env(tmp_path, FAKE_ARGV_LOG=str(tmp_path / "argv.log"),
                      FAKE_ACTIVATION="unit-failed")
    env["PATH"] = f"{BASH_REBUILD}:{env['PATH']}"
    run = run_wrapper(tmp_path, ["os", "switch", "--no-nh", "--events", "ndjson"], env=env)
    assert run.returncode == 1  # bash nixos-rebuild's own code for a failed switch
    assert run.last_build()["toolVersion"] == "bash"
    assert [e["unit"] for e in run.ndjson() if e["type"] == "unit.failed"] == ["demo-web.service"]


# --- status: a flake nix will not read is "cannot check" ---------------------------------

def test_a_flake_owned_by_another_user_is_cannot_check(tmp_path: Path):
    from tests.test_status_fakes import FakeSystem

    machine = FakeSystem(tmp_path)
    machine.in_sync_system(1, 2)
    machine.flake()
    machine.last_build()
    code, result = machine.report(FAKE_FLAKE_EVAL="not-owned")
    b = result["buildability"]
    assert code == 0 and b["status"] == "unavailable" and b["canBuild"] is None
    assert re.search(r"nix will not read .* as this user: .*not owned by current user", b["reason"])
    assert "evaluation-failed" not in result["problems"]
