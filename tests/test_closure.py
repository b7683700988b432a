"""Closure differences, read from the real store database and checked against nix's
own answers (``nix-store -qR``, ``nix path-info -S``) on paths the real nix builds."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from parsers.store import split_name
from system.closure import closure, describe, diff_paths, human_size
from system.sysroot import SystemRoot
from tests.conftest import FIXTURES, ROOT

NIX_OPTIONS = ["--option", "sandbox", "false", "--option", "substituters", ""]


@pytest.mark.parametrize(("name", "expected"), [
    ("hello-2.12.1", ("hello", "2.12.1")),
    ("/nix/store/9i8j3bbm3hgbdxgcj9b8dykm73gwvcdh-hello-2.12.1", ("hello", "2.12.1")),
    ("openssl-3.0.14-bin", ("openssl", "3.0.14")),
    ("python3.11-requests-2.31.0", ("python3.11-requests", "2.31.0")),
    ("nixos-system-demo-24.11.20241124", ("nixos-system-demo", "24.11.20241124")),
    ("etc", ("etc", "")),
    ("unit-dbus.service", ("unit-dbus.service", "")),
    ("linux-6.6.1-modules", ("linux", "6.6.1")),
])
def test_names_split_as_nix_splits_them(name: str, expected: tuple[str, str]) -> None:
    assert split_name(name) == expected


@given(st.text())
def test_splitting_any_name_keeps_its_name_part(name: str) -> None:
    pname, version = split_name(name)
    assert name.startswith(pname)
    assert version in name


def test_sizes_read_like_nix_path_info() -> None:
    assert human_size(0) == "0 B"
    assert human_size(1536) == "1.5 KiB"
    assert human_size(-3 * 2**20) == "-3.0 MiB"


def _build(generation: int, seed: str) -> str:
    out = subprocess.run(
        ["nix-build", str(FIXTURES / "nix" / "closure.nix"), "--no-out-link", "--argstr", "seed",
         seed, "--arg", "generation", str(generation), *NIX_OPTIONS],
        capture_output=True, text=True, check=True, timeout=300)
    return out.stdout.strip()


@pytest.fixture(scope="module")
def two_systems() -> tuple[str, str]:
    if shutil.which("nix-build") is None:  # pragma: no cover - CI installs nix-bin
        pytest.fail("nix-build is required (apt-get install nix-bin)", pytrace=False)
    seed = f"closure-{uuid.uuid4().hex[:12]}"
    return _build(1, seed), _build(2, seed)


@pytest.mark.realnix
def test_a_closure_is_what_nix_store_lists(two_systems: tuple[str, str]) -> None:
    _, after = two_systems
    found = closure(SystemRoot("/"), after)
    assert found is not None
    listed = subprocess.run(["nix-store", "-qR", after], capture_output=True, text=True,
                            check=True).stdout.split()
    assert sorted(found.sizes) == sorted(listed)
    total = subprocess.run(
        ["nix", "--extra-experimental-features", "nix-command", "path-info", "-S", after],
        capture_output=True, text=True, check=True).stdout.split()[-1]
    assert found.size == int(total)


@pytest.mark.realnix
def test_the_difference_of_two_generations(two_systems: tuple[str, str]) -> None:
    before, after = two_systems
    change = diff_paths(SystemRoot("/"), before, after)
    assert change is not None
    assert [(c.name, c.before, c.after) for c in change.changed] == [
        ("hello", ["2.12"], ["2.12.1"]), ("nixos-system-demo", ["24.11.1"], ["24.11.2"])]
    assert [(p.name, p.versions) for p in change.added] == [("ripgrep", ["14.1.0"])]
    assert [(p.name, p.versions) for p in change.removed] == [("nano", ["7.2"])]
    assert change.paths_before == change.paths_after == 5
    old, new = closure(SystemRoot("/"), before), closure(SystemRoot("/"), after)
    assert old is not None and new is not None
    assert change.size_delta == new.size - old.size != 0
    text = "\n".join(describe(change))
    assert "changed: hello 2.12 → 2.12.1" in text and "added:   ripgrep 14.1.0" in text


def test_a_path_the_store_does_not_have_gives_no_closure(tmp_path: Path) -> None:
    missing = "/nix/store/" + "0" * 32 + "-nothing-1.0"
    assert closure(SystemRoot("/"), missing) is None
    assert closure(SystemRoot(tmp_path), missing) is None  # no database at all


@pytest.mark.realnix
def test_generations_diff_command(tmp_path: Path, two_systems: tuple[str, str]) -> None:
    before, after = two_systems
    root = tmp_path / "root"
    profiles = root / "nix/var/nix/profiles"
    profiles.mkdir(parents=True)
    (profiles / "system-1-link").symlink_to(before)
    (profiles / "system-2-link").symlink_to(after)
    (root / "nix/var/nix/db").symlink_to("/nix/var/nix/db")  # the real store's database
    env = dict(os.environ, NIXOS_BUILD_ROOT=str(root), PYTHONPATH=str(ROOT))

    def status(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "status.cli", "generations", *args],
                              env=env, capture_output=True, text=True, timeout=60, check=False)

    human = status("--diff", "1", "2")
    assert human.returncode == 0, human.stderr
    assert human.stdout.startswith("Closure of 1 → 2:\n")
    assert "removed: nano 7.2" in human.stdout
    data = json.loads(status("--diff", "1", "2", "--json").stdout)
    assert data["added"] == [{"name": "ripgrep", "versions": ["14.1.0"]}]
    assert data["before"] == before and data["after"] == after
    unknown = status("--diff", "1", "9")
    assert unknown.returncode == 3 and "no such generation: 9" in unknown.stderr


def test_the_records_closure_diff_has_the_computed_ones_keys() -> None:
    """records/ and system/ are independent layers, so last-build.json's closureDiff
    (records.schema.ClosureChange) mirrors system.closure.ClosureDiff: the same keys,
    all the way down, or a record would lose what `generations --diff` shows."""
    from records.schema import ClosureChange, PackageChange, PackageVersions
    from system.closure import ClosureDiff, PackageVersion, VersionChange

    pairs = [(ClosureChange, ClosureDiff), (PackageVersions, PackageVersion),
             (PackageChange, VersionChange)]
    for ours, theirs in pairs:
        assert ours.__struct_encode_fields__ == theirs.__struct_encode_fields__, ours
