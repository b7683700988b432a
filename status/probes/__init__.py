"""What the status report reads from the system: one module per source (profile links,
systemd, the journal, nixos-version, the flake, the build records).

Probes never raise for a missing or failing source: they say "unknown" and why.  Every
external tool runs with a timeout (``tools.ToolRun``), and the report starts them all at
once so the slowest, not their sum, sets the wall time."""
