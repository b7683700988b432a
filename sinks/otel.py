"""``--otel``: the build as one OpenTelemetry trace, exported over OTLP/HTTP at the end
(the ``otel`` extra: opentelemetry-sdk and its OTLP/HTTP exporter, imported only here,
only when asked for; the standard ``OTEL_*`` variables configure the endpoint,
headers, timeout, resource and service name).

The trace id is the build id (a UUID: the same 128 bits), so a trace is found from
``last-build.json``, the journal's ``NIXOS_BUILD_ID`` or the NDJSON stream.  The spans
follow the CI/CD semantic conventions: the root is the pipeline run
(``cicd.pipeline.name``, ``cicd.pipeline.run.id``, ``cicd.pipeline.result``,
``error.type``), its children the tasks: the evaluation, each derivation built (with
its builder machine as ``cicd.worker.name``), the substitutions, the activation (each
failed unit an event).  No log line is exported."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Final

from parsers.events import (
    Activation,
    BuildFinished,
    BuildStarted,
    DerivationAborted,
    DerivationFailed,
    DerivationFinished,
    DerivationStarted,
    DownloadFinished,
    DownloadStarted,
    Event,
    Plan,
    UnitFailed,
)
from records.outcome import Result, error_type, pipeline_result
from records.schema import LastBuild
from sinks.base import LogLinesRead
from sinks.record import BuildRecord

if TYPE_CHECKING:
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.trace import Span, Tracer

INSTALL_HINT: Final = ("--otel needs the otel extra (opentelemetry-sdk and "
                       "opentelemetry-exporter-otlp-proto-http): "
                       "pip install 'nixos-build-status[otel]'")
SERVICE: Final = "nixos-build-status"
# A collector that does not answer must not hold the end of the build for long.
DEFAULT_TIMEOUT_S: Final = 5.0
_DISABLED: Final = frozenset({"1", "true", "yes"})
# The events the sink keeps: everything with a time the spans need.
_KEPT: Final = (BuildStarted, BuildFinished, Plan, DerivationStarted, DerivationFinished,
                DerivationFailed, DerivationAborted, DownloadStarted, DownloadFinished,
                Activation, UnitFailed)


def trace_id(build_id: str) -> int | None:
    """The build id's 128 bits; None for a build id that is not a UUID (an old log)."""
    try:
        return uuid.UUID(build_id).int or None
    except ValueError:
        return None


def unix_ns(ts: str) -> int | None:
    if not ts:
        return None
    try:
        return int(datetime.fromisoformat(ts).timestamp() * 1_000_000_000)
    except ValueError:
        return None


def open_otel(record: BuildRecord, env: Mapping[str, str],
              report: Callable[[str], None]) -> OtelSink | None:
    if env.get("OTEL_SDK_DISABLED", "").strip().lower() in _DISABLED:
        return None
    try:
        import opentelemetry.sdk.trace  # noqa: F401
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import (  # noqa: F401
            OTLPSpanExporter,
        )
    except ImportError:
        report(INSTALL_HINT)
        return None
    return OtelSink(record, env, report)


@dataclass
class _Derivation:
    name: str
    start: int | None
    machine: str | None = None
    end: int | None = None
    result: Result | None = None
    exit_code: int | None = None


