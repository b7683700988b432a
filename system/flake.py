"""Which flake configures this machine, and what can be read from its checkout
without running anything: the git revision of HEAD and the locked nixpkgs.

The flake is, in order: ``NH_OS_FLAKE``, ``NH_FLAKE`` (nh's variables), ``/etc/nixos``
(under the root) when it has a ``flake.nix`` (nixos-rebuild's default; the file may be
a link into a checkout).  The ``flakePath`` of the last build is not used: records are
data, and nothing read from them is evaluated."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any, NamedTuple

from system.sysroot import SystemRoot

FLAKE_VARIABLES = ("NH_OS_FLAKE", "NH_FLAKE")
DEFAULT_FLAKE_DIR = "/etc/nixos"


class Flake(NamedTuple):
    ref: str  # what nix is given, without ``#attribute``
    attribute: str | None  # the ``#name`` part: nixosConfigurations.<name>
    origin: str  # where the choice came from, for people
    directory: Path | None  # the local checkout, when the flake is one

    @property
    def lock_file(self) -> Path | None:
        return self.directory / "flake.lock" if self.directory else None


def find_flake(root: SystemRoot, env: Mapping[str, str] | None = None) -> Flake | None:
    """The flake to evaluate.  Never one read from a build record: ``last-build.json``
    is written by whoever can write the log directory, and evaluating a flake runs
    its code (as root, for root's ``nixos-build-status``)."""
    env = os.environ if env is None else env
    for name in FLAKE_VARIABLES:
        if env.get(name):
            return parse_ref(env[name], name, env)
    flake_nix = root.resolve(f"{DEFAULT_FLAKE_DIR}/flake.nix")
    if flake_nix is not None and root.exists(flake_nix):
        path = root.path(os.path.dirname(flake_nix))
        return Flake(str(path), None, DEFAULT_FLAKE_DIR, path)
    return None


def parse_ref(value: str, origin: str, env: Mapping[str, str]) -> Flake:
    ref, _, attribute = value.partition("#")
    return Flake(ref, attribute or None, origin, _local_directory(ref, env))


def _local_directory(ref: str, env: Mapping[str, str]) -> Path | None:
    if ref.startswith("~"):
        ref = (env.get("HOME") or os.path.expanduser("~")) + ref[1:]
    if ref.startswith(("/", "./", "../")) or ref == ".":
        return Path(ref).absolute()
    if ref.startswith(("path:", "git+file:", "file:")):
        from urllib.parse import unquote, urlsplit

        parts = urlsplit(ref.removeprefix("git+"))
        return Path(unquote(parts.path)) if parts.path.startswith("/") else None
    return None


def git_revision(directory: Path | None) -> str | None:
    """The commit HEAD names in the git checkout holding ``directory`` (read from
    ``.git``, no ``git`` process; uncommitted changes are not seen)."""
    if directory is None:
        return None
    git_dir = _git_dir(directory)
    if git_dir is None:
        return None
    head = _read(git_dir / "HEAD")
    if head is None:
        return None
    head = head.strip()
    if not head.startswith("ref:"):
        return head if _is_sha(head) else None
    ref = head[4:].strip()
    common = git_dir
    commondir = _read(git_dir / "commondir")  # a worktree shares refs with its main repo
    if commondir:
        common = (git_dir / commondir.strip()).resolve()
    for base in (git_dir, common):
        loose = _read(base / ref)
        if loose and _is_sha(loose.strip()):
            return loose.strip()
    packed = _read(common / "packed-refs") or ""
    for line in packed.splitlines():
        sha, _, name = line.partition(" ")
        if name.strip() == ref and _is_sha(sha):
            return sha
    return None


def _git_dir(directory: Path) -> Path | None:
    for candidate in (directory, *directory.parents):
        dot_git = candidate / ".git"
        if dot_git.is_dir():
            return dot_git
        text = _read(dot_git)
        if text and text.startswith("gitdir:"):
            return (candidate / text[7:].strip()).resolve()
    return None


def locked_revision(lock_file: Path | None, input_name: str = "nixpkgs") -> str | None:
    """The revision ``flake.lock`` pins for one of the root's inputs."""
    if lock_file is None:
        return None
    try:
        lock = json.loads(_read(lock_file) or "")
        node = _input_node(lock, [input_name], depth=0)
        rev = lock["nodes"][node]["locked"].get("rev")
    except (ValueError, KeyError, TypeError, AttributeError, RecursionError):
        return None
    return rev if isinstance(rev, str) else None


def _input_node(lock: dict[str, Any], path: list[str], depth: int) -> str:
    """The node an input path leads to from the root; a ``follows`` is written as a
    path (a list) from the root again."""
    if depth > 32:
        raise RecursionError("follows cycle in flake.lock")
    node: str = lock.get("root", "root")
    for step in path:
        target = lock["nodes"][node]["inputs"][step]
        node = target if isinstance(target, str) else _input_node(lock, target, depth + 1)
    return node


def _read(path: Path) -> str | None:
    try:
        return path.read_text(errors="replace")
    except OSError:
        return None


def _is_sha(text: str) -> bool:
    return len(text) in (40, 64) and all(c in "0123456789abcdef" for c in text)
