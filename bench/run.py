#!/usr/bin/env python3
"""Run every benchmark (bench_*.py here, and the error extractor's accuracy scorer)
and print their figures and ratios.

    python3 tasks.py bench            # all
    python3 tasks.py bench events     # those whose name contains "events"

Each benchmark compares against a baseline measured in the same run (jq, grep, the
tool run bare, python doing nothing) so the ratios mean something on any machine.
"""

from __future__ import annotations

import importlib
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main(argv: list[str]) -> int:
    sys.path.insert(0, str(HERE))
    names = [*sorted(p.stem for p in HERE.glob("bench_*.py")), "score_errors"]
    if argv:
        names = [n for n in names if any(a in n for a in argv)]
    print(f"# nixos-build-status benchmarks ({time.strftime('%Y-%m-%d %H:%M')}, "
          f"python {sys.version.split()[0]})")
    failed = []
    for name in names:
        try:
            importlib.import_module(name).main()
        except Exception as exc:  # report it and go on with the others
            print(f"\n{name}: FAILED: {type(exc).__name__}: {exc}", flush=True)
            failed.append(name)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
