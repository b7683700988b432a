"""Generations: the ``generations`` command, the generation object the wrapper records,
and reading links under a root."""

from __future__ import annotations

import json
import os
from datetime import datetime
from pathlib import Path

import pytest

from system.generations import generation_info, home_user
from system.sysroot import SystemRoot
from tests.test_status_fakes import DEFAULT_TIME, FakeSystem


@pytest.fixture
def machine(tmp_path: Path) -> FakeSystem:
    fake = FakeSystem(tmp_path)
    fake.system(40, version="24.05.20240601.abcdef0", kernel="6.6.30")
    fake.system(41, revision="3f4851e0c2b9a7d6e5f4a3b2c1d0e9f8a7b6c5d4",
                specialisations=("gaming",))
    fake.system(42, kernel="6.12.1", mtime=DEFAULT_TIME + 86400)
    fake.profile(42)  # nixos-rebuild boot: 42 is next
    fake.running(41, booted=40)  # switched to 41 without rebooting
    fake.home_manager(11)
    fake.home_manager(12, active=False)
    return fake


def generations_json(fake: FakeSystem) -> dict[str, object]:
    proc = fake.status("generations", "--json")
    assert proc.returncode == 0, proc.stderr
    return dict(json.loads(proc.stdout))


def test_system_generations_newest_first_with_metadata(machine: FakeSystem) -> None:
    data = generations_json(machine)
    system = data["system"]["generations"]  # type: ignore[index]
    assert [g["generation"] for g in system] == [42, 41, 40]
    g42, g41, g40 = system
    assert g42["date"] == datetime.fromtimestamp(DEFAULT_TIME + 86400).astimezone().isoformat(
        timespec="seconds")  # the link's own mtime, not the store path's
    assert (g42["kernelVersion"], g40["kernelVersion"]) == ("6.12.1", "6.6.30")
    assert g40["nixosVersion"] == "24.05.20240601.abcdef0"
    assert g41["configurationRevision"] == "3f4851e0c2b9a7d6e5f4a3b2c1d0e9f8a7b6c5d4"
    assert g40["configurationRevision"] is None
    assert g41["specialisations"] == ["gaming"]
    assert [(g["current"], g["booted"], g["latest"]) for g in system] == [
        (False, False, True), (True, False, False), (False, True, False)]


def test_home_manager_generations_with_markers(machine: FakeSystem) -> None:
    hm = generations_json(machine)["homeManager"]
    assert hm["user"] == "alice"  # type: ignore[index]
    assert hm["profile"] == "/home/alice/.local/state/nix/profiles/home-manager"  # type: ignore[index]
    assert [(g["generation"], g["current"], g["latest"]) for g in hm["generations"]] == [  # type: ignore[index]
        (12, False, True), (11, True, False)]


def test_human_listing(machine: FakeSystem) -> None:
    out = machine.status("generations").stdout.splitlines()
    assert out[0].startswith("System generations (/nix/var/nix/profiles/system under ")
    assert out[1].split() == ["Generation", "Date", "NixOS", "version", "Kernel", "Revision"]
    row41 = next(line for line in out if line.strip().startswith("41 "))
    assert "3f4851e0c2b9" in row41 and row41.endswith("current")
    assert next(line for line in out if line.strip().startswith("40 ")).endswith("booted")
    assert "Home Manager generations of alice (/home/alice/.local/state/nix/profiles/home-manager):" in out


def test_collected_generation_link_keeps_its_number(tmp_path: Path) -> None:
    """Link targets are read, not required to exist: a generation whose store path
    was garbage-collected (or a fake tree) still lists."""
    fake = FakeSystem(tmp_path)
    fake.link("/nix/var/nix/profiles/system-7-link", "/nix/store/gone-nixos-system")
    fake.profile(7)
    (gen,) = generations_json(fake)["system"]["generations"]  # type: ignore[index]
    assert gen["generation"] == 7 and gen["latest"] is True
    assert gen["nixosVersion"] is None and gen["kernelVersion"] is None


def test_empty_machine_lists_nothing(tmp_path: Path) -> None:
    fake = FakeSystem(tmp_path)
    data = generations_json(fake)
    assert data["system"]["generations"] == [] and data["homeManager"]["generations"] == []  # type: ignore[index]
    assert "none found" in fake.status("generations").stdout


# --- generation_info: the wrapper's preGeneration/postGeneration --------------------------------

