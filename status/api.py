"""nixos-build-status as a library: the original design's functions (docs/library.md).

The same functions exist in bash (``source "$(nixos-build-status lib-path)"``); they
call these through ``nixos-build-status lib NAME ARGS…``, so there is one
implementation.  Here they return Python values: ``None`` where the fact cannot be read
(no such build, no systemd, not NixOS), ``bool`` for the ``is_``/``was_`` predicates,
JSON text for the ``_json`` ones, and the files' JSON objects as dicts (the same keys
in the same order).  ``last_build``, ``build_history`` and ``report`` return the typed
Structs themselves (docs/records.md); nothing is encoded and parsed again.

Every probe reads the system under ``NIXOS_BUILD_ROOT`` (default ``/``); ``log_dir``
defaults like the command line (``NIXOS_BUILD_LOG_DIR``, else the newer of
``/var/log/nixos-builds`` and ``$XDG_STATE_HOME/nixos-builds``).  Imports are lazy:
importing this package costs nothing."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import msgspec

    from records.schema import HistoryEntry, LastBuild
    from status.schema import Generation, StatusReport
    from system.sysroot import SystemRoot

_TRUE_WORDS = frozenset({"true", "yes", "y", "on", "1"})

PathLike = str | os.PathLike[str]


# --- JSON helpers -----------------------------------------------------------------------

def json_escape(value: str) -> str:
    """``value`` escaped for the inside of a JSON string (no quotes added)."""
    return json.dumps(value, ensure_ascii=False)[1:-1]


def json_bool(value: object) -> str:
    """``"true"`` for true, yes, y, on, 1 (any case) and ``True``; else ``"false"``."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return "true" if str(value).strip().lower() in _TRUE_WORDS else "false"


# --- generations --------------------------------------------------------------------------

def _root(root: PathLike | None) -> SystemRoot:
    from system.sysroot import SystemRoot

    return SystemRoot(root)


def _generation_info(root: PathLike | None) -> dict[str, Any]:
    from system.generations import generation_info

    return generation_info(_root(root))


def get_current_generation(*, root: PathLike | None = None) -> int | None:
    """The number of the running system generation (``/run/current-system``)."""
    raw = _generation_info(root)["generationRaw"]
    return int(raw) if raw else None


def get_generation_short(*, root: PathLike | None = None) -> str | None:
    """``g42``."""
    number = get_current_generation(root=root)
    return f"g{number}" if number is not None else None


def _generation_struct(root: PathLike | None, log_dir: PathLike | None = None) -> Generation:
    from status.report import StatusOptions, generation_object

    options = StatusOptions(log_dir=str(log_dir) if log_dir else None)
    return generation_object(options, _root(root))


def get_current_generation_json(*, root: PathLike | None = None,
                                log_dir: PathLike | None = None) -> str:
    """The status report's ``generation`` object, as JSON text."""
    import msgspec

    return msgspec.json.encode(_generation_struct(root, log_dir)).decode()


def is_generation_in_sync(*, root: PathLike | None = None) -> bool:
    """The running system is the latest generation, and so is Home Manager's active
    one (when Home Manager is used).  Unknown is not in sync."""
    info = _generation_info(root)
    return bool(info["status"] == "in-sync" and info["homeManagerStatus"] != "out-of-sync")


def get_home_manager_generation(*, root: PathLike | None = None) -> str | None:
    """``hm12``: the active Home Manager generation."""
    value = _generation_info(root)["homeManagerGeneration"]
    return None if value == "unknown" else str(value)


# --- build records ------------------------------------------------------------------------

def _log_dir(log_dir: PathLike | None) -> Path:
    from status.probes.lastbuild import log_dir as resolve

    return resolve(str(log_dir) if log_dir else None)


def last_build(log_dir: PathLike | None = None) -> LastBuild | None:
    """The last build's record, typed (``records.schema.LastBuild``)."""
    from records.read import read_last_build

    return read_last_build(_log_dir(log_dir))


def get_last_build_status(log_dir: PathLike | None = None) -> dict[str, Any] | None:
    """The last build's record (``last-build.json``) as its JSON object."""
    record = last_build(log_dir)
    return _builtins(record) if record is not None else None


def get_last_build_exit_code(log_dir: PathLike | None = None) -> int | None:
    record = last_build(log_dir)
    return record.exit_code if record else None


def was_last_build_successful(log_dir: PathLike | None = None) -> bool:
    record = last_build(log_dir)
    return bool(record and record.success)


def build_history(log_dir: PathLike | None = None) -> list[HistoryEntry]:
    """Every recorded build, oldest first, typed (``records.schema.HistoryEntry``).
    Raises ``ValueError`` when the file is damaged (not a JSON list, too large)."""
    from records.read import read_history

    directory = _log_dir(log_dir)
    history = read_history(directory)
    if history is None:
        raise ValueError(f"{directory}/build-history.json is not a JSON list")
    return history


