"""Regular expressions compiled when first used, not when their module is imported.

The error classifier holds some fifty patterns with Unicode classes; compiling them all
costs ~17 ms at every start of ``nixos-build-status``, and most runs (a log without an
error, the status report) never use most of them.  A lazy pattern compiles on its first
attribute access and then keeps the compiled pattern's methods as its own, so a call
costs what a compiled pattern's call costs.
"""

from __future__ import annotations

import re
from typing import Any, Final, cast

_METHODS: Final = ("match", "search", "fullmatch", "finditer", "findall", "sub", "subn", "split")


class _LazyPattern:
    def __init__(self, pattern: str, flags: int) -> None:
        self._source = (pattern, flags)

    def __getattr__(self, name: str) -> Any:
        # Only reached for what the instance does not hold yet: the first use.
        if name == "_source":
            raise AttributeError(name)
        compiled = re.compile(*self._source)
        for method in _METHODS:
            setattr(self, method, getattr(compiled, method))
        return getattr(compiled, name)


def lazy(pattern: str, flags: int = 0) -> re.Pattern[str]:
    """``re.compile(pattern, flags)``, done at the first use."""
    return cast("re.Pattern[str]", _LazyPattern(pattern, flags))
