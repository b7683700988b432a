"""The internal-json parser on real recordings (ours from nix 2.8, nom's from newer nix)
and on every message shape nix can send, plus inputs nix never sends."""

from __future__ import annotations

import json

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from parsers.events import ALL_EVENT_TYPES, BuildFinished, BuildStarted
from tests.conftest import NOM_CORPUS, manifest, of_type, parse, recorded, wire


def nix(**fields: object) -> bytes:
    return b"@nix " + json.dumps(fields).encode() + b"\n"


# --- real recordings ------------------------------------------------------------------


def test_successful_build_reports_every_derivation_with_phases_and_logs():
    events = parse(recorded("success.internal-json"), exit_code=0)
    started = of_type(events, "derivation.started")
    finished = of_type(events, "derivation.finished")
    names = ["zlib-1.3.1", "openssl-3.0.14", "curl-8.9.1", "etc", "nixos-system-demo-24.11.20241124"]
    assert [e.name for e in started] == names
    assert sorted(e.name for e in finished) == sorted(names)
    phases = [(e.name, e.phase) for e in of_type(events, "phase") if e.name == "curl-8.9.1"]
    assert phases == [("curl-8.9.1", p) for p in
                      ("unpackPhase", "configurePhase", "buildPhase", "installPhase")]
    curl_logs = [e.text for e in of_type(events, "log.line") if e.name == "curl-8.9.1"]
    assert "unpacking source archive curl-8.9.1.tar.gz" in curl_logs
    plan = of_type(events, "plan")
    assert len(plan) == 1 and len(plan[0].builds) == 5
    end = events[-1]
    assert isinstance(end, BuildFinished)
    assert (end.built, end.failed, end.aborted, end.success) == (5, 0, 0, True)
    assert not of_type(events, "error")


def test_build_failure_names_derivation_exit_code_phase_and_log_tail():
    events = parse(recorded("build-failure.internal-json"),
                   exit_code=manifest()["build-failure.internal-json"]["exitCode"])
    (failed,) = of_type(events, "derivation.failed")
    assert failed.name == "broken-tool-0.3.1"
    assert failed.exit_code == 2
    assert failed.phase == "buildPhase"
    assert failed.log_tail[-2:] == ["src/main.c:42:7: error: 'config_t' has no member named 'verbose'",
                                    "make: *** [Makefile:12: src/main.o] Error 1"]
    errors = of_type(events, "error")
    assert [(e.kind, e.root_cause, e.derivation) for e in errors] == [
        ("build-failure", True, "broken-tool-0.3.1"),
        ("dependency-failure", False, "nixos-system-demo-24.11.20241124"),
    ]
    assert errors[0].phase == "buildPhase" and errors[0].exit_code == 2
    assert errors[0].log_tail == failed.log_tail
    # The slow build was still running when nix gave up: aborted, not built.
    assert [e.name for e in of_type(events, "derivation.aborted")] == ["slow-docs-2.1"]
    assert [e.name for e in of_type(events, "derivation.finished")] == ["libbase-1.0"]
    end = events[-1]
    assert (end.built, end.failed, end.aborted, end.exit_code, end.success) == (1, 1, 1, 100, False)


def test_evaluation_error_gives_file_line_and_column():
    (error,) = of_type(parse(recorded("eval-error.internal-json")), "error")
    assert error.kind == "attribute-missing"
    assert error.message == "error: attribute 'enabel' missing"
    assert error.file.endswith("fixtures/nix/eval-error.nix")
    assert (error.line, error.column) == (10, 28)


def test_hash_mismatch_gives_both_hashes():
    events = parse(recorded("hash-mismatch.internal-json"))
    (error,) = of_type(events, "error")
    assert error.kind == "hash-mismatch"
    assert error.specified == "sha256-AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="
    assert error.got and error.got.startswith("sha256-") and error.got != error.specified
    (failed,) = of_type(events, "derivation.failed")
    assert failed.reason == "hash-mismatch"


