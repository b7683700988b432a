#!/usr/bin/env python3
"""Accuracy of the error extractor, measured on real logs.

Two sets:

* ``../shared/corpus/real/``: logs pasted by users, hand-labelled (``NNN.json``; see its
  README for the conventions: root cause first, one entry per failing derivation,
  ``message`` a verbatim line of the log);
* the recorded fixtures (``fixtures/recorded/``: real nix 2.8 runs and activation
  output) and nom's recorded test logs (``../shared/corpus/nom/``), whose expected
  errors follow from the scenario and are written below.

A predicted error matches a labelled one when the kinds are equal and the messages
agree (one contains the other, ignoring colours, spacing, a leading ``error:`` and
trailing punctuation); for the fixtures, whose store hashes vary, the derivation and a
fragment of the message are compared instead.  Matching is one to one, in order.

Figures:

* root cause: on failed builds, the first error reported (root causes first) is the
  labelled root cause;
* recall: labelled errors found; precision: reported errors that are labelled (every
  reported error counts, also on successful builds);
* false alarms: successful builds for which any error is reported;
* position: labelled file and line of evaluation errors reproduced (matched errors).

    python3 bench/score_errors.py          # figures, and every case that is not perfect
"""

from __future__ import annotations

import json
import os
import re
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from parsers.errors.order import ordered_errors  # noqa: E402
from parsers.events import ErrorEvent  # noqa: E402
from parsers.replay import extract_bytes  # noqa: E402

# Beside the checkout, or where NIXOS_BUILD_TEST_SHARED points (as for the tests).
SHARED = Path(os.environ.get("NIXOS_BUILD_TEST_SHARED") or ROOT.parent / "shared")
REAL_CORPUS = SHARED / "corpus" / "real"
NOM_CORPUS = SHARED / "corpus" / "nom"
RECORDED = ROOT / "fixtures" / "recorded"

TARGETS = {"root_cause": 0.95, "recall": 0.90, "precision": 0.90}


@dataclass
class Expected:
    """One labelled error.  ``message`` must agree with the reported message (real
    corpus); ``fragment`` need only appear in it (fixtures)."""

    kind: str
    message: str | None = None
    fragment: str | None = None
    derivation: str | None = None
    file: str | None = None
    line: int | None = None


@dataclass
class Case:
    name: str
    data: Callable[[], bytes]
    success: bool
    expected: list[Expected]


@dataclass
class Result:
    case: Case
    reported: list[ErrorEvent]
    matched: list[tuple[Expected, ErrorEvent]] = field(default_factory=list)

    @property
    def root_cause_ok(self) -> bool:
        return bool(self.reported and self.case.expected
                    and _matches(self.case.expected[0], self.reported[0]))


@dataclass
class Summary:
    name: str
    results: list[Result]

    def _failed(self) -> list[Result]:
        return [r for r in self.results if not r.case.success]

    @property
    def root_cause(self) -> float:
        failed = self._failed()
        return sum(r.root_cause_ok for r in failed) / len(failed) if failed else 1.0

    @property
    def recall(self) -> float:
        labelled = sum(len(r.case.expected) for r in self.results)
        return sum(len(r.matched) for r in self.results) / labelled if labelled else 1.0

    @property
    def precision(self) -> float:
        reported = sum(len(r.reported) for r in self.results)
        return sum(len(r.matched) for r in self.results) / reported if reported else 1.0

    @property
    def false_alarms(self) -> int:
        return sum(1 for r in self.results if r.case.success and r.reported)

    @property
    def successes(self) -> int:
        return sum(1 for r in self.results if r.case.success)

    def positions(self) -> tuple[int, int]:
        """(reproduced, labelled) file+line pairs of matched errors."""
        labelled = reproduced = 0
        for result in self.results:
            for expected, error in result.matched:
                if expected.file is None:
                    continue
                labelled += 1
                reproduced += expected.file == error.file and expected.line == error.line
        return reproduced, labelled

    def meets_targets(self) -> bool:
        return (self.root_cause >= TARGETS["root_cause"] and self.recall >= TARGETS["recall"]
                and self.precision >= TARGETS["precision"] and self.false_alarms == 0)


# --- matching -------------------------------------------------------------------------

_ANSI = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]")


def _norm(text: str) -> str:
    text = " ".join(_ANSI.sub("", text).split())
    text = re.sub(r"^error:\s*", "", text)
    return text.rstrip(":;. ")


def _matches(expected: Expected, error: ErrorEvent) -> bool:
    if expected.kind != error.kind:
        return False
    if expected.derivation is not None and expected.fragment is not None \
            and expected.derivation != error.derivation:
        return False
    if expected.fragment is not None:
        return expected.fragment in error.message
    if expected.message is None:
        return True
    want, got = _norm(expected.message), _norm(error.message)
    return bool(want) and (want in got or (len(got) >= 12 and got in want))


def score_case(case: Case) -> Result:
    reported = ordered_errors(extract_bytes(case.data(), exit_code=None))
    result = Result(case, reported)
    free = list(reported)
    for expected in case.expected:
        match = next((e for e in free if _matches(expected, e)), None)
        if match is not None:
            free.remove(match)
            result.matched.append((expected, match))
    return result


# --- the two sets ---------------------------------------------------------------------


def real_cases(directory: Path = REAL_CORPUS) -> list[Case]:
    cases = []
    for label_path in sorted(directory.glob("*.json")):
        label: dict[str, Any] = json.loads(label_path.read_text())
        log = label_path.with_suffix(".log")
        cases.append(Case(
            name=f"real/{log.stem}",
            data=log.read_bytes,
            success=label["outcome"] == "success",
            expected=[Expected(kind=e["kind"], message=e["message"], derivation=e.get("derivation"),
                               file=e.get("file"), line=e.get("line"))
                      for e in label["errors"]],
        ))
    return cases


