"""Every absolute path the probes read is taken under one root (``NIXOS_BUILD_ROOT``,
default ``/``), so tests run against fake trees and a system mounted at ``/mnt`` can
be inspected."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path


class SystemRoot:
    def __init__(self, root: str | os.PathLike[str] | None = None,
                 env: Mapping[str, str] | None = None) -> None:
        env = os.environ if env is None else env
        self.root = Path(root if root is not None else env.get("NIXOS_BUILD_ROOT") or "/")

    def path(self, absolute: str | os.PathLike[str]) -> Path:
        return self.root / str(absolute).lstrip("/")

    def readlink(self, absolute: str | os.PathLike[str]) -> str | None:
        """The link's target as written (it need not exist), or None."""
        try:
            return os.readlink(self.path(absolute))
        except OSError:
            return None

    def exists(self, absolute: str | os.PathLike[str]) -> bool:
        return os.path.lexists(self.path(absolute))
