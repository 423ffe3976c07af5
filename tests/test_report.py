"""Findings rendered for people and for CI: text, JSON, JUnit, SARIF, GitHub annotations."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET

import pytest

from lineage.model import CODES, Finding, Location
from lineage.report import FORMATS, failing, render

REGISTRY_FINDING = Finding.of(
    "missing-system-of-record",
    "element 'tax.rate' declares no system_of_record",
    owner="controller@example.com",
    location=Location(file="registry/finance.yaml", line=14),
    element="tax.rate",
)
WARNING = Finding.of(
    "missing-fallback",
    "foundation integration 'erp-to-bi' has no fallback",
    owner="bi-lead@example.com",
    location=Location(file="registry/bi.yaml", line=3),
    integration="erp-to-bi",
)
RUNTIME_FINDING = Finding.of(
    "conflicting-truth",
    "BI holds 72.00 for order.total, the golden value yields 96.00",
    owner="bi@example.com",
    evidence={"value": "72.00", "expected": "96.00"},
    system="BI",
    element="order.total",
    record="R-9",
    event="h-5",
)
INFO = Finding.of(
    "pass-through",
    "integration 'erp-to-bi' copies 'order.total' unchanged",
    location=Location(file="registry/bi.yaml", line=9),
    element="order.total",
    integration="erp-to-bi",
)
ALL = [REGISTRY_FINDING, RUNTIME_FINDING, WARNING, INFO]


def test_text_is_one_linter_line_per_finding_and_a_summary() -> None:
    lines = render(ALL, "text").splitlines()
    assert lines[0] == (
        "registry/finance.yaml:14: error missing-system-of-record element 'tax.rate' "
        "declares no system_of_record (owner: controller@example.com)"
    )
    assert lines[1].startswith("BI/order.total/R-9: error conflicting-truth BI holds 72.00")
    assert lines[-1] == "lineage check: 2 errors, 1 warning, 1 info"


def test_text_summary_names_the_tool_and_the_waived() -> None:
    assert render([], "text", tool="lineage scan", waived=2) == (
        "lineage scan: no findings (2 waived)"
    )


def test_text_keeps_a_finding_on_one_line_whatever_its_message() -> None:
    odd = Finding.of("missing-purpose", "integration 'a\nb' states no purpose", integration="a\nb")
    assert len(render([odd], "text").splitlines()) == 2


def test_json_has_exactly_the_design_shape() -> None:
    document = json.loads(render([REGISTRY_FINDING, RUNTIME_FINDING], "json"))
    assert set(document) == {"findings", "summary"}
    assert document["summary"] == {"error": 2, "warning": 0, "info": 0}
    assert document["findings"][0] == {
        "code": "missing-system-of-record",
        "severity": "error",
        "message": "element 'tax.rate' declares no system_of_record",
        "owner": "controller@example.com",
        "subject": {
            "element": "tax.rate",
            "system": None,
            "integration": None,
            "record": None,
            "event": None,
        },
        "location": {"file": "registry/finance.yaml", "line": 14},
        "evidence": {},
    }
    runtime = document["findings"][1]
    assert runtime["location"] is None
    assert runtime["subject"]["record"] == "R-9"
    assert runtime["subject"]["event"] == "h-5"
    assert runtime["evidence"] == {"value": "72.00", "expected": "96.00"}


def test_junit_has_one_failing_testcase_per_finding() -> None:
    root = ET.fromstring(render(ALL, "junit"))
    suite = root.find("testsuite")
    assert suite is not None
    assert (suite.get("tests"), suite.get("failures"), suite.get("skipped")) == ("4", "3", "1")
    assert (root.get("tests"), root.get("failures"), root.get("time")) == ("4", "3", "0")
    cases = suite.findall("testcase")
    assert len(cases) == 4
    first = cases[0]
    assert first.get("classname") == "lineage.check.missing-system-of-record"
    assert first.get("name") == "registry/finance.yaml:14: missing-system-of-record"
    failure = first.find("failure")
    assert failure is not None
    assert failure.get("type") == "error"
    assert "tax.rate" in (failure.get("message") or "")
    assert "controller@example.com" in (failure.text or "")
    assert "where: registry/finance.yaml:14" in (failure.text or "")
    assert cases[3].find("skipped") is not None


def test_junit_with_no_findings_is_one_passing_testcase() -> None:
    root = ET.fromstring(render([], "junit"))
    cases = root.findall("./testsuite/testcase")
    assert len(cases) == 1
    assert cases[0].find("failure") is None
    assert root.get("failures") == "0"


def test_junit_stays_valid_xml_with_control_characters_and_markup() -> None:
    nasty = Finding.of(
        "missing-purpose", "integration '<a & \x07b>' states no purpose", integration="<a & \x07b>"
    )
    root = ET.fromstring(render([nasty], "junit"))
    failure = root.find("./testsuite/testcase/failure")
    assert failure is not None
    assert "<a & \ufffdb>" in (failure.get("message") or "")


def test_sarif_is_version_2_1_0_with_one_rule_per_code() -> None:
    document = json.loads(render(ALL, "sarif"))
    assert document["version"] == "2.1.0"
    assert document["$schema"].endswith("sarif-2.1.0.json")
    [run] = document["runs"]
    rules = run["tool"]["driver"]["rules"]
    assert [rule["id"] for rule in rules] == list(CODES)
    by_id = {rule["id"]: rule for rule in rules}
    assert by_id["pass-through"]["shortDescription"]["text"] == CODES["pass-through"].description
    assert by_id["pass-through"]["defaultConfiguration"]["level"] == "note"
    assert run["tool"]["driver"]["name"] == "lineage"


def test_sarif_results_have_levels_regions_and_logical_locations() -> None:
    run = json.loads(render(ALL, "sarif"))["runs"][0]
    rules = run["tool"]["driver"]["rules"]
    results = run["results"]
    assert [r["ruleId"] for r in results] == [f.code for f in ALL]
    assert [r["level"] for r in results] == ["error", "error", "warning", "note"]
    for result in results:
        assert rules[result["ruleIndex"]]["id"] == result["ruleId"]
        assert result["message"]["text"]
    physical = results[0]["locations"][0]["physicalLocation"]
    assert physical["artifactLocation"]["uri"] == "registry/finance.yaml"
    assert physical["region"]["startLine"] == 14
    logical = results[1]["locations"][0]["logicalLocations"][0]
    assert logical["fullyQualifiedName"] == "BI/order.total/R-9"
    assert "physicalLocation" not in results[1]["locations"][0]
    assert results[0]["partialFingerprints"] != results[2]["partialFingerprints"]


def test_sarif_uris_are_percent_encoded() -> None:
    spaced = Finding.of(
        "missing-purpose", "x", location=Location(file="my registry/a#1.yaml", line=2)
    )
    result = json.loads(render([spaced], "sarif"))["runs"][0]["results"][0]
    uri = result["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
    assert uri == "my%20registry/a%231.yaml"


def test_github_annotations_are_workflow_commands() -> None:
    lines = render(ALL, "github").splitlines()
    assert lines[0] == (
        "::error file=registry/finance.yaml,line=14,title=missing-system-of-record::"
        "element 'tax.rate' declares no system_of_record (owner: controller@example.com)"
    )
    assert lines[1].startswith("::error title=conflicting-truth::BI/order.total/R-9: BI holds")
    assert lines[2].startswith("::warning file=registry/bi.yaml,line=3,")
    assert lines[3].startswith("::notice file=registry/bi.yaml,line=9,title=pass-through::")


def test_github_escapes_data_and_properties() -> None:
    finding = Finding.of(
        "missing-purpose",
        "100% of\r\nthe integration",
        location=Location(file="odd,dir/a:b.yaml", line=1),
    )
    line = render([finding], "github")
    assert "\n" not in line and "\r" not in line
    assert line == (
        "::warning file=odd%2Cdir/a%3Ab.yaml,line=1,title=missing-purpose::100%25 of%0D%0Athe "
        "integration"
    )


def test_github_with_no_findings_prints_nothing() -> None:
    assert render([], "github") == ""


def test_an_unknown_format_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown report format"):
        render(ALL, "html")
    assert set(FORMATS) == {"text", "json", "junit", "sarif", "github", "markdown"}


def test_failing_counts_findings_at_or_above_the_threshold() -> None:
    assert failing(ALL, "error") == [REGISTRY_FINDING, RUNTIME_FINDING]
    assert failing(ALL, "warning") == [REGISTRY_FINDING, RUNTIME_FINDING, WARNING]
    assert failing([WARNING, INFO], "error") == []
