"""What each version of nh, nixos-rebuild and Home Manager does with a command line.

The table the planner (``invocation.py``) plans from, one row per tool and version
range, each behaviour with the source file and tag it was read from.  ``docs/compat.md``
is the same table for people; ``tests/test_real_tools.py`` checks that both name the
same rows.  Pure data: the installed versions are found by ``versions.py``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

Version = tuple[int, ...]
ActivationLogs = Literal["shown", "stderr-only", "hidden"]


def parse_version(text: str) -> Version | None:
    """``nh 4.3.1`` / ``25.05-pre`` / ``4.0.0-beta.3`` -> (4, 3, 1) / (25, 5) / (4, 0, 0)."""
    m = re.search(r"(\d+)\.(\d+)(?:\.(\d+))?", text)
    if m is None:
        return None
    return tuple(int(part) for part in m.groups() if part is not None)


def version_text(version: Version) -> str:
    return ".".join(str(part) for part in version)


@dataclass(frozen=True)
class NhRow:
    """One nh version range (``since`` inclusive, up to the next row's ``since``)."""

    label: str
    since: Version
    flake_env: tuple[str, ...]
    """Variables nh reads a flake from (v3.5.26 interface.rs:139 ``env = "FLAKE"``;
    v4.0.3 main.rs:24-40 and installable.rs:76; v4.3.0 installable.rs)."""
    env_beats_positional: bool
    """NH_OS_FLAKE / NH_HOME_FLAKE win over an explicit flake (v4.0.3 nixos.rs:80-97,
    v4.2.0 nixos.rs:157); the wrapper then removes them from nh's environment."""
    nix_dry_run: bool
    """``nh os build P -- --dry-run`` is nix's own dry run (3.5, 4.0, 4.3+); 4.1-4.2 fail
    with "Target profile path does not exist"."""
    activation_logs: ActivationLogs
    """Activation output by default: shown (3.5-4.0: inherited, v3.5.26 commands.rs
    ``exec``), stderr only (4.1-4.3.0: subprocess 0.2.x ``capture()`` pipes stdout,
    v4.1.2 commands.rs:141), hidden (4.3.1+: subprocess 1.x pipes both)."""
    show_logs_flag: bool
    """``--show-activation-logs`` is given: it shows the output (4.3.0 interface.rs:274;
    4.4.0 crates/nh-core/src/command.rs:885-893).  Not on 4.3.1-4.3.2, where it only
    removes the stderr text from the failure report (command.rs:709-746)."""
    indented_report: bool
    """A failed activation's stderr is printed in the error chain, each continuation
    line indented 6 spaces (v4.3.1 crates/nh-core/src/command.rs:746 + indenter)."""
    activation_exit_dropped: bool
    """nh exits 0 when activation fails (v3.5.26 commands.rs:57, v4.0.3 commands.rs:101,
    v4.1.2 commands.rs:141); checked from 4.2.0 (commands.rs:541)."""
    remote_hosts: bool
    """``--target-host`` / ``--build-host`` for ``nh os`` (since 4.1: v4.1.2
    interface.rs:208-213)."""
    home_build_host: bool
    """``--build-host`` for ``nh home`` (v4.3.1 crates/nh-home/src/args.rs:89)."""
    bypass_disables_elevation: bool
    """``-R`` also turns nh's own sudo off (up to 4.2): fine for root only."""


NH_MIN: Version = (3, 5, 4)
"""``--no-nom`` exists since 3.5.4 (v3.5.26 interface.rs:148)."""

NH_ROWS: tuple[NhRow, ...] = (
    NhRow("3.5.x", (3, 5, 4), ("FLAKE",), False, True, "shown", False, False, True,
          False, False, True),
    NhRow("4.0", (4, 0), ("NH_FLAKE", "NH_OS_FLAKE", "NH_HOME_FLAKE", "FLAKE"), True, True,
          "shown", False, False, True, False, False, True),
    NhRow("4.1-4.2", (4, 1), ("NH_FLAKE", "NH_OS_FLAKE", "NH_HOME_FLAKE"), True, False,
          "stderr-only", False, False, True, True, False, True),
    NhRow("4.1-4.2", (4, 2), ("NH_FLAKE", "NH_OS_FLAKE", "NH_HOME_FLAKE"), True, False,
          "stderr-only", False, False, False, True, False, True),
    NhRow("4.3.0", (4, 3, 0), ("NH_OS_FLAKE", "NH_HOME_FLAKE", "NH_FILE", "NH_FLAKE", "FLAKE"),
          False, True, "stderr-only", True, False, False, True, False, False),
    NhRow("4.3.1-4.3.2", (4, 3, 1), ("NH_OS_FLAKE", "NH_HOME_FLAKE", "NH_FILE", "NH_FLAKE",
                                     "FLAKE"),
          False, True, "hidden", False, True, False, True, True, False),
    NhRow(">=4.4", (4, 4, 0), ("NH_OS_FLAKE", "NH_HOME_FLAKE", "NH_FILE", "NH_FLAKE", "FLAKE"),
          False, True, "hidden", True, False, False, True, True, False),
)


def nh_row(version: Version | None) -> NhRow | None:
    """The row of ``version``; the newest for an unknown version; None when it is
    older than every row (no ``--no-nom``)."""
    if version is None:
        return NH_ROWS[-1]
    if version < NH_MIN:
        return None
    row = NH_ROWS[0]
    for candidate in NH_ROWS:
        if version >= candidate.since:
            row = candidate
    return row


@dataclass(frozen=True)
class RebuildRow:
    label: str
    name: str
    elevate_flag: str
    """How a normal user asks for root on the activation step: bash nixos-rebuild has
    ``--use-remote-sudo`` and rejects ``--sudo`` ("unknown option", nixos-rebuild.sh
    @00409d13 option case); nixos-rebuild-ng takes ``--sudo`` (``__init__.py``
    ``get_parser``; ``--use-remote-sudo`` only warns)."""
    unknown_option_exit: int
    """bash: ``log "unknown option"``, exit 1; ng: argparse, exit 2."""


REBUILD_ROWS: dict[str, RebuildRow] = {
    "bash": RebuildRow("bash nixos-rebuild", "nixos-rebuild", "--use-remote-sudo", 1),
    "ng": RebuildRow("nixos-rebuild-ng", "nixos-rebuild-ng", "--sudo", 2),
}


@dataclass(frozen=True)
class HomeManagerRow:
    label: str
    since: Version
    log_format: bool
    """``--log-format`` is passed to nix (from 25.05: commit 229648c51, release-25.05
    home-manager/home-manager:1038); release-24.11 l.1030 knows only
    ``-j|--max-jobs|--cores|--builders`` and exits 1 "unknown option" (l.1052)."""
    specialisation: bool
    """``home-manager switch --specialisation NAME`` (release-25.11 l.1239)."""


HOME_MANAGER_ROWS: tuple[HomeManagerRow, ...] = (
    HomeManagerRow("<=24.11", (0,), False, False),
    HomeManagerRow(">=25.05", (25, 5), True, False),
    HomeManagerRow(">=25.05", (25, 11), True, True),
)


def home_manager_row(version: Version | None) -> HomeManagerRow:
    if version is None:
        return HOME_MANAGER_ROWS[-1]
    row = HOME_MANAGER_ROWS[0]
    for candidate in HOME_MANAGER_ROWS:
        if version >= candidate.since:
            row = candidate
    return row


# --- Nix itself -------------------------------------------------------------------------

NixFlavour = Literal["nix", "lix", "determinate"]


@dataclass(frozen=True)
class NixInfo:
    """The installed nix, from ``nix --version``."""

    flavour: NixFlavour
    version: Version
    """The Nix (or Lix) version: ``2.34.8`` -> (2, 34, 8)."""
    product: Version | None = None
    """Determinate Nix's own version (``3.6.2``), which its features follow."""

    @property
    def text(self) -> str:
        return version_text(self.version)


_DETERMINATE = re.compile(r"Determinate Nix (\d+(?:\.\d+)+)")


def parse_nix_version(text: str) -> NixInfo | None:
    """``nix (Nix) 2.34.8`` / ``nix (Lix, like Nix) 2.91.1`` / ``nix (Determinate Nix
    3.6.2) 2.29.0`` (src/nix/main.cc ``printVersion``; Lix's and Determinate's own
    product names in the parentheses)."""
    head = text.strip().split("\n", 1)[0]
    inside = head[head.find("(") + 1:head.find(")")] if "(" in head and ")" in head else ""
    rest = head[head.find(")") + 1:] if ")" in head else head
    version = parse_version(rest) or parse_version(head)
    if version is None:
        return None
    if "Lix" in inside:
        return NixInfo("lix", version)
    product = _DETERMINATE.search(inside)
    if product:
        return NixInfo("determinate", version, parse_version(product.group(1)))
    return NixInfo("nix", version)


NIX_LOG_FORMAT_SINCE: Version = (2, 4)
"""``--log-format`` on the command line: Nix 2.4 (PR #3073, src/libmain/common-args.cc);
2.3's JSON logger only speaks between a build hook and its client (``git grep
internal-json 2.3 -- src`` is empty), so 2.3 gets no ``--log-format`` and is read as
text.  Every Lix has it."""
NIX_JSON_LOG_PATH_SINCE: Version = (2, 30)
"""``json-log-path``: Nix 2.30 (PR #13251, src/libutil/include/nix/util/logging.hh
``LoggerSettings``; rl-2.30).  Honoured only by the ``nix`` command
(src/nix/main.cc applies it after the legacy-command dispatch), never by
``nix-build`` / ``nix-instantiate``; Lix has no such setting."""
DETERMINATE_JSON_LOG_PATH_SINCE: Version = (3, 1)
"""Determinate Nix carries ``json-log-path`` in its tags from v3.1.0 (nix-src,
``logging.hh``)."""


def nix_log_format(nix: NixInfo | None) -> bool:
    """Nix takes ``--log-format internal-json`` (unknown nix: assumed, as today)."""
    return nix is None or nix.flavour != "nix" or nix.version >= NIX_LOG_FORMAT_SINCE


def nix_json_log_path(nix: NixInfo | None) -> bool:
    """Nix copies its stream to ``json-log-path`` (unknown nix: not assumed)."""
    if nix is None or nix.flavour == "lix":
        return False
    if nix.flavour == "determinate":
        return nix.product is not None and nix.product >= DETERMINATE_JSON_LOG_PATH_SINCE
    return nix.version >= NIX_JSON_LOG_PATH_SINCE
