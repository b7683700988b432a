"""Can the configuration be built?  Evaluate the system's derivation from the flake:

    nix eval --raw <flake>#nixosConfigurations."<host>".config.system.build.toplevel.drvPath

Evaluation is what fails when a configuration is broken (a typo, a missing option, an
assertion); building is too slow for a status check.  It runs with a timeout, and its
outcome is cached in ``$XDG_CACHE_HOME/nixos-build-status/eval/`` under a key made of
the flake's lock (its ``locks``), its revision (``revision``, or ``dirtyRevision``
with the tree's ``narHash``, so every edit of a dirty tree is a new key) — as
``nix flake metadata --json`` reports them — and the configuration's name.  Only
outcomes that the same inputs reproduce are cached: success, and evaluation errors
(not timeouts, downloads or a missing ``nix``).  Nothing is written to the flake:
``--no-write-lock-file``."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import time
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

import msgspec

from records.schema import ErrorDetail
from status.probes.buildability import DEFAULT_EVAL_TIMEOUT, Buildability
from status.probes.tools import ToolResult, run_tool
from system.flake import Flake

NIX = ["nix", "--extra-experimental-features", "nix-command flakes"]
CACHE_VERSION = 1
CACHE_KEEP = 32
# Errors the same flake at the same revision always reproduces.
REPRODUCIBLE_KINDS = frozenset({"eval-error", "assertion", "option-missing", "attribute-missing",
                                "infinite-recursion"})


def attribute_path(attribute: str) -> str:
    return f'nixosConfigurations."{attribute}".config.system.build.toplevel.drvPath'


def cache_dir(env: Mapping[str, str] | None = None) -> Path:
    env = os.environ if env is None else env
    base = env.get("XDG_CACHE_HOME") or os.path.join(
        env.get("HOME") or os.path.expanduser("~"), ".cache")
    return Path(base) / "nixos-build-status" / "eval"


def evaluate(flake: Flake | None, hostname: str, env: Mapping[str, str] | None = None,
             timeout: float = DEFAULT_EVAL_TIMEOUT, use_cache: bool = True) -> Buildability:
    if flake is None:
        return Buildability("unavailable", reason="no flake found (NH_OS_FLAKE, NH_FLAKE, "
                                                  "/etc/nixos/flake.nix)")
    attribute = flake.attribute or hostname
    started = time.monotonic()
    deadline = started + timeout
    metadata = run_tool([*NIX, "flake", "metadata", "--json", "--no-write-lock-file", flake.ref],
                        timeout, env)
    if not metadata.ok:
        return _not_evaluated(metadata, flake, attribute, started, timeout)
    key = cache_key(flake, attribute, metadata.stdout)
    path = cache_dir(env) / f"{key}.json" if key and use_cache else None
    if path is not None and (hit := _load(path, flake, attribute)) is not None:
        return hit
    result = run_tool([*NIX, "eval", "--raw", "--no-write-lock-file",
                       f"{flake.ref}#{attribute_path(attribute)}"],
                      max(0.1, deadline - time.monotonic()), env)
    if not result.ok:
        outcome = _not_evaluated(result, flake, attribute, started, timeout)
    else:
        outcome = Buildability("ok", flake, attribute, drv_path=result.stdout.strip(),
                               checked_at=_now(), duration_ms=_ms_since(started))
    if path is not None and _reproducible(outcome):
        _store(path, outcome)
    return outcome


def _not_evaluated(result: ToolResult, flake: Flake, attribute: str, started: float,
                   timeout: float) -> Buildability:
    if result.state == "timeout":
        return Buildability("timeout", flake, attribute, duration_ms=_ms_since(started),
                            reason=f"evaluation did not finish within {timeout:g} s")
    if result.state in ("missing", "error"):
        return Buildability("unavailable", flake, attribute, reason=result.why())
    refused = _ownership_refusal(result.stderr)
    if refused is not None:
        return Buildability("unavailable", flake, attribute,
                            reason=f"nix will not read {flake.ref} as this user: {refused}")
    from status.probes.lastbuild import extract_errors

    details = extract_errors(result.stderr.encode())
    roots = [d for d in details if d.root_cause] or details
    message = roots[0].message if roots else _last_error_line(result.stderr)
    return Buildability("failed", flake, attribute, error=message,
                        error_details=tuple(details), checked_at=_now(),
                        duration_ms=_ms_since(started))


# Nix >= 2.20 (libgit2) refuses a git flake owned by another user, e.g. a root-owned
# /etc/nixos read by a normal user: not a fault of the configuration, so "cannot check".
_OWNERSHIP = ("not owned by current user", "detected dubious ownership")


def _ownership_refusal(stderr: str) -> str | None:
    for line in stderr.splitlines():
        if any(marker in line for marker in _OWNERSHIP):
            return line.strip().removeprefix("error:").strip()
    return None


def _last_error_line(stderr: str) -> str:
    lines = [line for line in stderr.splitlines() if line.strip()]
    errors = [line for line in lines if line.lstrip().startswith("error:")]
    return (errors or lines or ["nix eval failed without a message"])[0].strip()


def cache_key(flake: Flake, attribute: str, metadata_json: str) -> str | None:
    try:
        metadata = json.loads(metadata_json)
    except (ValueError, RecursionError):
        return None
    if not isinstance(metadata, dict):
        return None
    locked = metadata.get("locked")
    locked = locked if isinstance(locked, dict) else {}
    revision = metadata.get("revision") or metadata.get("dirtyRevision")
    nar_hash = locked.get("narHash")
    if not revision and not nar_hash:
        return None  # nothing says which content this is: never reuse a result
    material = json.dumps([CACHE_VERSION, flake.ref, attribute, revision, nar_hash,
                           metadata.get("locks")], sort_keys=True)
    return hashlib.sha256(material.encode()).hexdigest()[:32]


def _reproducible(outcome: Buildability) -> bool:
    if outcome.status == "ok":
        return True
    return outcome.status == "failed" and any(
        d.kind in REPRODUCIBLE_KINDS for d in outcome.error_details if d.root_cause)


def _store(path: Path, outcome: Buildability) -> None:
    if outcome.status not in ("ok", "failed"):
        return
    data = _Cached(status=outcome.status, error=outcome.error,
                   error_details=list(outcome.error_details), drv_path=outcome.drv_path,
                   checked_at=outcome.checked_at, duration_ms=outcome.duration_ms)
    with contextlib.suppress(OSError):  # a cache that cannot be written is no cache
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}")
        tmp.write_bytes(msgspec.json.encode(data))
        tmp.replace(path)
        _prune(path.parent)


def _load(path: Path, flake: Flake, attribute: str) -> Buildability | None:
    # The cache is a file like any other: bounded, and any damage is a miss.
    from records.read import Damaged, decode_as, read_capped

    try:
        raw = read_capped(path)
    except Damaged:
        return None
    cached = decode_as(raw, _Cached) if raw is not None else None
    if cached is None or cached.status not in ("ok", "failed"):
        return None
    with contextlib.suppress(OSError):
        os.utime(path)  # recently used: kept by _prune
    return Buildability(cached.status, flake, attribute, error=cached.error,
                        error_details=tuple(cached.error_details), drv_path=cached.drv_path,
                        cached=True, checked_at=cached.checked_at,
                        duration_ms=cached.duration_ms)


class _Cached(msgspec.Struct, kw_only=True, rename="camel"):
    """A cache file: an outcome the same inputs reproduce."""

    status: Literal["ok", "failed"]
    error: str = ""
    error_details: list[ErrorDetail] = []
    drv_path: str | None = None
    checked_at: str | None = None
    duration_ms: int | None = None


def _prune(directory: Path) -> None:
    entries = sorted(directory.glob("*.json"), key=lambda p: p.stat().st_mtime, reverse=True)
    for old in entries[CACHE_KEEP:]:
        with contextlib.suppress(OSError):
            old.unlink()


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _ms_since(started: float) -> int:
    return round((time.monotonic() - started) * 1000)
