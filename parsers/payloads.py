"""Results that carry a ``payload`` object instead of ``fields``: Determinate Nix.

Determinate Nix (nix-src >= v3.1.0) adds two result types whose data is a JSON object
(``Logger::result(act, type, const nlohmann::json &)`` writes ``"payload"``):

* 109 ``resHashMismatch`` (src/libstore/build/derivation-check.cc):
  ``{"storePath", "wanted", "got"}``;
* 110 ``resBuildResult`` (derivation-goal.cc, derivation-building-goal.cc,
  substitution-goal.cc): a KeyedBuildResult, ``{"status", "errorMsg", "timesBuilt",
  "startTime", "stopTime", "path": {"drvPath", "outputs"} | "<store path>", …}``.

Upstream NixOS/nix master uses 109 for ``resFetchToStore`` with ``fields``
(``[storePath]``), so the number alone decides nothing: the parser comes here only for
a ``payload`` object, and a payload of an unknown shape is kept whole (``nix.unknown``).

The BuildResult statuses are upstream's (doc/manual/source/protocols/json/schema/
build-result-v1.yaml, 2.33+); each failure maps to one of our error kinds.
"""

from __future__ import annotations

from typing import Any, Final

from parsers.errors.classify import classify, derivation_name
from parsers.errors.finding import Finding
from parsers.state import ParseState

RES_HASH_MISMATCH: Final = 109
RES_BUILD_RESULT: Final = 110

SUCCESS: Final = frozenset({"Built", "Substituted", "AlreadyValid", "ResolvesToAlreadyValid"})
FAILURE_KINDS: Final[dict[str, str]] = {
    "PermanentFailure": "build-failure",
    "InputRejected": "build-failure",
    "OutputRejected": "build-failure",
    "TransientFailure": "build-failure",
    "CachedFailure": "build-failure",
    "TimedOut": "timeout",
    "MiscFailure": "other",
    "DependencyFailed": "dependency-failure",
    "LogLimitExceeded": "build-failure",
    "NotDeterministic": "build-failure",
    "NoSubstituters": "download",
    "HashMismatch": "hash-mismatch",
}


def result(state: ParseState, kind: int, payload: dict[str, Any], act_path: str | None) -> bool:
    """Handle one payload result; False: a shape this version does not know."""
    if kind == RES_BUILD_RESULT and isinstance(payload.get("status"), str):
        return _build_result(state, payload, act_path)
    if kind == RES_HASH_MISMATCH and isinstance(payload.get("storePath"), str):
        return _hash_mismatch(state, payload, act_path)
    return False


def _drv_path(payload: dict[str, Any], act_path: str | None) -> str | None:
    path = payload.get("path")
    if isinstance(path, dict) and isinstance(path.get("drvPath"), str):
        return str(path["drvPath"])
    if isinstance(path, str) and path.endswith(".drv"):
        return path
    return act_path if act_path and act_path.endswith(".drv") else None


def _build_result(state: ParseState, payload: dict[str, Any], act_path: str | None) -> bool:
    status = str(payload["status"])
    drv = _drv_path(payload, act_path)
    if status in SUCCESS:
        if drv is not None and status == "Built":
            state.tracker.succeeded(drv, status)
        return True
    kind = FAILURE_KINDS.get(status)
    if kind is None or drv is None:
        return False
    message = payload.get("errorMsg")
    # errorMsg is the report nix prints (with its exit code and log tail): read it as
    # such; the status decides the kind.
    finding = classify(f"error: {message}") if isinstance(message, str) and message.strip() \
        else Finding(kind=kind, message=f"error: building '{drv}': {status}")
    if finding.drv_path is None:
        finding.drv_path, finding.derivation = drv, derivation_name(drv)
    if kind != "build-failure" or finding.kind not in ("out-of-space", "download", "timeout"):
        finding.kind = kind
    finding.root_cause = kind != "dependency-failure"
    state.tracker.set_status(finding.drv_path, status)
    state.error(finding)
    return True


def _hash_mismatch(state: ParseState, payload: dict[str, Any], act_path: str | None) -> bool:
    wanted, got = payload.get("wanted"), payload.get("got")
    drv = act_path if act_path and act_path.endswith(".drv") else None
    name = derivation_name(str(payload["storePath"]))
    finding = Finding(
        kind="hash-mismatch",
        message=f"error: hash mismatch in fixed-output derivation '{drv or name}'",
        drv_path=drv, derivation=derivation_name(drv) if drv else name,
        specified=wanted if isinstance(wanted, str) else None,
        got=got if isinstance(got, str) else None)
    if drv is not None:
        state.tracker.set_status(drv, "HashMismatch")
    state.error(finding)
    return True
