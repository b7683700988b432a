"""The NixOS module's fleet options (nix/modules/fleet.nix), evaluated by the real
nix-instantiate with the stubs of tests/nix/, and followed to the programs: the
variables a login session and sudo get, node_exporter's textfile collector, the
metrics timer's command, and nixos-upgrade.service's script run through the fakes
(an unattended upgrade leaves a record, a history entry, metrics and its argv)."""

from __future__ import annotations

import json
import shlex
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import wrapper_env
from tests.test_nix_modules import NIXOS_BASE, evaluate, package, program

pytestmark = pytest.mark.realnix
__all__ = ["package"]  # the fixture, shared with test_nix_modules

UPGRADE = {"enable": True, "flake": "/etc/nixos#demo", "operation": "switch",
           "flags": ["-L", "--impure"], "allowReboot": False}
BASE = {**NIXOS_BASE,
        "system": {"autoUpgrade": UPGRADE, "build": {"nixos-rebuild": "/nix/store/x-nixos-rebuild"}}}


def fleet(package: Path, settings: dict[str, Any], base: dict[str, Any] = BASE) -> dict[str, Any]:
    config: dict[str, Any] = evaluate(package, program({"enable": True, "fleet": settings}),
                                      flake_module="nixosModules", base=base)["config"]
    return config


def test_fleet_options_off_add_nothing(package: Path) -> None:
    config = fleet(package, {})
    assert config["environment"]["variables"] == {"NIXOS_BUILD_LOG_DIR": "/var/log/nixos-builds"}
    assert config["systemd"]["services"] == {} and "services" not in config
    assert config["security"]["sudo"]["extraConfig"].count("env_keep") == 1


def test_prometheus_journal_and_otel_reach_sessions_sudo_and_node_exporter(
        package: Path, tmp_path: Path) -> None:
    textfiles = tmp_path / "textfiles"
    config = fleet(package, {
        "prometheus": {"enable": True, "textfileDirectory": str(textfiles),
                       "statusInterval": "*:0/5"},
        "journal": {"enable": True},
        "otel": {"enable": True, "endpoint": "http://127.0.0.1:4318/v1/traces"}})
    variables = config["environment"]["variables"]
    assert variables == {"NIXOS_BUILD_LOG_DIR": "/var/log/nixos-builds",
                         "NIXOS_BUILD_PROMETHEUS_DIR": str(textfiles),
                         "NIXOS_BUILD_JOURNAL": "1", "NIXOS_BUILD_OTEL": "1",
                         "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://127.0.0.1:4318/v1/traces"}
    sudo = config["security"]["sudo"]["extraConfig"]
    for name in variables:
        assert name in sudo        # both modules' lines, joined
    node = config["services"]["prometheus"]["exporters"]["node"]
    assert node == {"enabledCollectors": ["textfile"],
                    "extraFlags": [f"--collector.textfile.directory={textfiles}"]}
    assert f"d {textfiles} 2775 root wheel -" in config["systemd"]["tmpfiles"]["rules"]
    assert config["systemd"]["timers"]["nixos-build-status-metrics"]["timerConfig"][
        "OnCalendar"] == "*:0/5"

    # the metrics unit's command, as systemd runs it (no shell)
    service = config["systemd"]["services"]["nixos-build-status-metrics"]["serviceConfig"]
    env = {**wrapper_env(tmp_path),
           **config["systemd"]["services"]["nixos-build-status-metrics"]["environment"],
           "NIXOS_BUILD_LOG_DIR": str(tmp_path / "logs")}
    proc = subprocess.run(shlex.split(service["ExecStart"]), env=env, capture_output=True,
                          text=True, timeout=120, check=False)
    assert proc.returncode == 0 or str(proc.returncode) in service["SuccessExitStatus"].split()
    assert "nixos_status_overall" in (textfiles / "nixos-status.prom").read_text()
    assert service["StandardOutput"] == "null"


def test_an_unattended_upgrade_runs_through_the_wrapper(package: Path, tmp_path: Path) -> None:
    textfiles, logs = tmp_path / "textfiles", tmp_path / "builds"
    config = fleet(package, {"autoUpgrade": True,
                             "prometheus": {"enable": True, "textfileDirectory": str(textfiles)}},
                   base={**BASE, "programs": {}})
    unit = config["systemd"]["services"]["nixos-upgrade"]
    assert unit["path"] == ["/nix/store/x-nixos-rebuild"]
    assert unit["environment"]["NIXOS_BUILD_PROMETHEUS_DIR"] == str(textfiles)
    script = unit["script"]
    assert script.startswith(f"{package}/bin/nixos-build-wrapper os switch --no-nh ")

    # the unit's script, as systemd runs it (bash), with the fakes for nixos-rebuild
    argv_log = tmp_path / "argv.log"
    env = {**wrapper_env(tmp_path), **unit["environment"], "NIXOS_BUILD_LOG_DIR": str(logs),
           "FAKE_ARGV_LOG": str(argv_log)}
    textfiles.mkdir()
    proc = subprocess.run(["bash", "-e", "-c", script], env=env, stdin=subprocess.DEVNULL,
                          capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr
    (invoked,) = [json.loads(line) for line in argv_log.read_text().splitlines()]
    assert invoked[:2] == ["nixos-rebuild", "switch"]
    assert invoked[invoked.index("--flake") + 1] == "/etc/nixos#demo"
    assert {"-L", "--impure", "--refresh"} <= set(invoked)
    record = json.loads((logs / "last-build.json").read_text())
    assert (record["success"], record["action"], record["tool"]) == (True, "switch", "nixos-rebuild")
    assert json.loads((logs / "build-history.json").read_text())[-1]["buildId"] == record["buildId"]
    prom = (textfiles / "nixos-build.prom").read_text()
    assert 'nixos_build_runs_total{target="os",action="switch",result="success"} 1' in prom

    # channels instead of a flake: nixos-rebuild --upgrade
    channels = fleet(package, {"autoUpgrade": True},
                     base={**BASE, "system": {**BASE["system"], "autoUpgrade": {
                         **UPGRADE, "flake": None, "flags": []}}})
    assert channels["systemd"]["services"]["nixos-upgrade"]["script"].endswith(
        "--console plain --tool-arg=--upgrade")


def test_with_allow_reboot_the_upgrade_keeps_nixpkgs_script_and_says_so(package: Path) -> None:
    config = fleet(package, {"autoUpgrade": True},
                   base={**BASE, "system": {**BASE["system"],
                                            "autoUpgrade": {**UPGRADE, "allowReboot": True}}})
    assert "nixos-upgrade" not in config["systemd"]["services"]
    (warning,) = config["warnings"]
    assert "allowReboot" in warning
