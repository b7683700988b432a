"""`nixos-build-status events` on nom's 1.03M-line real log vs `jq -c .` on the same
JSON, and memory at a quarter and at the whole of the log (it must stay flat)."""

from __future__ import annotations

import sys

from common import CACHE, bench_json, bench_log, heading, median_run, tool


def main() -> None:
    heading("events: parser throughput vs jq (nom's 1.03M-line log)")
    log = bench_log()
    with open(log, "rb") as f:
        lines = sum(1 for _ in f)
    status = tool("nixos-build-status")
    if status is None:
        sys.exit("nixos-build-status is not installed in this environment")
    ours_wall, ours_cpu, ours_rss = median_run([status, "events", str(log)])
    jq = tool("jq")
    print(f"nixos-build-status events: {ours_wall:.2f} s wall ({lines / ours_wall / 1e3:.0f}k lines/s), "
          f"{ours_cpu:.2f} s CPU, max RSS {ours_rss / 1024:.0f} MiB")
    if jq:
        jq_wall, _, jq_rss = median_run([jq, "-c", ".", str(bench_json())])
        print(f"jq -c .:                   {jq_wall:.2f} s wall ({lines / jq_wall / 1e3:.0f}k lines/s), "
              f"max RSS {jq_rss / 1024:.0f} MiB")
        print(f"ratio: ours is {jq_wall / ours_wall:.2f}x faster than jq (target >= 3x)")
    else:
        print("jq not installed: no baseline")
    quarter = CACHE / "nom-shell-quarter.nix-log"
    if not quarter.exists():
        data = log.read_bytes()
        cut = data.rfind(b"\n", 0, len(data) // 4) + 1
        quarter.write_bytes(data[:cut])
    _, _, q_rss = median_run([status, "events", str(quarter)], runs=1)
    print(f"memory: max RSS {q_rss / 1024:.0f} MiB on a quarter of the log, "
          f"{ours_rss / 1024:.0f} MiB on all of it (target: flat, <= 100 MiB)")


if __name__ == "__main__":
    main()
