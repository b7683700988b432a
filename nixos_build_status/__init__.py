"""nixos-build-status as a library: the original design's functions (docs/library.md).

This package is the library's public face: the bash file scripts source
(``build-status.sh``, beside this file) and the Python functions, which live in
:mod:`status.api` beside the status report they read.  Importing this package costs
nothing: every function imports what it needs when called.

The dict-returning functions are the original design's; ``last_build()``,
``build_history()`` and ``report()`` return the typed Structs (``records.schema``,
``status.schema``; docs/records.md)."""

from pathlib import Path

from status.api import (
    build_history,
    check_failed_units,
    check_journal_errors,
    create_status_report,
    extract_build_phase,
    extract_nix_errors,
    get_build_history,
    get_build_history_summary,
    get_current_commit,
    get_current_generation,
    get_current_generation_json,
    get_current_nixpkgs_rev,
    get_generation_short,
    get_home_manager_generation,
    get_last_build_exit_code,
    get_last_build_status,
    is_generation_in_sync,
    json_bool,
    json_escape,
    last_build,
    report,
    status_report,
    was_last_build_successful,
)

LIBRARY_SH = Path(__file__).resolve().parent / "build-status.sh"

__all__ = [
    "LIBRARY_SH",
    "build_history",
    "check_failed_units",
    "check_journal_errors",
    "create_status_report",
    "extract_build_phase",
    "extract_nix_errors",
    "get_build_history",
    "get_build_history_summary",
    "get_current_commit",
    "get_current_generation",
    "get_current_generation_json",
    "get_current_nixpkgs_rev",
    "get_generation_short",
    "get_home_manager_generation",
    "get_last_build_exit_code",
    "get_last_build_status",
    "is_generation_in_sync",
    "json_bool",
    "json_escape",
    "last_build",
    "report",
    "status_report",
    "was_last_build_successful",
]
