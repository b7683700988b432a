"""The lifecycle of derivations and transfers, shared by the JSON and text parsers.

Nix's Build activity ``stop`` does not mean success: when nix gives up (a failure
without --keep-going, Ctrl-C) the builds still running get a ``stop`` too, and newer
versions stop every Build activity only at the very end.  Success needs evidence: the
Builds activity's ``done`` counter rising while no failure names the derivation.  A
rise in ``done`` is attributed as soon as it is unambiguous (as many candidates as
credits), else at the derivation's ``stop``, else when the build ends.  What is still
open at the end is reported as aborted, unless the whole build succeeded.
"""

from __future__ import annotations

from collections import deque

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

RUNNING, STOPPED, FINISHED, FAILED, ABORTED = range(5)


class Derivation:
    __slots__ = ("machine", "name", "path", "phase", "started_ms", "state", "status", "tail")

    def __init__(self, path: str, machine: str | None, now_ms: int) -> None:
        self.path = path
        self.name = drv_name(path)
        self.machine = machine
        self.phase: str | None = None
        self.started_ms = now_ms
        self.state = RUNNING
        self.tail: deque[str] = deque(maxlen=LOG_TAIL_LINES)
        self.status: str | None = None  # nix's BuildResult status, when it sent one


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
        self.drvs: dict[str, Derivation] = {}
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

    def start(self, path: str, machine: str | None) -> Derivation:
        drv = self.drvs.get(path)
        if drv is not None and drv.state in (RUNNING, STOPPED):
            # ssh-ng sends a second start from the remote daemon with no machine:
            # the first one knows where the build runs.
            return drv
        drv = Derivation(path, machine, self.now_ms)
        self.drvs[path] = drv
        self.out.append(DerivationStarted(drv_path=path, name=drv.name, machine=machine))
        return drv

    def phase(self, path: str, phase: str) -> None:
        drv = self.drvs.get(path)
        if drv is None or drv.phase == phase:
            return
        drv.phase = phase
        self.out.append(Phase(drv_path=path, name=drv.name, phase=phase))

    def stop(self, path: str) -> None:
        drv = self.drvs.get(path)
        if drv is None or drv.state != RUNNING:
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
        self, path: str, exit_code: int | None, reason: str = "builder-failed",
        reported_tail: list[str] | None = None,
    ) -> DerivationFailed | None:
        """Mark a build failed.  ``reported_tail``: the last log lines nix quoted in its
        error, used when we did not see the build's log ourselves."""
        drv = self.drvs.get(path)
        if drv is None:
            drv = Derivation(path, None, self.now_ms)
            self.drvs[path] = drv
        elif drv.state in (FINISHED, FAILED):
            return None
        if self._failed_credits > 0:
            self._failed_credits -= 1
        drv.state = FAILED
        self.failed += 1
        event = DerivationFailed(
            drv_path=path,
            name=drv.name,
            reason=reason,  # type: ignore[arg-type]
            exit_code=exit_code,
            phase=drv.phase,
            machine=drv.machine,
            duration_ms=self.now_ms - drv.started_ms,
            log_tail=[strip_ansi(line) for line in drv.tail] or list(reported_tail or ()),
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
            drv.tail.append(text)

    def tail(self, path: str) -> list[str]:
        drv = self.drvs.get(path)
        return [strip_ansi(line) for line in drv.tail] if drv else []

    def last_phase(self, path: str) -> str | None:
        drv = self.drvs.get(path)
        return drv.phase if drv else None

    def _open(self) -> list[Derivation]:
        return [d for d in self.drvs.values() if d.state in (RUNNING, STOPPED)]

    def _resolve_unambiguous(self) -> None:
        if self._done_credits <= 0:
            return
        candidates = self._open()
        if candidates and len(candidates) <= self._done_credits:
            for drv in candidates:
                self._done_credits -= 1
                self._finish(drv)

    def _finish(self, drv: Derivation) -> None:
        drv.state = FINISHED
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
