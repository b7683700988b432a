"""Result files (sinks/results.py): JUnit XML valid against the schema CI systems read
(Jenkins' junit-10.xsd, validated with xmlschema) and the JSON record, for a failing
build, an evaluation error and a failed activation through the fake tools."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from parsers.events import (
    BuildFinished,
    BuildStarted,
    DerivationFailed,
    DerivationStarted,
    ErrorEvent,
)
from sinks.results import BuildFacts, junit_xml, parse_result_file
from tests.conftest import run_wrapper

SCHEMA = Path(__file__).parent / "data" / "junit-10.xsd"


@cache
def schema() -> Any:
    import xmlschema

    return xmlschema.XMLSchema(str(SCHEMA))


def build(tmp_path: Path, action: str, **fake: str) -> tuple[int, ET.Element, Path]:
    junit, record = tmp_path / "out" / "build.xml", tmp_path / "out" / "build.json"
    junit.parent.mkdir()
    run = run_wrapper(tmp_path, ["--no-nh", "--console", "plain", "--result-file", f"junit:{junit}",
                                 "--result-file", f"json:{record}", "os", action], **fake)
    schema().validate(str(junit))  # raises with the reason when the file is not valid
    assert json.loads(record.read_text()) == run.last_build()
    return run.returncode, ET.parse(junit).getroot(), junit


def cases(root: ET.Element) -> dict[str, ET.Element]:
    suite = root.find("testsuite")
    assert suite is not None
    return {c.attrib["name"]: c for c in suite.findall("testcase")}


def outcome(case: ET.Element) -> str:
    children = [child.tag for child in case]
    assert len(children) <= 1, children
    return children[0] if children else "passed"


def test_junit_of_a_failing_build(tmp_path: Path) -> None:
    code, root, _ = build(tmp_path, "build", FAKE_SCENARIO="build-failure")
    assert code == 100
    by_name = cases(root)
    assert {name: outcome(c) for name, c in by_name.items()} == {
        "evaluation": "passed",
        "libbase-1.0": "passed",
        "broken-tool-0.3.1": "failure",
        "slow-docs-2.1": "skipped",
        "nixos-system-demo-24.11.20241124": "skipped",  # never started: its dependency failed
        "activation": "skipped",
    }
    suite = root.find("testsuite")
    assert suite is not None
    assert (suite.attrib["tests"], suite.attrib["failures"], suite.attrib["errors"],
            suite.attrib["skipped"]) == ("6", "1", "0", "3")
    assert root.attrib["tests"] == "6" and root.attrib["failures"] == "1"
    failure = by_name["broken-tool-0.3.1"].find("failure")
    assert failure is not None
    assert failure.attrib == {"message": "broken-tool-0.3.1 failed (exit code 2 in buildPhase)",
                              "type": "builder-failed"}
    text = (failure.text or "").splitlines()
    assert text[0] == "/nix/store/r4v50a88c2g34p42mbsprwwxxgw7041k-broken-tool-0.3.1.drv"
    assert text[-2:] == ["src/main.c:42:7: error: 'config_t' has no member named 'verbose'",
                         "make: *** [Makefile:12: src/main.o] Error 1"]
    assert by_name["broken-tool-0.3.1"].attrib["classname"] == "nixos-build.os.build.derivation"
    for case in by_name.values():
        float(case.attrib["time"])  # seconds, a number
    activation = by_name["activation"].find("skipped")
    assert activation is not None and activation.attrib["message"] == "os build does not activate"
    properties = {p.attrib["name"]: p.attrib["value"] for p in suite.iter("property")}
    assert properties["exitCode"] == "100"
    assert properties["command"].startswith("nixos-rebuild build")


def test_junit_of_an_evaluation_error(tmp_path: Path) -> None:
    code, root, _ = build(tmp_path, "build", FAKE_SCENARIO="eval-error")
    assert code == 1
    by_name = cases(root)
    assert {name: outcome(c) for name, c in by_name.items()} == {
        "evaluation": "failure", "activation": "skipped"}
    failure = by_name["evaluation"].find("failure")
    assert failure is not None
    assert failure.attrib == {"message": "error: attribute 'enabel' missing",
                              "type": "attribute-missing"}
    text = failure.text or ""
    assert "at /work/main/fixtures/nix/eval-error.nix:10:28" in text.splitlines()
    assert "Did you mean enable?" in text
    assert "\x1b" not in text


def test_junit_of_a_failed_activation(tmp_path: Path) -> None:
    code, root, _ = build(tmp_path, "switch", FAKE_ACTIVATION="unit-failed")
    assert code == 4
    by_name = cases(root)
    assert {name: outcome(c) for name, c in by_name.items()} == {
        "evaluation": "passed", "zlib-1.3.1": "passed", "openssl-3.0.14": "passed",
        "curl-8.9.1": "passed", "etc": "passed", "nixos-system-demo-24.11.20241124": "passed",
        "activation": "failure"}
    failure = by_name["activation"].find("failure")
    assert failure is not None
    assert failure.attrib == {"message": "warning: the following units failed: demo-web.service",
                              "type": "activation-unit-failed"}
    assert "error: bind 0.0.0.0:80: address already in use" in (failure.text or "").splitlines()


def test_junit_of_a_successful_switch(tmp_path: Path) -> None:
    code, root, _ = build(tmp_path, "switch")
    assert code == 0
    assert {outcome(c) for c in cases(root).values()} == {"passed"}
    assert root.attrib["failures"] == "0"


def test_unexplained_failures_and_interruptions_get_a_result_case() -> None:
    facts = BuildFacts()
    for event in (BuildStarted(build_id="b", tool="nh", target="os", action="switch",
                               ts="2026-12-02T08:00:00.000Z"),
                  ErrorEvent(kind="out-of-space", message="error: no space left on device"),
                  BuildFinished(exit_code=1, success=False, ts="2026-12-02T08:00:02.500Z")):
        facts.add(event)
    root = ET.fromstring(junit_xml(facts))
    result = cases(root)["result"]
    assert result.attrib["time"] == "2.500"
    failure = result.find("failure")
    assert failure is not None and failure.attrib == {"message": "nh failed (exit code 1)",
                                                      "type": "out-of-space"}
    assert failure.text == "error: no space left on device"

    facts.finished = BuildFinished(exit_code=130, success=False, signal=2, interrupted=True,
                                   ts="2026-12-02T08:00:03.000Z")
    root = ET.fromstring(junit_xml(facts))
    error = cases(root)["result"].find("error")
    assert error is not None and error.attrib["message"] == "nh was interrupted (exit code 130)"
    assert root.attrib["errors"] == "1"


def test_text_xml_cannot_carry_is_replaced() -> None:
    drv = "/nix/store/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa-x-1.drv"
    facts = BuildFacts()
    for event in (BuildStarted(build_id="b", target="os", action="build"),
                  DerivationStarted(drv_path=drv, name="x-1"),
                  DerivationFailed(drv_path=drv, name="x-1", exit_code=1,
                                   log_tail=["bell\x07 nul\x00 \x1b[31mred\x1b[0m <&>"]),
                  BuildFinished(exit_code=1, success=False)):
        facts.add(event)
    data = junit_xml(facts)
    schema().validate(ET.fromstring(data))
    failure = cases(ET.fromstring(data))["x-1"].find("failure")
    assert failure is not None and (failure.text or "").splitlines()[-1] == "bell\ufffd nul\ufffd red <&>"


def test_files_are_written_even_when_the_tool_is_missing(tmp_path: Path) -> None:
    junit = tmp_path / "r.xml"
    run = run_wrapper(tmp_path, ["--no-nh", "--result-file", f"junit:{junit}", "os", "build"],
                      PATH="/nonexistent")
    assert run.returncode == 127
    schema().validate(str(junit))
    assert cases(ET.parse(junit).getroot())["result"].find("failure") is not None


def test_a_result_file_that_cannot_be_written_does_not_change_the_exit_code(tmp_path: Path) -> None:
    run = run_wrapper(tmp_path, ["--no-nh", "--result-file", f"junit:{tmp_path}/no/such/r.xml",
                                 "--result-file", f"json:{tmp_path}/ok.json", "os", "build"],
                      FAKE_SCENARIO="build-failure")
    assert run.returncode == 100
    assert "result files switched off: No such file or directory" in run.stderr
    assert json.loads((tmp_path / "ok.json").read_text())["exitCode"] == 100  # the other one


@pytest.mark.parametrize("spec", ["xml:a.xml", "junit:", "junit", ":a"])
def test_bad_result_file_specs(tmp_path: Path, spec: str) -> None:
    with pytest.raises(ValueError, match="use junit:PATH or json:PATH"):
        parse_result_file(spec)
    run = run_wrapper(tmp_path, ["--result-file", spec, "os", "build"])
    assert run.returncode == 3
    assert "use junit:PATH or json:PATH" in run.stderr


def test_the_schema_does_reject_what_ci_systems_would_not_read() -> None:
    import xmlschema

    bad = ('<testsuites><testsuite name="s" tests="1"><testcase classname="c">'
           '<failure message="m"/><skipped/></testcase></testsuite></testsuites>')
    with pytest.raises(xmlschema.XMLSchemaValidationError):
        schema().validate(ET.fromstring(bad))  # no name; skipped after failure
