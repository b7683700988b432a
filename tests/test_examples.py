"""The original design's shell examples (``examples/``), unchanged, run against this
project: they hard-code ``/etc/nixos/lib/build-status.sh``, ``/var/log/nixos-builds``
and ``/tmp``, so each runs in its own mount namespace (``unshare -rm``) and root, where those are
overlays and an empty directory, over a fake machine with fake nh, nix, systemctl…"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import textwrap
from functools import cache
from pathlib import Path

import pytest

import nixos_build_status as nbs
from tests.conftest import FAKE_BIN, ROOT, SHARED
from tests.test_status_fakes import VENV_BIN, FakeSystem

EXAMPLES = ROOT / "examples"
DESIGN = SHARED / "original-design.md"

# The namespace gets a root of its own: every top-level directory of the machine bound in,
# except /tmp, which is an empty directory there, so what the scripts write to /tmp stays
# private and parallel runs cannot meet.  Nothing is mounted over the machine's /tmp,
# where the checkout may live: the test's directory and the checkout (and the venv),
# when under /tmp, are bound back at their own paths.  /etc and /var/log are overlays
# whose upper layers are in the test's directory, so what the scripts write there is
# visible afterwards.
NAMESPACE_SETUP = textwrap.dedent("""\
    set -euo pipefail
    W="$1"; KEEP="$2"; shift 2
    R="$W/ns-root"
    mkdir -p "$R"
    mount -t tmpfs tmpfs "$R"
    for entry in /*; do
        name="${entry#/}"
        if [ -L "$entry" ]; then
            cp -P "$entry" "$R/$name"
        elif [ -d "$entry" ]; then
            mkdir "$R/$name"
            [ "$name" = tmp ] || mount --rbind "$entry" "$R/$name"
        fi
    done
    chmod 1777 "$R/tmp"
    for d in etc:/etc log:/var/log; do
        mount -t overlay overlay \
            -o "lowerdir=${d#*:},upperdir=$W/ovl/${d%%:*}.up,workdir=$W/ovl/${d%%:*}.work" "$R${d#*:}"
    done
    IFS=: read -ra keep <<< "$KEEP"
    for dir in "$W" "${keep[@]}"; do
        case "$dir" in
            /tmp/*) mkdir -p "$R$dir"; mount --bind "$dir" "$R$dir" ;;
        esac
    done
    chroot="$(PATH="$PATH:/usr/sbin:/sbin" command -v chroot)"
    exec "$chroot" "$R" /bin/sh -c 'cd "$1" && shift && exec "$@"' sh "$W/work" "$@"
    """)
# What must stay visible at its own path inside the namespace.
KEEP = ":".join(sorted({str(ROOT), sys.prefix, os.path.realpath(sys.base_prefix)}))


@cache
def namespaces_work() -> str | None:
    """None when this machine can run the examples, else why not."""
    if shutil.which("unshare") is None or shutil.which("jq") is None:
        return "needs unshare and jq"
    base = Path(tempfile.mkdtemp(prefix="nbs-namespace-probe-"))
    for name in ("etc.up", "etc.work", "log.up", "log.work"):
        (base / "ovl" / name).mkdir(parents=True, exist_ok=True)
    (base / "work").mkdir(exist_ok=True)
    (base / "work" / "probe").touch()
    proc = subprocess.run(["unshare", "-rm", "bash", "-c", NAMESPACE_SETUP, "setup", str(base),
                           KEEP, "/bin/sh", "-c", "test -e probe"],
                          capture_output=True, text=True, timeout=30, check=False)
    shutil.rmtree(base, ignore_errors=True)
    return None if proc.returncode == 0 else f"cannot set up a mount namespace: {proc.stderr.strip()}"


class ExampleMachine(FakeSystem):
    """A healthy machine whose /etc/nixos and /var/log/nixos-builds exist only inside
    the examples' namespace."""

    def __init__(self, tmp_path: Path) -> None:
        super().__init__(tmp_path)
        self.in_sync_system(1, 2)
        self.home_manager(3)
        self.flake()
        self.ovl = tmp_path / "ovl"
        self.work = tmp_path / "work"
        self.work.mkdir()
        lib = self.ovl / "etc.up" / "nixos" / "lib"
        lib.mkdir(parents=True)
        (lib / "build-status.sh").symlink_to(nbs.LIBRARY_SH)
        (self.ovl / "etc.up" / "nixos" / "flake.nix").write_text("{ outputs = _: { }; }\n")
        (self.ovl / "log.up" / "nixos-builds").mkdir(parents=True)
        for name in ("etc.work", "log.work"):
            (self.ovl / name).mkdir()
        # stand-ins for the network
        curl = self.bin / "curl"
        curl.write_text(f'#!/bin/sh\necho "$@" > {tmp_path}/curl.args\ncat > {tmp_path}/curl.body\n')
        curl.chmod(0o755)

    @property
    def records(self) -> Path:
        """/var/log/nixos-builds as the scripts saw it."""
        return self.ovl / "log.up" / "nixos-builds"

    def run(self, example: str, **env: str) -> subprocess.CompletedProcess[str]:
        full = self.env(FAKE_ROOT=str(self.root), **env)
        full["PATH"] = f"{self.bin}:{FAKE_BIN}:{VENV_BIN}:/usr/bin:/bin"
        del full["NIXOS_BUILD_LOG_DIR"]  # the scripts read /var/log/nixos-builds
        return subprocess.run(["unshare", "-rm", "bash", "-c", NAMESPACE_SETUP, "setup",
                               str(self.tmp), KEEP, str(EXAMPLES / example)],
                              env=full, capture_output=True, text=True, timeout=180, check=False)


@pytest.fixture
def machine(tmp_path: Path) -> ExampleMachine:
    why_not = namespaces_work()
    if why_not:
        pytest.skip(why_not)
    return ExampleMachine(tmp_path)


# --- the examples are the design's ---------------------------------------------------------

def design_blocks() -> list[str]:
    return re.findall(r"```bash\n(.*?)```", DESIGN.read_text(), re.S)


@pytest.mark.shared  # the design is in ../shared
@pytest.mark.parametrize("example", ["ci-pipeline.sh", "pre-push", "test-suite.sh",
                                     "nixos-health-check", "auto-debug.sh", "custom-status.sh"])
def test_example_is_the_design_s_script_unchanged(example: str) -> None:
    text = (EXAMPLES / example).read_text()
    if example == "custom-status.sh":  # a snippet in the design: only the shebang is added
        text = text.removeprefix("#!/usr/bin/env bash\n")
    assert text in design_blocks()


# --- CI pipeline ---------------------------------------------------------------------------

def test_ci_pipeline_on_a_healthy_machine(machine: ExampleMachine) -> None:
    proc = machine.run("ci-pipeline.sh")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.splitlines() == ["Building NixOS configuration...", "✓ Build succeeded",
                                        "true", "✓ System is healthy"]
    assert json.loads((machine.work / "build-result.json").read_text())["success"] is True
    assert (machine.records / "last-build.json").exists()


def test_ci_pipeline_on_a_failed_build(machine: ExampleMachine) -> None:
    proc = machine.run("ci-pipeline.sh", FAKE_SCENARIO="build-failure")
    assert proc.returncode == 2
    out = proc.stdout.splitlines()
    assert out[:2] == ["Building NixOS configuration...", "✗ Build failed"]
    assert out[2].startswith("error: builder for '/nix/store/")  # jq -r .errors
    assert "broken-tool-0.3.1" in out[2]
    log = (machine.records / "last-build.log").read_text()
    assert proc.stdout.endswith(log)  # cat /var/log/nixos-builds/last-build.log


def test_ci_pipeline_on_a_degraded_machine(machine: ExampleMachine) -> None:
    proc = machine.run("ci-pipeline.sh", FAKE_FAILED_UNITS="nginx.service")
    # under set -e the script ends at `nixos-build-status --verbose`, with its exit code
    # (2: degraded), before its own `exit 1`
    assert proc.returncode == 2
    assert "false\n✗ System has issues\n=== NixOS Build Status ===" in proc.stdout
    assert "✗ 1 failed unit: nginx.service" in proc.stdout
    assert "Failed to start Nginx." in proc.stdout  # --verbose: the unit's journal


# --- pre-push hook -------------------------------------------------------------------------

def test_pre_push_lets_a_good_configuration_through(machine: ExampleMachine) -> None:
    proc = machine.run("pre-push")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "Verifying NixOS configuration builds...\n"


def test_pre_push_stops_a_broken_configuration(machine: ExampleMachine) -> None:
    proc = machine.run("pre-push", FAKE_SCENARIO="eval-error")
    assert proc.returncode == 1
    out = proc.stdout.splitlines()
    assert out[1] == "Configuration doesn't build! Aborting push."
    assert out[2] == "error: attribute 'enabel' missing"
    assert not (machine.tmp / "build-check.json").exists()  # /tmp was the namespace's own


# --- test framework ------------------------------------------------------------------------

def test_test_suite_passes_on_a_healthy_machine(machine: ExampleMachine) -> None:
    proc = machine.run("test-suite.sh")
    assert proc.returncode == 0, proc.stderr
    passed = [line for line in proc.stdout.splitlines() if line.startswith("✓")]
    assert passed == ["✓ Configuration builds passed", "✓ System in sync passed",
                      "✓ No failed systemd units passed", "✓ Flake evaluates passed",
                      "✓ Home Manager builds passed"]
    assert proc.stdout.endswith("All tests passed!\n")


def test_test_suite_reports_what_fails(machine: ExampleMachine) -> None:
    machine.system(3)
    machine.profile(3)  # built for next boot: not running
    proc = machine.run("test-suite.sh", FAKE_FAILED_UNITS="nginx.service,backup.service",
                       FAKE_FLAKE_EVAL="error")
    failed = [line for line in proc.stdout.splitlines() if line.startswith("✗")]
    assert failed == ["✗ System in sync failed", "✗ No failed systemd units failed",
                      "✗ Flake evaluates failed"]


# --- cron health check ---------------------------------------------------------------------

def test_health_check_is_quiet_when_healthy(machine: ExampleMachine) -> None:
    proc = machine.run("nixos-health-check")
    assert proc.returncode == 0 and proc.stdout == ""
    assert not (machine.tmp / "curl.body").exists()


def test_health_check_posts_the_report_when_not(machine: ExampleMachine) -> None:
    proc = machine.run("nixos-health-check", FAKE_FAILED_UNITS="backup.service")
    assert proc.returncode == 0, proc.stderr
    assert (machine.tmp / "curl.args").read_text().split() == [
        "-X", "POST", "https://monitoring.example.com/alerts", "-H", "Content-Type:",
        "application/json", "-d", "@-"]
    posted = json.loads((machine.tmp / "curl.body").read_text())
    assert posted["overallStatus"] == "degraded"
    assert posted["bootStatus"]["failedUnits"] == "backup.service"


# --- debugging workflow and custom report --------------------------------------------------

def test_auto_debug_collects_the_context_of_a_failed_switch(machine: ExampleMachine) -> None:
    proc = machine.run("auto-debug.sh", FAKE_SCENARIO="build-failure",
                       FAKE_FAILED_UNITS="nginx.service", FAKE_JOURNAL_ERRORS="2")
    assert proc.returncode == 1
    assert proc.stdout == "Build failed, collecting diagnostics...\n"
    context = (machine.work / "debug-context.txt").read_text()
    sections = re.split(r"^=== (.+) ===$", context, flags=re.M)
    parts = dict(zip(sections[1::2], sections[2::2], strict=True))
    assert list(parts) == ["Build Status", "Build Log", "Nix Errors", "Failed Units",
                           "Recent Journal Errors"]
    report = json.loads(parts["Build Status"])
    assert report["overallStatus"] == "build-errors"
    assert report["buildErrors"]["errors"][0].startswith("error: builder for")
    # under nh the terminal's log and nix's own stream beside it are read together
    assert parts["Nix Errors"].strip().splitlines() == report["buildErrors"]["errors"]
    assert json.loads(parts["Failed Units"]) == ["nginx.service"]
    assert "nginx: [emerg] bind() to 0.0.0.0:80 failed" in parts["Recent Journal Errors"]


def test_custom_status(machine: ExampleMachine) -> None:
    proc = machine.run("custom-status.sh", FAKE_CONFIGURATION_REVISION="3f4851e0c2b9a7d6e5f4a3b2c1d0e9f8a7b6c5d4")
    assert proc.returncode == 0, proc.stderr
    assert (machine.work / "custom-status.txt").read_text().splitlines() == [
        "=== Custom NixOS Status ===", "Generation: g2", "Commit: 3f4851e", "In Sync: Yes",
        "Last Build: Failed", "Failed Units: 0"]  # no build recorded yet
