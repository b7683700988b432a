"""Store paths, derivation names, hosts and ANSI escapes: small helpers on strings."""

from __future__ import annotations

import re

STORE_DIR = "/nix/store/"
_HASH_LEN = 32

# CSI sequences (colours, cursor movement, synchronized output), OSC sequences (titles,
# hyperlinks, ended by BEL or ST) and the few two-byte escapes terminals know.
_ANSI = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[@-Z\\-_]")


def strip_ansi(text: str) -> str:
    if "\x1b" not in text:
        return text
    return _ANSI.sub("", text)


def store_name(path: str) -> str:
    """``/nix/store/<hash>-hello-2.12.drv`` -> ``hello-2.12.drv``; other paths: the
    last component."""
    base = path.rstrip("/").rsplit("/", 1)[-1]
    if path.startswith(STORE_DIR) and len(base) > _HASH_LEN and base[_HASH_LEN] == "-":
        return base[_HASH_LEN + 1 :]
    return base


def drv_name(path: str) -> str:
    """The derivation's name: store name without hash and without ``.drv``."""
    name = store_name(path)
    return name[:-4] if name.endswith(".drv") else name


def machine_name(machine: object) -> str | None:
    """Nix's builder host as reported; None for the local machine."""
    if not isinstance(machine, str) or machine in ("", "local", "local://", "unix", "unix://"):
        return None
    return machine


_STORE_HASH = re.compile(r"^/nix/store/[0-9a-z]{32}-")
_VERSION_START = re.compile(r"-(?![A-Za-z])")
# Outputs nixpkgs names; a store name ending in one is that output of the package.
_OUTPUTS = frozenset({"bin", "dev", "out", "lib", "man", "doc", "info", "debug", "static",
                      "devdoc", "lib32", "modules", "terminfo", "data", "py"})


def split_name(store_path_or_name: str) -> tuple[str, str]:
    """(name, version) of a store path or name, split the way Nix splits them
    (``DrvName``: the version starts at the first ``-`` followed by a non-letter), an
    output suffix (``-dev``, ``-bin``…) left out: ``hello-2.12.1`` -> (hello, 2.12.1),
    ``openssl-3.0.14-bin`` -> (openssl, 3.0.14), ``etc`` -> (etc, "")."""
    name = _STORE_HASH.sub("", store_path_or_name)
    m = _VERSION_START.search(name)
    if m is None:
        return name, ""
    pname, version = name[:m.start()], name[m.end():]
    head, _, last = version.rpartition("-")
    if head and last in _OUTPUTS:
        version = head
    return pname, version
