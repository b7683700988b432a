"""CPU time of the live console over a replay of nom's 1.03M-line real log, against the
same replay with the console off (target: at most 20% more).

The replay runs in-process at full speed through the real pipeline (64 KiB reads like
a PTY, LogStream, SinkSet); the console draws into /dev/null as if to a 120x40 terminal,
rate-limited as in a build.  The cost of one frame is also measured, so the cost of a
slower, real-time build (at most 10 frames a second) can be read off."""

from __future__ import annotations

import os
import time

from common import bench_log, heading

from parsers.clock import SystemClock
from parsers.events import BuildStarted
from parsers.stream import LogStream
from sinks.base import SinkSet
from sinks.console_live import LiveConsole

CHUNK = 64 * 1024


def replay(with_console: bool) -> tuple[float, int]:
    data_path = bench_log()
    devnull = os.open(os.devnull, os.O_WRONLY)
    console = LiveConsole(devnull, size=lambda: (120, 40)) if with_console else None
    sinks = SinkSet([console] if console else [], lambda message: None)
    stream = LogStream(SystemClock())
    start = time.process_time()
    sinks.dispatch(stream.begin(BuildStarted(build_id="bench", source="log", target="os")))
    with open(data_path, "rb") as f:
        while chunk := f.read(CHUNK):
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
    off = min(replay(False)[0] for _ in range(3))
    runs = [replay(True) for _ in range(3)]
    on = min(cpu for cpu, _ in runs)
    frames = runs[0][1]
    print(f"console off: {off:.2f} s CPU")
    print(f"console on:  {on:.2f} s CPU ({frames} frames drawn)")
    print(f"ratio: {on / off:.2f}x ({(on / off - 1) * 100:+.0f}%, target <= +20%)")
    cost = frame_cost()
    print(f"one frame: {cost * 1000:.2f} ms CPU, so at most {cost * 10 * 100:.1f}% of a core at 10 frames/s")


if __name__ == "__main__":
    main()
