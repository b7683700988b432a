"""Wall time of a build through nixos-build-wrapper against the same tool run bare.

Two floods, the wrapper's worst cases: a real nix-build printing a million log lines
(nix writes one line per write(2)), and a tool writing nom's 95 MB internal-json log as
fast as `cat` can.  Bare = output to /dev/null, and through a plain PTY (`script`), which
is what a terminal costs anyway.  Wrapped = PTY + parsing + raw log + records + console.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from pathlib import Path

from common import ROOT, bench_log, env_with, fake_tool, heading, median_run, tool

SCREAM = ROOT / "bench" / "nix" / "scream.nix"
LINES = "1000000"


def compare(title: str, bare: list[str], directory: Path, runs: int = 3) -> None:
    wrapper = tool("nixos-build-wrapper")
    assert wrapper
    env = env_with(PATH=f"{directory}{os.pathsep}{os.environ['PATH']}")
    bare_wall, bare_cpu, _ = median_run(bare, runs=runs, env=env)
    rows = [("bare, output to /dev/null", bare_wall, bare_cpu)]
    script = shutil.which("script")
    if script:
        pty_wall, pty_cpu, _ = median_run([script, "-qec", " ".join(bare), "/dev/null"],
                                          runs=runs, env=env)
        rows.append(("bare, in a PTY (script)", pty_wall, pty_cpu))
    logs = tempfile.mkdtemp(prefix="bench-logs.")
    wrapped_wall, wrapped_cpu, wrapped_rss = median_run(
        [wrapper, "os", "build", "--no-nh", "--log-dir", logs, "--console", "plain"],
        runs=runs, env=env)
    shutil.rmtree(logs, ignore_errors=True)
    rows.append(("nixos-build-wrapper", wrapped_wall, wrapped_cpu))
    heading(title)
    for name, wall, cpu in rows:
        print(f"{name:28} {wall:6.2f} s wall  {cpu:6.2f} s CPU (with children)")
    print(f"ratio: wrapper / bare = {wrapped_wall / bare_wall:.2f}x"
          + (f", wrapper / bare in a PTY = {wrapped_wall / rows[1][1]:.2f}x (target <= 1.03x)"
             if script else "")
          + f"; wrapper max RSS {wrapped_rss / 1024:.0f} MiB")
    if script:
        # The wrapper's own CPU: all CPU of the wrapped run less that of the same tool
        # in a bare PTY, over the wrapped run's wall time.
        own = max(wrapped_cpu - rows[1][2], 0.0)
        print(f"wrapper CPU: {own:.2f} s, {own / wrapped_wall * 100:.0f}% of a core "
              "(target <= 25%)")


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="bench-bin.") as tmp:
        directory = Path(tmp)
        if shutil.which("nix-build"):
            fake_tool(directory, (
                "#!/bin/sh\n"
                f'exec nix-build {SCREAM} --argstr lines {LINES} --argstr seed "$(cat /proc/sys/kernel/random/uuid)" '
                "--option sandbox false --option substituters '' --no-out-link "
                "--log-format internal-json -v\n"))
            compare(f"wrapper overhead: real nix-build printing {int(LINES):,} log lines",
                    [str(directory / "nixos-rebuild")], directory)
        else:
            print("nix-build not installed: skipping the real-nix flood", file=sys.stderr)
        log = bench_log()
        fake_tool(directory, f"#!/bin/sh\nexec cat {log}\n")
        compare("wrapper overhead: nom's 95 MB internal-json log at the speed of cat",
                [str(directory / "nixos-rebuild")], directory)


if __name__ == "__main__":
    main()
