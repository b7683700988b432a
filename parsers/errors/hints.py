"""The fix of an error, in one line, when it is mechanical and the log says it.

Only what the log itself states is turned into a hint (the hash nix got, the path Git
does not track, the option's new name); a guess is never one.  The hint is the
``hint`` field of the ``error`` event (docs/events.md, docs/errors.md).
"""

from __future__ import annotations

import re

from parsers.errors.finding import Finding

_UNTRACKED = re.compile(r"""[Pp]ath ['‘]([^'’]+)['’] in the repository ["']([^"']+)["'] is not tracked by Git""")
_SOURCE_PATH_MISSING = re.compile(
    r"path ['‘]/nix/store/[0-9a-z]{32}-source/([^'’]+)['’] does not exist")
_RENAMED = re.compile(
    r"The option [`'‘]([^'’`]+)['’`] (?:defined in .*? )?has been renamed to [`'‘]([^'’`]+)['’`]")
_REQUIRED_SYSTEM = re.compile(
    r"Required system: ['‘]([^'’]+)['’].*?\n\s*Current system: ['‘]([^'’]+)['’]"
    r"|a ['‘]([^'’]+)['’] with features \{[^}]*\} is required to build .*?, but I am a ['‘]([^'’]+)['’]",
    re.S)
_REMOVED = re.compile(
    r"The option definition [`'‘]([^'’`]+)['’`] in [`'‘]([^'’`]+)['’`] no longer has any effect")


def hint_for(finding: Finding, dirty_tree: bool = False) -> str | None:
    """The fix of ``finding`` when it is mechanical; ``dirty_tree``: nix warned that the
    flake's Git tree is dirty (so a new file may simply not be added yet)."""
    kind = finding.kind
    if kind == "hash-mismatch":
        if finding.got and finding.specified and finding.got != finding.specified:
            name = f" (for {finding.derivation})" if finding.derivation else ""
            return f"replace the hash {finding.specified} by {finding.got} in the file that sets it{name}"
        return None
    if kind == "home-manager-clobber":
        path = finding.paths[0] if finding.paths else "the file"
        return (f"move {path} away, or let Home Manager back it up: home-manager switch -b backup"
                " (NixOS module: home-manager.backupFileExtension)")
    text = "\n".join(filter(None, (finding.message, finding.detail)))
    m = _UNTRACKED.search(text)
    if m:
        return f'git -C "{m.group(2)}" add "{m.group(1)}" (a flake sees only files Git tracks)'
    m = _REQUIRED_SYSTEM.search(text)
    if m:
        required, current = m.group(1) or m.group(3), m.group(2) or m.group(4)
        if required != current:
            return (f"this needs a {required} machine (this one is {current}): add a remote builder "
                    f"(nix.buildMachines) or emulate it (boot.binfmt.emulatedSystems = [ \"{required}\" ])")
    m = _RENAMED.search(text)
    if m:
        return f"use {m.group(2)} instead of {m.group(1)} (the option was renamed)"
    m = _REMOVED.search(finding.message)
    if m:
        return f"remove {m.group(1)} from {m.group(2)} (the option was removed)"
    if dirty_tree:
        m = _SOURCE_PATH_MISSING.search(finding.message)
        if m:
            return (f"if {m.group(1)} is new: git add {m.group(1)} (the Git tree is dirty, and a "
                    "flake sees only files Git tracks)")
    return None
