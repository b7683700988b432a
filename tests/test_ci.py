"""The CI console (sinks/ci.py): GitHub, GitLab and Buildkite logs of a failing build,
an evaluation error and a failed activation, run through the fake tools; heartbeats
on a manual clock; annotations, the job summary, and text that must not become a CI
command."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path

import pytest

from parsers.clock import ManualClock
from parsers.events import (
    BuildFinished,
    BuildStarted,
    DerivationFailed,
    DerivationFinished,
    DerivationStarted,
    ErrorEvent,
    LogLine,
    Phase,
)
from sinks.ci import (
    HEARTBEAT_MS,
    MAX_ANNOTATIONS,
    WORKSPACE_ENV,
    CiKind,
    CiRenderer,
    choose,
    repo_relative,
)
from tests.conftest import RECORDED, of_type, parse, run_wrapper, wrapper_env

DUR = re.compile(r"\b\d+(?:\.\d+)?s\b|\b\d+m\d\ds\b|\b\d+h\d\dm\d\ds\b")
FOLD_TITLE = re.compile(r"^(?:✔ built|✘ failed|⊘ aborted|⊘ still building) ")
SCENARIOS = {  # name -> (FAKE_ variables, action, exit code)
    "build-failure": ({"FAKE_SCENARIO": "build-failure"}, "build", 100),
    "eval-error": ({"FAKE_SCENARIO": "eval-error"}, "build", 1),
    "activation": ({"FAKE_ACTIVATION": "unit-failed"}, "switch", 4),
}
DRVS = {"build-failure": ["libbase-1.0", "broken-tool-0.3.1", "slow-docs-2.1"],
        "eval-error": [],
        "activation": ["zlib-1.3.1", "openssl-3.0.14", "curl-8.9.1", "etc",
                       "nixos-system-demo-24.11.20241124"]}


def normalise(text: str, tmp: Path) -> list[str]:
    text = text.replace(str(tmp), "<tmp>")
    text = re.sub(r"section_(start|end):\d+:", r"section_\1:T:", text)
    return DUR.sub("<t>", text).replace("\x1b", "\\e").replace("\r", "\\r").splitlines()


def split_folds(lines: list[str], kind: str) -> tuple[list[str], dict[str, list[str]]]:
    """The log without the derivations' fold bodies (each fold one ``[fold] TITLE``
    line), and the bodies by derivation name."""
    outline: list[str] = []
    bodies: dict[str, list[str]] = {}
    body: list[str] | None = None
    for line in lines:
        if kind == "github":
            if line.startswith("::group::"):
                title = line.removeprefix("::group::")
                outline.append(f"[fold] {title}")
                body = bodies.setdefault(title.split()[2], [])
            elif line == "::endgroup::":
                body = None
            elif body is not None:
                body.append(line)
            else:
                outline.append(line)
        elif kind == "gitlab":
            start = re.match(r"^\\e\[0Ksection_start:T:drv-\d+-[^\[]+\[collapsed=(\w+)\]\\r\\e\[0K(.*)$",
                             line)
            if start:
                outline.append(f"[fold collapsed={start.group(1)}] {start.group(2)}")
                body = bodies.setdefault(start.group(2).split()[2], [])
            elif re.match(r"^\\e\[0Ksection_end:T:drv-", line):
                body = None
            elif body is not None:
                body.append(line)
            else:
                outline.append(line)
        else:
            header = re.match(r"^(---|\+\+\+) (.*)$", line)
            if header and FOLD_TITLE.match(header.group(2)):
                outline.append(f"[fold {header.group(1)}] {header.group(2)}")
                body = bodies.setdefault(header.group(2).split()[2], [])
            elif header:
                outline.append(line)
                body = None
            elif body is not None:
                body.append(line)
            else:
                outline.append(line)
    return outline, bodies


def build_lines(stem: str) -> dict[str, list[str]]:
    """Each derivation's log lines, as our parser reads them from the recording."""
    lines: dict[str, list[str]] = {}
    for e in of_type(parse((RECORDED / f"{stem}.log").read_bytes()), "log.line"):
        if e.source == "build" and e.name:
            lines.setdefault(e.name, []).append(e.text)
    return lines