def test_noms_recording_of_newer_nix_where_build_stops_come_at_the_end():
    data = (NOM_CORPUS / "nix-output-monitor/test/integration/standard/stderr.json").read_bytes()
    events = parse(data)
    # Each build is reported finished when the Builds counter rises, before any stop.
    order = [(e.__struct_config__.tag, e.name) for e in events
             if e.__struct_config__.tag in ("derivation.started", "derivation.finished")]
    assert order == [(t, f"build{i}") for i in range(1, 5)
                     for t in ("derivation.started", "derivation.finished")]
    assert events[-1].built == 4


def test_noms_failing_recording_matches_noms_own_expectations():
    # nom's test: 1 failed, 1 still running (we: aborted), 1 never started.
    data = (NOM_CORPUS / "nix-output-monitor/test/integration/fail/stderr.json").read_bytes()
    events = parse(data, exit_code=1)
    end = events[-1]
    assert (end.built, end.failed, end.aborted) == (0, 1, 1)
    assert [e.name for e in of_type(events, "derivation.failed")] == ["build-fail"]
    assert [e.name for e in of_type(events, "derivation.aborted")] == ["build-long"]


def test_downloads_of_the_benchmark_log_prefix_are_counted():
    import subprocess

    out = subprocess.run(["zstd", "-dc", str(NOM_CORPUS / "bench/nom-shell-452e7d5.nix-log.zst")],
                         capture_output=True, check=True).stdout[:8_000_000]
    data = out[: out.rfind(b"\n") + 1]
    events = parse(data)
    downloads = of_type(events, "download.finished")
    assert downloads and all(d.source == "https://cache.nixos.org" for d in downloads)
    assert all(d.bytes and d.bytes > 0 for d in downloads)
    # A transfer reports at most once per percent, whatever nix sends.
    per_path: dict[str, int] = {}
    for p in of_type(events, "progress"):
        if p.scope == "copy-path":
            per_path[p.path] = per_path.get(p.path, 0) + 1
    assert per_path and max(per_path.values()) <= 102


# --- every action, activity type and result type ---------------------------------------

DRV = "/nix/store/0123456789abcdfghijklmnpqrsvwxyz-hello-2.12.drv"
OUT = "/nix/store/0123456789abcdfghijklmnpqrsvwxyz-hello-2.12"


def test_every_known_activity_type_is_understood_and_stopped():
    lines = [nix(action="start", id=1, type=104, level=0, text="", fields=[]),
             nix(action="start", id=2, type=105, level=3, text=f"building '{DRV}'",
                 fields=[DRV, "ssh://builder", 1, 1]),
             nix(action="start", id=3, type=100, level=3, text="copying",
                 fields=[OUT, "https://cache.nixos.org", "local"]),
             nix(action="start", id=4, type=100, level=3, text="copying",
                 fields=[OUT + "-up", "local", "ssh://builder"]),
             nix(action="start", id=5, type=101, level=4, text="downloading", fields=["https://x/nar"]),
             nix(action="start", id=6, type=108, level=0, text="", fields=[OUT, "https://cache.nixos.org"])]
    for i, kind in enumerate((0, 102, 103, 106, 107, 109, 110, 111, 112), start=10):
        lines.append(nix(action="start", id=i, type=kind, level=3, text=f"activity {kind}", fields=[DRV]))
    for i in [1, 2, 3, 4, 5, 6, *range(10, 19)]:
        lines.append(nix(action="stop", id=i))
    events = parse(b"".join(lines), exit_code=0)
    (started,) = of_type(events, "derivation.started")
    assert started.machine == "ssh://builder"
    assert of_type(events, "download.finished")[0].source == "https://cache.nixos.org"
    assert of_type(events, "upload.finished")[0].destination == "ssh://builder"
    # Realise and CopyPaths are aggregates: they speak through progress events.
    generic = {e.activity for e in of_type(events, "activity.started")}
    assert generic == {"unknown", "optimise-store", "verify-paths", "query-path-info",
                       "post-build-hook", "build-waiting", "fetch-tree"}
    assert {e.activity for e in of_type(events, "activity.stopped")} == generic


