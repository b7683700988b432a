"""``--prometheus-textfile DIR``: ``DIR/nixos-build.prom`` after every build, for
node_exporter's textfile collector (docs/metrics.md lists every family).

The file keeps one set of ``nixos_build_last_*`` series per target and action ever
built here (an ``os build`` does not hide the last ``os switch``), and
``nixos_build_runs_total`` counts on across runs: the previous file is read back under
a lock on the directory (two builds finishing together both count).  Only our own
families with known label values are read back; a damaged or hostile file starts the
counts over.  Labels are bounded: target, action, result, derivation state; never a
derivation's name or a path."""

from __future__ import annotations

import contextlib
import math
import os
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Final

from parsers.events import Event
from records.files import LOCK_POLL_S, LockTimeout, try_lock
from records.outcome import RESULTS, pipeline_result
from records.prometheus import Family, Sample, read_samples, write_textfile
from records.schema import LastBuild
from sinks.base import LogLinesRead
from sinks.record import BuildRecord

FILE_NAME: Final = "nixos-build.prom"
LOCK_TIMEOUT_S: Final = 10.0
TARGETS: Final = ("os", "home")
ACTIONS: Final = ("switch", "boot", "test", "build", "dry-build")
DERIVATION_STATES: Final = ("built", "failed", "aborted", "substituted")
PREFIX: Final = "nixos_build_"

# name (without the prefix) -> help, for the gauges kept per target and action
LAST: Final[dict[str, str]] = {
    "last_success": "1 if the last build of this target and action succeeded "
                    "(activation included), else 0.",
    "last_exit_code": "Exit code of the last build of this target and action (the "
                      "wrapper's: the tool's, 4 for a failed activation, 128+N for signal N).",
    "last_duration_seconds": "Wall-clock duration of the last build of this target and action.",
    "last_run_timestamp_seconds": "When the last build of this target and action ended "
                                  "(Unix time).",
    "last_success_timestamp_seconds": "When the last successful build of this target and "
                                      "action ended (Unix time); 0 if none succeeded yet.",
    "last_download_bytes": "Bytes downloaded from substituters by the last build of this "
                           "target and action.",
}
HELP_DERIVATIONS: Final = ("Derivations of the last build of this target and action, by "
                           "state: built, failed, aborted, substituted (fetched from a cache).")
HELP_RESULT: Final = ("1 for the result of the last build of this target and action "
                      "(OpenTelemetry cicd.pipeline.result), 0 for the other results.")
HELP_RUNS: Final = ("Builds run through nixos-build-wrapper on this host, by target, action "
                    "and result (success, failure, error, timeout, cancellation).")

Key = tuple[str, str]  # (target, action)


@dataclass
class Last:
    values: dict[str, float] = field(default_factory=dict)
    derivations: dict[str, float] = field(default_factory=dict)
    result: str | None = None