def test_generation_info_keeps_the_keys_the_wrapper_records(machine: FakeSystem) -> None:
    info = generation_info(SystemRoot(machine.root), machine.env())
    assert {k: info[k] for k in ("generation", "generationRaw", "latestGeneration", "status",
                                 "homeManagerGeneration", "homeManagerStatus")} == {
        "generation": "g41", "generationRaw": "41", "latestGeneration": "g42",
        "status": "out-of-sync", "homeManagerGeneration": "hm11",
        "homeManagerStatus": "out-of-sync"}
    assert info["systemPath"] == os.readlink(machine.under("/run/current-system"))
    assert info["bootedGeneration"] == "g40"


def test_same_configuration_built_twice_prefers_the_latest(tmp_path: Path) -> None:
    fake = FakeSystem(tmp_path)
    top = fake.system(1)
    fake.link("/nix/var/nix/profiles/system-2-link", top)  # same store path again
    fake.profile(2)
    fake.running(1)
    info = generation_info(SystemRoot(fake.root), fake.env())
    assert (info["generation"], info["status"]) == ("g2", "in-sync")


def test_home_user_under_sudo_is_the_invoking_user() -> None:
    env = {"HOME": "/root", "USER": "root", "SUDO_USER": "nobody", "XDG_STATE_HOME": "/root/.st"}
    user = home_user(env)
    if os.geteuid() != 0:
        assert user.name == "root"  # not root: SUDO_USER is not ours to follow
        return
    assert user.name == "nobody"
    assert user.state_dir == f"{user.home}/.local/state"  # root's XDG_STATE_HOME is ignored
    assert home_user({"HOME": "/home/bob", "USER": "bob", "XDG_STATE_HOME": "/x"}).state_dir == "/x"


# --- SystemRoot ------------------------------------------------------------------------------

def test_resolve_follows_absolute_links_inside_the_root(tmp_path: Path) -> None:
    root = SystemRoot(tmp_path)
    (tmp_path / "nix/store/abc-sw/bin").mkdir(parents=True)
    (tmp_path / "run").mkdir()
    (tmp_path / "run/current-system").symlink_to("/nix/store/abc-system")
    (tmp_path / "nix/store/abc-system").mkdir()
    (tmp_path / "nix/store/abc-system/sw").symlink_to("/nix/store/abc-sw")
    (tmp_path / "nix/store/abc-sw/bin/tool").write_text("inside")
    assert root.resolve("/run/current-system/sw/bin/tool") == "/nix/store/abc-sw/bin/tool"
    assert root.read_text("/run/current-system/sw/bin/tool") == "inside"
    (tmp_path / "rel").symlink_to("run/../nix/store")
    assert root.resolve("/rel/abc-sw") == "/nix/store/abc-sw"
    (tmp_path / "escape").symlink_to("../../../../../../etc")
    assert root.resolve("/escape/passwd") == "/etc/passwd"  # clamped at the root
    assert root.read_text("/escape/passwd") is None


def test_resolve_gives_up_on_link_loops(tmp_path: Path) -> None:
    (tmp_path / "a").symlink_to("/b")
    (tmp_path / "b").symlink_to("/a")
    root = SystemRoot(tmp_path)
    assert root.read_text("/a") is None
    assert root.listdir("/a") == []


def test_root_from_environment_and_running_check(tmp_path: Path) -> None:
    assert SystemRoot(env={}).is_host
    root = SystemRoot(env={"NIXOS_BUILD_ROOT": str(tmp_path)})
    assert root.root == tmp_path and not root.is_host and not root.is_running
    (tmp_path / "run").mkdir()
    (tmp_path / "run/current-system").symlink_to("/nix/store/x")  # dangling is fine
    assert root.is_running


def test_a_linked_directory_in_the_root_is_not_followed_to_the_host(tmp_path: Path) -> None:
    """``/nix/var/nix/profiles`` as an absolute link inside the tree means the tree's
    ``/state/profiles``, not the host's."""
    (tmp_path / "state/profiles").mkdir(parents=True)
    (tmp_path / "state/profiles/system").symlink_to("system-5-link")
    (tmp_path / "nix/var/nix").mkdir(parents=True)
    (tmp_path / "nix/var/nix/profiles").symlink_to("/state/profiles")
    root = SystemRoot(tmp_path)
    assert root.readlink("/nix/var/nix/profiles/system") == "system-5-link"
    assert root.exists("/nix/var/nix/profiles/system")
    assert root.lstat_mtime("/nix/var/nix/profiles/system") is not None