def test_every_known_result_type_is_understood():
    lines = [nix(action="start", id=2, type=105, level=3, text="", fields=[DRV, "", 1, 1]),
             nix(action="start", id=1, type=104, level=0, text="", fields=[]),
             nix(action="start", id=7, type=110, level=3, text="hook", fields=[DRV]),
             nix(action="result", id=2, type=100, fields=[4096, 1]),
             nix(action="result", id=2, type=101, fields=["compiling"]),
             nix(action="result", id=2, type=102, fields=[OUT]),
             nix(action="result", id=2, type=103, fields=[OUT]),
             nix(action="result", id=2, type=104, fields=["checkPhase"]),
             nix(action="result", id=1, type=105, fields=[0, 1, 1, 0]),
             nix(action="result", id=1, type=106, fields=[105, 1]),
             nix(action="result", id=7, type=107, fields=["uploading to cache"]),
             nix(action="result", id=2, type=108, fields=["fetching"]),
             nix(action="result", id=1, type=105, fields=[1, 1, 0, 0]),
             nix(action="stop", id=2)]
    events = parse(b"".join(lines))
    assert [e.phase for e in of_type(events, "phase")] == ["checkPhase"]
    logs = of_type(events, "log.line")
    assert [(e.source, e.text, e.name) for e in logs] == [
        ("build", "compiling", "hello-2.12"), ("post-build-hook", "uploading to cache", "hello-2.12")]
    assert [(e.scope, e.of, e.count) for e in of_type(events, "expected")] == [("builds", "build", 1)]
    texts = [e.text for e in of_type(events, "message")]
    assert any("untrusted" in t for t in texts) and any("corrupted" in t for t in texts)
    assert "fetching" in texts
    assert [e.name for e in of_type(events, "derivation.finished")] == ["hello-2.12"]
    assert not of_type(events, "nix.unknown")


def test_unknown_actions_and_types_become_generic_events():
    # 199: a type no Nix has (113 is upstream master's FetchToStore).
    lines = [nix(action="start", id=1, type=199, level=3, text="new thing", fields=[]),
             nix(action="result", id=1, type=110, payload={"x": 1}),
             nix(action="teleport", id=9),
             # nom issue #179: a counter beyond int64 failed the whole line there.
             nix(action="result", id=1, type=105, fields=[9223372036854775808, 1, 0, 0]),
             nix(action="result", id=1, type=105, fields=[2**70, 1, 0, 0]),
             nix(action="stop", id=1)]
    events = parse(b"".join(lines))
    progress = of_type(events, "progress")
    assert [p.done for p in progress] == [9223372036854775808, 2**70]
    assert b"1180591620717411303424" in msgspec.json.encode(progress[-1])
    (started,) = of_type(events, "activity.started")
    assert started.activity == "type-199" and started.text == "new thing"
    assert len(of_type(events, "activity.stopped")) == 1
    unknown = of_type(events, "nix.unknown")
    assert [u.data.get("action") for u in unknown] == ["result", "teleport"]
    assert unknown[0].data["payload"] == {"x": 1}


def test_build_stopped_without_evidence_is_aborted_when_the_build_failed():
    lines = [nix(action="start", id=1, type=104, level=0, text="", fields=[]),
             nix(action="start", id=2, type=105, level=3, text="", fields=[DRV, "", 1, 1]),
             nix(action="stop", id=2)]
    assert [e.name for e in of_type(parse(b"".join(lines), exit_code=1), "derivation.aborted")] == ["hello-2.12"]
    assert [e.name for e in of_type(parse(b"".join(lines), exit_code=0), "derivation.finished")] == ["hello-2.12"]


# --- inputs nix never sends -----------------------------------------------------------

