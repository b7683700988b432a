"""docs/events.md and parsers/events.py describe the same contract."""

from __future__ import annotations

import re

import msgspec
import pytest

from parsers.events import ALL_EVENT_TYPES, ERROR_KINDS, SCHEMA_VERSION, decoder, type_name
from tests.conftest import ROOT

DOC = (ROOT / "docs" / "events.md").read_text()
SECTIONS = dict(re.findall(r"^### `([a-z.]+)`\n(.*?)(?=^### |^## |\Z)", DOC, re.M | re.S))


def example(section: str) -> bytes:
    m = re.search(r"```json\n(.*?)\n```", section, re.S)
    assert m, "no JSON example"
    return m.group(1).encode()


def test_every_type_is_documented_and_nothing_else():
    assert set(SECTIONS) == {type_name(t) for t in ALL_EVENT_TYPES}


@pytest.mark.parametrize("name", sorted(type_name(t) for t in ALL_EVENT_TYPES))
def test_each_example_decodes_strictly_and_round_trips(name):
    raw = example(SECTIONS[name])
    event = decoder().decode(raw)
    assert type_name(type(event)) == name
    assert event.v == SCHEMA_VERSION and event.seq > 0 and event.ts.endswith("Z")
    # Every documented key is a field of the type (an unknown key would be a typo) and
    # every field is shown.
    assert set(msgspec.json.decode(raw)) == set(msgspec.to_builtins(event))
    assert msgspec.json.decode(msgspec.json.encode(event)) == msgspec.json.decode(raw)


def test_error_kinds_are_the_documented_vocabulary():
    documented = re.search(r"## Error kinds\n\n(.*?)\n\n", DOC, re.S).group(1)
    assert re.findall(r"`([a-z-]+)`", documented) == list(ERROR_KINDS)