def run_ci(tmp_path: Path, scenario: str, kind: CiKind, **env: str) -> tuple[int, list[str]]:
    fake, action, _ = SCENARIOS[scenario]
    # the recordings were made in /work/main: that is the checkout of their paths
    workspace = {WORKSPACE_ENV[kind]: "/work/main"}
    run = run_wrapper(tmp_path, ["--no-nh", "--ci", kind, "os", action],
                      **{**workspace, **fake, **env})
    return run.returncode, normalise(run.stderr, tmp_path)


SUMMARY = {
    "build-failure": [
        "✘ build failed (exit code 100) after <t>: 1 built, 1 failed, 1 aborted",
        "  root cause: broken-tool-0.3.1 failed in buildPhase with exit code 2",
        "    >   CC       src/part1.o",
        "    >   CC       src/part2.o",
        "    >   CC       src/part3.o",
        "    > src/main.c:42:7: error: 'config_t' has no member named 'verbose'",
        "    > make: *** [Makefile:12: src/main.o] Error 1",
        "  (1 consequence; all errors: nixos-build-status errors)",
        "  log:  <tmp>/logs/last-build.log",
        "  json: <tmp>/logs/last-build.json"],
    "eval-error": [
        "✘ build failed (exit code 1) after <t>: 0 built",
        "  root cause: [attribute-missing] error: attribute 'enabel' missing",
        "    at /work/main/fixtures/nix/eval-error.nix:10:28",
        "  log:  <tmp>/logs/last-build.log",
        "  json: <tmp>/logs/last-build.json"],
    "activation": [
        "✘ build failed (exit code 4) after <t>: 5 built",
        "  root cause: [activation-unit-failed] warning: the following units failed: demo-web.service",
        "    > Starting Demo web server...",
        "    > error: bind 0.0.0.0:80: address already in use",
        "    > demo-web.service: Main process exited, code=exited, status=1/FAILURE",
        "    > demo-web.service: Failed with result 'exit-code'.",
        "    > Failed to start Demo web server.",
        "    unit: demo-web.service",
        "  log:  <tmp>/logs/last-build.log",
        "  json: <tmp>/logs/last-build.json"],
}
EVAL_TEXT = [
    "error: attribute 'enabel' missing",
    "",
    "       at /work/main/fixtures/nix/eval-error.nix:10:28:",
    "",
    '            9|   builder = "/bin/sh";',
    '           10|   args = [ "-c" "echo ${if config.services.openssh.enabel then "yes" else "no"} > $out" ];',
    "             |                            ^",
    "           11| }",
    "       Did you mean enable?",
]
# nixos-rebuild-ng without -v (not at DEBUG): a failed command is one line
# (_handle_called_process_error; fixtures/bin/nixos-rebuild).
NIX_FAILED = ("Command 'nix-build <nixpkgs/nixos> --attr config.system.build.toplevel' "
              "returned non-zero exit status {}.")
DEPENDENCY = ("error: 1 dependencies of derivation '/nix/store/wnax3n2xzx48zx4sr61m1asfyjmafa3v-"
              "nixos-system-demo-24.11.20241124.drv' failed to build")
BROKEN_TAIL = ["unpacking source archive broken-tool-0.3.1.tar.gz",
               "configure flags: --prefix=/nix/store/ssdvrg4pba4rk3n6sf76d5s0xlmsw461-broken-tool-0.3.1 --disable-static",
               "build flags: -j2 SHELL=/bin/sh",
               "  CC       src/part1.o", "  CC       src/part2.o", "  CC       src/part3.o",
               "src/main.c:42:7: error: 'config_t' has no member named 'verbose'",
               "make: *** [Makefile:12: src/main.o] Error 1"]
