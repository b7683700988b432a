"""A short run of the fuzz harness (``python3 tasks.py fuzz`` runs a million inputs):
every parser entry point and every record reader, fixed seeds, no exception allowed."""

from __future__ import annotations

import pytest

from fuzz import harness


@pytest.mark.parametrize("seed", [0, 1])
def test_no_entry_point_raises_on_mutated_recordings(seed: int) -> None:
    result = harness.run(inputs=12_000, seed=seed)
    lines: list[str] = []
    harness.report(result, lines.append)
    assert not result.findings, "\n".join(lines)
    assert set(result.counts) == set(harness.TARGETS)
    assert all(count > 0 for count in result.counts.values())


def test_the_mutator_makes_the_inputs_that_broke_parsers_before() -> None:
    """The harness must be able to reach the known bugs' shapes: deep nesting, numbers
    out of range, invalid UTF-8 in keys."""
    tokens = b"".join(harness.TOKENS)
    assert b"[" * 1000 in tokens and b"1e991" in tokens and b"\xff" in tokens


def test_a_raising_target_is_reported_with_its_input(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(m: harness.Mutator, n: int) -> int:
        m.line()
        raise ValueError("boom")

    monkeypatch.setitem(harness.TARGETS, "broken", (broken, 1.0))
    result = harness.run(inputs=10, seed=0, targets=["broken"])
    finding = result.findings[("broken", "ValueError")]
    assert finding.count == 10 and finding.first_input.startswith("b")
    lines: list[str] = []
    harness.report(result, lines.append)
    assert any("ValueError: boom" in line for line in lines)
