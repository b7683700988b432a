"""The extractor's accuracy on the hand-labelled real corpus and the recordings meets
its targets (root cause >= 95%, recall >= 90%, precision >= 90%, no false alarm on a
successful build).  The scorer is ``bench/score_errors.py``; run it for the figures."""

from __future__ import annotations

import importlib.util
import sys
from types import ModuleType

import pytest

from tests.conftest import REAL_CORPUS, ROOT


def _scorer() -> ModuleType:
    spec = importlib.util.spec_from_file_location("score_errors", ROOT / "bench" / "score_errors.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("score_errors", module)
    spec.loader.exec_module(module)
    return module


scorer = _scorer()


@pytest.mark.skipif(not REAL_CORPUS.is_dir(), reason="the real corpus is not beside the project")
def test_real_corpus_meets_the_targets():
    summary = scorer.score("corpus/real", scorer.real_cases())
    assert len(summary.results) >= 50
    assert summary.meets_targets(), scorer.report(summary)


def test_recordings_meet_the_targets():
    summary = scorer.score("fixtures", scorer.fixture_cases())
    assert summary.meets_targets(), scorer.report(summary)
    reproduced, labelled = summary.positions()
    assert labelled and reproduced == labelled, scorer.report(summary)


def test_matching_is_strict_about_kind_and_message():
    from parsers.events import ErrorEvent

    label = scorer.Expected(kind="eval-error", message="error: undefined variable 'x'")
    assert scorer._matches(label, ErrorEvent(kind="eval-error", message="error: undefined variable 'x'"))
    assert not scorer._matches(label, ErrorEvent(kind="other", message="error: undefined variable 'x'"))
    assert not scorer._matches(label, ErrorEvent(kind="eval-error", message="error: undefined variable 'y'"))
    # A short reported message does not match by being contained in a long label.
    assert not scorer._matches(label, ErrorEvent(kind="eval-error", message="error"))


WRAPPINGS = {
    "crlf": lambda d: d.replace(b"\n", b"\r\n"),
    "journal": lambda d: b"".join(b"Nov 08 12:14:18 host nixos-upgrade-start[123]: " + line
                                  for line in d.splitlines(True)),
    "journal in another locale": lambda d: b"".join(
        "déc. 08 12:14:18 host nixos-upgrade-start[123]: ".encode() + line for line in d.splitlines(True)),
    "deployment host": lambda d: b"".join(b"      web-1 | " + line for line in d.splitlines(True)),
}


@pytest.mark.skipif(not REAL_CORPUS.is_dir(), reason="the real corpus is not beside the project")
@pytest.mark.parametrize("wrapping", sorted(WRAPPINGS))
def test_real_logs_read_through_a_journal_a_deployment_tool_or_crlf_give_the_same_errors(wrapping):
    from parsers.errors.order import ordered_errors
    from parsers.replay import extract_bytes

    def found(data: bytes) -> list[tuple[str, str, int | None]]:
        return [(e.kind, e.message, e.line) for e in ordered_errors(extract_bytes(data))]

    for log in sorted(REAL_CORPUS.glob("*.log")):
        data = log.read_bytes()
        if b"@nix " in data:
            continue  # nix's structured lines are not read inside a prefix
        assert found(WRAPPINGS[wrapping](data)) == found(data), log.name
