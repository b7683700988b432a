from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from parsers.lines import LineSplitter


def split_all(data: bytes, cuts: list[int], max_line: int = 1 << 24) -> list[bytes]:
    splitter = LineSplitter(max_line)
    lines: list[bytes] = []
    pos = 0
    for cut in sorted(cuts):
        lines += splitter.feed(data[pos:cut])
        pos = cut
    lines += splitter.feed(data[pos:])
    return lines + splitter.flush()


def test_lines_come_out_without_newline_and_tail_waits():
    splitter = LineSplitter()
    assert splitter.feed(b"one\ntw") == [b"one"]
    assert splitter.pending == b"tw"
    assert splitter.feed(b"o\r\nthree") == [b"two\r"]
    assert splitter.flush() == [b"three"]
    assert splitter.flush() == []


def test_a_line_longer_than_the_limit_is_cut_not_kept_whole():
    splitter = LineSplitter(max_line=10)
    lines = splitter.feed(b"x" * 25)
    assert lines == [b"x" * 10, b"x" * 10]
    assert splitter.pending == b"x" * 5
    assert splitter.feed(b"\n") == [b"x" * 5]


@given(st.binary(max_size=2000), st.lists(st.integers(min_value=0, max_value=2000), max_size=20))
def test_any_split_of_the_input_gives_the_same_lines(data, cuts):
    cuts = [c for c in cuts if c <= len(data)]
    lines = split_all(data, cuts)
    assert lines == split_all(data, [])
    assert b"\n".join(lines) + (b"\n" if data.endswith(b"\n") else b"") == data


@given(st.binary(max_size=500), st.lists(st.integers(min_value=0, max_value=500), max_size=10))
def test_bounded_lines_keep_every_byte_and_memory_stays_bounded(data, cuts):
    splitter = LineSplitter(max_line=7)
    lines: list[bytes] = []
    pos = 0
    for cut in sorted(c for c in cuts if c <= len(data)):
        lines += splitter.feed(data[pos:cut])
        pos = cut
        assert len(splitter.pending) <= 7
    lines += splitter.feed(data[pos:]) + splitter.flush()
    assert b"".join(lines) == data.replace(b"\n", b"")


@given(st.binary(max_size=300), st.lists(st.integers(min_value=0, max_value=300), max_size=12))
def test_bounded_lines_do_not_depend_on_where_reads_end(data, cuts):
    # A long line is cut at multiples of the limit from its start, and one of exactly
    # that length followed by its newline is one piece, not a piece and an empty line.
    cuts = [c for c in cuts if c <= len(data)]
    lines = split_all(data, cuts, max_line=5)
    assert lines == split_all(data, [], max_line=5)
    assert all(len(line) <= 5 for line in lines)


def test_a_line_of_exactly_the_limit_read_in_pieces_is_one_line():
    splitter = LineSplitter(max_line=10)
    assert splitter.feed(b"x" * 10) == []
    assert splitter.feed(b"y" * 10) == [b"x" * 10]
    assert splitter.feed(b"\nz") == [b"y" * 10]
    assert splitter.flush() == [b"z"]


def test_a_tail_arriving_a_byte_at_a_time_is_joined_once():
    # The unfinished line is kept as its reads (linear time for a huge line or a
    # progress meter redrawn with \r and no \n); it comes out whole.
    splitter = LineSplitter()
    for byte in b"a\rb\rc":
        assert splitter.feed(bytes([byte])) == []
    assert splitter.has_pending()
    assert splitter.pending == b"a\rb\rc"
    assert splitter.feed(b"d\n") == [b"a\rb\rcd"]
    assert not splitter.has_pending()
