"""Mutation fuzzing of every parser entry point and the readers of the CLI.

Seeded from the recordings (``fixtures/recorded``: real nix, nh, activation output;
``fixtures/records``: real ``last-build.json`` / ``build-history.json``), each input is a
seed line or file mutated the way hostile or broken input looks: bytes flipped, cut,
doubled, spliced with another seed, and tokens that broke parsers before inserted
(nesting a thousand deep, ``1e991``, invalid UTF-8, NUL, 2**64, wrong types).  The
generator is a seeded ``random.Random``: a run is reproducible from its seed.

Every entry point promises never to raise on input; any exception is a bug, counted
by (entry point, exception type) with the first input that raised it.

    python3 tasks.py fuzz [--inputs N] [--seed S] [--budget SECONDS]

Entry points (``TARGETS``): the whole stream (``LogStream.feed`` / ``end``: line
splitting, format detection, internal-json, text, nom's view, activation), the
internal-json parser alone, the saved-log helpers (``extract_bytes``,
``failed_phase``), the record readers (``decode_last_build``, ``decode_history``,
the report's build errors and rendering of a fuzzed record), ``flake.lock`` reading.
"""

from __future__ import annotations

import argparse
import contextlib
import random
import re
import sys
import time
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RECORDED = ROOT / "fixtures" / "recorded"
RECORDS = ROOT / "fixtures" / "records"

# Tokens that broke (or could break) a parser: deep nesting, numbers no float holds,
# integers past 64 bits, invalid UTF-8, NUL, control characters, terminal escapes.
TOKENS: tuple[bytes, ...] = (
    b"[" * 1200, b"]" * 1200, b'{"a":' * 1100, b"}" * 1100, b"1e991", b"-1e999", b"1e-999",
    b"18446744073709551616", b"-9223372036854775809", b"\xff", b"\xc3", b"\xed\xa0\x80",
    b"\x00", b"\\u0000", b"\r", b"\x1b[2K", b"\x1b]8;;", b'"', b"\\", b"null", b"true",
    b"[]", b"{}", b'""', b"-1", b"0", b"65536", b"NaN", b"@nix ", b"error: ",
    b"\xe2\x94\x83 ", b"\xe2\x94\x97\xe2\x94\x81 ", b"building '", b"\n", b"\t" * 50,
    b'"action":"start"', b'"action":"result"', b'"action":"stop"', b'"action":"msg"',
    b'"type":105', b'"type":101', b'"fields":[', b'"id":1', b'"level":0',
)
# Values of the wrong type for a record's keys.
WRONG_VALUES: tuple[bytes, ...] = (
    b'"135"', b"1e999", b"-1", b"true", b"null", b"[]", b"{}", b'"a\\u0000b"', b"[1,2]",
    b'{"kind":1}', b"18446744073709551616", b"[" * 1100 + b"]" * 1100, b'"\\ud800"',
)


_KEY = re.compile(rb'":\s*')


def _lines(path: Path) -> list[bytes]:
    return [line for line in path.read_bytes().split(b"\n") if line]


@dataclass
class Seeds:
    lines: list[bytes]
    json_payloads: list[bytes]
    records: list[bytes]

    @classmethod
    def load(cls) -> Seeds:
        lines: list[bytes] = []
        for path in sorted(RECORDED.glob("*")):
            if path.suffix in (".log", ".txt"):
                lines += _lines(path)
        payloads = [line[5:] for line in lines if line.startswith(b"@nix ")]
        records = [p.read_bytes() for p in sorted(RECORDS.glob("*.json"))]
        if not lines or not records:
            raise SystemExit(f"fuzz: no seeds in {RECORDED} / {RECORDS}")
        return cls(lines, payloads, records)


