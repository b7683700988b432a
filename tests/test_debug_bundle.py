"""``nixos-build-status debug-bundle`` (status/bundle.py): what it holds for a failed
build, an evaluation error and a failed activation recorded through the fake tools;
its size bound; and redaction, checked with planted secrets."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import msgspec
import pytest
from hypothesis import given
from hypothesis import strategies as st

from records.read import decode_last_build
from records.schema import LastBuild
from status.bundle import (
    DebugBundle,
    Probes,
    fit,
    gather,
    markdown,
    raw_log_tail,
    redact,
    redact_text,
)
from tests.conftest import run_wrapper, wrapper_env
from tests.test_examples import ExampleMachine, namespaces_work
from tests.test_status_fakes import FakeSystem

# Secrets of every shape the bundle must hide, each with the text around it.
TOKEN = "ghp_" + "A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8"
PLANTED = {
    "url": "fetching https://alice:s3cr3t-Pa55@git.example.com/infra.git",
    "authorization": "> Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.payload.sig",
    "github": f"remote: using token {TOKEN}",
    "gitlab": "PRIVATE-TOKEN glpat-abcdefghij0123456789 was refused",
    "variable": "export DEPLOY_API_TOKEN=tok_live_4242424242",
    "password": 'db_password = "correct horse battery staple"',
    "key": "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQ\n"
           "AAAAAAAAAAEAAAAzAAAAC3NzaC1lZDI1NTE5AAAAIAbc\n-----END OPENSSH PRIVATE KEY-----",
}
SECRETS = ["s3cr3t-Pa55", "eyJhbGciOiJIUzI1NiJ9.payload.sig", TOKEN, "glpat-abcdefghij0123456789",
           "tok_live_4242424242", "correct horse battery staple",
           "b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQ", "AAAAAAAAAAEAAAAzAAAAC3NzaC1lZDI1NTE5AAAAIAbc"]


def bundle_cli(log_dir: Path, *args: str, env: dict[str, str] | None = None,
               tmp: Path | None = None) -> subprocess.CompletedProcess[bytes]:
    env = env if env is not None else wrapper_env(tmp or log_dir.parent)
    return subprocess.run([sys.executable, "-m", "status.cli", "debug-bundle", "--log-dir",
                           str(log_dir), *args], env=env, capture_output=True, timeout=60,
                          check=False)


def failed_build(tmp_path: Path, action: str = "build", extra: tuple[str, ...] = (),
                 **fake: str) -> Path:
    run = run_wrapper(tmp_path, ["--no-nh", "--quiet", "os", action, *extra], **fake)
    assert run.returncode != 0
    return run.log_dir


def plant(log_dir: Path) -> None:
    """Secrets in the raw log, as a build could print them."""
    with open(log_dir / "last-build.log", "a") as log:
        log.write("\n".join(PLANTED.values()) + "\n")


# --- what it holds ----------------------------------------------------------------------------


def test_bundle_of_a_failed_build(tmp_path: Path) -> None:
    log_dir = failed_build(tmp_path, FAKE_SCENARIO="build-failure")
    proc = bundle_cli(log_dir, "--no-probes")
    assert proc.returncode == 0, proc.stderr
    text = proc.stdout.decode()
    lines = text.splitlines()
    assert lines[0] == ("# Debug bundle: `nixos-rebuild build --log-format internal-json` "
                        "failed (exit code 100)")
    assert "- tool: nixos-rebuild" in lines and "- target: os" in lines
    assert "> Redaction ran; no secrets were found." in lines
    assert "## Root causes (1)" in lines
    cause = lines.index("### 1. build-failure: error: builder for '/nix/store/"
                        "r4v50a88c2g34p42mbsprwwxxgw7041k-broken-tool-0.3.1.drv' failed with exit code 2")
    assert lines[cause + 2:cause + 6] == [
        "- derivation: /nix/store/r4v50a88c2g34p42mbsprwwxxgw7041k-broken-tool-0.3.1.drv",
        "- phase: buildPhase", "- exit code: 2",
        "- next: full build log: nix log /nix/store/r4v50a88c2g34p42mbsprwwxxgw7041k-broken-tool-0.3.1.drv"]
    assert "src/main.c:42:7: error: 'config_t' has no member named 'verbose'" in lines
    assert "## Consequences (1)" in lines
    raw = lines.index(next(line for line in lines if line.startswith("## Raw log, last ")))
    assert lines[raw + 2] == "```"
    assert lines[-2:] == ["Command 'nix-build <nixpkgs/nixos> --attr config.system.build.toplevel'"
                          " returned non-zero exit status 100.", "```"]
    assert not any(line.startswith("@nix ") for line in lines)  # nix's stream made readable
    assert "\x1b" not in text


def as_record(data: dict[str, object]) -> LastBuild:
    """``last-build.json`` as the one reader reads it (records/read.py)."""
    record = decode_last_build(json.dumps(data).encode())
    assert record is not None
    return record


def test_the_generation_change_is_read_from_the_records_generation_numbers(tmp_path: Path) -> None:
    """The record keeps generations as text (``g42``, raw ``42``): the bundle shows the
    change, and says nothing where the record does not know."""
    before = {"generation": "g41", "generationRaw": "41", "latestGeneration": "g41",
              "latestGenerationRaw": "41", "status": "in-sync"}
    after = {"generation": "g41", "generationRaw": "41", "latestGeneration": "g42",
             "latestGenerationRaw": "42", "status": "out-of-sync"}
    record = as_record({"exitCode": 4, "preGeneration": before, "postGeneration": after})
    bundle = gather(record, tmp_path, Probes([], []), our_version=None)
    assert bundle.generation is not None
    assert (bundle.generation.before, bundle.generation.after, bundle.generation.changed,
            bundle.generation.running, bundle.generation.status) == (41, 42, True, 41, "out-of-sync")
    assert "- latest system generation: 41 -> 42" in markdown(bundle).splitlines()
    unknown = as_record({"exitCode": 1, "preGeneration": {}, "postGeneration": {}})
    assert gather(unknown, tmp_path, Probes([], []), our_version=None).generation is None


def test_bundle_of_an_evaluation_error_shows_the_source(tmp_path: Path) -> None:
    source = tmp_path / "hosts" / "web.nix"
    source.parent.mkdir()
    source.write_text("".join(f"line {n}\n" for n in range(1, 21)))
    record = {"command": "nh os build", "exitCode": 1, "success": False, "errorDetails": [
        {"kind": "attribute-missing", "message": "error: attribute 'enabel' missing",
         "rootCause": True, "file": str(source), "line": 10, "column": 28,
         "detail": "error: attribute 'enabel' missing\n       Did you mean enable?"}]}
    bundle = gather(as_record(record), tmp_path, Probes([], []), our_version="0.1.0")
    assert [(s.file, s.first_line, s.lines) for s in bundle.sources] == [
        (str(source), 6, [f"line {n}" for n in range(6, 15)])]
    lines = markdown(bundle).splitlines()
    at = lines.index(f"{source}:10:28")
    assert lines[at + 1:at + 12] == ["```", *(f"{'>' if n == 10 else ' '} {n:>2} | line {n}"
                                              for n in range(6, 15)), "```"]
    assert "       Did you mean enable?" in lines
    assert ("- next: the error is in the Nix code at file:line; rerun with --show-trace for the "
            "call chain") in lines


def test_source_that_is_not_a_readable_file_is_left_out(tmp_path: Path) -> None:
    record = {"errorDetails": [
        {"kind": "eval-error", "message": "e", "file": str(tmp_path), "line": 1},
        {"kind": "eval-error", "message": "e", "file": "/nonexistent.nix", "line": 1},
        {"kind": "eval-error", "message": "e", "file": "/dev/zero", "line": 1}]}
    assert gather(as_record(record), tmp_path, Probes([], []), our_version=None).sources == []


def test_bundle_of_a_failed_activation_asks_the_system(tmp_path: Path) -> None:
    log_dir = failed_build(tmp_path, "switch", FAKE_ACTIVATION="unit-failed")
    system = FakeSystem(tmp_path / "machine")  # a running NixOS, with the fake tools
    system.in_sync_system(1, 2)
    env = system.env(FAKE_FAILED_UNITS="nginx.service", FAKE_JOURNAL_ERRORS="2")
    proc = bundle_cli(log_dir, "--json", env=env)
    assert proc.returncode == 0, proc.stderr
    bundle = msgspec.json.decode(proc.stdout, type=DebugBundle)
    assert [c.kind for c in bundle.root_causes] == ["activation-unit-failed"]
    assert bundle.root_causes[0].units == ["demo-web.service"]
    assert bundle.root_causes[0].hint == ("systemctl status demo-web.service; "
                                          "journalctl -xeu demo-web.service")
    # the unit the error names first, with its journal; then the system's other failed unit
    assert [u.unit for u in bundle.failed_units] == ["demo-web.service", "nginx.service"]
    assert all(u.journal for u in bundle.failed_units)
    assert len(bundle.journal_errors) == 2
    assert any("bind() to 0.0.0.0:80 failed" in e for e in bundle.journal_errors)
    assert bundle.versions.nixos == "24.11.20241124.5e4fbfb"
    assert bundle.versions.tool == "nixos-rebuild"
    assert bundle.build.action == "switch" and bundle.build.exit_code == 4
    assert bundle.redactions.count == 0 and bundle.cut == []


def test_the_command_s_default_is_the_bundle_s() -> None:
    from status import bundle
    from status.commands import debug_bundle

    assert debug_bundle.DEFAULT_MAX_BYTES == bundle.DEFAULT_MAX_BYTES == 200_000


def test_no_build_recorded(tmp_path: Path) -> None:
    proc = bundle_cli(tmp_path / "empty", "--no-probes", tmp=tmp_path)
    assert proc.returncode == 3
    assert b"no build recorded in" in proc.stderr and not proc.stdout


def test_max_bytes_has_a_floor(tmp_path: Path) -> None:
    log_dir = failed_build(tmp_path, FAKE_SCENARIO="build-failure")
    proc = bundle_cli(log_dir, "--no-probes", "--max-bytes", "100")
    assert proc.returncode == 3 and b"at least 2000" in proc.stderr


def test_output_file_is_written(tmp_path: Path) -> None:
    log_dir = failed_build(tmp_path, FAKE_SCENARIO="eval-error")
    out = tmp_path / "bundle.md"
    proc = bundle_cli(log_dir, "--no-probes", "-o", str(out))
    assert proc.returncode == 0 and proc.stdout == b""
    assert out.read_text().startswith("# Debug bundle: ")


# --- size ------------------------------------------------------------------------------------


@pytest.mark.parametrize("form", ["markdown", "json"])
@pytest.mark.parametrize("limit", [2_000, 4_000, 20_000, 200_000])
def test_size_bound_most_important_first(tmp_path: Path, limit: int, form: str) -> None:
    log_dir = failed_build(tmp_path, FAKE_SCENARIO="build-failure")
    with open(log_dir / "last-build.log", "a") as log:  # a long, noisy build
        log.writelines(f"  CC src/file{n}.o with a long line of compiler flags -O2 -g\n"
                       for n in range(20_000))
    args = ["--no-probes", "--max-bytes", str(limit)] + (["--json"] if form == "json" else [])
    proc = bundle_cli(log_dir, *args)
    assert proc.returncode == 0, proc.stderr
    assert len(proc.stdout) <= limit
    text = proc.stdout.decode()
    assert "broken-tool-0.3.1" in text  # the root cause is always there
    if form == "json":
        bundle = msgspec.json.decode(proc.stdout, type=DebugBundle)
        assert bundle.max_bytes == limit and bundle.root_causes
        cut = bundle.cut
    else:
        notes = [line for line in text.splitlines() if line.startswith("> Trimmed to ")]
        cut = notes[0].removeprefix(f"> Trimmed to {limit} bytes: ").split("; ") if notes else []
    if limit == 200_000:  # the default: the raw log's last 400 lines fit, nothing is cut
        assert cut == []
        return
    # the raw log's tail is the first thing to go, and it says how much was kept
    assert cut and cut[0].startswith("raw log tail: kept the last ")
    if limit >= 20_000:  # with room, the root cause keeps its whole log tail
        assert "make: *** [Makefile:12: src/main.o] Error 1" in text
        assert len(cut) == 1


def test_a_small_bundle_is_not_trimmed(tmp_path: Path) -> None:
    log_dir = failed_build(tmp_path, FAKE_SCENARIO="eval-error")
    text = bundle_cli(log_dir, "--no-probes").stdout.decode()
    assert "> Trimmed" not in text and len(text.encode()) < 200_000


def test_raw_log_tail_reads_only_the_end(tmp_path: Path) -> None:
    log = tmp_path / "big.log"
    with open(log, "w") as f:
        f.writelines(f"line {n}\n" for n in range(100_000))
        f.write('@nix {"action":"result","type":101,"fields":["builder says hi"],"id":1}\n')
        f.write('@nix {"action":"result","type":105,"fields":[1,2,3,4],"id":2}\n')
        f.write("progress 10%\rprogress 100%\n")
    tail = raw_log_tail(log, max_bytes=4096, max_lines=50)
    assert tail[-2:] == ["builder says hi", "progress 100%"]
    assert len(tail) == 50 and tail[0].startswith("line ")


# --- redaction -------------------------------------------------------------------------------


@pytest.mark.parametrize("form", [[], ["--json"]])
def test_planted_secrets_are_redacted(tmp_path: Path, form: list[str]) -> None:
    log_dir = failed_build(tmp_path, extra=("--", "--option", "access-tokens",
                                            "github.com=plainvalue123"),
                           FAKE_SCENARIO="build-failure")
    plant(log_dir)
    record = json.loads((log_dir / "last-build.json").read_text())
    assert "plainvalue123" in record["command"]
    proc = bundle_cli(log_dir, "--no-probes", *form)
    assert proc.returncode == 0, proc.stderr
    text = proc.stdout.decode()
    for secret in [*SECRETS, "plainvalue123"]:
        assert secret not in text, secret
    searched = text
    if form:
        bundle = msgspec.json.decode(proc.stdout, type=DebugBundle)
        searched = "\n".join([*bundle.log_tail, bundle.build.command or ""])
    for context in ("fetching https://alice:<redacted>@git.example.com/infra.git",
                    "> Authorization: <redacted>", "remote: using token <redacted>",
                    "export DEPLOY_API_TOKEN=<redacted>", "access-tokens <redacted>",
                    'db_password = <redacted>', "PRIVATE-TOKEN <redacted> was refused",
                    "-----BEGIN OPENSSH PRIVATE KEY----- <redacted> -----END OPENSSH PRIVATE KEY-----"):
        assert context in searched, context
    if form:
        redactions = json.loads(text)["redactions"]
        assert redactions["count"] == 8
        assert redactions["kinds"] == {"private-key": 1, "authorization-header": 1,
                                       "url-credentials": 1, "token": 2, "secret-variable": 2,
                                       "nix-access-tokens": 1}
    else:
        assert ("> Redacted 8 secrets (authorization-header ×1, nix-access-tokens ×1, "
                "private-key ×1, secret-variable ×2, token ×2, url-credentials ×1): "
                "they read `<redacted>`.") in text.splitlines()


def test_redaction_keeps_ordinary_text() -> None:
    counts: dict[str, int] = {}
    ordinary = ["[sudo] password for alice: ", "error: option 'services.foo.passwordFile' is unused",
                "fetching https://github.com/NixOS/nixpkgs/archive/5e4fbfb.tar.gz",
                "these 4 derivations will be built:", "the token was accepted"]
    assert [redact_text(t, counts) for t in ordinary] == ordinary
    assert counts == {}


@given(before=st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=40),
       after=st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=40),
       which=st.sampled_from([TOKEN, "glpat-abcdefghij0123456789", "AKIAABCDEFGHIJKLMNOP"]))
def test_token_shapes_are_redacted_in_any_text(before: str, after: str, which: str) -> None:
    text = f"{before} {which} {after}"
    assert which not in redact_text(text, {})


def test_redact_covers_every_field() -> None:
    bundle = DebugBundle(journal_errors=[PLANTED["variable"]], log_tail=PLANTED["key"].split("\n"))
    bundle.build.command = f"nh os switch -- --option access-tokens github.com={TOKEN}"
    clean = redact(bundle)
    data = msgspec.json.encode(clean).decode()
    assert TOKEN not in data and "tok_live_4242424242" not in data
    assert "b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQ" not in data
    assert clean.redactions.count == 3


def test_fit_says_what_it_cut() -> None:
    bundle = DebugBundle(log_tail=[f"line {n}" for n in range(1000)],
                         journal_errors=[f"journal {n}" for n in range(100)])
    data = fit(bundle, 3_000)
    assert len(data) <= 3_000
    assert bundle.cut[0].startswith("raw log tail: ")
    assert "line 999" in data.decode()  # the newest lines are kept


# --- the example script ----------------------------------------------------------------------


def test_auto_debug_bundle_example(tmp_path: Path) -> None:
    why_not = namespaces_work()
    if why_not:
        pytest.skip(why_not)
    machine = ExampleMachine(tmp_path)
    proc = machine.run("auto-debug-bundle.sh", FAKE_SCENARIO="build-failure",
                       FAKE_FAILED_UNITS="nginx.service", FAKE_JOURNAL_ERRORS="2")
    assert proc.returncode == 1, proc.stderr
    assert proc.stdout == "Build failed, collecting diagnostics...\n"
    bundle = (machine.work / "debug-context.md").read_bytes()
    assert len(bundle) <= 100_000
    text = bundle.decode()
    assert text.startswith("# Debug bundle: `nh os switch")
    assert "broken-tool-0.3.1" in text and "## Failed units (1)" in text
    assert any(line.startswith("- nginx.service [system]") for line in text.splitlines())
    assert "## Recent journal errors (2)" in text
