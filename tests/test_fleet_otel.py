"""``--otel``: the build as one trace, received by a local OTLP/HTTP endpoint that
decodes what it gets with opentelemetry-proto (the collector's own message types) and
checks the tree: trace id = build id, the CI/CD conventions' root span, a child per
task (evaluation, each derivation, activation with the failed units as events)."""

from __future__ import annotations

import subprocess
import sys
import threading
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from parsers.events import (
    BuildFinished,
    BuildStarted,
    DerivationFinished,
    DerivationStarted,
    DownloadFinished,
    DownloadStarted,
)
from sinks.otel import OtelSink, export
from sinks.record import BuildRecord
from tests.conftest import ROOT, run_wrapper


class Receiver(ThreadingHTTPServer):
    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), Handler)
        self.requests: list[tuple[str, str, bytes]] = []

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def spans(self) -> list[Any]:
        from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
            ExportTraceServiceRequest,
        )

        out = []
        for path, content_type, body in self.requests:
            assert path == "/v1/traces" and content_type == "application/x-protobuf"
            request = ExportTraceServiceRequest.FromString(body)
            for resource_spans in request.resource_spans:
                resource = attributes(resource_spans.resource.attributes)
                for scope in resource_spans.scope_spans:
                    out.extend((resource, span) for span in scope.spans)
        return out


class Handler(BaseHTTPRequestHandler):
    server: Receiver

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.server.requests.append((self.path, self.headers["Content-Type"], body))
        self.send_response(200)
        self.send_header("Content-Type", "application/x-protobuf")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


def attributes(kvs: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for kv in kvs:
        which = kv.value.WhichOneof("value")
        out[kv.key] = getattr(kv.value, which) if which else None
    return out


def tree(receiver: Receiver) -> tuple[dict[str, Any], Any, list[Any]]:
    spans = receiver.spans()
    roots = [s for _, s in spans if not s.parent_span_id]
    assert len(roots) == 1
    root = roots[0]
    children = [s for _, s in spans if s.parent_span_id]
    assert all(c.parent_span_id == root.span_id and c.trace_id == root.trace_id
               for c in children)
    return spans[0][0], root, children


def test_a_failed_build_is_one_trace_whose_id_is_the_build_id(
        tmp_path: Path, receiver: Receiver) -> None:
    run = run_wrapper(tmp_path, ["os", "switch", "--no-nh", "--otel"],
                      FAKE_SCENARIO="build-failure",
                      OTEL_EXPORTER_OTLP_ENDPOINT=receiver.endpoint)
    assert run.returncode == 100, run.stderr
    resource, root, children = tree(receiver)
    record = run.last_build()
    assert root.trace_id == uuid.UUID(record["buildId"]).bytes
    assert resource["service.name"] == "nixos-build-status"
    assert resource["host.name"] == record["hostname"]
    root_attributes = attributes(root.attributes)
    assert root.name == "RUN nixos-build os switch"
    assert root_attributes["cicd.pipeline.name"] == "nixos-build os switch"
    assert root_attributes["cicd.pipeline.run.id"] == record["buildId"]
    assert root_attributes["cicd.pipeline.result"] == "failure"
    assert root_attributes["error.type"] == "build-failure"
    assert root_attributes["process.exit.code"] == 100
    assert root.status.code == 2  # STATUS_CODE_ERROR
    assert root.status.message.startswith("error: builder for ")

    names = [c.name for c in children]
    assert names[0] == "RUN evaluation"
    tasks = {c.name: attributes(c.attributes) for c in children}
    broken = tasks["RUN broken-tool-0.3.1"]
    assert broken["cicd.pipeline.task.type"] == "build"
    assert broken["cicd.pipeline.task.run.result"] == "failure"
    assert broken["nix.drv_path"].endswith("-broken-tool-0.3.1.drv")
    assert broken["process.exit.code"] == 2
    assert broken["cicd.worker.name"] == record["hostname"]  # built here
    assert tasks["RUN evaluation"]["cicd.pipeline.task.run.result"] == "success"
    assert "RUN activation" not in tasks
    for span in (root, *children):
        assert span.start_time_unix_nano <= span.end_time_unix_nano
        assert root.start_time_unix_nano <= span.start_time_unix_nano
        assert span.end_time_unix_nano <= root.end_time_unix_nano
    # no log line went out: nothing but span names, attributes, events
    assert all(b"make: ***" not in body for _, _, body in receiver.requests)


def test_failed_units_are_events_of_the_activation_span(tmp_path: Path,
                                                         receiver: Receiver) -> None:
    run = run_wrapper(tmp_path, ["os", "switch", "--no-nh"], FAKE_ACTIVATION="unit-failed",
                      NIXOS_BUILD_OTEL="1",
                      OTEL_EXPORTER_OTLP_TRACES_ENDPOINT=f"{receiver.endpoint}/v1/traces")
    assert run.returncode == 4, run.stderr
    _, root, children = tree(receiver)
    assert attributes(root.attributes)["cicd.pipeline.result"] == "failure"
    (activation,) = [c for c in children if c.name == "RUN activation"]
    activation_attributes = attributes(activation.attributes)
    assert activation_attributes["cicd.pipeline.task.type"] == "deploy"
    assert activation_attributes["cicd.pipeline.task.run.result"] == "failure"
    failed = [attributes(e.attributes)["nixos_build.unit"] for e in activation.events
              if e.name == "unit.failed"]
    assert failed and all(u.endswith(".service") for u in failed)
    built = [c for c in children if c.name not in ("RUN evaluation", "RUN activation")]
    assert len(built) == 5 and all(
        attributes(c.attributes)["cicd.pipeline.task.run.result"] == "success" for c in built)


def test_a_success_and_no_collector_listening(tmp_path: Path) -> None:
    """An endpoint where nothing listens costs the trace, never the build."""
    run = run_wrapper(tmp_path, ["os", "build", "--no-nh", "--otel"],
                      OTEL_EXPORTER_OTLP_ENDPOINT="http://127.0.0.1:9",
                      OTEL_EXPORTER_OTLP_TIMEOUT="2")
    assert run.returncode == 0
    assert run.last_build()["success"] is True
    assert run.stderr.count("opentelemetry: the trace was not exported: ") == 1
    assert "Transient error" not in run.stderr and "Traceback" not in run.stderr


def test_otel_is_imported_only_when_asked_for() -> None:
    code = ("import sys\nfrom orchestrator.wrapper_cli import parse_request\n"
            "from orchestrator.fleet import fleet_sinks\nfrom sinks.record import BuildRecord\n"
            "r = parse_request(['os', 'switch'])\n"
            "assert fleet_sinks(r, {}, BuildRecord(), print) == []\n"
            "print(sorted(m for m in sys.modules if m.startswith('opentelemetry')))\n")
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                          text=True, timeout=60, check=False)
    assert proc.stdout.strip() == "[]", proc.stderr


