"""Max RSS of ``nixos-build-status events`` (the whole parser, every event encoded) on
inputs that once made memory grow without bound: a million empty lines (one event
batch per read) and a million distinct ``building '…'`` lines (a million derivations;
a plain log never says one ended).  Each is also measured at a tenth of its size:
memory must be flat (target: <= 100 MiB), and time linear."""

from __future__ import annotations

from pathlib import Path

from common import MissingInput, cached, heading, median_run, tool

HERE = Path(__file__)
LINES = 1_000_000


def empty_lines(count: int) -> Path:
    def make(tmp: Path) -> None:
        tmp.write_bytes(b"\n" * count)
    return cached(f"empty-{count}.log", [HERE], make)


def building_lines(count: int) -> Path:
    def make(tmp: Path) -> None:
        with open(tmp, "wb") as out:
            for start in range(0, count, 10_000):
                out.write(b"".join(b"building '/nix/store/%032d-package-%d.drv'...\n" % (n, n)
                                   for n in range(start, min(count, start + 10_000))))
    return cached(f"building-{count}.log", [HERE], make)


def main() -> None:
    heading("memory: max RSS of events on a million empty / building lines (target <= 100 MiB, flat)")
    status = tool("nixos-build-status")
    if status is None:
        raise MissingInput("nixos-build-status is not installed in this environment")
    for name, make in (("empty lines", empty_lines), ("building '…' lines", building_lines)):
        small_wall, _, small_rss = median_run([status, "events", str(make(LINES // 10))])
        wall, _, rss = median_run([status, "events", str(make(LINES))])
        verdict = "met" if rss <= 100 * 1024 and rss <= small_rss * 1.5 else "NOT met"
        print(f"{LINES:,} {name:20} max RSS {rss / 1024:4.0f} MiB ({LINES // 10:,}: "
              f"{small_rss / 1024:.0f} MiB), {wall:5.2f} s ({LINES / wall / 1e3:.0f}k lines/s; "
              f"{LINES // 10:,}: {small_wall:.2f} s): {verdict}")


if __name__ == "__main__":
    main()