def get_build_history(log_dir: PathLike | None = None) -> list[dict[str, Any]]:
    """Every recorded build, oldest first (``build-history.json``); [] when none.
    Raises ``ValueError`` when the file is not a JSON list."""
    return [_builtins(entry) for entry in build_history(log_dir)]


def get_build_history_summary(log_dir: PathLike | None = None, count: int = 10,
                              *, failed_only: bool = False) -> dict[str, Any]:
    """The last ``count`` builds, newest first, with counts and the mean duration:
    what ``nixos-build-status history --json`` prints."""
    from status.history import summary

    directory = _log_dir(log_dir)
    return _builtins(summary(build_history(directory), directory, count, failed_only))


# --- error extraction ---------------------------------------------------------------------

LogSource = str | bytes | os.PathLike[str]


def _log_bytes(log: LogSource) -> bytes:
    """A log given as its path, or as its text: ``bytes``, or a ``str`` of more than one
    line (a one-line ``str`` is a path; pass one line of text as bytes)."""
    if isinstance(log, bytes):
        return log
    if isinstance(log, str) and "\n" in log:
        return log.encode("utf-8", "surrogateescape")
    return Path(log).read_bytes()


def extract_nix_errors(log: LogSource) -> list[str]:
    """The error messages in a build log, root causes first.  ``log`` is the log's
    path or its text (bytes, or a str of several lines).  Raises ``OSError`` when a
    path cannot be read."""
    from status.probes.lastbuild import extract_errors

    return [d.message for d in extract_errors(_log_bytes(log))]


def extract_build_phase(log: LogSource) -> str | None:
    """The phase the build stopped in (``buildPhase``…), None when the log has none.
    ``log`` as for :func:`extract_nix_errors`."""
    if isinstance(log, bytes) or (isinstance(log, str) and "\n" in log):
        from parsers.replay import failed_phase

        return failed_phase(iter((_log_bytes(log),)))
    from status.probes.lastbuild import extract_log_phase

    return extract_log_phase(Path(log))  # read in pieces: logs can be large


# --- system health ------------------------------------------------------------------------

def check_failed_units(*, root: PathLike | None = None) -> list[str] | None:
    """Names of the failed units, system then user; None when systemd cannot be asked
    (no systemd, or the inspected tree is not the running system)."""
    from status.report import LiveProbes, StatusOptions

    live = LiveProbes(_root(root), StatusOptions(), wanted=("system", "user"))
    failed = live.units()
    return [u.unit for u in failed.units] if failed.system_known or failed.units else None


def check_journal_errors(since: str = "1 hour ago", *, root: PathLike | None = None) -> int | None:
    """How many messages of priority err or worse the journal has since ``since``."""
    from status.report import LiveProbes, StatusOptions

    live = LiveProbes(_root(root), StatusOptions(journal_since=since), wanted=("journal",))
    errors = live.journal(since)
    return errors.error_count if errors.known else None


# --- metadata -----------------------------------------------------------------------------

def get_current_commit(*, root: PathLike | None = None) -> str | None:
    """The configuration's revision, short (``3f4851e``): ``configurationRevision`` of
    ``nixos-version --json``, else the flake checkout's HEAD."""
    commit = _generation_struct(root).commit
    return None if commit == "unknown" else commit


def get_current_nixpkgs_rev(*, root: PathLike | None = None) -> str | None:
    """The nixpkgs revision: ``nixpkgsRevision`` of ``nixos-version --json``, else
    what the flake's ``flake.lock`` pins."""
    return _generation_struct(root).nixpkgs_revision or None


# --- reports ------------------------------------------------------------------------------

def report(*, evaluate: bool = True, verbose: bool = False, log_dir: PathLike | None = None,
           root: PathLike | None = None) -> StatusReport:
    """The full report, typed (``status.schema.StatusReport``)."""
    from status.report import StatusOptions, collect

    options = StatusOptions(log_dir=str(log_dir) if log_dir else None, evaluate=evaluate,
                            verbose=verbose)
    return collect(options, _root(root))


def status_report(*, evaluate: bool = True, verbose: bool = False,
                  log_dir: PathLike | None = None, root: PathLike | None = None) -> dict[str, Any]:
    """The full report as the JSON object ``nixos-build-status --json`` prints."""
    return _builtins(report(evaluate=evaluate, verbose=verbose, log_dir=log_dir, root=root))


def create_status_report(format: str = "json", *, evaluate: bool = True, verbose: bool = False,
                         log_dir: PathLike | None = None, root: PathLike | None = None) -> str:
    """The report as text: ``json`` or ``human``."""
    if format not in ("json", "human"):
        raise ValueError(f"unknown report format {format!r} (json or human)")
    typed = report(evaluate=evaluate, verbose=verbose, log_dir=log_dir, root=root)
    if format == "json":
        from status.schema import encode_report

        return encode_report(typed).decode()
    from status.render import render

    return render(typed, verbose=verbose)


def _builtins(value: msgspec.Struct) -> dict[str, Any]:
    """A record or report as its JSON object (the same keys, in the same order)."""
    import msgspec

    data: dict[str, Any] = msgspec.to_builtins(value)
    return data
