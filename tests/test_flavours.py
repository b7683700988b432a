"""Streams of the Nix flavours not runnable here, written from their published source
(fixtures/flavours/, fixtures/README.md): Determinate Nix's payload results, upstream
master's FetchToStore, Lix's stream and wording."""

from __future__ import annotations

from pathlib import Path

import pytest

from parsers.payloads import FAILURE_KINDS
from tests.conftest import FIXTURES, of_type, parse

FLAVOURS = FIXTURES / "flavours"


def events_of(name: str) -> list:
    return parse((FLAVOURS / name).read_bytes(), exit_code=1)


def test_determinate_build_results_become_derivation_events_with_their_status():
    events = events_of("determinate-3.6.build-failure.internal-json.log")
    assert [(e.name, e.status) for e in of_type(events, "derivation.finished")] == [
        ("libbase-1.0", "Built")]
    assert [(e.name, e.status, e.exit_code, e.reason) for e in of_type(events, "derivation.failed")] == [
        ("broken-tool-0.3.1", "PermanentFailure", 2, "builder-failed"),
        ("source-eddd3809.tar.gz", "HashMismatch", None, "hash-mismatch")]
    # Each failure once, although the BuildResult and nix's message both report it.
    errors = of_type(events, "error")
    assert [(e.kind, e.derivation, e.root_cause) for e in errors] == [
        ("build-failure", "broken-tool-0.3.1", True),
        ("hash-mismatch", "source-eddd3809.tar.gz", True),
        ("dependency-failure", "nixos-system-demo-24.11.20241124", False)]
    assert errors[0].log_tail[-1] == "make: *** [Makefile:12: src/main.o] Error 1"
    assert errors[1].specified == "sha256-AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="
    assert not of_type(events, "nix.unknown")
    # The dependent was never started: not aborted, not finished.
    assert not of_type(events, "derivation.aborted")


def test_every_build_result_status_maps_onto_one_error_kind():
    from parsers.events import ERROR_KINDS

    assert set(FAILURE_KINDS.values()) <= set(ERROR_KINDS)
    assert FAILURE_KINDS["TimedOut"] == "timeout" and FAILURE_KINDS["NoSubstituters"] == "download"


@pytest.mark.parametrize(("status", "kind"), [("TimedOut", "timeout"),
                                              ("DependencyFailed", "dependency-failure"),
                                              ("MiscFailure", "other")])
def test_a_status_decides_the_kind(status: str, kind: str):
    drv = "/nix/store/8l8nlczszkhvi8rgq7rzgdkj6gcjxppf-broken-tool-0.3.1.drv"
    line = (f'@nix {{"action":"result","id":1,"type":110,"payload":{{"status":"{status}","errorMsg":"",'
            f'"path":{{"drvPath":"{drv}","outputs":["out"]}}}}}}\n')
    (error,) = of_type(parse(line.encode(), exit_code=1), "error")
    assert (error.kind, error.drv_path, error.root_cause) == (kind, drv, kind != "dependency-failure")


def test_payloads_of_unknown_shape_are_kept_whole():
    line = b'@nix {"action":"result","id":1,"type":110,"payload":{"something":"new"}}\n'
    (unknown,) = of_type(parse(line), "nix.unknown")
    assert unknown.data["payload"] == {"something": "new"}
    not_an_object = b'@nix {"action":"result","id":1,"type":110,"payload":[1,2]}\n'
    assert of_type(parse(not_an_object), "nix.unknown")


def test_upstream_master_fetch_to_store_is_not_determinate_hash_mismatch():
    events = events_of("nix-master.fetch-to-store.internal-json.log")
    assert [e.activity for e in of_type(events, "activity.started")] == ["fetch-to-store"]
    assert not of_type(events, "nix.unknown") and not of_type(events, "error")
    assert [e.name for e in of_type(events, "derivation.finished")] == ["libbase-1.0"]


def test_lix_stream_and_wording():
    events = events_of("lix-2.93.build-failure.internal-json.log")
    errors = of_type(events, "error")
    assert [(e.kind, e.derivation) for e in errors] == [
        ("build-failure", "broken-tool-0.3.1"), ("hash-mismatch", "source-eddd3809.tar.gz"),
        ("dependency-failure", "nixos-system-demo-24.11.20241124")]
    # The tab-indented "nix log" hint is not part of the quoted tail.
    assert errors[0].log_tail == ["unpacking source archive broken-tool-0.3.1.tar.gz",
                                  "build flags: -j2 SHELL=/bin/sh",
                                  "src/main.c:42:7: error: 'config_t' has no member named 'verbose'",
                                  "make: *** [Makefile:12: src/main.o] Error 1"]
    # Lix 2.91+: "likely URL", right-aligned "specified:" / "got:".
    assert (errors[1].specified, errors[1].got) == (
        "sha256-AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
        "sha256-vfuuPBJcqu/zcbTl1pTWEKlZhbkP/LoBNFK+rK+weMQ=")
    assert [e.name for e in of_type(events, "derivation.finished")] == ["libbase-1.0"]
    assert not of_type(events, "nix.unknown")


def test_fixture_files_are_said_to_be_written_from_source():
    readme = (FIXTURES / "README.md").read_text()
    for path in sorted(Path(FLAVOURS).iterdir()):
        assert path.name in readme