@pytest.mark.parametrize("line", [
    b"@nix {\"action\":\"start\",\"id\":1",            # truncated
    b"@nix not json at all",
    b"@nix \xff\xfe{\"action\":\"msg\"}",              # invalid UTF-8
    b"@nix []",
    b"@nix {\"action\":\"result\",\"id\":\"x\",\"type\":105,\"fields\":[1]}",
    b"@nix {\"action\":\"msg\",\"level\":\"loud\",\"msg\":7}",
])
def test_garbage_becomes_an_event_and_nothing_raises(line):
    events = parse(line + b"\n" + nix(action="msg", level=1, msg="warning: still here"))
    assert isinstance(events[0], BuildStarted) and isinstance(events[-1], BuildFinished)
    assert any(e.__struct_config__.tag in ("log.line", "nix.unknown") for e in events[1:-1])
    assert [m.text for m in of_type(events, "message")][-1] == "warning: still here"


def test_a_megabyte_line_is_one_event():
    big = "x" * (1 << 20)
    events = parse(nix(action="start", id=2, type=105, level=3, text="", fields=[DRV, "", 1, 1])
                   + nix(action="result", id=2, type=101, fields=[big]) + b"y" * (1 << 20) + b"\n")
    logs = of_type(events, "log.line")
    assert [len(e.text) for e in logs] == [1 << 20, 1 << 20]


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=3000))
def test_arbitrary_bytes_never_raise_and_stream_stays_well_formed(data):
    events = parse(b"@nix " + data) + parse(data)
    for run in (events,):
        assert all(type(e) in ALL_EVENT_TYPES for e in run)


@settings(max_examples=40, deadline=None)
@given(st.lists(st.integers(min_value=1, max_value=700), min_size=1, max_size=40),
       st.sampled_from(["success.internal-json", "build-failure.internal-json",
                        "hash-mismatch.internal-json", "eval-error.internal-json"]))
def test_any_split_of_a_real_log_gives_the_same_events(cuts, stem):
    data = recorded(stem)
    assert wire(parse(data, chunks=cuts)) == wire(parse(data))


# --- a read decoded at once -------------------------------------------------------------
# A read of nix lines only is decoded as one JSON array, a read of text only as one
# string; what comes out must be what decoding each line alone gives (a stream fed one
# byte at a time never has two lines in one read).

NIX_LINES = [
    nix(action="start", id=7, type=100, level=4, text="copying", fields=[OUT, "https://c", ""]),
    nix(action="result", id=7, type=105, fields=[10, 100, 0, 0]),
    nix(action="result", id=7, type=105, fields=[11, 100, 0, 0]),
    nix(action="result", id=7, type=105, fields=["x", 100, 0, 0]),
    nix(action="start", id=8, type=105, level=3, text="", fields=[DRV, "", 1, 1]),
    nix(action="result", id=8, type=101, fields=["make: *** [all] Error 1"]),
    nix(action="result", id=8, type=104, fields=["buildPhase"]),
    nix(action="stop", id=8), nix(action="stop", id=7),
    nix(action="msg", level=0, msg="error: builder for '" + DRV + "' failed with exit code 2"),
    b'@nix {"action":"stop","id":9},{"action":"stop","id":10}\n',  # two values in one line
    b'@nix {"action":"msg","level":1,"msg":"x"}\r\n',  # a PTY's line ending
    b"^C@nix " + nix(action="stop", id=11)[5:], b"@nix [1]\n", b"@nix {\n", b"@nix \xff\n",
    b"plain text \xe2\x94\n", b"\n", b"\r\n",
]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from(NIX_LINES), max_size=30))
def test_a_read_decoded_whole_gives_what_its_lines_give_one_by_one(lines):
    data = b"".join(lines)
    assert wire(parse(data)) == wire(parse(data, chunks=[1] * len(data)))


@settings(max_examples=200, deadline=None)
@given(st.lists(st.binary(max_size=12).map(lambda b: b.replace(b"\n", b"")), max_size=20))
def test_text_decoded_whole_is_text_decoded_line_by_line(lines):
    # Invalid UTF-8 included: a sequence cut by the end of its line is replaced there.
    data = b"\n".join(lines) + b"\n"
    assert wire(parse(data)) == wire(parse(data, chunks=[1] * len(data)))
