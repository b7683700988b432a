"""Every absolute path the probes read is taken under one root (``NIXOS_BUILD_ROOT``,
default ``/``), so tests run against fake trees and a system mounted at ``/mnt`` can
be inspected.

Symbolic links are followed *inside* the root: ``/run/current-system`` ->
``/nix/store/…`` under ``/mnt`` means ``/mnt/nix/store/…``, never the host's store.
Link targets are read, never required to exist (a garbage-collected generation still
has a number and a target)."""

from __future__ import annotations

import os
import posixpath
from collections.abc import Mapping
from pathlib import Path

MAX_LINK_HOPS = 40  # like the kernel's ELOOP limit


class SystemRoot:
    def __init__(self, root: str | os.PathLike[str] | None = None,
                 env: Mapping[str, str] | None = None) -> None:
        env = os.environ if env is None else env
        self.root = Path(root if root is not None else env.get("NIXOS_BUILD_ROOT") or "/")

    @property
    def is_host(self) -> bool:
        """The root is this machine's own ``/``."""
        return os.path.realpath(self.root) == "/"

    @property
    def is_running(self) -> bool:
        """Whether the tree is a running system, so that asking systemd and journald
        (which know only the running system) says something about it: the host's
        ``/``, or a tree with ``/run/current-system`` (a system mounted at ``/mnt``
        has an empty ``/run``: that is a tmpfs at run time)."""
        return self.is_host or self.exists("/run/current-system")

    def path(self, absolute: str | os.PathLike[str]) -> Path:
        return self.root / str(absolute).lstrip("/")

    def _entry(self, absolute: str | os.PathLike[str]) -> Path | None:
        """The host path of the entry itself (the last component not followed), its
        directory resolved inside the root."""
        directory, name = posixpath.split("/" + str(absolute).strip("/"))
        parent = self.resolve(directory) if directory != "/" else "/"
        return self.path(posixpath.join(parent, name)) if parent is not None else None

    def readlink(self, absolute: str | os.PathLike[str]) -> str | None:
        """The link's target as written (it need not exist), or None."""
        entry = self._entry(absolute)
        try:
            return os.readlink(entry) if entry is not None else None
        except OSError:
            return None

    def exists(self, absolute: str | os.PathLike[str]) -> bool:
        entry = self._entry(absolute)
        return entry is not None and os.path.lexists(entry)

    def lstat_mtime(self, absolute: str | os.PathLike[str]) -> float | None:
        """The modification time of the link itself (when the generation was made),
        not of what it points to: store paths all have mtime 1."""
        entry = self._entry(absolute)
        try:
            return os.lstat(entry).st_mtime if entry is not None else None
        except OSError:
            return None

    def resolve(self, absolute: str) -> str | None:
        """``absolute`` with every symbolic link followed inside the root; the result
        is an absolute path *in the root's namespace*.  Components that do not exist
        are kept as they are.  None for a link loop: what is left would otherwise be
        followed by the host, outside the root."""
        parts = [p for p in absolute.split("/") if p]
        resolved = "/"
        hops = 0
        while parts:
            name = parts.pop(0)
            if name == ".":
                continue
            if name == "..":
                resolved = posixpath.dirname(resolved)
                continue
            candidate = posixpath.join(resolved, name)
            target = self._raw_readlink(candidate)  # ``resolved`` has no links left
            if target is None:
                resolved = candidate
                continue
            hops += 1
            if hops > MAX_LINK_HOPS:
                return None
            if target.startswith("/"):
                resolved = "/"
            parts[:0] = [p for p in target.split("/") if p]
        return resolved

    def _raw_readlink(self, absolute: str) -> str | None:
        try:
            return os.readlink(self.path(absolute))
        except OSError:
            return None

    def _resolved(self, absolute: str) -> Path | None:
        resolved = self.resolve(absolute)
        return self.path(resolved) if resolved is not None else None

    def read_text(self, absolute: str, limit: int = 1 << 16) -> str | None:
        """The first ``limit`` bytes of a file (links followed inside the root), or
        None when unreadable."""
        path = self._resolved(absolute)
        if path is None:
            return None
        try:
            with open(path, "rb") as f:
                return f.read(limit).decode("utf-8", "replace")
        except OSError:
            return None

    def listdir(self, absolute: str) -> list[str]:
        path = self._resolved(absolute)
        try:
            return sorted(os.listdir(path)) if path is not None else []
        except OSError:
            return []

    def is_dir(self, absolute: str) -> bool:
        path = self._resolved(absolute)
        return path is not None and path.is_dir()
