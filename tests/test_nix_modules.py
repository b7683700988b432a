"""The flake, the package and the NixOS and Home Manager modules, evaluated by the real
nix-instantiate (Nix 2.8 here; no nixpkgs offline) with a stub lib and pkgs
(tests/nix/), and the options followed to the programs: the environment a module
sets, the health check's unit and the bash library it installs are run for real
against a package directory made by running the package's own postInstall."""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import tomllib
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ROOT, wrapper_env
from tests.test_status_fakes import VENV_BIN

pytestmark = pytest.mark.realnix

EVAL = ROOT / "tests" / "nix" / "eval-module.nix"
NIXOS = ROOT / "nix" / "modules" / "nixos.nix"
HOME = ROOT / "nix" / "modules" / "home-manager.nix"
# What the NixOS module reads of the rest of the system.
NIXOS_BASE = {"security": {"sudo": {"enable": True}}, "systemd": {"package": "/nix/store/x-systemd"},
              "nix": {"package": "/nix/store/x-nix"}}
# The original design's aliases ("Best Practices: Regular Status Checks").
DESIGN_ALIASES = {"status": "nixos-build-status", "build": "nixos-build-wrapper os switch",
                  "build-home": "nixos-build-wrapper home switch"}
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())

# Stand-ins for the build hooks postInstall calls, doing what nixpkgs' do for the
# arguments we give them: installShellFiles' installManPage (share/man/manN by the
# file's extension) and installShellCompletion --cmd NAME --bash/--zsh/--fish FILE
# (share/bash-completion/completions/NAME, share/zsh/site-functions/_NAME,
# share/fish/vendor_completions.d/NAME.fish), and stdenv's substituteInPlace
# --replace-fail (fails when the text is not there).
HOOKS = r"""
installManPage() {
    local f; for f; do install -Dm644 "$f" "$out/share/man/man${f##*.}/${f##*/}"; done
}
installShellCompletion() {
    local cmd="" shell file
    while (($#)); do
        case "$1" in
            --cmd) cmd="$2"; shift 2 ;;
            --bash) install -Dm644 "$2" "$out/share/bash-completion/completions/$cmd"; shift 2 ;;
            --zsh) install -Dm644 "$2" "$out/share/zsh/site-functions/_$cmd"; shift 2 ;;
            --fish) install -Dm644 "$2" "$out/share/fish/vendor_completions.d/$cmd.fish"; shift 2 ;;
            *) echo "installShellCompletion: unexpected $1" >&2; return 1 ;;
        esac
    done
}
substituteInPlace() {
    local file="$1" content; shift
    content="$(<"$file")"
    while (($#)); do
        [[ "$1" == --replace-fail ]] || { echo "substituteInPlace: unexpected $1" >&2; return 1; }
        [[ "$content" == *"$2"* ]] || { echo "substituteInPlace: '$2' not in $file" >&2; return 1; }
        content="${content//"$2"/"$3"}"; shift 3
    done
    printf '%s\n' "$content" > "$file"
}
set -euo pipefail
"""


@cache
def nix_instantiate() -> str:
    found = shutil.which("nix-instantiate")
    assert found, "nix-instantiate (conftest skips or fails realnix tests without nix)"
    return found