@dataclass
class BuildMetrics:
    """What the file holds: per (target, action) the last build, and the run counts."""

    last: dict[Key, Last] = field(default_factory=dict)
    runs: dict[tuple[str, str, str], float] = field(default_factory=dict)

    @classmethod
    def from_samples(cls, samples: Iterable[Sample]) -> BuildMetrics:
        metrics = cls()
        for s in samples:
            key = _key(s.labels)
            if key is None or not s.name.startswith(PREFIX) or not _finite(s.value):
                continue
            name = s.name[len(PREFIX):]
            if name == "runs_total":
                result = s.labels.get("result", "")
                if result in RESULTS and s.value >= 0:
                    metrics.runs[(*key, result)] = s.value
            elif name in LAST:
                metrics.last.setdefault(key, Last()).values[name] = s.value
            elif name == "last_derivations" and s.labels.get("state") in DERIVATION_STATES:
                metrics.last.setdefault(key, Last()).derivations[s.labels["state"]] = s.value
            elif name == "last_result" and s.labels.get("result") in RESULTS and s.value == 1:
                metrics.last.setdefault(key, Last()).result = s.labels["result"]
        return metrics

    def add(self, record: LastBuild, download_bytes: int, now: float) -> None:
        key = (_bounded(record.target, TARGETS), _bounded(record.action, ACTIONS))
        result = pipeline_result(record)
        self.runs[(*key, result)] = self.runs.get((*key, result), 0) + 1
        previous = self.last.get(key, Last())
        ended = _unix(record.build_end) or now
        last_success = ended if result == "success" else previous.values.get(
            "last_success_timestamp_seconds", 0)
        counts = record.derivations
        duration_ms = record.build_duration_ms
        self.last[key] = Last(
            values={
                "last_success": 1 if result == "success" else 0,
                "last_exit_code": record.exit_code if record.exit_code is not None else -1,
                "last_duration_seconds": duration_ms / 1000 if duration_ms is not None else 0,
                "last_run_timestamp_seconds": ended,
                "last_success_timestamp_seconds": last_success,
                "last_download_bytes": download_bytes,
            },
            derivations={"built": counts.built, "failed": counts.failed,
                         "aborted": counts.aborted, "substituted": counts.downloaded},
            result=result,
        )

    def families(self) -> list[Family]:
        keys = sorted(self.last)
        out = [Family(PREFIX + name, "gauge", help) for name, help in LAST.items()]
        for family, name in zip(out, LAST, strict=True):
            for target, action in keys:
                value = self.last[(target, action)].values.get(name)
                if value is not None:
                    family.add(value, target=target, action=action)
        derivations = Family(PREFIX + "last_derivations", "gauge", HELP_DERIVATIONS)
        results = Family(PREFIX + "last_result", "gauge", HELP_RESULT)
        for target, action in keys:
            last = self.last[(target, action)]
            for state in DERIVATION_STATES:
                if state in last.derivations:
                    derivations.add(last.derivations[state], target=target, action=action,
                                    state=state)
            if last.result is not None:
                for outcome in RESULTS:
                    results.add(1 if outcome == last.result else 0, target=target,
                                action=action, result=outcome)
        runs = Family(PREFIX + "runs_total", "counter", HELP_RUNS)
        for (target, action, result), count in sorted(self.runs.items()):
            runs.add(count, target=target, action=action, result=result)
        return [*out, derivations, results, runs]


@contextlib.contextmanager
def directory_lock(directory: Path, timeout: float) -> Iterator[None]:
    """An exclusive flock on the directory itself: no lock file beside the collected
    ones, and none that the first writer owns (builds by different users of the
    module's group share the directory; a directory opens read-only for anyone who may
    list it, and flock needs no more)."""
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        deadline = time.monotonic() + timeout
        while not try_lock(fd, exclusive=True):
            if time.monotonic() >= deadline:
                raise LockTimeout(f"{directory} locked by another build")
            time.sleep(LOCK_POLL_S)
        yield
    finally:
        os.close(fd)


def _finite(value: float) -> bool:
    return math.isfinite(value)


def _bounded(value: str | None, allowed: Sequence[str]) -> str:
    return value if value is not None and value in allowed else "unknown"


def _key(labels: Mapping[str, str]) -> Key | None:
    target, action = labels.get("target"), labels.get("action")
    if target in (*TARGETS, "unknown") and action in (*ACTIONS, "unknown"):
        return (str(target), str(action))
    return None


def _unix(iso: str | None) -> float | None:
    if not iso:
        return None
    try:
        return datetime.fromisoformat(iso).timestamp()
    except ValueError:
        return None


class PrometheusTextfile:
    """The sink: at the end, merges the build's record into the file."""

    name = "prometheus textfile"
    log_lines: LogLinesRead = "none"  # reads no log.line event (sinks/base.py)

    def __init__(self, directory: Path, record: BuildRecord,
                 clock: Callable[[], float], lock_timeout: float = LOCK_TIMEOUT_S) -> None:
        self.path = directory / FILE_NAME
        self._record = record
        self._clock = clock
        self._lock_timeout = lock_timeout

    def handle(self, events: Sequence[Event]) -> None:
        pass  # all it needs is in the record (the record sink reads the events)

    def close(self) -> None:
        record = self._record.to_record()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            with directory_lock(self.path.parent, self._lock_timeout):
                self._write(record)
        except LockTimeout:
            self._write(record)  # a stuck holder must not cost this build its metrics

    def _write(self, record: LastBuild) -> None:
        metrics = BuildMetrics.from_samples(read_samples(self.path))
        downloaded = record.cache.downloaded_bytes if record.cache is not None else 0
        metrics.add(record, downloaded, self._clock())
        write_textfile(self.path, metrics.families())
