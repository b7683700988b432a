"""A fake NixOS machine for the status tests — a tree of profile links, store paths and
``/run`` under ``tmp_path``, and a PATH holding only the fake tools asked for — and
tests that the fakes answer in the real tools' formats."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import FAKE_BIN, ROOT

VENV_BIN = Path(sys.executable).parent
FAKE_TOOLS = ("systemctl", "journalctl", "nixos-version", "nix")
HOST_TOOLS = ("bash", "jq", "cat", "env", "git", "sh", "grep")
DEFAULT_TIME = 1_732_406_400  # 2024-11-24


class FakeSystem:
    """A NixOS system under ``tmp_path/root``, a user alice with Home Manager, build
    records in ``tmp_path/logs``."""

    def __init__(self, tmp_path: Path, *, tools: Iterable[str] = FAKE_TOOLS,
                 host_tools: Iterable[str] = ()) -> None:
        self.tmp = tmp_path
        self.root = tmp_path / "root"
        self.root.mkdir(parents=True, exist_ok=True)
        self.log_dir = tmp_path / "logs"
        self.cache = tmp_path / "cache"
        self.home = "/home/alice"
        self.bin = tmp_path / "bin"
        self.bin.mkdir(exist_ok=True)
        (self.bin / "python3").symlink_to(sys.executable)  # the fakes' #!/usr/bin/env python3
        for name in tools:
            (self.bin / name).symlink_to(FAKE_BIN / name)
        for name in host_tools:
            self.add_host_tool(name)

    # --- the tree ---------------------------------------------------------------------

    def under(self, absolute: str) -> Path:
        return self.root / absolute.lstrip("/")

    def link(self, absolute: str, target: str, mtime: float | None = None) -> None:
        path = self.under(absolute)
        path.parent.mkdir(parents=True, exist_ok=True)
        if path.is_symlink():
            path.unlink()
        path.symlink_to(target)
        if mtime is not None:
            os.utime(path, (mtime, mtime), follow_symlinks=False)

    def write(self, absolute: str, text: str) -> None:
        path = self.under(absolute)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)

    @staticmethod
    def store(name: str) -> str:
        return f"/nix/store/{hashlib.sha256(name.encode()).hexdigest()[:32]}-{name}"

    def system(self, number: int, *, version: str = "24.11.20241124.5e4fbfb",
               kernel: str = "6.6.63", revision: str | None = None,
               specialisations: Iterable[str] = (), mtime: float | None = None) -> str:
        """Generation ``number``: its toplevel (with nixos-version, kernel modules, the
        nixos-version script) and ``system-N-link``."""
        top = self.store(f"nixos-system-demo-{version}-{number}")
        self.write(f"{top}/nixos-version", version)
        modules = self.store(f"linux-{kernel}-modules")
        (self.under(modules) / "lib/modules" / kernel).mkdir(parents=True, exist_ok=True)
        self.link(f"{top}/kernel-modules", modules)
        data = {"nixosVersion": version, "nixpkgsRevision": "5e4fbfb6b3de1aa2872b76d49fafc942626e2add"}
        if revision:
            data["configurationRevision"] = revision
        script = self.store(f"nixos-version-{number}")
        self.write(f"{script}/bin/nixos-version", NIXOS_VERSION_SCRIPT.replace(
            "@json@", json.dumps(data, separators=(",", ":"), sort_keys=True)))
        path = self.store(f"system-path-{number}")
        self.link(f"{path}/bin/nixos-version", f"{script}/bin/nixos-version")
        self.link(f"{top}/sw", path)
        for name in specialisations:
            self.link(f"{top}/specialisation/{name}", self.store(f"nixos-system-{name}"))
        self.link(f"/nix/var/nix/profiles/system-{number}-link", top,
                  mtime if mtime is not None else DEFAULT_TIME + number * 3600)
        return top

    def profile(self, number: int) -> None:
        self.link("/nix/var/nix/profiles/system", f"system-{number}-link")

    def running(self, number: int | None, *, booted: int | None = None) -> None:
        """``/run/current-system`` (and ``/run/booted-system``) -> generation ``number``."""
        if number is not None:
            self.link("/run/current-system", self._target(number))
        if booted is not None:
            self.link("/run/booted-system", self._target(booted))

    def _target(self, number: int) -> str:
        return os.readlink(self.under(f"/nix/var/nix/profiles/system-{number}-link"))

    def in_sync_system(self, *numbers: int) -> None:
        """Generations 1..N (or ``numbers``), the last one latest, running and booted."""
        numbers = numbers or (1, 2)
        for n in numbers:
            self.system(n)
        self.profile(numbers[-1])
        self.running(numbers[-1], booted=numbers[-1])

    @property
    def hm_profiles(self) -> str:
        return f"{self.home}/.local/state/nix/profiles"

    def home_manager(self, number: int, *, active: bool = True, mtime: float | None = None) -> None:
        """Home Manager generation ``number``, made the profile's latest; ``active``:
        its activation finished (the gcroot points to it)."""
        target = self.store(f"home-manager-generation-{number}")
        self.under(target).mkdir(parents=True, exist_ok=True)
        self.link(f"{self.hm_profiles}/home-manager-{number}-link", target,
                  mtime if mtime is not None else DEFAULT_TIME + number * 600)
        self.link(f"{self.hm_profiles}/home-manager", f"home-manager-{number}-link")
        if active:
            self.link(f"{self.home}/.local/state/home-manager/gcroots/current-home", target)

    def flake(self, *, nixpkgs_rev: str = "aaaa1111bbbb2222cccc3333dddd4444eeee5555",
              head: str | None = "b7e1f00d" * 5) -> Path:
        """``/etc/nixos`` as a flake checkout: flake.nix, flake.lock, a .git HEAD."""
        self.write("/etc/nixos/flake.nix", "{ outputs = { self, nixpkgs }: { }; }\n")
        lock = {"nodes": {"nixpkgs": {"locked": {"rev": nixpkgs_rev, "type": "github",
                                                 "owner": "NixOS", "repo": "nixpkgs"}},
                          "root": {"inputs": {"nixpkgs": "nixpkgs"}}},
                "root": "root", "version": 7}
        self.write("/etc/nixos/flake.lock", json.dumps(lock))
        if head:
            self.write("/etc/nixos/.git/HEAD", "ref: refs/heads/main\n")
            self.write("/etc/nixos/.git/refs/heads/main", head + "\n")
        return self.under("/etc/nixos")

    # --- records ----------------------------------------------------------------------

    def last_build(self, **record: Any) -> dict[str, Any]:
        base = {"buildStart": "2024-11-24T10:00:00+00:00", "buildEnd": "2024-11-24T10:02:15+00:00",
                "buildDuration": 135, "target": "os", "action": "switch", "tool": "nh",
                "flakePath": None, "exitCode": 0, "success": True, "hostname": "demo",
                "user": "alice", "command": "nh os switch", "errors": "", "errorDetails": [],
                "errorCount": 0}
        base.update(record)
        self.log_dir.mkdir(exist_ok=True)
        (self.log_dir / "last-build.json").write_text(json.dumps(base))
        return base

    def history(self, records: list[dict[str, Any]]) -> None:
        self.log_dir.mkdir(exist_ok=True)
        (self.log_dir / "build-history.json").write_text(json.dumps(records))

    # --- running things ---------------------------------------------------------------

    def add_host_tool(self, name: str) -> None:
        for directory in ("/usr/bin", "/bin"):
            if os.path.exists(f"{directory}/{name}") and not (self.bin / name).exists():
                (self.bin / name).symlink_to(f"{directory}/{name}")

    def env(self, **extra: str) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items()
               if not k.startswith(("FAKE_", "NH_", "NIXOS_BUILD", "XDG_", "SUDO_"))}
        env.update(PATH=f"{self.bin}", HOME=self.home, USER="alice",
                   NIXOS_BUILD_ROOT=str(self.root), NIXOS_BUILD_LOG_DIR=str(self.log_dir),
                   XDG_CACHE_HOME=str(self.cache), NO_COLOR="1")
        env.update(extra)
        return env

    def status(self, *args: str, env: dict[str, str] | None = None,
               **extra: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "status.cli", *args],
                              env=env or self.env(**extra), cwd=ROOT, capture_output=True,
                              text=True, timeout=60, check=False)

    def report(self, *args: str, **extra: str) -> tuple[int, dict[str, Any]]:
        proc = self.status("--json", *args, **extra)
        assert proc.stdout, proc.stderr
        return proc.returncode, json.loads(proc.stdout)


# The real nixos/modules/installer/tools/nixos-version.sh, with its placeholders.
NIXOS_VERSION_SCRIPT = """#! /nix/store/xz2nfz8yr3y7g2r5bq0nsbx7h3kr4w8l-bash-5.2p37/bin/bash

