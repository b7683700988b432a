"""LogStream: the envelope (first, last, seq), prompts, several sources at once."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from parsers.clock import ManualClock
from parsers.events import BuildFinished, BuildStarted
from parsers.stream import LogStream
from tests.conftest import of_type, recorded, wire


def test_an_unfinished_line_becomes_a_prompt_once_and_only_when_quiet():
    stream = LogStream(ManualClock())
    stream.begin(BuildStarted(build_id="b"))
    assert stream.feed(b"building the system configuration...\n[sudo] password for alice: ")
    assert stream.has_partial()
    (prompt,) = stream.idle()
    assert prompt.__struct_config__.tag == "prompt" and prompt.text == "[sudo] password for alice: "
    assert stream.idle() == []                       # not twice for the same text
    events = stream.feed(b"\n")
    assert [e.text for e in of_type(events, "log.line")] == ["[sudo] password for alice: "]
    assert not stream.has_partial()


def test_the_start_of_a_structured_line_is_not_a_prompt():
    stream = LogStream(ManualClock())
    stream.begin(BuildStarted(build_id="b"))
    for partial in (b"@", b"@ni", b"@nix ", b'@nix {"action":'):
        stream.feed(partial)
        assert stream.idle() == []
        stream.feed(b"\n")


def test_nhs_text_and_nixs_stream_in_one_terminal_share_one_numbering_and_state():
    stream = LogStream(ManualClock())
    events = stream.begin(BuildStarted(build_id="b"))
    nix = recorded("success.internal-json")
    half = nix.rindex(b"\n", 0, len(nix) // 2) + 1
    events += stream.feed(b"\x1b[32m>\x1b[0m Building NixOS configuration\n" + nix[:half])
    events += stream.feed(nix[half:] + b"\x1b[32m>\x1b[0m Activating configuration\n")
    events += stream.end(0)
    assert [e.seq for e in events] == list(range(1, len(events) + 1))
    assert isinstance(events[0], BuildStarted) and isinstance(events[-1], BuildFinished)
    assert events[-1].built == 5
    tool_lines = [e.text for e in of_type(events, "log.line") if e.source == "tool"]
    assert tool_lines[0] == "\x1b[32m>\x1b[0m Building NixOS configuration"
    assert tool_lines[-1] == "\x1b[32m>\x1b[0m Activating configuration"
    assert [e.step for e in of_type(events, "activation")] == ["activate"]


@settings(max_examples=50, deadline=None)
@given(st.lists(st.binary(max_size=300), max_size=30))
def test_any_chunks_and_pauses_keep_the_envelope(chunks):
    stream = LogStream(ManualClock())
    events = stream.begin(BuildStarted(build_id="b"))
    for data in chunks:
        events += stream.feed(data)
        events += stream.idle()
    events += stream.end(None)
    assert isinstance(events[0], BuildStarted) and isinstance(events[-1], BuildFinished)
    assert [e.seq for e in events] == list(range(1, len(events) + 1))
    assert sum(isinstance(e, BuildFinished) for e in events) == 1
    assert wire(events)  # every event encodes
