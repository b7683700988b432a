"""Shared helpers: where things are, parsing a log to events, running the wrapper."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import types
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import msgspec
import pytest

from parsers.clock import ManualClock
from parsers.events import BuildStarted, Event
from parsers.stream import LogStream

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "fixtures"
RECORDED = FIXTURES / "recorded"
FAKE_BIN = FIXTURES / "bin"
# The development corpora and the original design, beside the checkout (never part of it;
# the product never reads them).  NIXOS_BUILD_TEST_SHARED points elsewhere, e.g. from a
# git worktree.  Tests that read them are marked ``shared`` and skip when it is absent.
SHARED = Path(os.environ.get("NIXOS_BUILD_TEST_SHARED") or ROOT.parent / "shared")
NOM_CORPUS = SHARED / "corpus" / "nom"
REAL_CORPUS = SHARED / "corpus" / "real"

NO_SHARED = f"needs the development corpora in {SHARED} (../shared beside the checkout)"
NIX_HINT = ("Nix is not installed (no nix-build on PATH): apt-get install nix-bin, or "
            "https://nixos.org/download (single-user as root is fine; .ci/run installs it)")


def in_ci() -> bool:
    """CI sets CI=true (GitHub, GitLab, our .ci/run): there nothing may be skipped."""
    return os.environ.get("CI", "").strip().lower() in ("1", "true", "yes")


_SHARED_NAMES = frozenset({"SHARED", "NOM_CORPUS", "REAL_CORPUS"})


def _reads_shared(code: types.CodeType) -> bool:
    return bool(_SHARED_NAMES & set(code.co_names)) or any(
        _reads_shared(c) for c in code.co_consts if isinstance(c, types.CodeType))


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """A test whose body names the corpora is a ``shared`` test, without a marker of its
    own (new corpus tests in any file are covered); others say ``@pytest.mark.shared``."""
    for item in items:
        function = getattr(item, "function", None)
        code = getattr(function, "__code__", None)
        if isinstance(code, types.CodeType) and _reads_shared(code):
            item.add_marker(pytest.mark.shared)


def pytest_runtest_setup(item: pytest.Item) -> None:
    """``shared`` tests skip without ../shared; ``realnix`` tests without nix fail with
    the install hint in CI and skip with it elsewhere (reported in the summary)."""
    if item.get_closest_marker("shared") is not None and not SHARED.is_dir():
        pytest.skip(NO_SHARED)
    if item.get_closest_marker("realnix") is not None and shutil.which("nix-build") is None:
        if in_ci():
            pytest.fail(NIX_HINT, pytrace=False)
        item.config.stash[_NIX_SKIPPED] = item.config.stash.get(_NIX_SKIPPED, 0) + 1
        pytest.skip(NIX_HINT)


_NIX_SKIPPED = pytest.StashKey[int]()


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    skipped = config.stash.get(_NIX_SKIPPED, 0)
    if skipped:
        terminalreporter.write_sep("!", f"{skipped} REAL-NIX TESTS SKIPPED", red=True, bold=True)
        terminalreporter.write_line(f"{NIX_HINT}.  In CI (CI=true) they fail instead.",
                                    red=True, bold=True)


def recorded(stem: str) -> bytes:
    return (RECORDED / f"{stem}.log").read_bytes()


def manifest() -> dict[str, Any]:
    return json.loads((RECORDED / "MANIFEST.json").read_text())


def parse(data: bytes, *, chunks: Iterable[int] | None = None, exit_code: int | None = None,
          **stream_args: Any) -> list[Event]:
    """Every event of ``data`` fed in one piece (or cut at the ``chunks`` sizes)."""
    stream = LogStream(ManualClock(), **stream_args)
    events = stream.begin(BuildStarted(build_id="test", source="log"))
    if chunks is None:
        events += stream.feed(data)
    else:
        pos = 0
        for size in chunks:
            events += stream.feed(data[pos:pos + size])
            pos += size
        events += stream.feed(data[pos:])
    events += stream.end(exit_code)
    return events


def of_type(events: Sequence[Event], name: str) -> list[Any]:
    return [e for e in events if e.__struct_config__.tag == name]


def wire(events: Sequence[Event]) -> list[dict[str, Any]]:
    """Events as a consumer sees them, without the wall-clock stamp."""
    out = []
    for e in events:
        data = msgspec.to_builtins(e)
        data.pop("ts", None)
        out.append(data)
    return out


@dataclass
class WrapperRun:
    returncode: int
    stdout: bytes
    stderr: str
    log_dir: Path

    def ndjson(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.stdout.splitlines()]

    def last_build(self) -> dict[str, Any]:
        return json.loads((self.log_dir / "last-build.json").read_text())

    def history(self) -> list[dict[str, Any]]:
        return json.loads((self.log_dir / "build-history.json").read_text())


def wrapper_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    # CI variables too: in a CI job, --ci auto would change every test's console.
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("FAKE_", "NH_", "NIXOS_BUILD", "GITHUB_", "GITLAB_", "BUILDKITE"))}
    env["PATH"] = f"{FAKE_BIN}{os.pathsep}{env.get('PATH', '')}"
    env["HOME"] = str(tmp_path / "home")
    env["XDG_STATE_HOME"] = str(tmp_path / "home" / ".local" / "state")
    env["NIXOS_BUILD_ROOT"] = str(tmp_path / "root")
    # A flake at /etc/nixos, as most nh users have (nh builds nothing else).
    (tmp_path / "root" / "etc" / "nixos").mkdir(parents=True, exist_ok=True)
    (tmp_path / "root" / "etc" / "nixos" / "flake.nix").touch()
    env.update(extra)
    return env


def run_wrapper(tmp_path: Path, args: Sequence[str], *, env: dict[str, str] | None = None,
                timeout: float = 60, **extra_env: str) -> WrapperRun:
    log_dir = tmp_path / "logs"
    env = env or wrapper_env(tmp_path, **extra_env)
    proc = subprocess.run(
        [sys.executable, "-m", "orchestrator.wrapper_cli", "--log-dir", str(log_dir), *args],
        env=env, stdin=subprocess.DEVNULL, capture_output=True, timeout=timeout, check=False,
    )
    return WrapperRun(proc.returncode, proc.stdout, proc.stderr.decode("utf-8", "replace"),
                      log_dir)


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return wrapper_env(tmp_path)


# --- real Nix of every era ----------------------------------------------------------------
# The host's Nix (Debian bookworm: 2.8) and Debian trixie's (2.26) and sid's (2.34), in
# chroots that fixtures/nixenv.py builds once under /var/cache (minutes; .ci/run does it
# before the tests).  A test that takes ``nix_era`` runs once per era.

def _load_nixenv() -> types.ModuleType:
    import importlib.util

    spec = importlib.util.spec_from_file_location("nixenv", FIXTURES / "nixenv.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


nixenv = _load_nixenv()
# era -> the Debian suite of its chroot (None: the host's nix).
NIX_ERAS: dict[str, str | None] = {"2.8": None, **{v: s for s, v in nixenv.SUITES.items()}}


@dataclass
class NixEra:
    """One real Nix: ``bin_dir`` holds nix, nix-build... that run it (None: the host's,
    already on PATH)."""

    version: str
    suite: str | None
    bin_dir: Path | None

    def path(self, path: str) -> str:
        """``path`` (a PATH value) with this era's nix first after the fakes."""
        if self.bin_dir is None:
            return path
        head, sep, rest = path.partition(os.pathsep)
        if head == str(FAKE_BIN):
            return f"{head}{os.pathsep}{self.bin_dir}{sep}{rest}"
        return f"{self.bin_dir}{os.pathsep}{path}"

    def env(self, env: dict[str, str]) -> dict[str, str]:
        return {**env, "PATH": self.path(env.get("PATH", ""))}

    def argv(self, command: list[str]) -> list[str]:
        """``command`` run with this era's nix."""
        return command if self.suite is None else nixenv.run_argv(self.suite, command)


