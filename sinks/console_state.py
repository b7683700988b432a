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

    def update(self, events: Sequence[Event], now_ms: int) -> None:
        for event in events:
            kind = type(event)
            if kind is Progress:
                self._progress(event)  # type: ignore[arg-type]
            elif kind is LogLine:
                self._log(event)  # type: ignore[arg-type]
            elif kind is Phase:
                build = self.running.get(event.drv_path)  # type: ignore[attr-defined]
                if build is not None:
                    build.phase = event.phase  # type: ignore[attr-defined]
            elif kind is DerivationStarted:
                self._started(event, now_ms)  # type: ignore[arg-type]
            elif kind is DerivationFinished:
                self._ended(event.drv_path)  # type: ignore[attr-defined]
                self.built += 1
                self.built_names.append(event.name)  # type: ignore[attr-defined]
            elif kind is DerivationFailed:
                self._ended(event.drv_path)  # type: ignore[attr-defined]
                self.failed += 1
                self.failures.append(event)  # type: ignore[arg-type]
            elif kind is DerivationAborted:
                self._ended(event.drv_path)  # type: ignore[attr-defined]
                self.aborted += 1
            elif kind is DownloadStarted:
                self.downloads[event.path] = Transfer(event.name, event.source, now_ms)  # type: ignore[attr-defined]
            elif kind is DownloadFinished:
                self._download_done(event)  # type: ignore[arg-type]
            elif kind is UploadStarted:
                self.uploads[event.path] = Transfer(event.name, event.destination, now_ms)  # type: ignore[attr-defined]
            elif kind is UploadFinished:
                self.uploads.pop(event.path, None)  # type: ignore[attr-defined]
                self.uploaded += 1
            elif kind is ErrorEvent:
                self.errors.append(event)  # type: ignore[arg-type]
            elif kind is Plan:
                self.planned_builds.update(event.builds)  # type: ignore[attr-defined]
                self.planned_downloads += len(event.downloads)  # type: ignore[attr-defined]
            elif kind is Activation:
                self.activation = event  # type: ignore[assignment]
                self.evaluating = None
            elif kind is ActivityStarted:
                self._activity(event, now_ms)  # type: ignore[arg-type]
            elif kind is ActivityStopped:
                if self._evaluations.pop(event.id, None) is not None:  # type: ignore[attr-defined]
                    self.evaluating = next(reversed(self._evaluations.values()), None)
            elif kind is BuildStarted:
                self.started = event  # type: ignore[assignment]
                self.started_ms = now_ms
            elif kind is BuildFinished:
                self.finished = event  # type: ignore[assignment]

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

    def _started(self, event: DerivationStarted, now_ms: int) -> None:
        self.running[event.drv_path] = RunningBuild(event.name, event.machine, now_ms)
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

    def _activity(self, event: ActivityStarted, now_ms: int) -> None:
        text = event.text
        if text.startswith(("evaluating derivation", "evaluating file", "fetching", "copying '")):
            self._evaluations[event.id] = text
            if self.evaluating_since_ms is None:
                self.evaluating_since_ms = now_ms  # the evaluation phase began
            self.evaluating = text

    @property
    def planned(self) -> int:
        return len(self.planned_builds)

    def download_bytes(self) -> tuple[int, int]:
        """Bytes done and expected of the downloads in flight, plus those finished."""
        done = self.downloaded_bytes + sum(t.done for t in self.downloads.values())
        expected = self.downloaded_bytes + sum(t.expected for t in self.downloads.values())
        return done, expected