BROKEN_DRV = "/nix/store/r4v50a88c2g34p42mbsprwwxxgw7041k-broken-tool-0.3.1.drv"
ACTIVATION_TEXT = (RECORDED / "activation.unit-failed.txt").read_text().splitlines()
UNIT_TAIL = ["Starting Demo web server...", "error: bind 0.0.0.0:80: address already in use",
             "demo-web.service: Main process exited, code=exited, status=1/FAILURE",
             "demo-web.service: Failed with result 'exit-code'.",
             "Failed to start Demo web server."]
SWITCH_FAILED = (
    "Command 'systemd-run -E LOCALE_ARCHIVE -E NIXOS_INSTALL_BOOTLOADER --collect "
    "--no-ask-password --pipe --quiet --service-type=exec "
    "--unit=nixos-rebuild-switch-to-configuration /nix/store/95cb7fe6c4bc5475ba7c8fcc0c23d70e-"
    "nixos-system-demo-24.11.20241124/bin/switch-to-configuration switch' returned non-zero "
    "exit status 4.")
UNITS_FAILED = "warning: the following units failed: demo-web.service"


def expected_outline(scenario: str, kind: str) -> list[str]:
    """What the job log says outside the derivations' folds, line by line."""
    fold = {"github": "[fold] {}", "gitlab": "[fold collapsed=true] {}",
            "buildkite": "[fold ---] {}"}[kind]
    failed_fold = {"github": "[fold] {}", "gitlab": "[fold collapsed=false] {}",
                   "buildkite": "[fold +++] {}"}[kind]
    back = ["+++ nixos-rebuild build" if scenario != "activation" else "+++ nixos-rebuild switch"] \
        if kind == "buildkite" else []
    head = ["building the system configuration..."]
    if scenario == "build-failure":
        failed_title = "✘ failed broken-tool-0.3.1 (exit code 2 in buildPhase) after <t>"
        beside = [f"  broken-tool-0.3.1> {line}" for line in BROKEN_TAIL] if kind == "github" else []
        body = [
            "will build 4 derivations", "▶ building slow-docs-2.1", "▶ building libbase-1.0",
            fold.format("✔ built libbase-1.0 in <t>"), *back,
            "▶ building broken-tool-0.3.1", failed_fold.format(failed_title), *beside, *back,
            DEPENDENCY, NIX_FAILED.format(100),
            fold.format("⊘ aborted slow-docs-2.1 in buildPhase after <t>"), *back]
        errors = {
            "github": [
                "::error title=broken-tool-0.3.1 failed in buildPhase with exit code 2::"
                + "%0A".join([*BROKEN_TAIL[-5:], f"full log: nix log {BROKEN_DRV}"]),
                "::error title=nixos-system-demo-24.11.20241124 not built%3A a dependency failed::"
                + DEPENDENCY],
            "gitlab": [
                "\\e[0Ksection_start:T:nixos_build_errors[collapsed=false]\\r\\e[0K\\e[31;1mroot causes\\e[0m",
                "\\e[31;1m✘ broken-tool-0.3.1 failed in buildPhase with exit code 2\\e[0m",
                *(f"  {line}" for line in BROKEN_TAIL[-5:]), f"  full log: nix log {BROKEN_DRV}",
                "\\e[31;1m✘ nixos-system-demo-24.11.20241124 not built: a dependency failed\\e[0m",
                f"  {DEPENDENCY}",
                "\\e[0Ksection_end:T:nixos_build_errors\\r\\e[0K"],
            "buildkite": [
                "+++ ✘ root causes",
                "✘ broken-tool-0.3.1 failed in buildPhase with exit code 2",
                *(f"  {line}" for line in BROKEN_TAIL[-5:]), f"  full log: nix log {BROKEN_DRV}",
                "✘ nixos-system-demo-24.11.20241124 not built: a dependency failed",
                f"  {DEPENDENCY}"],
        }[kind]
    elif scenario == "eval-error":
        body = [*EVAL_TEXT, NIX_FAILED.format(1)]
        back = []
        errors = {
            "github": [
                "::error file=fixtures/nix/eval-error.nix,line=10,col=28,"
                "title=evaluation error (attribute-missing)::" + "%0A".join(EVAL_TEXT)],
            "gitlab": [
                "\\e[0Ksection_start:T:nixos_build_errors[collapsed=false]\\r\\e[0K\\e[31;1mroot causes\\e[0m",
                "\\e[31;1m✘ evaluation error (attribute-missing)\\e[0m  (fixtures/nix/eval-error.nix:10:28)",
                *(f"  {line}" for line in EVAL_TEXT),
                "\\e[0Ksection_end:T:nixos_build_errors\\r\\e[0K"],
            "buildkite": [
                "+++ ✘ root causes",
                "✘ evaluation error (attribute-missing)  (fixtures/nix/eval-error.nix:10:28)",
                *(f"  {line}" for line in EVAL_TEXT)],
        }[kind]
    else:
        body = ["will build 5 derivations"]
        for name in DRVS["activation"]:
            body += [f"▶ building {name}", fold.format(f"✔ built {name} in <t>")]
            body += back if name != DRVS["activation"][-1] else []
        body += [*back, "/nix/store/5x3a56d21w0zi4k86dfjh7i71p7izvg5-nixos-system-demo-24.11.20241124",
                 *ACTIVATION_TEXT, SWITCH_FAILED, UNITS_FAILED]
        back = []
        errors = {
            "github": ["::error title=demo-web.service failed to start::"
                       + "%0A".join([UNITS_FAILED, *UNIT_TAIL])],
            "gitlab": [
                "\\e[0Ksection_start:T:nixos_build_errors[collapsed=false]\\r\\e[0K\\e[31;1mroot causes\\e[0m",
                "\\e[31;1m✘ demo-web.service failed to start\\e[0m",
                f"  {UNITS_FAILED}", *(f"  {line}" for line in UNIT_TAIL),
                "\\e[0Ksection_end:T:nixos_build_errors\\r\\e[0K"],
            "buildkite": ["+++ ✘ root causes", "✘ demo-web.service failed to start",
                          f"  {UNITS_FAILED}", *(f"  {line}" for line in UNIT_TAIL)],
        }[kind]
    if scenario == "build-failure":
        back = []  # already back out of the last fold
    return [*head, *body, *back, *SUMMARY[scenario], *errors]


