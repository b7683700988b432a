"""A build's outcome in OpenTelemetry's words: ``cicd.pipeline.result`` (CI/CD semantic
conventions) and ``error.type``, shared by the Prometheus, journal and OTel sinks so a
build that failed says the same thing on every dashboard (docs/metrics.md).

    success       the build (and its activation) succeeded
    failure       the configuration's fault: evaluation, a builder, activation
    error         the machinery's: the tool missing, the disk full, a cache unreachable,
                  no end of the build seen
    timeout       a time limit was hit (nix's --timeout / max-silent-time, exit 124)
    cancellation  interrupted: Ctrl-C, SIGTERM, SIGHUP (a reboot, systemctl stop)
"""

from __future__ import annotations

import signal
from typing import Final, Literal

from records.schema import LastBuild

Result = Literal["success", "failure", "error", "timeout", "cancellation"]
RESULTS: Final[tuple[Result, ...]] = ("success", "failure", "error", "timeout", "cancellation")

# Root-cause kinds (parsers/errors/classify.py) that are the machine's or the network's
# problem, not the configuration's.
_MACHINERY_KINDS: Final = frozenset({"out-of-space", "download", "permission"})
_CANCEL_SIGNALS: Final = frozenset(int(s) for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP))
# timeout(1)'s and systemd's (TimeoutStartSec= then SIGTERM is "cancellation"; a
# wrapper under timeout(1) exits 124) exit code for a time limit.
EXIT_TIMEOUT: Final = 124
# 126: found but not executable; 127: not found (the shell's and the wrapper's codes).
_EXIT_NOT_RUN: Final = frozenset({126, 127})
OTHER_ERROR_TYPE: Final = "_OTHER"  # OTel's value when no better type is known


def root_kind(record: LastBuild) -> str | None:
    """The first root cause's kind (errors are ordered root causes first)."""
    for detail in record.error_details:
        if detail.root_cause:
            return detail.kind
    return None


def pipeline_result(record: LastBuild) -> Result:
    if record.success:
        return "success"
    if record.interrupted or (record.signal is not None and record.signal in _CANCEL_SIGNALS):
        return "cancellation"
    kind = root_kind(record)
    if kind == "timeout" or record.exit_code == EXIT_TIMEOUT:
        return "timeout"
    if record.exit_code is None or record.exit_code in _EXIT_NOT_RUN:
        return "error"
    if kind in _MACHINERY_KINDS or (record.signal is not None and kind is None):
        # Killed by a signal no one explains (SIGKILL from the OOM killer), or a
        # machine problem named by the log.
        return "error"
    return "failure"


def error_type(record: LastBuild) -> str | None:
    """``error.type``: the root cause's kind; None for a success."""
    if pipeline_result(record) == "success":
        return None
    kind = root_kind(record)
    if kind is not None:
        return kind
    if record.exit_code in _EXIT_NOT_RUN:
        return "tool-not-run"
    return OTHER_ERROR_TYPE