def evaluate(out: Path, settings: dict[str, Any], *, module: Path | None = None,
             flake_module: str | None = None, base: dict[str, Any] | None = None) -> dict[str, Any]:
    args = [nix_instantiate(), "--eval", "--strict", "--json", str(EVAL),
            "--argstr", "settings", json.dumps(settings),
            "--argstr", "base", json.dumps(base or {}), "--argstr", "out", str(out)]
    if module is not None:
        args += ["--arg", "module", str(module)]
    if flake_module is not None:
        args += ["--argstr", "flakeModule", flake_module]
    proc = subprocess.run(args, capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr
    result: dict[str, Any] = json.loads(proc.stdout)
    return result


def program(settings: dict[str, Any]) -> dict[str, Any]:
    return {"programs": {"nixos-build-status": settings}}


@pytest.fixture
def package(tmp_path: Path) -> Path:
    """The package's store path as the build would leave it: postInstall run for real
    (with the hooks above) into it, and bin/ holding this checkout's commands."""
    out = tmp_path / "store" / "x-nixos-build-status"
    post_install = evaluate(out, {}, module=NIXOS)["package"]["postInstall"]
    proc = subprocess.run(["bash", "-c", HOOKS + post_install], cwd=ROOT,
                          env={**os.environ, "out": str(out)}, capture_output=True, text=True,
                          timeout=60, check=False)
    assert proc.returncode == 0, proc.stderr
    (out / "bin").mkdir()
    for name in ("nixos-build-wrapper", "nixos-build-status"):
        (out / "bin" / name).symlink_to(VENV_BIN / name)
    return out


# --- the package and the flake ------------------------------------------------------------

def test_package_is_the_pyproject_s(tmp_path: Path) -> None:
    built = evaluate(tmp_path, {}, module=NIXOS)["package"]
    assert built["version"] == PYPROJECT["project"]["version"]
    assert built["dependencies"] == [d.split(">")[0].split("=")[0]
                                     for d in PYPROJECT["project"]["dependencies"]]
    assert built["build-system"] == ["hatchling"]
    assert built["meta"]["mainProgram"] in PYPROJECT["project"]["scripts"]
    for module in built["pythonImportsCheck"]:
        subprocess.run([str(VENV_BIN / "python"), "-c", f"import {module}"], check=True)


def test_post_install_puts_man_pages_completions_and_library_in_place(package: Path) -> None:
    for cmd in ("nixos-build-wrapper", "nixos-build-status"):
        assert (package / "share/man/man1" / f"{cmd}.1").read_text().startswith(".TH ")
        assert cmd in (package / "share/bash-completion/completions" / cmd).read_text()
        assert (package / "share/zsh/site-functions" / f"_{cmd}").read_text().startswith("#compdef")
        assert cmd in (package / "share/fish/vendor_completions.d" / f"{cmd}.fish").read_text()
    library = (package / "share/nixos-build-status/build-status.sh").read_text()
    assert f'"${{NIXOS_BUILD_STATUS_CMD:-{package}/bin/nixos-build-status}}" lib "$@"' in library


def test_flake_outputs(package: Path) -> None:
    flake = evaluate(package, {}, module=NIXOS)["flake"]
    assert flake["packages"] == {"default": str(package), "nixos-build-status": str(package)}
    assert flake["overlay"] == str(package)
    assert sorted(flake["checks"]) == ["commands", "home-manager-module", "nixos-module", "package"]
    assert sorted(set(flake["modules"])) == ["default", "nixos-build-status"]
    apps = flake["apps"]
    assert set(apps) == {"default", "nixos-build-wrapper", "nixos-build-status"}
    for name, app in apps.items():
        assert app["type"] == "app"
        proc = subprocess.run([app["program"], "--version"], capture_output=True, text=True,
                              timeout=60, check=False)
        expected = "nixos-build-status" if name == "default" else name
        assert proc.stdout == f"{expected} {PYPROJECT['project']['version']}\n"


# --- the modules ---------------------------------------------------------------------------

@pytest.mark.parametrize("module", [NIXOS, HOME], ids=["nixos", "home-manager"])
def test_every_option_is_typed_and_described(tmp_path: Path, module: Path) -> None:
    options = evaluate(tmp_path, {}, module=module, base=NIXOS_BASE)["options"]

    def leaves(tree: dict[str, Any], path: str = "") -> list[tuple[str, dict[str, Any]]]:
        if "type" in tree and "description" in tree:
            return [(path, tree)]
        return [leaf for name, sub in tree.items() for leaf in leaves(sub, f"{path}.{name}")]

    found = leaves(options)
    assert {path for path, _ in found} >= {
        ".programs.nixos-build-status." + name
        for name in ("enable", "package", "logDir", "shellAliases.enable", "healthCheck.enable",
                     "healthCheck.onCalendar")}
    assert all(option["description"] for _, option in found)


@pytest.mark.parametrize("module", [NIXOS, HOME], ids=["nixos", "home-manager"])
def test_a_disabled_module_defines_nothing(tmp_path: Path, module: Path) -> None:
    config = evaluate(tmp_path, program({"logDir": "/srv/builds", "healthCheck": {"enable": True}}),
                      module=module, base=NIXOS_BASE)["config"]
    assert config == {}


@pytest.mark.parametrize("module", [NIXOS, HOME], ids=["nixos", "home-manager"])
def test_a_misspelt_option_is_an_error(tmp_path: Path, module: Path) -> None:
    with pytest.raises(AssertionError, match=re.escape("no such option: .programs.nixos-build-status.logdir")):
        evaluate(tmp_path, program({"enable": True, "logdir": "/srv"}), module=module,
                 base=NIXOS_BASE)


def run_build(package: Path, tmp_path: Path, env: dict[str, str], target: str) -> None:
    """A build through the wrapper with no --log-dir: where it goes is the module's doing."""
    proc = subprocess.run([str(package / "bin/nixos-build-wrapper"), target, "build", "--no-nh"],
                          env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                          timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr


def run_unit(command: str, env: dict[str, str], success: str) -> dict[str, Any]:
    """A oneshot unit's ExecStart as systemd runs it: split on spaces, no shell; its exit
    status counts as success when 0 or listed in SuccessExitStatus."""
    proc = subprocess.run(shlex.split(command), env=env, capture_output=True, text=True,
                          timeout=120, check=False)
    assert proc.returncode == 0 or str(proc.returncode) in success.split(), proc.stderr
    report: dict[str, Any] = json.loads(proc.stdout)
    return report


def source_library(library: str, env: dict[str, str], function: str) -> subprocess.CompletedProcess[str]:
    """A script sourcing the installed library under cron's bare PATH: the library finds
    nixos-build-status by the package's own path."""
    bare = {**env, "PATH": "/usr/bin:/bin"}
    return subprocess.run(["bash", "-c", f'source "$1" && {function}', "script", library],
                          env=bare, capture_output=True, text=True, timeout=60, check=False)


def test_nixos_module_options_reach_the_programs(package: Path, tmp_path: Path) -> None:
    logs = tmp_path / "builds"
    config = evaluate(package, program({
        "enable": True, "logDir": str(logs), "group": "builders", "shellAliases": {"enable": True},
        "designLibraryPath": True, "healthCheck": {"enable": True, "onCalendar": "*:0/15"}}),
        flake_module="nixosModules", base=NIXOS_BASE)["config"]

    assert config["environment"]["systemPackages"] == [str(package)]
    variables = config["environment"]["variables"]
    assert variables == {"NIXOS_BUILD_LOG_DIR": str(logs)}
    assert 'env_keep += "NIXOS_BUILD_LOG_DIR"' in config["security"]["sudo"]["extraConfig"]
    rules = config["systemd"]["tmpfiles"]["rules"]
    assert rules[0] == f"d {logs} 2775 root builders -"  # setgid, group-writable
    assert rules[1].startswith(f"A+ {logs} ") and "default:group:builders:rwX" in rules[1]
    assert config["environment"]["shellAliases"] == DESIGN_ALIASES
    etc = config["environment"]["etc"]
    library = f"{package}/share/nixos-build-status/build-status.sh"
    assert etc == {"nixos-build-status/build-status.sh": {"source": library},
                   "nixos/lib/build-status.sh": {"source": library}}

    # a build run by a user whose session has the module's environment
    env = wrapper_env(tmp_path, **variables)
    run_build(package, tmp_path, env, "os")
    assert json.loads((logs / "last-build.json").read_text())["success"] is True

    service = config["systemd"]["services"]["nixos-build-status-health"]
    assert service["path"] == ["/nix/store/x-systemd", "/nix/store/x-nix"]
    unit_env = {**wrapper_env(tmp_path), **service["environment"]}
    report = run_unit(service["serviceConfig"]["ExecStart"], unit_env,
                      service["serviceConfig"]["SuccessExitStatus"])
    assert report["buildErrors"]["lastBuild"]["logDir"] == str(logs)
    assert report["buildability"]["reason"] == "--no-eval"
    timer = config["systemd"]["timers"]["nixos-build-status-health"]
    assert timer["wantedBy"] == ["timers.target"] and timer["timerConfig"]["OnCalendar"] == "*:0/15"

    proc = source_library(etc["nixos/lib/build-status.sh"]["source"], env, "was_last_build_successful")
    assert proc.returncode == 0, proc.stderr


def test_nixos_module_defaults(package: Path, tmp_path: Path) -> None:
    config = evaluate(package, program({"enable": True}), module=NIXOS,
                      base={**NIXOS_BASE, "security": {"sudo": {"enable": False}}})["config"]
    assert config["environment"]["variables"] == {"NIXOS_BUILD_LOG_DIR": "/var/log/nixos-builds"}
    assert config["systemd"]["tmpfiles"]["rules"][0] == "d /var/log/nixos-builds 2775 root wheel -"
    assert list(config["environment"]["etc"]) == ["nixos-build-status/build-status.sh"]
    assert "shellAliases" not in config["environment"]  # opt-in
    # no health check unless asked
    assert config["systemd"]["services"] == {} and config["systemd"]["timers"] == {}
    assert config["security"]["sudo"] == {}  # no sudo, nothing to keep through it


def test_home_manager_module_options_reach_the_programs(package: Path, tmp_path: Path) -> None:
    logs = tmp_path / "hm-builds"
    config = evaluate(package, program({
        "enable": True, "logDir": str(logs), "shellAliases": {"enable": True},
        "healthCheck": {"enable": True, "evaluate": True}}), flake_module="homeManagerModules")["config"]

    home = config["home"]
    assert home["packages"] == [str(package)]
    assert home["sessionVariables"] == {"NIXOS_BUILD_LOG_DIR": str(logs)}
    assert home["shellAliases"] == DESIGN_ALIASES
    library = config["xdg"]["dataFile"]["nixos-build-status/build-status.sh"]["source"]
    assert library == f"{package}/share/nixos-build-status/build-status.sh"

    env = wrapper_env(tmp_path, **home["sessionVariables"])
    run_build(package, tmp_path, env, "home")
    assert json.loads((logs / "last-build.json").read_text())["target"] == "home"

    service = config["systemd"]["user"]["services"]["nixos-build-status-health"]["Service"]
    assert service["ExecStart"] == f"{package}/bin/nixos-build-status --json"  # evaluate: on
    unit_env = {**wrapper_env(tmp_path), **dict(v.split("=", 1) for v in service["Environment"])}
    unit_env["FAKE_FLAKE_EVAL"] = "ok"
    report = run_unit(service["ExecStart"], unit_env, service["SuccessExitStatus"])
    assert report["buildErrors"]["lastBuild"]["target"] == "home"
    timer = config["systemd"]["user"]["timers"]["nixos-build-status-health"]
    assert timer["Install"]["WantedBy"] == ["timers.target"]

    proc = source_library(library, env, "get_last_build_status")
    assert proc.returncode == 0 and proc.stdout.strip(), proc.stderr


def test_home_manager_module_without_log_dir_leaves_the_programs_their_default(
        package: Path, tmp_path: Path) -> None:
    config = evaluate(package, program({"enable": True, "healthCheck": {"enable": True}}),
                      module=HOME)["config"]
    assert "sessionVariables" not in config["home"]
    service = config["systemd"]["user"]["services"]["nixos-build-status-health"]["Service"]
    assert service["Environment"] == [] and service["ExecStart"].endswith(" --json --no-eval")