case "$1" in
  -h|--help)
    exec man nixos-version
    exit 1
    ;;
  --hash|--revision)
    if ! [[ 5e4fbfb6b3de1aa2872b76d49fafc942626e2add =~ ^[0-9a-f]+$ ]]; then
      echo "$0: Nixpkgs commit hash is unknown" >&2
      exit 1
    fi
    echo "5e4fbfb6b3de1aa2872b76d49fafc942626e2add"
    ;;
  --json)
    cat <<EOF
@json@
EOF
    ;;
  *)
    echo "24.11.20241124.5e4fbfb (Vicuna)"
    ;;
esac
"""


def run_fake(tool: str, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    full = {k: v for k, v in os.environ.items() if not k.startswith("FAKE_")}
    full.update(env)
    return subprocess.run([str(FAKE_BIN / tool), *args], env=full, capture_output=True,
                          text=True, timeout=30, check=False)


# --- the fakes speak the real formats -------------------------------------------------------

def test_fake_systemctl_json_rows_have_systemds_keys() -> None:
    proc = run_fake("systemctl", "--failed", "--output=json", FAKE_FAILED_UNITS="nginx.service")
    assert json.loads(proc.stdout) == [{"unit": "nginx.service", "load": "loaded",
                                        "active": "failed", "sub": "failed",
                                        "description": "Nginx Web Server"}]


def test_fake_systemctl_table_has_marker_legend_and_plain_form() -> None:
    table = run_fake("systemctl", "--failed", FAKE_FAILED_UNITS="nginx.service").stdout
    assert table.splitlines()[0].split() == ["UNIT", "LOAD", "ACTIVE", "SUB", "DESCRIPTION"]
    assert table.splitlines()[1].startswith("● nginx.service ")
    assert "1 loaded units listed." in table
    plain = run_fake("systemctl", "--failed", "--plain", "--no-legend",
                     FAKE_FAILED_UNITS="nginx.service").stdout
    assert plain.split() == ["nginx.service", "loaded", "failed", "failed", "Nginx", "Web",
                             "Server"]


def test_fake_systemctl_without_systemd_fails_like_a_container() -> None:
    proc = run_fake("systemctl", "--failed", FAKE_SYSTEMCTL="no-systemd")
    assert proc.returncode == 1
    assert "has not been booted with systemd" in proc.stderr


def test_fake_journalctl_json_entries_and_unit_lines() -> None:
    proc = run_fake("journalctl", "-p", "err", "--since", "1 hour ago", "-o", "json",
                    FAKE_JOURNAL_ERRORS="4")
    entries = [json.loads(line) for line in proc.stdout.splitlines()]
    assert len(entries) == 4
    assert all(e["PRIORITY"] == "3" and "__REALTIME_TIMESTAMP" in e for e in entries)
    assert isinstance(entries[3]["MESSAGE"], list)  # a non-UTF-8 message, as journald writes it
    unit = run_fake("journalctl", "--unit", "nginx.service", "-n", "2", "-o", "cat").stdout
    assert unit.splitlines() == ["nginx.service: Failed with result 'exit-code'.",
                                 "Failed to start Nginx."]


def test_fake_nixos_version_leaves_out_unknown_revisions() -> None:
    plain = json.loads(run_fake("nixos-version", "--json", FAKE_NIXPKGS_REVISION="").stdout)
    assert plain == {"nixosVersion": "24.11.20241124.5e4fbfb"}
    proc = run_fake("nixos-version", "--configuration-revision")
    assert proc.returncode == 1 and "configuration revision is unknown" in proc.stderr


def test_fake_nix_metadata_follows_the_checkout(tmp_path: Path) -> None:
    (tmp_path / "flake.nix").write_text("{ }")
    first = json.loads(run_fake("nix", "flake", "metadata", "--json", str(tmp_path)).stdout)
    (tmp_path / "flake.nix").write_text("{ outputs = _: { }; }")
    second = json.loads(run_fake("nix", "flake", "metadata", "--json", str(tmp_path),
                                 FAKE_FLAKE_DIRTY="1").stdout)
    assert first["revision"] and "dirtyRevision" not in first
    assert second["dirtyRevision"].endswith("-dirty") and "revision" not in second
    assert first["locked"]["narHash"] != second["locked"]["narHash"]


@pytest.mark.parametrize("mode", ["error", "download"])
def test_fake_nix_eval_fails_with_nix_messages(mode: str) -> None:
    proc = run_fake("nix", "eval", "--raw", "/etc/nixos#nixosConfigurations.demo", FAKE_FLAKE_EVAL=mode)
    assert proc.returncode == 1 and proc.stderr.startswith("error: ")


def test_fake_tree_generation_is_readable_through_its_links(tmp_path: Path) -> None:
    fake = FakeSystem(tmp_path)
    top = fake.system(3, revision="cafe" * 10)
    assert (fake.under(top) / "nixos-version").read_text() == "24.11.20241124.5e4fbfb"
    script = (fake.under(top) / "sw").resolve()  # points into the real host store: dangling
    assert not script.exists()
    assert os.lstat(fake.under("/nix/var/nix/profiles/system-3-link")).st_mtime == DEFAULT_TIME + 3 * 3600
