"""The lifecycle of derivations and transfers, shared by the JSON and text parsers.

Nix's Build activity ``stop`` does not mean success: when nix gives up (a failure
without --keep-going, Ctrl-C) the builds still running get a ``stop`` too, and newer
versions stop every Build activity only at the very end.  Success needs evidence: the
Builds activity's ``done`` counter rising while no failure names the derivation.  A
rise in ``done`` is attributed as soon as it is unambiguous (as many candidates as
credits), else at the derivation's ``stop``, else when the build ends.  What is still
open at the end is reported as aborted, unless the whole build succeeded.

Memory stays bounded whatever the log: a derivation's log tail is allocated on its
first log line; open derivations are kept apart from ended ones, so nothing scans
every derivation ever seen; of the ended ones only the failed (each one an error the
stream reports anyway) and the last ``ENDED_KEPT`` others are remembered.  A log that
opens more than ``MAX_OPEN`` derivations without ending any (a plain log shows no
ends: nix prints ``building '…'`` and nothing when a build succeeds) ends the oldest
open one as finished: nix only starts a build when a slot is free, and 16,384
builds later the oldest has long ended.
"""

from __future__ import annotations

import enum
from collections import OrderedDict, deque
from typing import Literal

from parsers.events import (
    DerivationAborted,
    DerivationFailed,
    DerivationFinished,
    DerivationStarted,
    DownloadFinished,
    DownloadStarted,
    Event,
    Phase,
    UploadFinished,
    UploadStarted,
)
from parsers.store import drv_name, store_name, strip_ansi

LOG_TAIL_LINES = 25
MAX_OPEN = 16_384      # open derivations (see above): some 10 MiB of state at most
ENDED_KEPT = 4_096     # finished or aborted derivations remembered, the latest

FailReason = Literal["builder-failed", "hash-mismatch", "unknown"]


class DrvState(enum.Enum):
    RUNNING = "running"    # started, no stop yet
    STOPPED = "stopped"    # nix's Build activity stopped: not yet known how it ended
    FINISHED = "finished"
    FAILED = "failed"
    ABORTED = "aborted"

    @property
    def open(self) -> bool:
        return self is DrvState.RUNNING or self is DrvState.STOPPED


RUNNING, STOPPED, FINISHED, FAILED, ABORTED = DrvState


class Derivation:
    __slots__ = ("machine", "name", "order", "path", "phase", "started_ms", "state", "status",
                 "tail")

    def __init__(self, path: str, machine: str | None, now_ms: int, order: int) -> None:
        self.path = path
        self.name = drv_name(path)
        self.machine = machine
        self.phase: str | None = None
        self.started_ms = now_ms
        self.state = RUNNING
        # The builder's last lines; allocated on the first (most never print one).
        self.tail: deque[str] | None = None
        self.status: str | None = None  # nix's BuildResult status, when it sent one
        # When the path was first seen: open derivations resolve in this order.
        self.order = order

    def log(self, text: str) -> None:
        tail = self.tail
        if tail is None:
            tail = self.tail = deque(maxlen=LOG_TAIL_LINES)
        tail.append(text)

    def tail_text(self) -> list[str]:
        return [strip_ansi(line) for line in self.tail] if self.tail else []


class Transfer:
    __slots__ = ("bytes", "download", "path", "peer", "started_ms")

    def __init__(self, path: str, peer: str | None, download: bool, now_ms: int) -> None:
        self.path = path
        self.peer = peer
        self.download = download
        self.started_ms = now_ms
        self.bytes: int | None = None


