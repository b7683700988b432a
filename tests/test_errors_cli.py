"""``nixos-build-status errors``: a file, stdin, the last build's logs; human and JSON
output; exit codes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import NOM_CORPUS, REAL_CORPUS, RECORDED

needs_corpus = pytest.mark.skipif(not REAL_CORPUS.is_dir(),
                                  reason="the real corpus is not beside the project")

KEYS = {"kind", "message", "derivation", "drvPath", "exitCode", "phase", "logTail", "file", "line",
        "column", "trace", "units", "rootCause"}


def status(*args: str, stdin: bytes | None = None, env: dict[str, str] | None = None
           ) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "status.cli", "errors", *args],
                          input=stdin.decode() if stdin is not None else None, capture_output=True,
                          text=True, env=env, check=False)


@needs_corpus
def test_json_from_a_file_root_causes_first():
    run = status(str(REAL_CORPUS / "048.log"), "--json")
    assert run.returncode == 2, run.stderr
    errors = json.loads(run.stdout)["errors"]
    assert all(set(e) >= KEYS for e in errors)
    assert [e["rootCause"] for e in errors] == [True] + [False] * 7
    first = errors[0]
    assert (first["kind"], first["derivation"], first["exitCode"]) == (
        "build-failure", "hyprland-0.41.2+date=2024-08-06_b0a70f6", 1)
    assert first["logTail"][-1] == "-- Configuring incomplete, errors occurred!"
    assert "\x1b" not in first["message"] and "\n" not in first["message"]


@needs_corpus
def test_json_from_stdin_with_trace_and_position():
    run = status("-", "--json", stdin=(REAL_CORPUS / "029.log").read_bytes())
    (error,) = json.loads(run.stdout)["errors"]
    assert (error["kind"], error["line"], error["column"]) == ("infinite-recursion", 1288, 25)
    assert error["trace"][-1].startswith("while evaluating definitions from")


@needs_corpus
def test_human_output_puts_the_cause_first_and_sums_up_consequences():
    run = status(str(REAL_CORPUS / "004.log"))
    assert run.returncode == 2
    lines = run.stdout.splitlines()
    assert lines[0] == f"1 root cause in {REAL_CORPUS / '004.log'}:"
    assert lines[2] == "✗ hash-mismatch: source"
    assert "specified: sha256-SN4m0ka5VHLIQYTszhlCIB+2D+nyWMzJM5n5bZdkG/I=" in run.stdout
    assert lines[-1].startswith("Because of this, 4 dependent derivations were not built: matugen-2.4.0")


@needs_corpus
def test_no_errors_exits_0():
    run = status(str(REAL_CORPUS / "026.log"))
    assert (run.returncode, run.stdout) == (0, f"No errors found in {REAL_CORPUS / '026.log'}.\n")


def test_unreadable_file_exits_3(tmp_path: Path):
    run = status(str(tmp_path / "missing.log"))
    assert run.returncode == 3 and "cannot read" in run.stderr


@pytest.mark.skipif(not NOM_CORPUS.is_dir(), reason="nom's test logs are not beside the project")
def test_last_build_reads_the_log_and_the_recorded_exit_code(tmp_path: Path):
    # Under nh: nh's own lines and nix's exact stream, in one log.
    (tmp_path / "last-build.log").write_bytes(
        b"> Building NixOS configuration\n"
        + (NOM_CORPUS / "nix-output-monitor/test/integration/fail/stderr.json").read_bytes()
        + b"Error: \n   0: Failed to build configuration\n")
    (tmp_path / "last-build.json").write_text(json.dumps({"exitCode": 1}))
    run = status("--log-dir", str(tmp_path), "--json")
    assert [(e["kind"], e["derivation"]) for e in json.loads(run.stdout)["errors"]] == [
        ("build-failure", "build-fail")]


def test_last_build_that_succeeded_reports_nothing_weak(tmp_path: Path):
    (tmp_path / "last-build.log").write_text(
        "error: unable to download 'https://cache.example.org/x.narinfo': HTTP error 500\n")
    (tmp_path / "last-build.json").write_text(json.dumps({"exitCode": 0}))
    run = status("--log-dir", str(tmp_path))
    assert run.returncode == 0


def test_verbose_shows_everything(tmp_path: Path):
    run = status(str(RECORDED / "eval-error.show-trace.log"), "-v")
    assert "trace (innermost last):" in run.stdout
    assert "as printed:" in run.stdout and "Did you mean enable?" in run.stdout
