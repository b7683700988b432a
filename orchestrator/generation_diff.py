"""What the build's new generation changed: the closure difference between the system
(or Home Manager generation) before and the one the build made, for the record
(``closureDiff``) and the summary.

- ``switch``/``boot``: the latest generation before and after (a new profile link);
- ``build``: the current system and ``./result`` when the build wrote that link.

Read from the store database (:mod:`system.closure`); nothing is started.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from records.schema import GenerationInfo
from system.closure import ClosureDiff, diff_paths
from system.generations import SYSTEM_PROFILES, home_manager_profiles, home_user
from system.sysroot import SystemRoot


def _number(text: str) -> str:
    return "".join(c for c in text if c.isdigit())


def new_closure_diff(target: str | None, action: str | None, pre: GenerationInfo | None,
                     post: GenerationInfo | None, env: Mapping[str, str], *,
                     started: float, cwd: Path | None = None) -> ClosureDiff | None:
    """The difference, or None when the build made nothing new (or the store cannot
    tell)."""
    if pre is None or post is None or target not in ("os", "home"):
        return None
    root = SystemRoot(env=env)
    before = after = None
    if action in ("switch", "boot"):
        if target == "os":
            old, new = pre.latest_generation_raw, post.latest_generation_raw
            if new and old != new:
                after = root.readlink(f"{SYSTEM_PROFILES}/system-{new}-link")
                before = pre.system_path or (
                    root.readlink(f"{SYSTEM_PROFILES}/system-{old}-link") if old else None)
        else:
            old, new = (_number(pre.home_manager_latest_generation),
                        _number(post.home_manager_latest_generation))
            if new and old and old != new:
                profiles = home_manager_profiles(root, home_user(env))
                before = root.readlink(f"{profiles}/home-manager-{old}-link")
                after = root.readlink(f"{profiles}/home-manager-{new}-link")
    elif action == "build" and target == "os":
        result = (cwd or Path.cwd()) / "result"
        try:
            written = os.lstat(result).st_mtime >= started
            target_path = os.readlink(result)
        except OSError:
            return None
        if written and target_path != pre.system_path:
            before, after = pre.system_path, target_path
    if not before or not after or before == after:
        return None
    return diff_paths(root, before, after)