@dataclass
class _Timeline:
    """The times the spans need, as events arrive (nanoseconds since the epoch)."""

    start: int | None = None
    end: int | None = None
    evaluated: int | None = None  # the first sign of building: a plan, a derivation...
    derivations: dict[str, _Derivation] = field(default_factory=dict)
    downloads: int = 0
    download_bytes: int = 0
    first_download: int | None = None
    last_download: int | None = None
    activation: int | None = None
    failed_units: list[tuple[int | None, str, str]] = field(default_factory=list)

    def add(self, event: Event) -> None:
        t = unix_ns(event.ts)
        if isinstance(event, BuildStarted):
            self.start = t
        elif isinstance(event, BuildFinished):
            self.end = t
        elif isinstance(event, Activation):
            self.activation = self.activation or t
        elif isinstance(event, UnitFailed):
            self.failed_units.append((t, event.unit, event.scope))
        if isinstance(event, (Plan, DerivationStarted, DownloadStarted, Activation)):
            self.evaluated = self.evaluated or t
        if isinstance(event, DerivationStarted):
            self.derivations[event.drv_path] = _Derivation(event.name, t, event.machine)
        elif isinstance(event, (DerivationFinished, DerivationFailed, DerivationAborted)):
            drv = self.derivations.setdefault(event.drv_path, _Derivation(event.name, t))
            drv.end = t
            drv.machine = drv.machine or event.machine
            if isinstance(event, DerivationFinished):
                drv.result = "success"
            elif isinstance(event, DerivationFailed):
                drv.result, drv.exit_code = "failure", event.exit_code
            else:
                drv.result = "cancellation"
        elif isinstance(event, DownloadStarted):
            self.first_download = self.first_download or t
        elif isinstance(event, DownloadFinished):
            self.downloads += 1
            self.download_bytes += event.bytes or 0
            self.last_download = t