class Tracker:
    """Derivation and transfer state.  Events are appended to ``out``; the caller
    stamps them.  ``now_ms`` is set by the caller before each batch."""

    def __init__(self, out: list[Event]) -> None:
        self.out = out
        self.now_ms = 0
        # Open, failed and the latest ENDED_KEPT other derivations, by path.
        self.drvs: dict[str, Derivation] = {}
        # OrderedDicts: the oldest is taken in O(1) (a dict's first item after many
        # deletions at its front is not).
        self.open: OrderedDict[str, Derivation] = OrderedDict()  # RUNNING or STOPPED
        self._ended: OrderedDict[str, None] = OrderedDict()      # finished/aborted, oldest first
        self.failed_now = 0                       # derivations in drvs that are FAILED
        self.seen = False                         # any derivation at all
        self._order = 0
        self.transfers: dict[str, Transfer] = {}
        self.built = 0
        self.failed = 0
        self.aborted = 0
        self.downloaded = 0
        self.uploaded = 0
        # What each substituter sent: url -> [paths, bytes] (build.finished's cache counts).
        self.substituters: dict[str, list[int]] = {}
        self._done_credits = 0
        self._failed_credits = 0
        self._progress: dict[int, tuple[int, int]] = {}

    # --- derivations ------------------------------------------------------------------

    def _new(self, path: str, machine: str | None) -> Derivation:
        """A derivation (again): it takes the place of the path's last one."""
        old = self.drvs.get(path)
        if old is None:
            self._order += 1
            order = self._order
        else:
            order = old.order
            if old.state is FAILED:
                self.failed_now -= 1
            self._ended.pop(path, None)
        drv = Derivation(path, machine, self.now_ms, order)
        self.drvs[path] = drv
        self.seen = True
        return drv

    def _ended_now(self, drv: Derivation) -> None:
        """``drv`` finished or was aborted: remembered among the latest only."""
        self.open.pop(drv.path, None)
        ended = self._ended
        ended[drv.path] = None
        if len(ended) > ENDED_KEPT:
            self.drvs.pop(ended.popitem(last=False)[0], None)

    def start(self, path: str, machine: str | None) -> Derivation:
        drv = self.open.get(path)
        if drv is not None:
            # ssh-ng sends a second start from the remote daemon with no machine:
            # the first one knows where the build runs.
            return drv
        drv = self._new(path, machine)
        self.open[path] = drv
        self.out.append(DerivationStarted(drv_path=path, name=drv.name, machine=machine))
        if len(self.open) > MAX_OPEN:
            self._finish(next(iter(self.open.values())))  # the oldest open one
        return drv

    def phase(self, path: str, phase: str) -> None:
        drv = self.drvs.get(path)
        if drv is None or drv.phase == phase:
            return
        drv.phase = phase
        self.out.append(Phase(drv_path=path, name=drv.name, phase=phase))

    def stop(self, path: str) -> None:
        drv = self.drvs.get(path)
        if drv is None or drv.state is not RUNNING:
            return
        drv.state = STOPPED
        if self._done_credits > 0:
            self._done_credits -= 1
            self._finish(drv)
        else:
            self._resolve_unambiguous()

    def builds_progress(self, activity_id: int, done: int, failed: int) -> None:
        """The Builds activity's counters; rises are evidence of success or failure."""
        last_done, last_failed = self._progress.get(activity_id, (0, 0))
        self._progress[activity_id] = (done, failed)
        if done > last_done:
            self._done_credits += done - last_done
        if failed > last_failed:
            self._failed_credits += failed - last_failed
        if done > last_done:
            self._resolve_unambiguous()

    def fail(
        self, path: str, exit_code: int | None, reason: FailReason = "builder-failed",
        reported_tail: list[str] | None = None,
    ) -> DerivationFailed | None:
        """Mark a build failed.  ``reported_tail``: the last log lines nix quoted in its
        error, used when we did not see the build's log ourselves."""
        drv = self.drvs.get(path)
        if drv is None:
            drv = self._new(path, None)
        elif drv.state is FINISHED or drv.state is FAILED:
            return None
        else:
            self._ended.pop(path, None)   # aborted, now known to have failed
        if self._failed_credits > 0:
            self._failed_credits -= 1
        self.open.pop(path, None)
        drv.state = FAILED
        self.failed_now += 1
        self.failed += 1
        event = DerivationFailed(
            drv_path=path,
            name=drv.name,
            reason=reason,
            exit_code=exit_code,
            phase=drv.phase,
            machine=drv.machine,
            duration_ms=self.now_ms - drv.started_ms,
            log_tail=drv.tail_text() or list(reported_tail or ()),
            status=drv.status,
        )
        self.out.append(event)
        self._resolve_unambiguous()
        return event

    def succeeded(self, path: str, status: str) -> None:
        """Nix said the build succeeded (Determinate's BuildResult): evidence enough."""
        drv = self.drvs.get(path)
        if drv is None or drv.state not in (RUNNING, STOPPED):
            return
        drv.status = status
        self._finish(drv)

    def set_status(self, path: str, status: str) -> None:
        """The status nix gave a derivation's result, carried by its closing event (a
        derivation never started, a dependent, gets none: it was not built)."""
        drv = self.drvs.get(path)
        if drv is not None:
            drv.status = status

    def log(self, path: str, text: str) -> None:
        drv = self.drvs.get(path)
        if drv is not None:
            drv.log(text)

    def tail(self, path: str) -> list[str]:
        drv = self.drvs.get(path)
        return drv.tail_text() if drv else []

    def last_phase(self, path: str) -> str | None:
        drv = self.drvs.get(path)
        return drv.phase if drv else None

    def _open(self) -> list[Derivation]:
        """The open derivations, in the order their paths were first seen."""
        return sorted(self.open.values(), key=_by_order)

    def _resolve_unambiguous(self) -> None:
        credits = self._done_credits
        if credits <= 0 or not self.open or len(self.open) > credits:
            return
        for drv in self._open():
            self._done_credits -= 1
            self._finish(drv)

    def _finish(self, drv: Derivation) -> None:
        drv.state = FINISHED
        self._ended_now(drv)
        self.built += 1
        self.out.append(
            DerivationFinished(
                drv_path=drv.path,
                name=drv.name,
                machine=drv.machine,
                duration_ms=self.now_ms - drv.started_ms,
                status=drv.status,
            )
        )

    def got_through(self) -> bool:
        """Every derivation seen is known to have been built (none open or failed)."""
        return self.seen and not self.open and self.failed_now == 0

    # --- transfers --------------------------------------------------------------------

    def transfer_start(self, path: str, peer: str | None, download: bool) -> None:
        if path in self.transfers:
            return
        self.transfers[path] = Transfer(path, peer, download, self.now_ms)
        name = store_name(path)
        if download:
            self.out.append(DownloadStarted(path=path, name=name, source=peer))
        else:
            self.out.append(UploadStarted(path=path, name=name, destination=peer))

    def transfer_bytes(self, path: str, count: int) -> None:
        transfer = self.transfers.get(path)
        if transfer is not None:
            transfer.bytes = count

    def transfer_done(self, path: str) -> None:
        transfer = self.transfers.pop(path, None)
        if transfer is None:
            return
        name = store_name(path)
        duration = self.now_ms - transfer.started_ms
        if transfer.download:
            self.downloaded += 1
            counts = self.substituters.setdefault(transfer.peer or "unknown", [0, 0])
            counts[0] += 1
            counts[1] += transfer.bytes or 0
            self.out.append(
                DownloadFinished(
                    path=path, name=name, source=transfer.peer,
                    bytes=transfer.bytes, duration_ms=duration,
                )
            )
        else:
            self.uploaded += 1
            self.out.append(
                UploadFinished(
                    path=path, name=name, destination=transfer.peer,
                    bytes=transfer.bytes, duration_ms=duration,
                )
            )

    # --- end --------------------------------------------------------------------------

    def finish(self, success: bool | None) -> None:
        """Resolve everything still open.  ``success`` is the build's outcome (None when
        unknown, e.g. a saved log): on success every open build finished and every
        transfer completed."""
        for drv in self._open():
            if self._done_credits > 0:
                self._done_credits -= 1
                self._finish(drv)
            elif self._failed_credits > 0:
                self.fail(drv.path, None, "unknown")
            elif success:
                self._finish(drv)
            else:
                drv.state = ABORTED
                self._ended_now(drv)
                self.aborted += 1
                self.out.append(
                    DerivationAborted(
                        drv_path=drv.path,
                        name=drv.name,
                        phase=drv.phase,
                        machine=drv.machine,
                        duration_ms=self.now_ms - drv.started_ms,
                    )
                )
        if success:
            for path in list(self.transfers):
                self.transfer_done(path)


def _by_order(drv: Derivation) -> int:
    return drv.order