def test_without_the_otel_extra_the_build_runs_and_says_what_to_install(tmp_path: Path) -> None:
    shadow = tmp_path / "shadow" / "opentelemetry"
    shadow.mkdir(parents=True)
    (shadow / "__init__.py").write_text("raise ImportError('not installed')\n")
    run = run_wrapper(tmp_path, ["os", "build", "--no-nh", "--otel"],
                      PYTHONPATH=f"{tmp_path / 'shadow'}:{ROOT}")
    assert run.returncode == 0
    assert run.stderr.count("pip install 'nixos-build-status[otel]'") == 1


def test_remote_builders_and_substitutions_in_the_tree() -> None:
    """The parts the fakes' recordings do not have: a derivation built on a remote
    builder, downloads from a cache (the SDK's in-memory exporter keeps the spans)."""
    def at(second: int) -> str:
        return f"2026-11-24T11:30:{second:02d}.000Z"

    events = [
        BuildStarted(build_id=str(uuid.uuid4()), target="os", action="build", ts=at(0)),
        DownloadStarted(path="/nix/store/a-glibc", name="glibc", ts=at(2)),
        DerivationStarted(drv_path="/nix/store/d-hello.drv", name="hello",
                          machine="ssh://builder1", ts=at(3)),
        DownloadFinished(path="/nix/store/a-glibc", name="glibc", bytes=4096, ts=at(4)),
        DerivationFinished(drv_path="/nix/store/d-hello.drv", name="hello", ts=at(9)),
        BuildFinished(exit_code=0, success=True, built=1, downloaded=1, ts=at(10)),
    ]
    record = BuildRecord()
    record.handle(events)
    sink = OtelSink(record, {}, print)
    sink.handle(events)
    memory = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(memory))
    export(provider.get_tracer("test"), record.to_record(), sink.timeline, "here")
    spans = {s.name: s for s in memory.get_finished_spans()}
    assert set(spans) == {"RUN nixos-build os build", "RUN evaluation", "RUN hello",
                          "RUN substitutions"}
    hello = spans["RUN hello"]
    assert hello.attributes is not None and hello.attributes["cicd.worker.name"] == "ssh://builder1"
    assert (hello.end_time or 0) - (hello.start_time or 0) == 6_000_000_000
    subs = spans["RUN substitutions"].attributes
    assert subs is not None and subs["nixos_build.substitutions.bytes"] == 4096
    assert subs["nixos_build.substitutions.count"] == 1
    evaluation = spans["RUN evaluation"]
    assert (evaluation.end_time or 0) - (evaluation.start_time or 0) == 2_000_000_000
