"""What a user installing the project gets beyond the code: --version, the generated
completions and man pages (current with the parsers), a demo whose closing hints work
as printed, and a README whose links stay inside the repository."""

from __future__ import annotations

import filecmp
import os
import re
import shlex
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from tests.conftest import ROOT
from tests.test_status_fakes import VENV_BIN

VERSION = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
COMMANDS = ("nixos-build-wrapper", "nixos-build-status")


@pytest.mark.parametrize("command", COMMANDS)
def test_version(command: str) -> None:
    proc = subprocess.run([str(VENV_BIN / command), "--version"], capture_output=True, text=True,
                          timeout=60, check=False)
    assert (proc.returncode, proc.stdout, proc.stderr) == (0, f"{command} {VERSION}\n", "")


def test_completions_and_man_pages_are_current(tmp_path: Path) -> None:
    """share/ is generated from the parsers and committed; regenerate it after changing
    an option: .venv/bin/python tools/generate_share.py"""
    subprocess.run([sys.executable, str(ROOT / "tools" / "generate_share.py"), str(tmp_path)],
                   capture_output=True, check=True, timeout=60)
    fresh = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*") if p.is_file())
    committed = sorted(p.relative_to(ROOT / "share") for p in (ROOT / "share").rglob("*")
                       if p.is_file())
    assert fresh == committed
    stale = [str(p) for p in fresh if not filecmp.cmp(tmp_path / p, ROOT / "share" / p, shallow=False)]
    assert stale == [], "run: .venv/bin/python tools/generate_share.py"


def bash_complete(command: str, words: list[str]) -> list[str]:
    """What bash offers after ``words`` (the last one being typed), through the
    completion file as bash-completion would load it."""
    script = (f'source "$1"; COMP_WORDS=({command} {" ".join(map(shlex.quote, words))}); '
              f"COMP_CWORD={len(words)}; COMP_LINE=\"${{COMP_WORDS[*]}}\"; COMP_POINT=${{#COMP_LINE}}; "
              f"_shtab_{command.replace('-', '_')}; printf '%s\\n' \"${{COMPREPLY[@]}}\"")
    proc = subprocess.run(["bash", "-c", script, "complete",
                           str(ROOT / "share/bash-completion/completions" / command)],
                          capture_output=True, text=True, timeout=30, check=True)
    return sorted(line.strip() for line in proc.stdout.splitlines() if line.strip())


def test_bash_completes_targets_options_and_subcommands() -> None:
    assert bash_complete("nixos-build-wrapper", [""]) == ["home", "os"]
    assert "--log-dir" in bash_complete("nixos-build-wrapper", ["os", "switch", "--"])
    assert bash_complete("nixos-build-wrapper", ["os", "switch", "--console", ""]) == [
        "auto", "ours", "plain", "tool"]
    assert {"errors", "events", "generations", "history"} <= set(
        bash_complete("nixos-build-status", [""]))
    assert "--json" in bash_complete("nixos-build-status", ["errors", "--"])


@pytest.mark.parametrize("command", COMMANDS)
def test_man_page_documents_every_option(command: str) -> None:
    page = (ROOT / "share/man/man1" / f"{command}.1").read_text()
    assert page.startswith(f'.TH {command.upper().replace("-", chr(92) + "-")} "1"')
    help_text = subprocess.run([str(VENV_BIN / command), "--help"], capture_output=True,
                               text=True, check=True, timeout=60).stdout
    for option in set(re.findall(r"(?<![\w-])--[a-z][a-z-]+", help_text)) - {"--help"}:
        assert option.replace("-", "\\-") in page, option


def test_demo_hints_work_as_printed(tmp_path: Path) -> None:
    """Run from a venv the user's shell does not have on PATH (python3 tasks.py demo):
    every command the demo prints runs as printed, and its files are where it says."""
    user_path = os.pathsep.join(p for p in os.environ["PATH"].split(os.pathsep)
                                if Path(p or ".").resolve() != VENV_BIN.resolve())
    env = {k: v for k, v in os.environ.items() if k != "VIRTUAL_ENV"}
    env.update(PATH=user_path, TMPDIR=str(tmp_path))
    proc = subprocess.run([str(VENV_BIN / "nixos-build-wrapper"), "demo", "--speed", "1000",
                           "--console", "plain"], env=env, capture_output=True, text=True,
                          timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr
    tail = proc.stderr[proc.stderr.index("demo: everything the wrapper wrote is in"):]
    hints = [line.strip() for line in tail.splitlines() if line.startswith("  ")]
    assert len(hints) == 5
    *lookups, again = hints
    for hint in lookups:
        ran = subprocess.run(["bash", "-c", f"set -o pipefail; {hint}"], env=env,
                             capture_output=True, text=True, timeout=60, check=False)
        assert ran.returncode == 0 and ran.stdout.strip(), (hint, ran.stderr)
    assert "changed: openssl 3.0.13 → 3.0.14" in subprocess.run(
        ["bash", "-c", lookups[3]], env=env, capture_output=True, text=True, check=True).stdout
    assert "--log-dir" in lookups[1] and "No errors" in subprocess.run(
        ["bash", "-c", lookups[1]], env=env, capture_output=True, text=True, check=True).stdout
    assert shlex.split(again)[0] == str(VENV_BIN / "nixos-build-wrapper")  # not on this PATH
    where = re.search(r"stay in (\S+); (rm -r \S+) removes them", tail)
    assert where, tail
    work = Path(where.group(1))
    assert work.parent == tmp_path and (work / "logs" / "last-build.json").is_file()
    subprocess.run(["bash", "-c", where.group(2)], env=env, check=True)
    assert not work.exists()


def test_readme_links_stay_inside_the_repository() -> None:
    text = (ROOT / "README.md").read_text()
    targets = re.findall(r"\]\(([^)]+)\)", text)
    assert targets
    local = [t.split("#")[0] for t in targets if not re.match(r"[a-z]+:", t)]
    outside = [t for t in local if not (ROOT / t).resolve().is_relative_to(ROOT)]
    missing = [t for t in local if t and not (ROOT / t).exists()]
    assert (outside, missing) == ([], [])
