"""Result files for CI: ``--result-file junit:PATH`` and ``--result-file json:PATH``.

``json`` is the build record, byte for byte what ``last-build.json`` holds.  ``junit``
is JUnit XML as CI systems read it (GitLab's test report, Jenkins, Buildkite Test
Engine, GitHub's test-report actions), in the shape of Jenkins' ``junit-10.xsd``:
one ``testsuites`` holding one ``testsuite``, whose ``testcase``s are

- ``evaluation``: fails with the evaluation error (message, file:line, nix's text);
- one per derivation nix started: passes when built, fails with the exit code, the
  phase and the log tail, is skipped when nix aborted it; derivations nix planned but
  never started (a dependency failed) are skipped too;
- ``activation``: fails with the failed units or Home Manager's refusal; skipped when
  the action does not activate or the build never got there;
- ``result``: only when the build failed and no case above says why (an unrecognised
  error, an interruption: then an ``error``, not a ``failure``).

Times are seconds.  Both files are written when the build ends -- failed or interrupted
included -- each replaced atomically (``records/files.py``)."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

from parsers.errors.order import ordered_errors
from parsers.events import (
    Activation,
    BuildFinished,
    BuildStarted,
    DerivationAborted,
    DerivationFailed,
    DerivationFinished,
    DerivationStarted,
    DownloadStarted,
    ErrorEvent,
    Event,
    Plan,
)
from parsers.store import drv_name, strip_ansi
from records.files import atomic_write
from records.schema import encode_record
from sinks.base import LogLinesRead
from sinks.record import BuildRecord

ResultKind = Literal["junit", "json"]
RESULT_KINDS: tuple[ResultKind, ...] = ("junit", "json")
EVAL_KINDS = frozenset({"eval-error", "assertion", "option-missing", "attribute-missing",
                        "infinite-recursion"})
ACTIVATION_KINDS = frozenset({"activation-unit-failed", "home-manager-clobber"})
# Actions that activate what they built.
ACTIVATING = {"os": ("switch", "test", "boot"), "home": ("switch",)}
FAILURE_TAIL = 50
# XML 1.0 cannot carry these at all (not even escaped).
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


@dataclass(frozen=True)
class ResultFile:
    kind: ResultKind
    path: Path


def parse_result_file(spec: str) -> ResultFile:
    """``junit:build.xml`` -> ResultFile; ValueError with a sentence otherwise."""
    kind, sep, path = spec.partition(":")
    for known in RESULT_KINDS:
        if kind == known and sep and path:
            return ResultFile(known, Path(path))
    raise ValueError(f"{spec!r}: use junit:PATH or json:PATH")


# --- what the sink collects ---------------------------------------------------------------


@dataclass
class DerivationCase:
    name: str
    drv_path: str
    state: Literal["planned", "running", "built", "failed", "aborted"] = "planned"
    start_ts: str | None = None
    duration_ms: int | None = None
    exit_code: int | None = None
    phase: str | None = None
    reason: str | None = None
    log_tail: list[str] = field(default_factory=list)


@dataclass
class BuildFacts:
    """Everything the JUnit file says, gathered from events (plain data, testable)."""

    started: BuildStarted | None = None
    finished: BuildFinished | None = None
    derivations: dict[str, DerivationCase] = field(default_factory=dict)
    errors: list[ErrorEvent] = field(default_factory=list)
    evaluation_end_ts: str | None = None
    activation_start_ts: str | None = None

    def add(self, event: Event) -> None:
        handler = _FACTS.get(type(event))
        if handler is not None:
            handler(self, event)

    def _started(self, event: BuildStarted) -> None:
        self.started = event

    def _finished(self, event: BuildFinished) -> None:
        self.finished = event

    def _error(self, event: ErrorEvent) -> None:
        self.errors.append(event)

    def _plan(self, event: Plan) -> None:
        self._evaluated(event.ts)
        for path in event.builds:
            self.derivations.setdefault(path, DerivationCase(drv_name(path), path))

    def _drv_started(self, event: DerivationStarted) -> None:
        self._evaluated(event.ts)
        case = self._case(event.drv_path, event.name)
        case.state, case.start_ts = "running", event.ts

    def _drv_finished(self, event: DerivationFinished) -> None:
        case = self._case(event.drv_path, event.name)
        case.state, case.duration_ms = "built", event.duration_ms

    def _drv_failed(self, event: DerivationFailed) -> None:
        case = self._case(event.drv_path, event.name)
        case.state, case.duration_ms = "failed", event.duration_ms
        case.exit_code, case.phase, case.reason = event.exit_code, event.phase, event.reason
        case.log_tail = list(event.log_tail)

    def _drv_aborted(self, event: DerivationAborted) -> None:
        case = self._case(event.drv_path, event.name)
        case.state, case.duration_ms, case.phase = "aborted", event.duration_ms, event.phase

    def _download(self, event: DownloadStarted) -> None:
        self._evaluated(event.ts)

    def _activation(self, event: Activation) -> None:
        if self.activation_start_ts is None:
            self.activation_start_ts = event.ts

    def _evaluated(self, ts: str) -> None:
        if self.evaluation_end_ts is None:
            self.evaluation_end_ts = ts

    def _case(self, path: str, name: str) -> DerivationCase:
        case = self.derivations.get(path)
        if case is None:
            case = self.derivations[path] = DerivationCase(name, path)
        return case


_FACTS: dict[type[Event], Callable[[BuildFacts, Any], None]] = {
    BuildStarted: BuildFacts._started,
    BuildFinished: BuildFacts._finished,
    ErrorEvent: BuildFacts._error,
    Plan: BuildFacts._plan,
    DerivationStarted: BuildFacts._drv_started,
    DerivationFinished: BuildFacts._drv_finished,
    DerivationFailed: BuildFacts._drv_failed,
    DerivationAborted: BuildFacts._drv_aborted,
    DownloadStarted: BuildFacts._download,
    Activation: BuildFacts._activation,
}


# --- JUnit XML ----------------------------------------------------------------------------


def _seconds(ts_from: str | None, ts_to: str | None) -> float:
    if not ts_from or not ts_to:
        return 0.0
    try:
        start = datetime.fromisoformat(ts_from.replace("Z", "+00:00"))
        end = datetime.fromisoformat(ts_to.replace("Z", "+00:00"))
    except ValueError:
        return 0.0
    return max(0.0, (end - start).total_seconds())


def _time(seconds: float) -> str:
    return f"{seconds:.3f}"


def _xml(text: str) -> str:
    return _NOT_XML.sub("\ufffd", strip_ansi(text))


def _error_text(error: ErrorEvent) -> str:
    lines = [strip_ansi(error.message)]
    if error.file:
        lines.append("at " + ":".join(str(p) for p in (error.file, error.line, error.column)
                                      if p is not None))
    if error.detail and error.detail != error.message:
        lines += ["", strip_ansi(error.detail)]
    if error.log_tail:
        lines += ["", *(strip_ansi(t) for t in error.log_tail[-FAILURE_TAIL:])]
    return "\n".join(lines)


def junit_xml(facts: BuildFacts) -> bytes:
    """The JUnit document of one build."""
    import xml.etree.ElementTree as ET  # only when a JUnit file is asked for

    started, finished = facts.started, facts.finished
    target = started.target if started and started.target else "build"
    action = started.action if started and started.action else "build"
    tool = started.tool if started and started.tool else "build"
    classname = f"nixos-build.{target}.{action}"
    end_ts = finished.ts if finished else None
    start_ts = started.ts if started else None
    errors = ordered_errors(facts.errors)
    cases: list[ET.Element] = []
    counts = {"failures": 0, "errors": 0, "skipped": 0}

    def case(name: str, cls: str, seconds: float) -> ET.Element:
        element = ET.Element("testcase", name=_xml(name), classname=cls, time=_time(seconds))
        cases.append(element)
        return element

    def fail(element: ET.Element, message: str, kind: str, text: str, tag: str = "failure") -> None:
        child = ET.SubElement(element, tag, message=_xml(message), type=kind)
        child.text = _xml(text)
        counts["failures" if tag == "failure" else "errors"] += 1

    def skip(element: ET.Element, message: str) -> None:
        ET.SubElement(element, "skipped", message=_xml(message))
        counts["skipped"] += 1

    # evaluation
    eval_end = facts.evaluation_end_ts or end_ts
    evaluation = case("evaluation", classname, _seconds(start_ts, eval_end))
    eval_errors = [e for e in errors if e.kind in EVAL_KINDS]
    if eval_errors:
        first = eval_errors[0]
        fail(evaluation, strip_ansi(first.message), first.kind,
             "\n\n".join(_error_text(e) for e in eval_errors))
    explained = bool(eval_errors)

    # derivations
    by_drv = {e.drv_path: e for e in errors if e.drv_path and e.root_cause}
    for drv in facts.derivations.values():
        seconds = (drv.duration_ms or 0) / 1000
        element = case(drv.name, f"{classname}.derivation", seconds)
        if drv.state == "failed":
            code = f"exit code {drv.exit_code}" if drv.exit_code is not None else drv.reason
            phase = f" in {drv.phase}" if drv.phase else ""
            error = by_drv.get(drv.drv_path)
            message = f"{drv.name} failed ({code}{phase})"
            text_lines = [drv.drv_path, f"full log: nix log {drv.drv_path}", ""]
            if error is not None and error.kind == "hash-mismatch":
                text_lines += [f"specified: {error.specified}", f"got:       {error.got}", ""]
            text_lines += [strip_ansi(t) for t in drv.log_tail[-FAILURE_TAIL:]]
            fail(element, message, drv.reason or "builder-failed", "\n".join(text_lines))
            explained = True
        elif drv.state == "aborted":
            skip(element, "aborted: nix stopped it (another build failed, or interrupted)")
        elif drv.state == "planned":
            skip(element, "not built: a dependency failed or the build stopped first")
        elif drv.state == "running":
            skip(element, "still building when the build ended")

    # activation
    activates = action in ACTIVATING.get(target, ())
    act_errors = [e for e in errors if e.kind in ACTIVATION_KINDS]
    activation = case("activation", classname,
                      _seconds(facts.activation_start_ts, end_ts)
                      if facts.activation_start_ts else 0.0)
    if act_errors:
        first = act_errors[0]
        fail(activation, strip_ansi(first.message), first.kind,
             "\n\n".join(_error_text(e) for e in act_errors))
        explained = True
    elif not activates:
        skip(activation, f"{target} {action} does not activate")
    elif facts.activation_start_ts is None and not (finished and finished.success):
        skip(activation, "not reached: the build stopped before activating")

    # the build as a whole, when nothing above says why it failed
    if finished is not None and not finished.success and (not explained or finished.interrupted):
        result = case("result", classname, _seconds(start_ts, end_ts))
        code = f"exit code {finished.exit_code}" if finished.exit_code is not None else "no exit code"
        others = [e for e in errors if e.kind not in EVAL_KINDS | ACTIVATION_KINDS
                  and not e.drv_path]
        text = "\n\n".join(_error_text(e) for e in others) or "no error message was recognised"
        if finished.interrupted:
            fail(result, f"{tool} was interrupted ({code})", "interrupted", text, tag="error")
        else:
            kind = others[0].kind if others else "exit-code"
            fail(result, f"{tool} failed ({code})", kind, text)

    total = _seconds(start_ts, end_ts)
    name = " ".join(p for p in (tool, action, started.flake if started else None) if p)
    suites = ET.Element("testsuites", name=_xml(name), tests=str(len(cases)),
                        failures=str(counts["failures"]), errors=str(counts["errors"]),
                        time=_time(total))
    suite = ET.SubElement(suites, "testsuite", name=_xml(name), tests=str(len(cases)),
                          failures=str(counts["failures"]), errors=str(counts["errors"]),
                          skipped=str(counts["skipped"]), time=_time(total),
                          timestamp=(start_ts or "")[:19],
                          hostname=_xml(started.hostname or "") if started else "")
    properties = ET.SubElement(suite, "properties")
    for key, value in (("buildId", started.build_id if started else None),
                       ("command", " ".join(started.argv) if started else None),
                       ("exitCode", finished.exit_code if finished else None),
                       ("logPath", started.log_path if started else None)):
        if value is not None:
            ET.SubElement(properties, "property", name=key, value=_xml(str(value)))
    suite.extend(cases)
    ET.indent(suites)
    document: bytes = ET.tostring(suites, encoding="utf-8", xml_declaration=True)
    return document + b"\n"


# --- the sink -----------------------------------------------------------------------------


class ResultFiles:
    """Writes the asked-for result files when the build ends."""

    name = "result files"
    log_lines: LogLinesRead = "none"  # reads no log.line event (sinks/base.py)

    def __init__(self, files: Sequence[ResultFile], record: BuildRecord) -> None:
        self.files = list(files)
        self._record = record
        self.facts = BuildFacts()

    def handle(self, events: Sequence[Event]) -> None:
        for event in events:
            self.facts.add(event)

    def close(self) -> None:
        problems: list[BaseException] = []
        for file in self.files:  # one file failing must not cost the other
            try:
                atomic_write(file.path, self.render(file.kind))
            except OSError as exc:
                problems.append(exc)
        if problems:
            raise problems[0]

    def render(self, kind: ResultKind) -> bytes:
        if kind == "junit":
            return junit_xml(self.facts)
        return encode_record(self._record.to_record())
