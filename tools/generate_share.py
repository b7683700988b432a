#!/usr/bin/env python3
"""Write the shell completions (bash, zsh, fish) and man pages of both commands, from
their argument parsers, into ``share/`` (or the directory given).

The files are committed so neither the runtime nor a package build needs the
generators (shtab, argparse-manpage: test extra, pinned in requirements-test.lock);
``tests/test_install.py`` checks they are current.  After changing an option:

    .venv/bin/python tools/generate_share.py
"""

from __future__ import annotations

import argparse
import sys
import tomllib
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from orchestrator.wrapper_cli import build_parser as wrapper_parser  # noqa: E402
from status.cli import build_parser as status_parser  # noqa: E402

PARSERS: dict[str, tuple[Callable[[], argparse.ArgumentParser], str]] = {
    "nixos-build-wrapper": (wrapper_parser, "run nh, nixos-rebuild or home-manager and "
                                            "record the build"),
    "nixos-build-status": (status_parser, "build status of a NixOS machine, and tools over "
                                          "build logs"),
}


def files() -> dict[str, str]:
    """Relative path under share/ -> content."""
    import shtab
    from argparse_manpage.manpage import Manpage

    version = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
    out: dict[str, str] = {}
    for name, (build, summary) in PARSERS.items():
        out[f"bash-completion/completions/{name}"] = shtab.complete(build(), "bash")
        out[f"zsh/site-functions/_{name}"] = shtab.complete(build(), "zsh")
        out[f"fish/vendor_completions.d/{name}.fish"] = shtab.complete(build(), "fish")
        # No build date in the page: the files must not change unless the parsers do.
        page = Manpage(build(), _data={"project_name": "nixos-build-status",
                                       "version": version, "date": f"version {version}",
                                       "manual_title": "nixos-build-status manual",
                                       "description": summary})
        out[f"man/man1/{name}.1"] = str(page)
    return out


def main(argv: list[str]) -> int:
    target = Path(argv[0]) if argv else ROOT / "share"
    for relative, content in files().items():
        path = target / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content if content.endswith("\n") else content + "\n")
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