class _Problems(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.last: str | None = None

    def emit(self, record: logging.LogRecord) -> None:
        self.last = record.getMessage().splitlines()[0][:300]


class OtelSink:
    name = "opentelemetry"
    log_lines: LogLinesRead = "none"  # reads no log.line event (sinks/base.py)

    def __init__(self, record: BuildRecord, env: Mapping[str, str],
                 report: Callable[[str], None]) -> None:
        self._record = record
        self._env = env
        self._report = report
        self.timeline = _Timeline()

    def handle(self, events: Sequence[Event]) -> None:
        for event in events:
            if isinstance(event, _KEPT):
                self.timeline.add(event)

    def close(self) -> None:
        record = self._record.to_record()
        if record.build_id is None:
            return
        # The SDK logs its export problems (retries, a refused connection) through
        # logging, which would print them as they come: one line of ours instead.
        problems = _Problems()
        sdk_log = logging.getLogger("opentelemetry")
        sdk_log.addHandler(problems)
        propagate, sdk_log.propagate = sdk_log.propagate, False
        try:
            provider = self._provider(record)
            try:
                export(provider.get_tracer(SERVICE), record, self.timeline,
                       self._record.started.hostname if self._record.started else None)
            finally:
                provider.shutdown()  # flushes the batch: one request for the whole trace
        finally:
            sdk_log.removeHandler(problems)
            sdk_log.propagate = propagate
        if problems.last is not None:
            self._report(f"opentelemetry: the trace was not exported: {problems.last}")

    def _provider(self, record: LastBuild) -> TracerProvider:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor
        from opentelemetry.sdk.trace.id_generator import RandomIdGenerator

        wanted = trace_id(record.build_id or "")

        class BuildIds(RandomIdGenerator):
            """The root span's trace id is the build's; span ids are random."""

            def generate_trace_id(self) -> int:
                return wanted if wanted is not None else super().generate_trace_id()

        env = self._env
        endpoint = env.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
        if not endpoint and env.get("OTEL_EXPORTER_OTLP_ENDPOINT"):
            endpoint = env["OTEL_EXPORTER_OTLP_ENDPOINT"].rstrip("/") + "/v1/traces"
        timeout = None if ("OTEL_EXPORTER_OTLP_TRACES_TIMEOUT" in env
                           or "OTEL_EXPORTER_OTLP_TIMEOUT" in env) else DEFAULT_TIMEOUT_S
        attributes: dict[str, Any] = {"service.name": env.get("OTEL_SERVICE_NAME") or SERVICE}
        if record.hostname:
            attributes["host.name"] = record.hostname
        provider = TracerProvider(resource=Resource.create(attributes), id_generator=BuildIds())
        provider.add_span_processor(BatchSpanProcessor(
            OTLPSpanExporter(endpoint=endpoint, timeout=timeout)))
        return provider


def _task(tracer: Tracer, parent: Span, name: str, task_type: str, start: int | None,
          end: int | None, result: Result, attributes: Mapping[str, Any] | None = None) -> Span:
    from opentelemetry import trace
    from opentelemetry.trace import Status, StatusCode

    span = tracer.start_span(
        f"RUN {name}", context=trace.set_span_in_context(parent), start_time=start,
        attributes={"cicd.pipeline.task.name": name, "cicd.pipeline.task.type": task_type,
                    "cicd.pipeline.task.run.result": result, **(attributes or {})})
    if result not in ("success", "cancellation"):
        span.set_status(Status(StatusCode.ERROR))
    span.end(end_time=end if end is not None else start)
    return span


def export(tracer: Tracer, record: LastBuild, timeline: _Timeline, host: str | None) -> None:
    """The spans of one build, with the times the events carried."""
    from opentelemetry.trace import Status, StatusCode

    result = pipeline_result(record)
    start, end = timeline.start, timeline.end or timeline.start
    pipeline = f"nixos-build {record.target or 'unknown'} {record.action or 'unknown'}"
    root_attributes: dict[str, Any] = {
        "cicd.pipeline.name": pipeline,
        "cicd.pipeline.run.id": record.build_id or "",
        "cicd.pipeline.action.name": "RUN",
        "cicd.pipeline.result": result,
        "nixos_build.target": record.target or "",
        "nixos_build.action": record.action or "",
        "nixos_build.tool": record.tool or "",
    }
    if record.exit_code is not None:
        root_attributes["process.exit.code"] = record.exit_code
    kind = error_type(record)
    if kind is not None:
        root_attributes["error.type"] = kind
    root = tracer.start_span(f"RUN {pipeline}", start_time=start, attributes=root_attributes)
    if result != "success":
        first = next((d.message for d in record.error_details if d.root_cause), None)
        root.set_status(Status(StatusCode.ERROR, first))

    derivations_failed = any(d.result == "failure" for d in timeline.derivations.values())
    evaluated = timeline.evaluated
    # Nothing after the evaluation happened: the evaluation is where the build ended.
    eval_result: Result = "success" if evaluated is not None else result
    _task(tracer, root, "evaluation", "build", start, evaluated or end, eval_result)
    for drv_path, drv in timeline.derivations.items():
        _task(tracer, root, drv.name, "build", drv.start, drv.end or end,
              drv.result or "cancellation",
              {"cicd.worker.name": drv.machine or host or "localhost",
               "nix.drv_path": drv_path,
               **({"process.exit.code": drv.exit_code} if drv.exit_code is not None else {})})
    if timeline.first_download is not None:
        _task(tracer, root, "substitutions", "build", timeline.first_download,
              timeline.last_download or end,
              "failure" if kind == "download" else "success",
              {"nixos_build.substitutions.count": timeline.downloads,
               "nixos_build.substitutions.bytes": timeline.download_bytes})
    if timeline.activation is not None:
        from opentelemetry import trace

        failed = bool(timeline.failed_units) or (result == "failure" and not derivations_failed)
        activation = tracer.start_span(
            "RUN activation", context=trace.set_span_in_context(root),
            start_time=timeline.activation,
            attributes={"cicd.pipeline.task.name": "activation",
                        "cicd.pipeline.task.type": "deploy",
                        "cicd.pipeline.task.run.result": "failure" if failed else "success"})
        for t, unit, scope in timeline.failed_units:
            activation.add_event("unit.failed", {"nixos_build.unit": unit,
                                                 "nixos_build.unit.scope": scope}, timestamp=t)
        if failed:
            activation.set_status(Status(StatusCode.ERROR))
        activation.end(end_time=end)
    root.end(end_time=end)
