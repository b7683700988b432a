"""Lazy patterns (parsers/patterns.py): compiled at first use, so a broken one would
only fail when a log first needs it.  Every one in the error classifier is compiled
here, and a lazy pattern answers as the compiled one does."""

from __future__ import annotations

import re

from parsers.errors import classify
from parsers.patterns import lazy


def _lazy_patterns() -> list[object]:
    found = []
    for value in vars(classify).values():
        for item in value if isinstance(value, (list, tuple)) else [value]:
            item = item[1] if isinstance(item, tuple) and len(item) == 2 else item
            if type(item).__name__ == "_LazyPattern":
                found.append(item)
    return found


def test_every_pattern_of_the_classifier_compiles():
    patterns = _lazy_patterns()
    assert len(patterns) > 40
    for pattern in patterns:
        assert isinstance(pattern.pattern, str)


def test_a_lazy_pattern_answers_as_the_compiled_one():
    source, flags = r"^\s*(?:specified|wanted):\s*(\S+)", re.M
    text = "error: hash mismatch\n  specified: sha256-A\n  got: sha256-B\n"
    compiled, deferred = re.compile(source, flags), lazy(source, flags)
    assert deferred.search(text).group(1) == compiled.search(text).group(1) == "sha256-A"
    assert deferred.findall(text) == compiled.findall(text)
    assert deferred.sub("", text) == compiled.sub("", text)
    assert deferred.pattern == source and deferred.flags == compiled.flags
