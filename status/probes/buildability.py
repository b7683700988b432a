"""The answer to "can the configuration be built?" (``buildability`` in the report),
kept apart from the evaluation itself so that ``--no-eval`` imports nothing of it."""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal, NamedTuple

from system.flake import Flake

if TYPE_CHECKING:
    from records.schema import ErrorDetail

EvalStatus = Literal["ok", "failed", "timeout", "skipped", "unavailable"]
DEFAULT_EVAL_TIMEOUT = 60.0


class Buildability(NamedTuple):
    status: EvalStatus
    flake: Flake | None = None
    attribute: str | None = None
    error: str = ""
    error_details: tuple[ErrorDetail, ...] = ()
    drv_path: str | None = None
    cached: bool = False
    checked_at: str | None = None
    duration_ms: int | None = None
    reason: str = ""

    @property
    def can_build(self) -> bool | None:
        """True/False once evaluated; None when it was not (skipped, timed out…)."""
        return {"ok": True, "failed": False}.get(self.status)


def skipped(reason: str, flake: Flake | None = None, hostname: str | None = None) -> Buildability:
    attribute = (flake.attribute or hostname) if flake else None
    return Buildability("skipped", flake, attribute, reason=reason)