CHROOT_HINT = ("needs fixtures/nixenv.py's chroots (apt-get install mmdebstrap; "
               "python3 fixtures/nixenv.py prepare: .ci/run does it)")


def _nix_era(version: str, factory: pytest.TempPathFactory) -> NixEra:
    suite = NIX_ERAS[version]
    if suite is None:
        if shutil.which("nix-build") is None:
            if in_ci():
                pytest.fail(NIX_HINT, pytrace=False)
            pytest.skip(NIX_HINT)
        return NixEra(version, None, None)
    if not nixenv.is_ready(suite):
        if shutil.which("mmdebstrap") is None or os.geteuid() != 0:
            if in_ci():
                pytest.fail(CHROOT_HINT, pytrace=False)
            pytest.skip(CHROOT_HINT)
        nixenv.prepare(suite, quiet=True)  # once, minutes; other workers wait on its lock
    # Once cold (its libraries not yet read from disk), the chroot's first nix can take
    # longer than the wrapper's 5 s deadline for `nix --version`: warm it.
    nixenv.run_capture(suite, ["nix", "--version"])
    return NixEra(version, suite, nixenv.write_shims(suite, factory.mktemp(f"nix-{version}")))


@pytest.fixture(scope="session", params=list(NIX_ERAS))
def nix_era(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> NixEra:
    return _nix_era(request.param, tmp_path_factory)


@pytest.fixture(scope="session")
def nix_234(tmp_path_factory: pytest.TempPathFactory) -> NixEra:
    """The newest real Nix here (json-log-path, ``Cannot build`` wording)."""
    return _nix_era("2.34", tmp_path_factory)
