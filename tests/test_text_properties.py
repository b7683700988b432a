"""Properties every text-side parser keeps: total (any input, no exception, a
well-formed stream) and incremental (however the bytes are cut, the same events)."""

from __future__ import annotations

from pathlib import Path

from hypothesis import example, given, settings
from hypothesis import strategies as st

from parsers import activation, store, terminal
from parsers.errors import classify as nixerrors
from parsers.events import ALL_EVENT_TYPES, ERROR_KINDS, BuildFinished, BuildStarted
from parsers.nomview import NomView
from tests.conftest import NOM_CORPUS, REAL_CORPUS, RECORDED, parse, wire

# Pieces of every format, so that random text hits the parsers' states and not only
# their "nothing recognised" path.
PIECES = [
    "error:", "error: ", "       ", "… while evaluating", "at /x.nix:1:2:", "  12| x", "> ",
    "builder for '/nix/store/00000000000000000000000000000000-a.drv' failed with exit code 1",
    "Cannot build '/nix/store/00000000000000000000000000000000-b.drv'.", "Reason: ",
    "last 10 log lines:", "For full logs, run 'nix log /nix/store/x-c.drv'.", "hash mismatch",
    "specified:", "got:", "building '/nix/store/00000000000000000000000000000000-d.drv'...",
    "these 2 derivations will be built:", "  /nix/store/x-e.drv",
    "warning: the following units failed: a.service", "× a.service - A", "Nov 08 12:14:18 h u[1]: ",
    "Existing file '/h/.x' is in the way of '/nix/store/y'", "┏━ 1 Errors: ", "┃ ", "┣━", "┗━ ∑ ",
    "⚠ x failed with exit code 1 after ⏱ 1s in buildPhase", "⏵", "\ufe0e", "Error:", "Caused by:",
    "Traceback (most recent call last):", "ValueError: x", "Command 'x' returned non-zero exit status 4.",
    "Running phase: buildPhase", "name> ", " host | ", "\x1b[31;1m", "\x1b[0m", "\x1b]8;;file://x\x07",
    "\x1b[2K", "\x1b[1F", "\r", "\n", "\n", "\n", "sudo: a password is required", "No space left on device",
    "Permission denied (publickey).", "error: --- EvalError --- nix", "(use '--show-trace'", "Failed assertions:",
    "- item", "activating the configuration...", "x",
]
text_soup = st.lists(st.sampled_from(PIECES), max_size=60).map("".join)


def _well_formed(events: list) -> None:
    assert isinstance(events[0], BuildStarted) and isinstance(events[-1], BuildFinished)
    assert [e.seq for e in events] == list(range(1, len(events) + 1))
    assert all(type(e) in ALL_EVENT_TYPES for e in events)
    assert all(e.kind in ERROR_KINDS for e in events if e.__struct_config__.tag == "error")


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=3000))
def test_arbitrary_bytes_never_raise(data):
    _well_formed(parse(data))


@settings(max_examples=300, deadline=None)
@given(text_soup)
def test_arbitrary_mixes_of_every_format_never_raise(text):
    _well_formed(parse(text.encode()))


@settings(max_examples=40, deadline=None)
@given(text_soup, st.lists(st.integers(min_value=1, max_value=50), min_size=1, max_size=30))
def test_any_split_of_mixed_text_gives_the_same_events(text, cuts):
    data = text.encode()
    assert wire(parse(data, chunks=cuts)) == wire(parse(data))


REAL_LOGS = sorted(REAL_CORPUS.glob("*.log")) + sorted(RECORDED.glob("*.log")) + sorted(
    RECORDED.glob("*.txt")) + [p for p in sorted(NOM_CORPUS.rglob("stderr*")) if p.is_file()]


@settings(max_examples=60, deadline=None)
@given(st.sampled_from(REAL_LOGS),
       st.lists(st.integers(min_value=1, max_value=4000), min_size=1, max_size=40))
def test_any_split_of_a_real_log_gives_the_same_events(path: Path, cuts):
    data = path.read_bytes()
    assert wire(parse(data, chunks=cuts)) == wire(parse(data))


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=400) | text_soup)
def test_the_pieces_are_total_on_their_own(text):
    event = nixerrors.classify(text)
    assert event.kind in ERROR_KINDS and "\n" not in event.message
    nixerrors.key_line(text.split("\n"))
    assert terminal.unwrap(terminal.visible(text))[1] >= 0
    view = NomView()
    block = activation.StatusBlock(["a.service"], "warning: the following units failed: a.service")
    for line in text.split("\n"):
        view.line(line)
        block.take(line, 1, lambda message: None)
        block.take(line, 0, lambda message: None)
        activation.step(line)
    assert block.error(False).kind == "activation-unit-failed"


@given(st.text(alphabet="ab \t\r", max_size=40))
def test_a_cr_only_line_shows_its_last_non_blank_redraw(raw):
    # Found from the end (a progress meter's line can hold a million redraws).
    raw += "\r"
    expected = next((part for part in reversed(raw.split("\r")) if part.strip()), "")
    assert terminal.visible(raw) == expected


NOM_PIECES = ["┃ ", "┃ \x1b[34m┌─ \x1b[0m\x1b[34m⏸ etc\x1b[0m", "┃ ⏵ hello", "┃    │  ",
              "┃ ⚠ x failed with exit code 1 after ⏱ 1s in buildPhase", "┃ error: boom", ":",
              "┃ at /x.nix:1:2:", "┏━ 1 Errors: ", "┣━━━ Builds", "┗━ ∑ ⏵ 0 │ ✔ 1 │ Finished at 10:00:01",
              "\x1b[2K", "\x1b[1F", "\r", "\x1b[31m", "error: x", "  /nix/store/x-a.drv", "x",
              "these 2 derivations will be built:", "  /nix/store/y-b.drv ", " | ", "\t"]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.lists(st.sampled_from(NOM_PIECES), max_size=4).map("".join), max_size=30))
@example(["these 2 derivations will be built:", "  /nix/store/x-a.drv\x1b[31m",
          "┃ \x1b[34m┌─ \x1b[0m\x1b[2K┃ ⚠ x failed with exit code 1",
          "┃ \x1b[34m┌─ \x1b[0m\x1b[2Kbuilding '/nix/store/00000000000000000000000000000000-d.drv'..."])
def test_noms_frame_and_plans_are_read_the_same_with_or_without_colours(lines):
    # nom's graph lines are passed over unread (colours and all), a plan's store paths
    # taken straight; an escape in front sends each line through the whole reading.
    plain = "".join(line + "\n" for line in lines).encode()
    coloured = "".join("\x1b[0m" + line + "\n" for line in lines).encode()

    def read(data: bytes) -> list:
        return [{k: v for k, v in e.items() if k != "seq"}
                for e in wire(parse(data)) if e["type"] != "log.line"]
    assert read(plain) == read(coloured)


@settings(max_examples=500, deadline=None)
@given(st.lists(st.sampled_from(["\x1b[2K", "\x1b[1F", "\x1b[3G", "\x1b[5;1H", "\r", "\x1b[31m",
                                 "\x1b[0m", "\x1b]8;;x\x07", " ", "a", "┃ b", "\t"]), max_size=30).map("".join))
def test_what_a_line_shows_is_its_last_non_blank_part_between_resets(raw):
    # visible() reads from the last erase first; the answer is the plain definition's
    # (a line with no escape and no "\r" is shown as it is, blank or not).
    raw = "\x1b[0m" + raw
    parts = [store.strip_ansi(part) for part in terminal._RESET.split(raw)]
    assert terminal.visible(raw) == next((p for p in reversed(parts) if p.strip()), "")
