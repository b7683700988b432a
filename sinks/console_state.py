"""What the live console shows, kept up to date from events (pure: no terminal here).

Updating is cheap and happens for every event; drawing happens at most ten times a
second, from this state, in :mod:`sinks.console_live`.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field

from parsers.events import (
    Activation,
    ActivityStarted,
    ActivityStopped,
    BuildFinished,
    BuildStarted,
    DerivationAborted,
    DerivationFailed,
    DerivationFinished,
    DerivationStarted,
    DownloadFinished,
    DownloadStarted,
    ErrorEvent,
    Event,
    LogLine,
    Phase,
    Plan,
    Progress,
    UploadFinished,
    UploadStarted,
)
from sinks.base import Handlers

TAIL_LINES = 3


@dataclass
class RunningBuild:
    name: str
    machine: str | None
    started_ms: int
    phase: str | None = None
    tail: deque[str] = field(default_factory=lambda: deque(maxlen=TAIL_LINES))


@dataclass
class Transfer:
    name: str
    peer: str | None
    started_ms: int
    done: int = 0
    expected: int = 0


class ConsoleState:
    def __init__(self) -> None:
        self.started: BuildStarted | None = None
        self.finished: BuildFinished | None = None
        self.started_ms: int | None = None
        self.running: dict[str, RunningBuild] = {}
        self.downloads: dict[str, Transfer] = {}
        self.uploads: dict[str, Transfer] = {}
        self.planned_builds: set[str] = set()
        self.planned_downloads = 0
        self.built = 0
        self.built_names: list[str] = []
        self.failed = 0
        self.aborted = 0
        self.downloaded = 0
        self.uploaded = 0
        self.downloaded_bytes = 0
        self.errors: list[ErrorEvent] = []
        self.failures: list[DerivationFailed] = []
        self.activation: Activation | None = None
        self.evaluating: str | None = None
        self.evaluating_since_ms: int | None = None
        self.last_tool_line: str | None = None
        self.last_active: str | None = None
        self._evaluations: dict[int, str] = {}
        self._now_ms = 0  # the batch's time, for the handlers
        self._handlers = (
            Handlers()
            .on(Progress, self._progress).on(LogLine, self._log).on(Phase, self._phase)
            .on(DerivationStarted, self._started).on(DerivationFinished, self._finished)
            .on(DerivationFailed, self._failed).on(DerivationAborted, self._aborted)
            .on(DownloadStarted, self._download_started)
            .on(DownloadFinished, self._download_done)
            .on(UploadStarted, self._upload_started).on(UploadFinished, self._upload_done)
            .on(ErrorEvent, self.errors.append).on(Plan, self._plan)
            .on(Activation, self._activation).on(ActivityStarted, self._activity)
            .on(ActivityStopped, self._activity_stopped)
            .on(BuildStarted, self._build_started).on(BuildFinished, self._build_finished))

    def update(self, events: Sequence[Event], now_ms: int) -> None:
        self._now_ms = now_ms
        self._handlers(events)

    def _phase(self, event: Phase) -> None:
        build = self.running.get(event.drv_path)
        if build is not None:
            build.phase = event.phase

    def _finished(self, event: DerivationFinished) -> None:
        self._ended(event.drv_path)
        self.built += 1
        self.built_names.append(event.name)

    def _failed(self, event: DerivationFailed) -> None:
        self._ended(event.drv_path)
        self.failed += 1
        self.failures.append(event)

    def _aborted(self, event: DerivationAborted) -> None:
        self._ended(event.drv_path)
        self.aborted += 1

    def _download_started(self, event: DownloadStarted) -> None:
        self.downloads[event.path] = Transfer(event.name, event.source, self._now_ms)

    def _upload_started(self, event: UploadStarted) -> None:
        self.uploads[event.path] = Transfer(event.name, event.destination, self._now_ms)

    def _upload_done(self, event: UploadFinished) -> None:
        self.uploads.pop(event.path, None)
        self.uploaded += 1

    def _plan(self, event: Plan) -> None:
        self.planned_builds.update(event.builds)
        self.planned_downloads += len(event.downloads)

    def _activation(self, event: Activation) -> None:
        self.activation = event
        self.evaluating = None

    def _activity_stopped(self, event: ActivityStopped) -> None:
        if self._evaluations.pop(event.id, None) is not None:
            self.evaluating = next(reversed(self._evaluations.values()), None)

    def _build_started(self, event: BuildStarted) -> None:
        self.started = event
        self.started_ms = self._now_ms

    def _build_finished(self, event: BuildFinished) -> None:
        self.finished = event

    def _progress(self, event: Progress) -> None:
        if event.scope == "copy-path" and event.path is not None:
            transfer = self.downloads.get(event.path) or self.uploads.get(event.path)
            if transfer is not None:
                transfer.done, transfer.expected = event.done, event.expected

    def _log(self, event: LogLine) -> None:
        if event.drv_path is None:
            if event.source == "tool" and event.text.strip():
                self.last_tool_line = event.text
            return
        build = self.running.get(event.drv_path)
        if build is not None:
            build.tail.append(event.text)
            self.last_active = event.drv_path

    def _started(self, event: DerivationStarted) -> None:
        self.running[event.drv_path] = RunningBuild(event.name, event.machine, self._now_ms)
        self.planned_builds.discard(event.drv_path)
        self.last_active = event.drv_path
        self.evaluating = None

    def _ended(self, drv_path: str) -> None:
        self.running.pop(drv_path, None)
        self.planned_builds.discard(drv_path)
        if self.last_active == drv_path:
            self.last_active = next(reversed(self.running), None)

    def _download_done(self, event: DownloadFinished) -> None:
        transfer = self.downloads.pop(event.path, None)
        self.downloaded += 1
        self.downloaded_bytes += event.bytes or (transfer.expected if transfer else 0)
        self.planned_downloads = max(0, self.planned_downloads - 1)

    def _activity(self, event: ActivityStarted) -> None:
        text = event.text
        if text.startswith(("evaluating derivation", "evaluating file", "fetching", "copying '")):
            self._evaluations[event.id] = text
            if self.evaluating_since_ms is None:
                self.evaluating_since_ms = self._now_ms  # the evaluation phase began
            self.evaluating = text

    @property
    def planned(self) -> int:
        return len(self.planned_builds)

    def download_bytes(self) -> tuple[int, int]:
        """Bytes done and expected of the downloads in flight, plus those finished."""
        done = self.downloaded_bytes + sum(t.done for t in self.downloads.values())
        expected = self.downloaded_bytes + sum(t.expected for t in self.downloads.values())
        return done, expected