@pytest.mark.parametrize("kind", ["github", "gitlab", "buildkite"])
@pytest.mark.parametrize("scenario", list(SCENARIOS))
def test_ci_log_line_by_line(tmp_path: Path, scenario: str, kind: CiKind) -> None:
    code, lines = run_ci(tmp_path, scenario, kind)
    assert code == SCENARIOS[scenario][2]  # the tool's exit code, unchanged
    outline, bodies = split_folds(lines, kind)
    assert outline == expected_outline(scenario, kind)
    # each derivation's fold holds exactly its own log lines, in order
    stem = "build-failure" if scenario == "build-failure" else "success"
    recorded = build_lines(f"{stem}.internal-json")
    assert sorted(bodies) == sorted(DRVS[scenario])
    for name, body in bodies.items():
        assert body == recorded[name][:len(body)] and body, name
        if not name.startswith("slow-docs"):  # the aborted one stopped half-way
            assert body == recorded[name]


def test_auto_picks_the_ci_from_the_environment(tmp_path: Path) -> None:
    run = run_wrapper(tmp_path, ["--no-nh", "os", "build"], FAKE_SCENARIO="build-failure",
                      GITHUB_ACTIONS="true")
    assert run.returncode == 100
    assert "::group::✔ built libbase-1.0 in " in run.stderr
    plain = run_wrapper(tmp_path / "p", ["--no-nh", "--console", "plain", "os", "build"],
                        FAKE_SCENARIO="build-failure", GITHUB_ACTIONS="true")
    assert "::group::" not in plain.stderr and "built libbase-1.0 in" in plain.stderr
    off = run_wrapper(tmp_path / "o", ["--no-nh", "--ci", "off", "os", "build"],
                      FAKE_SCENARIO="build-failure", GITHUB_ACTIONS="true")
    assert "::group::" not in off.stderr


