"""``buildkite-agent annotate``: the job summary as an annotation of the Buildkite build.

The CI console (``sinks/ci.py``) writes Markdown; starting a process is the
orchestrator's business (docs/architecture.md, rule 3), so the console is handed this
module's function.  The body goes on standard input (no size limit of an argument, no
shell); a hung agent is killed after ``DEADLINE_S``.  Failing to annotate is reported by
the sink set like any sink's failure and never changes the build's exit code."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable, Mapping

DEADLINE_S = 15.0
# Buildkite refuses annotation bodies over 1 MiB.
MAX_BODY = 1 << 20


def annotator(env: Mapping[str, str]) -> Callable[[str, str, str], None] | None:
    """The annotate function when ``buildkite-agent`` is on PATH, else None."""
    agent = shutil.which("buildkite-agent", path=env.get("PATH"))
    if agent is None:
        return None

    job = env.get("BUILDKITE_JOB_ID")

    def annotate(markdown: str, style: str, context: str) -> None:
        # One annotation per job: parallel jobs (one per host) must not replace each
        # other's (an annotation with the same context is replaced).
        if job:
            context = f"{context}-{job}"
        body = markdown.encode("utf-8")[:MAX_BODY]
        proc = subprocess.run([agent, "annotate", "--style", style, "--context", context],
                              input=body, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                              env=dict(env), timeout=DEADLINE_S, check=False)
        if proc.returncode != 0:
            detail = proc.stderr.decode("utf-8", "replace").strip().splitlines()
            raise OSError(f"buildkite-agent annotate failed: "
                          f"{detail[-1] if detail else f'exit code {proc.returncode}'}")

    return annotate
