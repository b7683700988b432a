"""Consumers of the event stream: raw log, last-build.json, history, NDJSON, console.

A sink never stops the build: one that fails (disk full, a closed pipe) is reported once
and switched off (see :class:`sinks.base.SinkSet`)."""
