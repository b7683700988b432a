"""`nixos-build-status events` on nom's 1.03M-line real log vs `jq -c .` on the same
JSON, and memory at a quarter and at the whole of the log (it must stay flat)."""

from __future__ import annotations

from pathlib import Path

from common import MissingInput, bench_json, bench_log, cached, heading, median_run, tool


def main() -> None:
    heading("events: parser throughput vs jq (nom's 1.03M-line log)")
    log = bench_log()
    with open(log, "rb") as f:
        lines = sum(1 for _ in f)
    status = tool("nixos-build-status")
    if status is None:
        raise MissingInput("nixos-build-status is not installed in this environment")
    ours_wall, ours_cpu, ours_rss = median_run([status, "events", str(log)])
    jq = tool("jq")
    print(f"nixos-build-status events: {ours_wall:.2f} s wall ({lines / ours_wall / 1e3:.0f}k lines/s), "
          f"{ours_cpu:.2f} s CPU ({lines / ours_cpu / 1e3:.0f}k lines per CPU second), "
          f"max RSS {ours_rss / 1024:.0f} MiB")
    if jq:
        jq_wall, _, jq_rss = median_run([jq, "-c", ".", str(bench_json())])
        print(f"jq -c .:                   {jq_wall:.2f} s wall ({lines / jq_wall / 1e3:.0f}k lines/s), "
              f"max RSS {jq_rss / 1024:.0f} MiB")
        print(f"ratio: ours is {jq_wall / ours_wall:.2f}x faster than jq")
    else:
        print("jq not installed: no baseline")
    grep_wall, _, _ = median_run(["grep", "-c", '"type":105', str(log)], stdout=str(log) + ".count")
    print(f"grep -c (output to a file): {grep_wall:.2f} s wall ({lines / grep_wall / 1e6:.1f}M lines/s)")
    rate = lines / ours_wall
    print(f"target >= 1M lines/s: {'met' if rate >= 1e6 else 'NOT met'} ({rate / 1e6:.2f}M)")

    def cut_quarter(tmp: Path) -> None:
        data = log.read_bytes()
        tmp.write_bytes(data[:data.rfind(b"\n", 0, len(data) // 4) + 1])
    quarter = cached("nom-shell-quarter.nix-log", [log], cut_quarter)
    _, _, q_rss = median_run([status, "events", str(quarter)], runs=1)
    print(f"memory: max RSS {q_rss / 1024:.0f} MiB on a quarter of the log, "
          f"{ours_rss / 1024:.0f} MiB on all of it (target: flat, <= 100 MiB)")


if __name__ == "__main__":
    main()