def test_choose() -> None:
    assert choose("auto", "auto", {"GITLAB_CI": "true"}) == "gitlab"
    assert choose("auto", "auto", {"BUILDKITE": "true"}) == "buildkite"
    assert choose("auto", "auto", {"GITHUB_ACTIONS": "false"}) is None
    assert choose("auto", "auto", {}) is None
    assert choose("auto", "plain", {"GITHUB_ACTIONS": "true"}) is None
    assert choose("buildkite", "plain", {}) == "buildkite"
    assert choose("off", "auto", {"GITHUB_ACTIONS": "true"}) is None


def test_github_step_summary_is_appended(tmp_path: Path) -> None:
    summary = tmp_path / "step-summary.md"
    summary.write_text("earlier step\n")
    run = run_wrapper(tmp_path, ["--no-nh", "--ci", "github", "os", "build"],
                      FAKE_SCENARIO="build-failure", GITHUB_STEP_SUMMARY=str(summary))
    assert run.returncode == 100
    text = summary.read_text()
    assert text.startswith("earlier step\n### ✘ `nixos-rebuild build` failed on ")
    lines = text.splitlines()
    assert "| built | failed | aborted | downloaded | errors | duration |" in lines
    assert any(re.fullmatch(r"\| 1 \| 1 \| 1 \| 0 \| 2 \| .+ \|", line) for line in lines)
    assert ("**Root cause** (build-failure): broken-tool-0.3.1 failed in buildPhase with exit "
            "code 2") in lines
    assert f"- derivation: `{BROKEN_DRV}`" in lines
    assert "- phase: `buildPhase`" in lines and "- exit code: 2" in lines
    fold = lines.index("<details><summary>last 8 log lines of broken-tool-0.3.1</summary>")
    assert lines[fold + 2:fold + 12] == ["```text", *BROKEN_TAIL, "```"]
    assert "- `nixos-system-demo-24.11.20241124`" in lines  # the consequence


def test_buildkite_annotation_goes_to_the_agent(tmp_path: Path) -> None:
    bin_dir = tmp_path / "agent-bin"
    bin_dir.mkdir()
    agent = bin_dir / "buildkite-agent"
    # a stand-in recording how it was called: argv, then the body from stdin
    agent.write_text(f"#!/bin/sh\necho \"$@\" > {tmp_path}/agent.args\ncat > {tmp_path}/agent.body\n")
    agent.chmod(0o755)
    env = wrapper_env(tmp_path, FAKE_ACTIVATION="unit-failed")
    env["PATH"] = f"{bin_dir}:{env['PATH']}"
    run = run_wrapper(tmp_path, ["--no-nh", "--ci", "buildkite", "os", "switch"], env=env)
    assert run.returncode == 4
    assert (tmp_path / "agent.args").read_text().split() == [
        "annotate", "--style", "error", "--context", "nixos-build-os"]
    body = (tmp_path / "agent.body").read_text()
    assert body.startswith("### ✘ `nixos-rebuild switch` failed on ")
    assert "- units: `demo-web.service`" in body.splitlines()


def test_a_broken_agent_does_not_change_the_exit_code(tmp_path: Path) -> None:
    bin_dir = tmp_path / "agent-bin"
    bin_dir.mkdir()
    (bin_dir / "buildkite-agent").write_text("#!/bin/sh\necho 'no agent token' >&2\nexit 1\n")
    (bin_dir / "buildkite-agent").chmod(0o755)
    env = wrapper_env(tmp_path)
    env["PATH"] = f"{bin_dir}:{env['PATH']}"
    run = run_wrapper(tmp_path, ["--no-nh", "--ci", "buildkite", "os", "build"], env=env)
    assert run.returncode == 0
    assert "ci console switched off: OSError: buildkite-agent annotate failed: no agent token" \
        in run.stderr


# --- the renderer alone, on plain data --------------------------------------------------------

DRV = "/nix/store/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa-slow-1.0.drv"


