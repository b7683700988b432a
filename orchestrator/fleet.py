"""The fleet sinks a build gets (docs/fleet.md): node_exporter's textfile, journal
entries, an OpenTelemetry trace.  Each is asked for by an option or its variable (the
NixOS module sets the variables, so unattended upgrades get them too); each module is
imported only when asked for."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Final

from orchestrator.invocation import Request
from sinks.base import Sink
from sinks.record import BuildRecord

PROMETHEUS_ENV: Final = "NIXOS_BUILD_PROMETHEUS_DIR"
JOURNAL_ENV: Final = "NIXOS_BUILD_JOURNAL"
OTEL_ENV: Final = "NIXOS_BUILD_OTEL"
_YES: Final = frozenset({"1", "true", "yes", "on"})


def _on(env: Mapping[str, str], name: str) -> bool:
    return env.get(name, "").strip().lower() in _YES


def fleet_sinks(request: Request, env: Mapping[str, str], record: BuildRecord,
                report: Callable[[str], None]) -> list[Sink]:
    sinks: list[Sink] = []
    directory = request.prometheus_dir or env.get(PROMETHEUS_ENV)
    # From the variable (the NixOS module sets it for everyone), a directory this user
    # cannot write (a Home Manager build as a normal user) is passed over in silence;
    # one given with --prometheus-textfile that fails is reported (sinks/base.py).
    if directory and (request.prometheus_dir or os.access(directory, os.W_OK)):
        from sinks.prometheus import PrometheusTextfile

        sinks.append(PrometheusTextfile(Path(directory), record, clock=time.time))
    if request.journal or _on(env, JOURNAL_ENV):
        from sinks.journal import JournalSink

        sinks.append(JournalSink(record, env))
    if request.otel or _on(env, OTEL_ENV):
        from sinks.otel import open_otel

        otel = open_otel(record, env, report)
        if otel is not None:
            sinks.append(otel)
    return sinks
