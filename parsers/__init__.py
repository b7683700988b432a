"""Pure parsers: bytes and lines in, typed events out.  No I/O, no clock reads except
through a given clock, and no exceptions on any input."""
