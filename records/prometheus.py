"""Prometheus textfiles (node_exporter's textfile collector): rendering metric families
in the text exposition format 0.0.4, reading our own samples back, and replacing the
file atomically (docs/metrics.md).

Written here rather than with ``prometheus_client``: its import costs ~90 ms (an HTTP
server, threads, a global registry) for the few lines of escaping used; ``promtool
check metrics`` and a real Prometheus check the output in the tests.  No sample
carries a timestamp (node_exporter rejects them), every family has HELP and TYPE."""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final, Literal

from records.files import atomic_write, read_nofollow

MetricType = Literal["gauge", "counter"]
Labels = tuple[tuple[str, str], ...]
# A previous file larger than this is not ours (or is garbage): start over.
MAX_READ_BACK: Final = 1 << 20


@dataclass
class Family:
    name: str
    type: MetricType
    help: str
    samples: list[tuple[Labels, float]] = field(default_factory=list)

    def add(self, value: float, **labels: str) -> Family:
        self.samples.append((tuple(labels.items()), value))
        return self


def _escape_help(text: str) -> str:
    return text.replace("\\", "\\\\").replace("\n", "\\n")


def _escape_label(text: str) -> str:
    return text.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _value(value: float) -> str:
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    if float(value).is_integer() and abs(value) < 2**53:
        return str(int(value))
    return repr(float(value))


def render(families: Iterable[Family]) -> bytes:
    """The exposition text: HELP and TYPE before each family's samples, a family with
    no samples left out (a HELP line with nothing under it says nothing)."""
    lines: list[str] = []
    for family in families:
        if not family.samples:
            continue
        lines.append(f"# HELP {family.name} {_escape_help(family.help)}")
        lines.append(f"# TYPE {family.name} {family.type}")
        for labels, value in family.samples:
            text = ",".join(f'{k}="{_escape_label(v)}"' for k, v in labels)
            lines.append(f"{family.name}{{{text}}} {_value(value)}" if text
                         else f"{family.name} {_value(value)}")
    return ("\n".join(lines) + "\n").encode() if lines else b""


def write_textfile(path: Path, families: Iterable[Family]) -> None:
    """Replace ``path`` (in node_exporter's directory) atomically: a temporary file in
    the same directory, then a rename, so a scrape never reads half a file.  The
    temporary name starts with a dot and does not end in ``.prom``: the collector
    skips it."""
    atomic_write(path, render(families), mode=0o644)


# One sample line as render() writes it: name, optional labels, value, no timestamp.
_SAMPLE: Final = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$')
_LABEL: Final = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"(?:,|$)')
_UNESCAPE: Final = re.compile(r"\\(.)")


@dataclass(frozen=True)
class Sample:
    name: str
    labels: Mapping[str, str]
    value: float


def read_samples(path: Path) -> list[Sample]:
    """The samples of a file this module wrote; lines that are not samples, or not
    well-formed, are skipped.  A missing, oversized, unreadable or non-UTF-8 file (or
    a symlink) gives nothing: whoever reads it back starts over, never raises."""
    try:
        data = read_nofollow(path)
    except OSError:
        return []
    if data is None or len(data) > MAX_READ_BACK:
        return []
    try:
        text = data.decode()
    except UnicodeDecodeError:
        return []
    samples: list[Sample] = []
    for line in text.splitlines():
        m = _SAMPLE.match(line)
        if m is None:
            continue
        labels = _labels(m.group(2) or "")
        if labels is None:
            continue
        try:
            value = float(m.group(3))
        except ValueError:
            continue
        samples.append(Sample(m.group(1), labels, value))
    return samples


def _labels(text: str) -> dict[str, str] | None:
    labels: dict[str, str] = {}
    pos = 0
    while pos < len(text):
        m = _LABEL.match(text, pos)
        if m is None:
            return None
        labels[m.group(1)] = _UNESCAPE.sub(
            lambda c: "\n" if c.group(1) == "n" else c.group(1), m.group(2))
        pos = m.end()
    return labels
