"""Derivation state stays bounded whatever the log (issue 17): open derivations kept
apart from ended ones, lazily allocated log tails, a cap on what is remembered, and
still every event the stream promises."""

from __future__ import annotations

import pytest

from parsers import derivations
from parsers.clock import ManualClock
from parsers.derivations import DrvState, Tracker
from parsers.events import BuildStarted, Event
from parsers.stream import LogStream
from tests.conftest import of_type, parse


def drv(n: int) -> str:
    return f"/nix/store/{n:032d}-package-{n}.drv"


def building(count: int) -> bytes:
    return b"".join(b"building '%s'...\n" % drv(n).encode() for n in range(count))


def json_build(n: int, log: bool = False) -> bytes:
    start = (b'@nix {"action":"start","id":%d,"level":3,"type":105,"text":"","fields":["%s","",1,1]}\n'
             % (1000 + n, drv(n).encode()))
    line = (b'@nix {"action":"result","id":%d,"type":101,"fields":["output of %d"]}\n'
            % (1000 + n, n)) if log else b""
    done = b'@nix {"action":"result","id":1,"type":105,"fields":[%d,0,0,0]}\n' % (n + 1)
    return start + line + b'@nix {"action":"stop","id":%d}\n' % (1000 + n) + done


def test_states_are_an_enum_and_open_is_running_or_stopped():
    assert [s.value for s in DrvState] == ["running", "stopped", "finished", "failed", "aborted"]
    assert [s for s in DrvState if s.open] == [DrvState.RUNNING, DrvState.STOPPED]


def test_a_derivation_without_log_lines_allocates_no_tail():
    out: list[Event] = []
    tracker = Tracker(out)
    quiet = tracker.start(drv(1), None)
    chatty = tracker.start(drv(2), None)
    tracker.log(drv(2), "\x1b[1mmake\x1b[0m all")
    assert quiet.tail is None and chatty.tail is not None
    assert tracker.tail(drv(2)) == ["make all"]
    assert tracker.tail(drv(1)) == []


def test_a_plain_log_opening_more_than_the_cap_ends_the_oldest_and_reports_every_one(
        monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(derivations, "MAX_OPEN", 10)
    monkeypatch.setattr(derivations, "ENDED_KEPT", 5)
    stream_events = parse(building(1000), exit_code=0)
    started = of_type(stream_events, "derivation.started")
    finished = of_type(stream_events, "derivation.finished")
    assert [e.drv_path for e in started] == [drv(n) for n in range(1000)]
    # Each derivation ends exactly once: the oldest as the cap is passed, the last ten
    # at the end (the build succeeded).
    assert sorted(e.drv_path for e in finished) == sorted(drv(n) for n in range(1000))
    assert [e.drv_path for e in finished[:3]] == [drv(0), drv(1), drv(2)]
    assert of_type(stream_events, "build.finished")[0].built == 1000


def test_memory_is_bounded_however_many_derivations_end(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(derivations, "ENDED_KEPT", 5)
    stream = LogStream(ManualClock())
    stream.begin(BuildStarted(build_id="t", source="log"))
    stream.feed(b'@nix {"action":"start","id":1,"level":3,"type":104,"text":"","fields":[]}\n')
    events: list[Event] = []
    for n in range(300):
        events += stream.feed(json_build(n, log=n % 2 == 0))
    tracker = stream.state.tracker
    assert len(tracker.drvs) <= 5 and not tracker.open
    events += stream.end(0)
    assert len(of_type(events, "derivation.finished")) == 300
    assert of_type(events, "build.finished")[0].built == 300


def test_a_failed_derivation_is_remembered_past_the_cap(monkeypatch: pytest.MonkeyPatch):
    # A failure is an error the stream reports anyway; nix repeating it later (its
    # summary at the end) must not fail the derivation twice.
    monkeypatch.setattr(derivations, "ENDED_KEPT", 2)
    out: list[Event] = []
    tracker = Tracker(out)
    tracker.start(drv(0), None)
    assert tracker.fail(drv(0), 1) is not None
    for n in range(1, 20):
        tracker.start(drv(n), None)
        tracker.builds_progress(1, n, 1)
    assert not tracker.open and len(tracker.drvs) == 3
    assert tracker.fail(drv(0), 1) is None
    assert tracker.failed == 1 and tracker.built == 19
    assert not tracker.got_through()


def test_open_derivations_resolve_in_the_order_their_paths_were_first_seen():
    out: list[Event] = []
    tracker = Tracker(out)
    for n in (3, 1, 2):
        tracker.start(drv(n), None)
    tracker.fail(drv(3), 1)
    tracker.start(drv(3), None)  # started again: keeps its place
    tracker.finish(True)
    assert [e.drv_path for e in of_type(out, "derivation.finished")] == [drv(3), drv(1), drv(2)]