_BROKEN_TOOL = [
    Expected("build-failure", fragment="failed with exit code 2", derivation="broken-tool-0.3.1"),
    Expected("dependency-failure", fragment="dependencies of derivation",
             derivation="nixos-system-demo-24.11.20241124"),
]
_ENABEL = [Expected("attribute-missing", fragment="attribute 'enabel' missing",
                   file="/work/main/fixtures/nix/eval-error.nix", line=10)]
_HASH = [Expected("hash-mismatch", fragment="hash mismatch in fixed-output derivation")]
_NOM_FAIL = [Expected("build-failure", fragment="failed with exit code 1", derivation="build-fail")]

# Expected errors of each recording, from what the recording is of.
FIXTURES: dict[str, list[Expected]] = {
    "success.internal-json.log": [],
    "success.plain.log": [],
    "build-failure.internal-json.log": _BROKEN_TOOL,
    "build-failure.plain.log": _BROKEN_TOOL,
    "build-failure.nix-build-cli.log": _BROKEN_TOOL,
    "eval-error.internal-json.log": _ENABEL,
    "eval-error.plain.log": _ENABEL,
    "eval-error.show-trace.log": _ENABEL,
    "hash-mismatch.internal-json.log": _HASH,
    "hash-mismatch.plain.log": _HASH,
    "activation.ok.txt": [],
    "activation.unit-failed.txt": [
        Expected("activation-unit-failed", fragment="the following units failed: demo-web.service")],
    "home-activation.ok.txt": [],
    "home-activation.clobber.txt": [
        Expected("home-manager-clobber", fragment="Existing file '/home/alice/.config/git/config'"),
        Expected("home-manager-clobber", fragment="Existing file '/home/alice/.bashrc'"),
    ],
}
NOM_LOGS: dict[str, list[Expected]] = {
    "nix-output-monitor/test/integration/standard/stderr": [],
    "nix-output-monitor/test/integration/standard/stderr.json": [],
    "nix-output-monitor/test/integration/fail/stderr": _NOM_FAIL,
    "nix-output-monitor/test/integration/fail/stderr.json": _NOM_FAIL,
    "history/a02adfd-2022-11-27/test/golden/standard/stderr": [],
    "history/a02adfd-2022-11-27/test/golden/standard/stderr.json": [],
    "history/a02adfd-2022-11-27/test/golden/fail/stderr": _NOM_FAIL,
    "history/a02adfd-2022-11-27/test/golden/fail/stderr.json": _NOM_FAIL,
    "history/87fbd21-2022-03-05/test/golden1.stderr": [],
    "history/ab0217c-2022-03-05/test/golden1.nix-build-output": [],
    "history/87328ed-2025-11-19/log.json": [],
}


def fixture_cases() -> list[Case]:
    cases = [Case(f"fixtures/{name}", (RECORDED / name).read_bytes, not expected, expected)
             for name, expected in FIXTURES.items()]
    cases += [Case(f"nom/{name}", (NOM_CORPUS / name).read_bytes, not expected, expected)
              for name, expected in NOM_LOGS.items() if (NOM_CORPUS / name).exists()]
    return cases


def score(name: str, cases: Sequence[Case]) -> Summary:
    return Summary(name, [score_case(case) for case in cases])


# --- report ---------------------------------------------------------------------------


def _pct(value: float) -> str:
    return f"{value * 100:.1f}%"


def report(summary: Summary) -> str:
    failed = [r for r in summary.results if not r.case.success]
    pos_ok, pos_all = summary.positions()
    lines = [
        f"{summary.name}: {len(summary.results)} logs ({len(failed)} failed builds, "
        f"{summary.successes} successful)",
        f"  root cause    {_pct(summary.root_cause)}  ({sum(r.root_cause_ok for r in failed)}/{len(failed)}, "
        f"target >= {_pct(TARGETS['root_cause'])})",
        f"  recall        {_pct(summary.recall)}  (target >= {_pct(TARGETS['recall'])})",
        f"  precision     {_pct(summary.precision)}  (target >= {_pct(TARGETS['precision'])})",
        f"  false alarms  {summary.false_alarms} of {summary.successes} successful builds (target 0)",
        f"  eval position {pos_ok}/{pos_all} file and line reproduced",
    ]
    for result in summary.results:
        missed = [e for e in result.case.expected if all(e is not m for m, _ in result.matched)]
        extra = [e for e in result.reported if all(e is not r for _, r in result.matched)]
        if not missed and not extra and (result.case.success or result.root_cause_ok):
            continue
        lines.append(f"  - {result.case.name}:" + ("" if result.root_cause_ok or result.case.success
                                                   else " wrong root cause"))
        lines.extend(f"      missed {e.kind}: {e.message or e.fragment}" for e in missed)
        lines.extend(f"      extra  {e.kind}: {e.message}" for e in extra)
    return "\n".join(lines)


def main() -> None:
    print("\n## errors: extractor accuracy")
    summaries = [score("corpus/real (hand-labelled)", real_cases()),
                 score("recorded fixtures and nom's test logs", fixture_cases())]
    for summary in summaries:
        print(report(summary))
    verdict = all(s.meets_targets() for s in summaries)
    print(f"targets (root cause >= 95%, recall >= 90%, precision >= 90%, no false alarm): "
          f"{'met' if verdict else 'NOT met'}")


if __name__ == "__main__":
    main()
