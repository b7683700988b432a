"""The record formats: docs/records.md and the Structs agree, the key order of what the
wrapper writes is the recorded one, and the one reader reads old and damaged files."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import msgspec
import pytest

from parsers.clock import ManualClock
from parsers.events import BuildStarted
from parsers.stream import LogStream
from records.read import (
    MAX_RECORD_BYTES,
    Damaged,
    decode_as,
    decode_history,
    decode_last_build,
    read_capped,
    read_history,
    read_last_build,
)
from records.schema import (
    DerivationCounts,
    ErrorDetail,
    FailedDerivation,
    GenerationInfo,
    HistoryEntry,
    LastBuild,
    encode_record,
    history_entry,
)
from status.schema import HistorySummary, StatusReport
from tests.conftest import ROOT, recorded

DOC = (ROOT / "docs" / "records.md").read_text()
SECTIONS = dict(re.findall(r"^### `(\w+)`\n(.*?)(?=^### |^## |\Z)", DOC, re.M | re.S))
DOCUMENTED: dict[str, type[msgspec.Struct]] = {
    "LastBuild": LastBuild, "GenerationInfo": GenerationInfo, "ErrorDetail": ErrorDetail,
    "FailedDerivation": FailedDerivation, "DerivationCounts": DerivationCounts,
    "HistoryEntry": HistoryEntry, "StatusReport": StatusReport, "HistorySummary": HistorySummary,
}
GOLDEN = ROOT / "fixtures" / "records" / "last-build.build-failure.json"
GOLDEN_HISTORY = ROOT / "fixtures" / "records" / "build-history.build-failure.json"


def example(name: str) -> bytes:
    m = re.search(r"```json\n(.*?)\n```", SECTIONS[name], re.S)
    assert m, f"no JSON example for {name}"
    return m.group(1).encode()


def keys(value: Any) -> Any:
    """The key order of a JSON value, all the way down."""
    if isinstance(value, dict):
        return [(k, keys(v)) for k, v in value.items()]
    if isinstance(value, list):
        return [keys(v) for v in value]
    return None


# --- docs/records.md -------------------------------------------------------------------------

def test_every_format_is_documented_and_nothing_else() -> None:
    assert set(SECTIONS) == set(DOCUMENTED)


@pytest.mark.parametrize("name", sorted(DOCUMENTED))
def test_each_example_decodes_and_encodes_the_same_keys_in_the_same_order(name: str) -> None:
    raw = example(name)
    value = msgspec.json.decode(raw, type=DOCUMENTED[name])  # strict: types must match
    documented = json.loads(raw)
    encoded = json.loads(msgspec.json.encode(value))
    assert encoded == documented          # no documented key is unknown, none is missing
    assert keys(encoded) == keys(documented)


def test_the_status_md_example_is_a_report() -> None:
    text = (ROOT / "docs" / "status.md").read_text()
    raw = re.search(r"## The JSON object\n.*?```json\n(.*?)\n```", text, re.S).group(1)  # type: ignore[union-attr]
    report = msgspec.json.decode(raw.encode(), type=StatusReport)
    assert report.overall_status == "success" and report.exit_code == 0


# --- what the wrapper writes ---------------------------------------------------------------

def test_golden_last_build_json_reads_and_writes_back_byte_for_byte() -> None:
    data = GOLDEN.read_bytes()
    record = decode_last_build(data)
    assert record is not None and record.exit_code == 100
    assert encode_record(record) == data


def test_a_new_record_has_the_recorded_key_order() -> None:
    """The record of a real failed build, made now, has the keys of the recorded
    last-build.json in the same order (jq users and diffs rely on it)."""
    from sinks.record import BuildRecord, generation

    golden = json.loads(GOLDEN.read_bytes())
    stream = LogStream(ManualClock())
    events = stream.begin(BuildStarted(
        build_id="b", source="wrapper", hostname="h", user="u", target="os", action="switch",
        tool="nixos-rebuild", argv=golden["argv"], log_path=golden["buildLogPath"]))
    events += stream.feed(recorded("build-failure.internal-json"))
    events += stream.end(100)
    record = BuildRecord()
    record.handle(events)
    record.log_dir = golden["logDir"]
    record.pre_generation = record.post_generation = generation(golden["preGeneration"])
    made = json.loads(encode_record(record.to_record()))
    assert keys(made) == keys(golden)
    assert made["errors"] == golden["errors"] and isinstance(made["errors"], str)


def test_history_entries_are_the_record_slimmed_with_the_same_key_order() -> None:
    golden = json.loads(GOLDEN_HISTORY.read_bytes())
    entries = decode_history(GOLDEN_HISTORY.read_bytes())
    assert json.loads(msgspec.json.encode(entries)) == golden
    record = decode_last_build(GOLDEN.read_bytes())
    assert record is not None
    entry = json.loads(msgspec.json.encode(history_entry(record)))
    assert list(entry) == list(json.loads(GOLDEN.read_bytes()))
    assert all("logTail" not in d and "trace" not in d for d in entry["errorDetails"])


# --- the one reader ------------------------------------------------------------------------

def test_a_record_of_the_original_bash_wrapper_reads_with_defaults() -> None:
    original = {"buildStart": "2025-11-14T15:30:00+00:00", "buildEnd": "2025-11-14T15:32:15+00:00",
                "buildDuration": 135, "target": "os", "action": "switch", "tool": "nh",
                "flakePath": "/etc/nixos", "exitCode": 0, "success": True,
                "hostname": "nixos-hetzner-sway", "user": "vpittamp", "command": "nh os switch",
                "preGeneration": {"generation": "g41", "commit": "abc"},
                "postGeneration": {"generation": "g42"},
                "buildLogPath": "/var/log/nixos-builds/last-build.log", "errors": ""}
    record = decode_last_build(json.dumps(original).encode())
    assert record is not None
    assert record.schema_version == 0 and record.success and record.build_duration == 135
    assert record.pre_generation == GenerationInfo(generation="g41")
    assert record.error_details == [] and record.derivations == DerivationCounts()


@pytest.mark.parametrize(("key", "value"), [
    ("buildDuration", "135"), ("exitCode", "1e999"), ("success", "yes"), ("argv", {"a": 1}),
    ("errorDetails", "oops"), ("preGeneration", []), ("errors", 5),
    ("derivations", [1, 2]), ("flakePath", "/etc/nix\x00os"), ("buildLogPath", "/x\x00y"),
    ("failedDerivations", [[[[]]]]),
])
def test_a_wrong_typed_key_reads_as_its_default_and_the_rest_is_kept(key: str, value: Any) -> None:
    data = json.loads(GOLDEN.read_bytes())
    data[key] = "@@" if value == "1e999" else value
    # 1e999 is valid JSON that no float holds (json.dumps would write Infinity).
    record = decode_last_build(json.dumps(data).replace('"@@"', "1e999").encode())
    assert record is not None
    assert record.exit_code == (None if key == "exitCode" else 100)
    field = next(f for f in msgspec.structs.fields(LastBuild) if f.encode_name == key)
    default = field.default if field.default is not msgspec.NODEFAULT else field.default_factory()
    assert getattr(record, field.name) == default
    assert record.build_id == data["buildId"]


def test_entries_of_error_details_that_are_not_errors_are_left_out() -> None:
    data = json.loads(GOLDEN.read_bytes())
    data["errorDetails"] = [3, {"kind": "x"}, {"kind": "k", "message": "m", "line": "12"},
                            "s", {"kind": "k2", "message": "m2"}]
    record = decode_last_build(json.dumps(data).encode())
    assert record is not None
    assert [(d.kind, d.line) for d in record.error_details] == [("k", None), ("k2", None)]


def test_deep_nesting_reads_as_damaged_and_never_raises() -> None:
    deep = b"[" * 5000 + b"]" * 5000
    assert decode_last_build(deep) is None
    # Deep in one key: damaged, or that key's default (the decoder's limit depends on
    # the stack already in use): never an exception, never the nested value.
    record = decode_last_build(b'{"buildId": "b", "argv": ' + deep + b"}")
    assert record is None or record.argv == []
    with pytest.raises(Damaged):
        decode_history(deep)
    with pytest.raises(Damaged):
        decode_history(b'[{"buildId": "a"}, {"x": ' + deep + b"}]")


def test_nesting_within_the_decoders_limit_in_one_key_costs_only_that_key() -> None:
    nested = b"[" * 200 + b"]" * 200
    record = decode_last_build(b'{"buildId": "b", "argv": ' + nested + b', "exitCode": 2}')
    assert record is not None and record.argv == [] and record.exit_code == 2


def test_one_damaged_history_entry_is_left_out_not_the_history() -> None:
    history = b'[{"buildId": "a", "buildDuration": 1e999}, {"buildId": "b"}, 7, "x"]'
    entries = decode_history(history)
    assert [e.build_id for e in entries] == ["a", "b"]
    assert entries[0].build_duration is None


def test_reading_is_capped_and_only_from_regular_files(tmp_path: Path) -> None:
    import os

    big = tmp_path / "last-build.json"
    with open(big, "wb") as f:
        f.truncate(MAX_RECORD_BYTES + 1)
    assert read_last_build(tmp_path) is None
    with pytest.raises(Damaged):
        read_capped(big)
    big.unlink()
    os.mkfifo(tmp_path / "build-history.json")   # a FIFO would block a plain open()
    assert read_history(tmp_path) is None
    assert read_capped(tmp_path / "absent") is None


def test_what_is_not_an_object_reads_as_nothing() -> None:
    for data in (b"null", b"1", b'"x"', b"[]", b"1.5", b"", b"{", b"\xff"):
        assert decode_as(data, LastBuild) is None
    assert decode_as(b"{}", ErrorDetail) is None   # kind and message are required


# --- the library: Structs, or their dicts, never re-parsed JSON --------------------------------

def test_the_library_returns_the_structs_and_their_dicts(tmp_path: Path) -> None:
    import nixos_build_status as lib

    (tmp_path / "last-build.json").write_bytes(GOLDEN.read_bytes())
    (tmp_path / "build-history.json").write_bytes(GOLDEN_HISTORY.read_bytes())
    record = lib.last_build(tmp_path)
    assert isinstance(record, LastBuild)
    as_dict = lib.get_last_build_status(tmp_path)
    assert as_dict == json.loads(GOLDEN.read_bytes())
    assert list(as_dict or {}) == list(json.loads(GOLDEN.read_bytes()))
    assert all(isinstance(e, HistoryEntry) for e in lib.build_history(tmp_path))
    summary = lib.get_build_history_summary(tmp_path)
    assert summary["total"] == 1 and summary["builds"][0]["exitCode"] == 100
    assert lib.get_last_build_exit_code(tmp_path) == 100
    assert lib.was_last_build_successful(tmp_path) is False


def test_the_library_does_not_parse_its_own_json() -> None:
    """status/api.py builds values from the Structs: no json.loads of anything it
    encoded itself."""
    source = (ROOT / "status" / "api.py").read_text()
    assert "json.loads" not in source and "msgspec.json.decode" not in source


def test_error_details_carry_every_field_of_the_error_event() -> None:
    """errorDetails is the error event without its envelope: a field added to the event
    (such as ``hint``) reaches last-build.json, the history (slimmed) and the report."""
    from parsers.events import ErrorEvent
    from records.schema import SlimErrorDetail, error_detail
    from status.schema import ReportErrorDetail

    event_fields = [f for f in ErrorEvent.__struct_fields__ if f not in ("type", "v", "seq", "ts")]
    assert list(ErrorDetail.__struct_fields__) == event_fields
    assert list(ReportErrorDetail.__struct_fields__) == event_fields
    heavy = {"log_tail", "trace", "detail"}
    assert list(SlimErrorDetail.__struct_fields__) == [f for f in event_fields if f not in heavy]
    error = ErrorEvent(kind="hash-mismatch", message="error: hash mismatch", hint="use sha256-B")
    assert error_detail(error).hint == "use sha256-B"