class Mutator:
    def __init__(self, rng: random.Random, seeds: Seeds) -> None:
        self.rng = rng
        self.seeds = seeds

    def mutate(self, data: bytes, rounds: int = 3) -> bytes:
        rng = self.rng
        for _ in range(rng.randint(1, rounds)):
            op = rng.randrange(7)
            pos = rng.randint(0, len(data))
            if op == 0:
                data = data[:pos] + rng.choice(TOKENS) + data[pos:]
            elif op == 1 and data:
                i = rng.randrange(len(data))
                data = data[:i] + bytes([rng.randrange(256)]) + data[i + 1:]
            elif op == 2:
                data = data[:pos]
            elif op == 3:
                end = rng.randint(pos, len(data))
                data = data[:pos] + data[pos:end] * rng.randint(2, 4) + data[end:]
            elif op == 4:
                other = rng.choice(self.seeds.lines)
                data = data[:pos] + other[rng.randint(0, len(other)):]
            elif op == 5:
                data = data[:pos] + rng.choice(WRONG_VALUES) + data[pos:]
            else:
                end = rng.randint(pos, len(data))
                data = data[:pos] + data[end:]
        return data

    def line(self) -> bytes:
        return self.mutate(self.rng.choice(self.seeds.lines))

    def payload(self) -> bytes:
        return self.mutate(self.rng.choice(self.seeds.json_payloads))

    def record(self) -> bytes:
        """A record with one key's value replaced by a wrong one, or mutated bytes."""
        data = self.rng.choice(self.seeds.records)
        if self.rng.random() < 0.6:
            # Swap the value after a random key for a wrong-typed one.
            keys = [m.end() for m in _KEY.finditer(data)]
            if keys:
                at = self.rng.choice(keys)
                end = at
                while end < len(data) and data[end:end + 1] not in (b",", b"\n", b"}"):
                    end += 1
                return data[:at] + self.rng.choice(WRONG_VALUES) + data[end:]
        return self.mutate(data, rounds=2)


# --- the entry points -----------------------------------------------------------------------

Target = Callable[[Mutator, int], int]  # runs up to n inputs, returns how many ran


def _stream_lines(m: Mutator, n: int) -> int:
    """The whole pipeline, as the wrapper and ``events -`` run it: many mutated lines
    through one long-lived stream (state across lines is where bugs hide)."""
    from parsers.clock import ManualClock
    from parsers.events import BuildStarted
    from parsers.stream import LogStream

    done = 0
    while done < n:
        stream = LogStream(ManualClock())
        stream.begin(BuildStarted(build_id="fuzz", source="log"))
        for _ in range(min(2000, n - done)):
            stream.feed(m.line() + m.rng.choice((b"\n", b"\r\n", b"", b"\n\n")))
            done += 1
            if m.rng.random() < 0.01:
                stream.idle()
        stream.end(m.rng.choice((None, 0, 1, 100, 130)))
    return done


def _internal_json(m: Mutator, n: int) -> int:
    from parsers.internal_json import InternalJsonParser
    from parsers.state import ParseState

    done = 0
    while done < n:
        state = ParseState()
        parser = InternalJsonParser(state)
        for _ in range(min(5000, n - done)):
            parser.line(m.payload())
            done += 1
            if len(state.out) > 1000:
                state.out.clear()
    return done


def _saved_log(m: Mutator, n: int) -> int:
    from parsers.replay import extract_bytes, failed_phase

    for _ in range(n):
        log = b"\n".join(m.line() for _ in range(m.rng.randint(1, 30)))
        extract_bytes(log, exit_code=m.rng.choice((None, 1)))
        failed_phase(iter((log,)))
    return n


def _records(m: Mutator, n: int) -> int:
    import msgspec

    from records.read import Damaged, decode_history, decode_last_build
    from status.probes.lastbuild import build_errors
    from status.report import last_build_summary, report_detail

    directory = Path("/nonexistent/nixos-build-status-fuzz")
    for _ in range(n):
        data = m.record()
        record = decode_last_build(data)
        errors = build_errors(record, directory)
        for detail in errors.details:
            report_detail(detail, verbose=True)
        last_build_summary(record, directory)
        history = data if data.lstrip().startswith(b"[") else b"[" + data + b"]"
        with contextlib.suppress(Damaged):
            msgspec.json.encode(decode_history(history))
    return n


def _render(m: Mutator, n: int) -> int:
    """A report made from a fuzzed record, rendered for people and as JSON."""
    from records.read import decode_last_build
    from status.history import summary
    from status.probes.lastbuild import build_errors
    from status.render import render
    from status.report import _build_errors
    from status.schema import (
        BootStatus,
        Buildability,
        Generation,
        JournalErrors,
        StatusReport,
        encode_pretty,
        encode_report,
    )

    directory = Path("/nonexistent/nixos-build-status-fuzz")
    for _ in range(n):
        record = decode_last_build(m.record())
        errors = build_errors(record, directory)
        report = StatusReport(
            timestamp="t", hostname="h", generation=Generation(),
            build_errors=_build_errors(errors, record, directory, m.rng.random() < 0.5),
            boot_status=BootStatus(), journal_errors=JournalErrors(),
            buildability=Buildability(), problems=["last-build-failed"],
            overall_status="build-errors", exit_code=2)
        render(report, verbose=m.rng.random() < 0.5)
        encode_report(report)
        if record is not None:
            from records.schema import history_entry

            encode_pretty(summary([history_entry(record)], directory))
    return n