def renderer(kind: CiKind = "github") -> tuple[CiRenderer, io.StringIO, ManualClock]:
    out = io.StringIO()
    clock = ManualClock()
    sink = CiRenderer(out, kind, clock=clock, repository=Path("/repo"))
    sink.handle([BuildStarted(build_id="b", tool="nixos-rebuild", action="build", target="os",
                              ts=clock.now_iso())])
    return sink, out, clock


def test_heartbeat_after_30_quiet_seconds_names_what_runs() -> None:
    sink, out, clock = renderer()
    sink.tick()
    assert out.getvalue() == ""
    clock.advance(5_000)
    sink.handle([DerivationStarted(drv_path=DRV, name="slow-1.0", ts=clock.now_iso()),
                 Phase(drv_path=DRV, name="slow-1.0", phase="buildPhase")])
    assert out.getvalue() == "▶ building slow-1.0\n"
    clock.advance(HEARTBEAT_MS - 1)
    sink.handle([LogLine(text="compiling", source="build", drv_path=DRV, name="slow-1.0")])
    sink.tick()
    assert out.getvalue() == "▶ building slow-1.0\n"  # the fold keeps the line; not yet 30 s
    clock.advance(1)
    sink.tick()
    assert out.getvalue().splitlines()[-1] == \
        "… still running after 35.0s: slow-1.0 (buildPhase, 30.0s)"
    clock.advance(HEARTBEAT_MS - 1)
    sink.tick()
    assert len(out.getvalue().splitlines()) == 2  # every 30 s, not every tick
    clock.advance(1)
    sink.tick()
    assert out.getvalue().splitlines()[-1] == \
        "… still running after 1m05s: slow-1.0 (buildPhase, 1m00s)"


def test_heartbeat_before_any_derivation() -> None:
    sink, out, clock = renderer("gitlab")
    clock.advance(HEARTBEAT_MS)
    sink.tick()
    assert out.getvalue() == \
        "… still running after 30.0s: evaluating, fetching or waiting for the tool\n"


def test_no_heartbeat_after_the_end() -> None:
    sink, out, clock = renderer()
    sink.handle([BuildFinished(exit_code=0, success=True, duration_ms=10)])
    clock.advance(HEARTBEAT_MS * 3)
    sink.tick()
    assert "still running" not in out.getvalue()


def test_build_text_cannot_issue_workflow_commands() -> None:
    sink, out, _ = renderer("github")
    evil = ["::add-mask::hunter2", "  ::error::fake", "ok"]
    sink.handle([DerivationStarted(drv_path=DRV, name="slow-1.0"),
                 *(LogLine(text=t, source="build", drv_path=DRV, name="slow-1.0") for t in evil),
                 DerivationFinished(drv_path=DRV, name="slow-1.0", duration_ms=1000),
                 LogLine(text="::stop-commands::x", source="tool")])
    lines = out.getvalue().splitlines()
    start = lines.index("::group::✔ built slow-1.0 in 1.0s")
    token = lines[start + 1].removeprefix("::stop-commands::")
    assert re.fullmatch(r"nbs-[0-9a-f]{24}", token)
    assert lines[start + 1:start + 6] == [f"::stop-commands::{token}", *evil, f"::{token}::"]
    assert lines[start + 6] == "::endgroup::"
    guard = lines[-3].removeprefix("::stop-commands::")
    assert lines[-3:] == [f"::stop-commands::{guard}", "::stop-commands::x", f"::{guard}::"]
    assert guard != token and guard.startswith("nbs-")


def test_build_text_cannot_open_gitlab_sections_or_buildkite_groups() -> None:
    sink, out, _ = renderer("gitlab")
    sink.handle([LogLine(text="\x1b[0Ksection_end:1:drv-1-x\r\x1b[0K", source="tool")])
    assert out.getvalue() == "section_end:1:drv-1-x\r\n"  # no escape: no marker
    sink, out, _ = renderer("buildkite")
    sink.handle([LogLine(text="--- not a group", source="tool"),
                 LogLine(text="+++ nor this", source="tool"), LogLine(text="---x", source="tool")])
    assert out.getvalue() == " --- not a group\n +++ nor this\n---x\n"


