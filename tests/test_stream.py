"""LogStream: the envelope (first, last, seq), prompts, several sources at once."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from parsers.clock import ManualClock
from parsers.events import BuildFinished, BuildStarted
from parsers.stream import NIX, TTY, LogStream
from tests.conftest import of_type, recorded, wire


def test_an_unfinished_line_becomes_a_prompt_once_and_only_when_quiet():
    stream = LogStream(ManualClock())
    stream.begin(BuildStarted(build_id="b"))
    assert stream.feed(b"building the system configuration...\n[sudo] password for alice: ")
    assert stream.has_partial(TTY)
    (prompt,) = stream.idle(TTY)
    assert prompt.__struct_config__.tag == "prompt" and prompt.text == "[sudo] password for alice: "
    assert stream.idle(TTY) == []                       # not twice for the same text
    events = stream.feed(b"\n")
    assert [e.text for e in of_type(events, "log.line")] == ["[sudo] password for alice: "]
    assert not stream.has_partial(TTY)


def test_the_start_of_a_structured_line_is_not_a_prompt():
    stream = LogStream(ManualClock())
    stream.begin(BuildStarted(build_id="b"))
    for partial in (b"@", b"@ni", b"@nix ", b'@nix {"action":'):
        stream.feed(partial)
        assert stream.idle(TTY) == []
        stream.feed(b"\n")


def test_two_sources_share_one_numbering_and_one_state():
    stream = LogStream(ManualClock(), tty_is_nix=False)
    events = stream.begin(BuildStarted(build_id="b"))
    nix = recorded("success.internal-json")
    half = len(nix) // 2
    events += stream.feed(b"\x1b[32m>\x1b[0m Building NixOS configuration\n", TTY)
    events += stream.feed(nix[:half], NIX)
    events += stream.feed(b"> still building\n", TTY)
    events += stream.feed(nix[half:], NIX)
    events += stream.end(0)
    assert [e.seq for e in events] == list(range(1, len(events) + 1))
    assert isinstance(events[0], BuildStarted) and isinstance(events[-1], BuildFinished)
    assert events[-1].built == 5
    tool_lines = [e.text for e in of_type(events, "log.line") if e.source == "tool"]
    assert tool_lines[:2] == ["\x1b[32m>\x1b[0m Building NixOS configuration", "> still building"]


def test_terminal_text_that_only_renders_the_exact_stream_is_not_counted_twice():
    stream = LogStream(ManualClock(), tty_is_nix=False)
    stream.begin(BuildStarted(build_id="b"))
    stream.feed(recorded("success.plain"), TTY)           # as if nom or nix printed it
    stream.feed(recorded("success.internal-json"), NIX)
    assert stream.end(0)[-1].built == 5


@settings(max_examples=50, deadline=None)
@given(st.lists(st.tuples(st.sampled_from([TTY, NIX]), st.binary(max_size=300)), max_size=30))
def test_any_interleaving_of_sources_keeps_the_envelope(chunks):
    stream = LogStream(ManualClock())
    events = stream.begin(BuildStarted(build_id="b"))
    for source, data in chunks:
        events += stream.feed(data, source)
        events += stream.idle(source)
    events += stream.end(None)
    assert isinstance(events[0], BuildStarted) and isinstance(events[-1], BuildFinished)
    assert [e.seq for e in events] == list(range(1, len(events) + 1))
    assert sum(isinstance(e, BuildFinished) for e in events) == 1
    assert wire(events)  # every event encodes