def _flake_lock(m: Mutator, n: int) -> int:
    import tempfile

    from system.flake import locked_revision

    with tempfile.TemporaryDirectory() as tmp:
        lock = Path(tmp) / "flake.lock"
        base = (b'{"nodes":{"root":{"inputs":{"nixpkgs":"nixpkgs"}},"nixpkgs":{"locked":'
                b'{"rev":"5e4fbfb6b3de1aa2872b76d49fafc942626e2add"}}},"root":"root","version":7}')
        for _ in range(n):
            lock.write_bytes(m.mutate(base))
            locked_revision(lock)
    return n


# Share of the inputs each entry point gets (cheap ones get more).
TARGETS: dict[str, tuple[Target, float]] = {
    "stream": (_stream_lines, 0.50),
    "internal-json": (_internal_json, 0.40),
    "records": (_records, 0.06),
    "render": (_render, 0.025),
    "saved-log": (_saved_log, 0.01),
    "flake.lock": (_flake_lock, 0.005),
}


@dataclass
class Finding:
    target: str
    error: str
    first_input: str
    traceback: str
    count: int = 1


@dataclass
class Result:
    seed: int
    counts: dict[str, int] = field(default_factory=dict)
    findings: dict[tuple[str, str], Finding] = field(default_factory=dict)
    seconds: float = 0.0

    @property
    def total(self) -> int:
        return sum(self.counts.values())


class _Recording(Mutator):
    """Remembers the last input it made, for the report of a finding."""

    last: bytes = b""

    def mutate(self, data: bytes, rounds: int = 3) -> bytes:
        self.last = super().mutate(data, rounds)
        return self.last


def run(inputs: int = 1_000_000, seed: int = 0, budget: float | None = None,
        targets: Sequence[str] | None = None, batch: int = 500) -> Result:
    """Run ``inputs`` inputs (or until ``budget`` seconds), spread over the targets."""
    seeds = Seeds.load()
    chosen = {k: v for k, v in TARGETS.items() if targets is None or k in targets}
    weight = sum(w for _, w in chosen.values())
    result = Result(seed)
    started = time.monotonic()
    for name, (target, share) in chosen.items():
        rng = random.Random(f"{seed}:{name}")
        mutator = _Recording(rng, seeds)
        wanted = max(1, round(inputs * share / weight))
        target_budget = budget * share / weight if budget is not None else None
        target_started = time.monotonic()
        done = 0
        while done < wanted:
            if target_budget is not None and time.monotonic() - target_started > target_budget:
                break
            step = min(batch, wanted - done)
            try:
                done += target(mutator, step)
            except Exception as exc:  # the finding: what the fuzzer is for
                done += 1
                key = (name, type(exc).__name__)
                if key in result.findings:
                    result.findings[key].count += 1
                else:
                    result.findings[key] = Finding(name, f"{type(exc).__name__}: {exc}"[:300],
                                                   repr(mutator.last[:300]),
                                                   traceback.format_exc(limit=6))
        result.counts[name] = done
    result.seconds = time.monotonic() - started
    return result


def report(result: Result, out: Callable[[str], object] = print) -> None:
    rate = result.total / result.seconds if result.seconds else 0.0
    out(f"fuzz: {result.total} inputs in {result.seconds:.1f} s ({rate:,.0f}/s), "
        f"seed {result.seed}")
    for name, count in result.counts.items():
        out(f"  {name:<14} {count:>9}")
    if not result.findings:
        out("fuzz: no exception")
        return
    out(f"fuzz: {len(result.findings)} distinct exception(s):")
    for finding in result.findings.values():
        out(f"  [{finding.target}] {finding.error}  (x{finding.count})")
        out(f"    first input: {finding.first_input}")
        out("    " + finding.traceback.replace("\n", "\n    "))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="tasks.py fuzz", description=__doc__.split("\n\n")[0])
    parser.add_argument("--inputs", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=int(time.time()) % 100_000)
    parser.add_argument("--budget", type=float, default=600.0,
                        help="stop after this many seconds in all (default 600)")
    parser.add_argument("--target", action="append", choices=sorted(TARGETS))
    args = parser.parse_args(argv)
    result = run(args.inputs, args.seed, args.budget, args.target)
    report(result)
    return 1 if result.findings else 0


if __name__ == "__main__":
    sys.exit(main())
