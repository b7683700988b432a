"""Flake evaluation in the status report: which flake, the result, the timeout, the cache
(keyed by the lock and the revision) and --no-eval."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from system.flake import Flake, find_flake, git_revision, locked_revision, parse_ref
from system.sysroot import SystemRoot
from tests.test_status_fakes import FakeSystem


@pytest.fixture
def machine(tmp_path: Path) -> FakeSystem:
    fake = FakeSystem(tmp_path)
    fake.in_sync_system(1, 2)
    fake.flake()
    fake.last_build()
    return fake


def nix_calls(fake: FakeSystem) -> list[list[str]]:
    path = fake.tmp / "argv.log"
    if not path.exists():
        return []
    calls = [json.loads(line) for line in path.read_text().splitlines()]
    return [c[1:] for c in calls if c[0] == "nix"]


def evaluations(fake: FakeSystem) -> list[list[str]]:
    return [c for c in nix_calls(fake) if "eval" in c]


def report(fake: FakeSystem, *args: str, **env: str) -> tuple[int, dict[str, object]]:
    return fake.report(*args, FAKE_ARGV_LOG=str(fake.tmp / "argv.log"), **env)


def test_evaluates_the_hosts_configuration_without_touching_the_lock(machine: FakeSystem) -> None:
    code, result = report(machine, NH_OS_FLAKE=f"{machine.under('/etc/nixos')}#laptop")
    b = result["buildability"]
    assert code == 0
    assert b["canBuild"] is True and b["buildError"] == "" and b["status"] == "ok"
    assert b["attribute"] == "laptop" and b["flakeOrigin"] == "NH_OS_FLAKE"
    assert b["drvPath"].endswith("-nixos-system-laptop-24.11.20241124.drv")
    (call,) = evaluations(machine)
    assert "--no-write-lock-file" in call
    assert call[-1] == (f'{machine.under("/etc/nixos")}#nixosConfigurations."laptop"'
                        ".config.system.build.toplevel.drvPath")


def test_evaluation_error_is_a_build_error(machine: FakeSystem) -> None:
    code, result = report(machine, FAKE_FLAKE_EVAL="error")
    b = result["buildability"]
    assert code == 2
    assert result["overallStatus"] == "build-errors"
    assert result["problems"] == ["evaluation-failed"]
    assert b["canBuild"] is False
    assert b["buildError"] == "error: attribute 'enabel' missing"
    assert b["errorDetails"][0]["kind"] == "attribute-missing"
    assert b["errorDetails"][0]["line"] == 10
    human = machine.status("--eval-timeout", "30").stdout  # cached now
    assert "✗ Flake cannot be evaluated" in human
    assert "error: attribute 'enabel' missing" in human


def test_a_configuration_the_flake_lacks_fails(machine: FakeSystem) -> None:
    _, result = report(machine, FAKE_FLAKE_HOSTS="desktop,server")
    assert result["buildability"]["canBuild"] is False
    assert "does not provide attribute" in result["buildability"]["buildError"]


def test_result_is_cached_until_the_lock_or_revision_changes(machine: FakeSystem) -> None:
    report(machine)
    _, second = report(machine)
    assert len(evaluations(machine)) == 1
    assert second["buildability"]["cached"] is True
    assert second["buildability"]["canBuild"] is True

    lock = machine.under("/etc/nixos/flake.lock")
    lock.write_text(lock.read_text().replace("aaaa1111", "ffff9999"))  # nix flake update
    _, third = report(machine)
    assert third["buildability"]["cached"] is False
    assert len(evaluations(machine)) == 2

    report(machine, FAKE_FLAKE_REVISION="1" * 40)  # a new commit
    assert len(evaluations(machine)) == 3


def test_every_edit_of_a_dirty_tree_is_evaluated_again(machine: FakeSystem) -> None:
    report(machine, FAKE_FLAKE_DIRTY="1")
    report(machine, FAKE_FLAKE_DIRTY="1")
    assert len(evaluations(machine)) == 1
    machine.write("/etc/nixos/configuration.nix", "{ services.nginx.enable = true; }\n")
    _, result = report(machine, FAKE_FLAKE_DIRTY="1")
    assert len(evaluations(machine)) == 2
    assert result["buildability"]["cached"] is False


def test_evaluation_errors_are_cached_download_errors_are_not(machine: FakeSystem) -> None:
    report(machine, FAKE_FLAKE_EVAL="error")
    _, cached = report(machine, FAKE_FLAKE_EVAL="error")
    assert cached["buildability"]["cached"] is True
    assert cached["buildability"]["canBuild"] is False
    assert len(evaluations(machine)) == 1

    report(machine, FAKE_FLAKE_EVAL="download", FAKE_FLAKE_REVISION="2" * 40)
    _, again = report(machine, FAKE_FLAKE_EVAL="download", FAKE_FLAKE_REVISION="2" * 40)
    assert again["buildability"]["cached"] is False
    assert again["buildability"]["errorDetails"][0]["kind"] == "download"
    assert len(evaluations(machine)) == 3


def test_cache_lives_in_xdg_cache_home(machine: FakeSystem) -> None:
    report(machine)
    cached = list((machine.cache / "nixos-build-status" / "eval").glob("*.json"))
    assert len(cached) == 1
    assert json.loads(cached[0].read_text())["status"] == "ok"


def test_timeout_gives_unknown_not_failure(machine: FakeSystem) -> None:
    code, result = report(machine, "--eval-timeout", "1", FAKE_FLAKE_EVAL="hang")
    b = result["buildability"]
    assert code == 0
    assert b["status"] == "timeout" and b["canBuild"] is None
    assert b["reason"] == "evaluation did not finish within 1 s"
    assert not list((machine.cache / "nixos-build-status" / "eval").glob("*.json"))


def test_no_eval_runs_no_nix(machine: FakeSystem) -> None:
    code, result = report(machine, "--no-eval")
    assert code == 0
    assert nix_calls(machine) == []
    b = result["buildability"]
    assert b["status"] == "skipped" and b["canBuild"] is None and b["reason"] == "--no-eval"
    assert b["flake"] == str(machine.under("/etc/nixos"))


def test_no_flake_anywhere(tmp_path: Path) -> None:
    fake = FakeSystem(tmp_path)
    fake.in_sync_system(1)
    code, result = report(fake)
    assert code == 0
    assert result["buildability"]["status"] == "unavailable"
    assert nix_calls(fake) == []


# --- which flake ---------------------------------------------------------------------------

def test_flake_order_nh_os_flake_nh_flake_etc_nixos(tmp_path: Path) -> None:
    fake = FakeSystem(tmp_path)
    fake.flake()
    root = SystemRoot(fake.root)
    env = {"NH_OS_FLAKE": "/srv/os", "NH_FLAKE": "/srv/any"}
    assert find_flake(root, env) == Flake("/srv/os", None, "NH_OS_FLAKE", Path("/srv/os"))
    del env["NH_OS_FLAKE"]
    assert find_flake(root, env).origin == "NH_FLAKE"  # type: ignore[union-attr]
    found = find_flake(root, {})
    assert found is not None and found.directory == fake.under("/etc/nixos")


def test_etc_nixos_flake_may_be_a_link_into_a_checkout(tmp_path: Path) -> None:
    fake = FakeSystem(tmp_path)
    fake.write("/home/alice/config/flake.nix", "{ }")
    fake.link("/etc/nixos/flake.nix", "/home/alice/config/flake.nix")
    found = find_flake(SystemRoot(fake.root), {})
    assert found is not None and found.directory == fake.under("/home/alice/config")


@pytest.mark.parametrize(("ref", "directory"), [
    ("path:/etc/nixos", "/etc/nixos"),
    ("git+file:///home/alice/my%20config?ref=main", "/home/alice/my config"),
    ("github:alice/nixos-config", None),
    ("~/nixos", "/home/alice/nixos"),
])
def test_local_checkouts_are_recognised(ref: str, directory: str | None) -> None:
    flake = parse_ref(f"{ref}#host", "test", {"HOME": "/home/alice"})
    assert flake.attribute == "host"
    assert flake.directory == (Path(directory) if directory else None)


def test_git_revision_of_a_detached_head_and_a_worktree(tmp_path: Path) -> None:
    (tmp_path / "repo/.git").mkdir(parents=True)
    (tmp_path / "repo/.git/HEAD").write_text("d" * 40 + "\n")
    (tmp_path / "repo/sub").mkdir()
    assert git_revision(tmp_path / "repo" / "sub") == "d" * 40  # a flake in a subdirectory
    main_git = tmp_path / "main/.git"
    (main_git / "worktrees/wt").mkdir(parents=True)
    (main_git / "worktrees/wt/HEAD").write_text("ref: refs/heads/feature\n")
    (main_git / "worktrees/wt/commondir").write_text("../..\n")
    (main_git / "refs/heads").mkdir(parents=True)
    (main_git / "refs/heads/feature").write_text("e" * 40 + "\n")
    (tmp_path / "wt").mkdir()
    (tmp_path / "wt/.git").write_text(f"gitdir: {main_git}/worktrees/wt\n")
    assert git_revision(tmp_path / "wt") == "e" * 40
    assert git_revision(tmp_path / "nothing") is None


def test_locked_nixpkgs_through_follows(tmp_path: Path) -> None:
    lock = {"nodes": {"root": {"inputs": {"nixpkgs": ["home-manager", "nixpkgs"],
                                          "home-manager": "home-manager"}},
                      "home-manager": {"inputs": {"nixpkgs": "nixpkgs_2"}},
                      "nixpkgs_2": {"locked": {"rev": "9" * 40}}},
            "root": "root", "version": 7}
    path = tmp_path / "flake.lock"
    path.write_text(json.dumps(lock))
    assert locked_revision(path) == "9" * 40
    path.write_text("not json")
    assert locked_revision(path) is None