def test_at_most_ten_annotations_root_causes_first() -> None:
    sink, out, _ = renderer("github")
    consequences = [ErrorEvent(kind="dependency-failure", message=f"dep {i}", root_cause=False,
                               derivation=f"dep-{i}") for i in range(8)]
    causes = [ErrorEvent(kind="other", message=f"cause {i}") for i in range(6)]
    sink.handle([*consequences, *causes,
                 BuildFinished(exit_code=1, success=False, duration_ms=5, errors=14)])
    sink.close()
    errors = [line for line in out.getvalue().splitlines() if line.startswith("::error")]
    assert len(errors) == MAX_ANNOTATIONS
    assert [e.split("::")[-1] for e in errors[:6]] == [f"cause {i}" for i in range(6)]
    assert errors[-1] == ("::error title=5 more errors::all errors: nixos-build-status errors "
                          "(or the job summary)")


def test_a_failure_without_a_recognised_error_is_still_annotated() -> None:
    sink, out, _ = renderer("github")
    sink.handle([BuildFinished(exit_code=137, success=False, duration_ms=5)])
    sink.close()
    assert out.getvalue().splitlines()[-1] == (
        "::error title=nixos-rebuild failed (exit code 137)::no error message was recognised; "
        "see the log above")


def test_failed_derivation_without_live_lines_folds_its_tail() -> None:
    sink, out, _ = renderer("gitlab")
    sink.handle([DerivationStarted(drv_path=DRV, name="slow-1.0"),
                 DerivationFailed(drv_path=DRV, name="slow-1.0", exit_code=1, phase="checkPhase",
                                  duration_ms=2000, log_tail=["FAIL: test_x"])])
    lines = out.getvalue().split("\n")
    assert lines[1].endswith("[collapsed=false]\r\x1b[0K✘ failed slow-1.0 (exit code 1 in "
                             "checkPhase) after 2.0s")
    assert lines[2] == "FAIL: test_x"
    assert re.fullmatch(r"\x1b\[0Ksection_end:\d+:drv-1-slow-1.0\r\x1b\[0K", lines[3])


def test_paths_relative_to_the_repository(tmp_path: Path) -> None:
    assert repo_relative("/work/main/hosts/a.nix", Path("/work/main")) == "hosts/a.nix"
    assert repo_relative("/elsewhere/a.nix", Path("/work/main")) is None
    assert repo_relative("/work/mainline/a.nix", Path("/work/main")) is None
    (tmp_path / "hosts").mkdir()
    (tmp_path / "hosts" / "web.nix").write_text("{ }\n")
    store = "/nix/store/0123456789abcdfghijklmnpqrsvwxyz-source"
    assert repo_relative(f"{store}/hosts/web.nix", tmp_path) == "hosts/web.nix"
    assert repo_relative(f"{store}/hosts/db.nix", tmp_path) is None  # not in this checkout


def test_eval_error_outside_the_repository_has_no_file_property(tmp_path: Path) -> None:
    code, lines = run_ci(tmp_path, "eval-error", "github", GITHUB_WORKSPACE=str(tmp_path))
    assert code == 1
    annotation = [line for line in lines if line.startswith("::error")]
    assert len(annotation) == 1 and annotation[0].startswith(
        "::error title=evaluation error (attribute-missing)::")
    assert annotation[0].endswith("%0Aat /work/main/fixtures/nix/eval-error.nix:10:28")


def test_record_is_unchanged_by_the_ci_console(tmp_path: Path) -> None:
    plain = run_wrapper(tmp_path / "a", ["--no-nh", "--console", "plain", "os", "build"],
                        FAKE_SCENARIO="build-failure")
    ci = run_wrapper(tmp_path / "b", ["--no-nh", "--ci", "github", "os", "build"],
                     FAKE_SCENARIO="build-failure")
    keep = ("exitCode", "success", "errors", "errorDetails", "failedDerivations", "derivations")
    a, b = plain.last_build(), ci.last_build()
    assert {k: a[k] for k in keep} == {k: b[k] for k in keep}
    assert json.dumps(a["errorDetails"])  # structured errors are there
