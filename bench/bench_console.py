"""CPU time of the live console over a replay of nom's 1.03M-line real log, against the
same replay with the console off (target: at most 20% more).

The replay runs in-process at full speed through the real pipeline (64 KiB reads like
a pipe, LogStream, SinkSet); the console draws into /dev/null as if to a 120x40
terminal, rate-limited as in a build.  The replay's clock moves as if the log arrived
at nix's top speed (some 100k lines a second into a PTY: ../shared/PERF-NOTES.md): the console
draws at its real rate of ten frames a second over those ~10 s (some 100 frames), not
the few a full-speed replay would leave it.  The cost of one frame is also measured."""

from __future__ import annotations

import os
import time

from common import bench_log, heading

from parsers.clock import ManualClock, SystemClock
from parsers.events import BuildStarted
from parsers.stream import LogStream
from sinks.base import SinkSet
from sinks.console_live import LiveConsole

CHUNK = 64 * 1024
LINES_PER_MS = 100  # nix's top speed into a PTY: the time a read stands for
ROUNDS = 5


def replay(with_console: bool) -> tuple[float, int]:
    data_path = bench_log()
    devnull = os.open(os.devnull, os.O_WRONLY)
    clock = ManualClock()
    console = (LiveConsole(devnull, clock=clock, size=lambda: (120, 40))
               if with_console else None)
    sinks = SinkSet([console] if console else [], lambda message: None)
    stream = LogStream(clock)
    start = time.process_time()
    sinks.dispatch(stream.begin(BuildStarted(build_id="bench", source="log", target="os")))
    with open(data_path, "rb") as f:
        while chunk := f.read(CHUNK):
            clock.advance(chunk.count(b"\n") // LINES_PER_MS)
            sinks.dispatch(stream.feed(chunk))
            sinks.tick()
    sinks.dispatch(stream.end(0))
    sinks.close()
    cpu = time.process_time() - start
    os.close(devnull)
    return cpu, console.frames if console else 0


def frame_cost() -> float:
    devnull = os.open(os.devnull, os.O_WRONLY)
    console = LiveConsole(devnull, size=lambda: (120, 40))
    stream = LogStream(SystemClock())
    with open(bench_log(), "rb") as f:
        console.handle(stream.feed(f.read(8 << 20)))   # a state with builds and downloads
    start = time.process_time()
    for _ in range(200):
        console._frame(0)
    cost = (time.process_time() - start) / 200
    os.close(devnull)
    return cost


def main() -> None:
    heading("console: CPU of the live view over a full-speed replay of the 1.03M-line log")
    # Off and on alternate, five of each, and the least CPU of each is compared: on
    # this VM a run's CPU varies by a fifth from minute to minute.
    offs, runs = [], []
    for _ in range(ROUNDS):
        offs.append(replay(False)[0])
        runs.append(replay(True))
    off = min(offs)
    on = min(cpu for cpu, _ in runs)
    frames = runs[0][1]
    print(f"console off: {off:.2f} s CPU")
    print(f"console on:  {on:.2f} s CPU ({frames} frames drawn)")
    if frames < 50:
        print(f"too few frames ({frames}) for the ratio to mean anything")
    print(f"ratio: {on / off:.2f}x ({(on / off - 1) * 100:+.0f}%, target <= +20%)")
    cost = frame_cost()
    print(f"one frame: {cost * 1000:.2f} ms CPU, so at most {cost * 10 * 100:.1f}% of a core at 10 frames/s")


if __name__ == "__main__":
    main()
