"""The exit codes of ``nixos-build-status`` (the original design's): 0 in sync and
healthy, 1 out of sync, 2 build errors (or failed units), 3 invalid arguments."""

from __future__ import annotations

EXIT_OK = 0
EXIT_OUT_OF_SYNC = 1
EXIT_BUILD_ERRORS = 2
EXIT_USAGE = 3
