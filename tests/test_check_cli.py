"""``lineage check``: exit codes, formats, one-line errors, and the demo registries."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from click.testing import CliRunner
from ruamel.yaml import YAML

from lineage.cli import main

ROOT = Path(__file__).resolve().parent.parent
DEMO = ROOT / "lineage" / "fixtures" / "demo"
CLEAN = """\
systems:
  - {name: ERP, owner: finance@example.com}
  - {name: BI, owner: data@example.com}
elements:
  - {name: order.total, system_of_record: ERP, system_of_origin: ERP, owner: c@example.com}
integrations:
  - name: erp-to-bi
    source: ERP
    target: BI
    owner: data@example.com
    level: intelligence
    purpose: reports in USD
    carries:
      - {element: order.total, transform: currency(rate=1.08)}
"""


def write(tmp_path: Path, text: str, name: str = "registry.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_a_clean_registry_exits_0(runner: CliRunner, tmp_path: Path) -> None:
    result = runner.invoke(main, ["check", str(write(tmp_path, CLEAN))])
    assert result.exit_code == 0, result.output
    assert result.output.strip() == "lineage check: no findings"


def test_an_error_finding_exits_1_and_names_file_and_line(
    runner: CliRunner, tmp_path: Path
) -> None:
    path = write(tmp_path, CLEAN.replace("    owner: data@example.com\n", ""))
    result = runner.invoke(main, ["check", str(path)])
    assert result.exit_code == 1
    assert f"{path}:7: error missing-owner integration 'erp-to-bi'" in result.output


def test_warnings_fail_only_with_fail_on_warning(runner: CliRunner, tmp_path: Path) -> None:
    path = write(tmp_path, CLEAN.replace("    purpose: reports in USD\n", ""))
    assert runner.invoke(main, ["check", str(path)]).exit_code == 0
    result = runner.invoke(main, ["check", str(path), "--fail-on", "warning"])
    assert result.exit_code == 1
    assert "warning missing-purpose" in result.output


def test_malformed_yaml_exits_2_with_one_line_naming_file_and_line(
    runner: CliRunner, tmp_path: Path
) -> None:
    path = write(tmp_path, CLEAN.replace("target: BI", "target: [BI"))
    result = runner.invoke(main, ["check", str(path)])
    assert result.exit_code == 2
    assert result.stdout == ""
    [line] = result.stderr.splitlines()
    assert line.startswith(f"lineage: {path}:")
    assert "not valid YAML" in line
    assert "Traceback" not in result.output


def test_an_unknown_key_exits_2_naming_its_line(runner: CliRunner, tmp_path: Path) -> None:
    path = write(tmp_path, CLEAN.replace("    level:", "    levle:"))
    result = runner.invoke(main, ["check", str(path)])
    assert result.exit_code == 2
    assert result.stderr.strip() == (
        f"lineage: {path}:11: integration 'erp-to-bi': unknown key 'levle'; allowed keys: "
        "name, source, target, owner, level, mode, purpose, fallback, cardinality, timeout, "
        "carries, description, openlineage_jobs"
    )


def test_a_missing_path_exits_2(runner: CliRunner, tmp_path: Path) -> None:
    result = runner.invoke(main, ["check", str(tmp_path / "registry")])
    assert result.exit_code == 2
    assert result.stderr.strip() == (
        f"lineage: {tmp_path / 'registry'}: no such file or directory: give registry YAML "
        "files or a directory of them"
    )


def test_check_needs_at_least_one_path(runner: CliRunner) -> None:
    result = runner.invoke(main, ["check"])
    assert result.exit_code == 2
    assert "Missing argument" in result.output


@pytest.mark.parametrize("fmt", ["json", "sarif"])
def test_json_formats_print_exactly_one_document(
    runner: CliRunner, tmp_path: Path, fmt: str
) -> None:
    path = write(tmp_path, CLEAN.replace("    owner: data@example.com\n", ""))
    result = runner.invoke(main, ["check", str(path), "--format", fmt])
    assert result.exit_code == 1
    document = json.loads(result.stdout)
    if fmt == "json":
        assert document["summary"] == {"error": 1, "warning": 0, "info": 0}
        assert document["findings"][0]["location"] == {"file": str(path), "line": 7}
    else:
        assert document["runs"][0]["results"][0]["ruleId"] == "missing-owner"


def test_junit_output_parses_as_xml(runner: CliRunner, tmp_path: Path) -> None:
    result = runner.invoke(main, ["check", str(write(tmp_path, CLEAN)), "--format", "junit"])
    assert result.exit_code == 0
    root = ET.fromstring(result.stdout)
    assert root.tag == "testsuites"
    assert len(root.findall("./testsuite/testcase")) == 1


def test_github_output_annotates_the_line(runner: CliRunner, tmp_path: Path) -> None:
    path = write(tmp_path, CLEAN.replace("    owner: data@example.com\n", ""))
    result = runner.invoke(main, ["check", str(path), "--format", "github"])
    assert result.stdout.startswith(f"::error file={path},line=7,title=missing-owner::")


def test_today_decides_waiver_expiry(runner: CliRunner, tmp_path: Path) -> None:
    path = write(
        tmp_path,
        CLEAN.replace("    purpose: reports in USD\n", "")
        + """\
waivers:
  - code: missing-purpose
    subject: {integration: erp-to-bi}
    reason: being written
    owner: data@example.com
    expires: 2027-01-31
""",
    )
    before = runner.invoke(main, ["check", str(path), "--today", "2027-01-31"])
    assert before.output.strip() == "lineage check: no findings (1 waived)"
    after = runner.invoke(
        main, ["check", str(path), "--today", "2027-02-01", "--fail-on", "warning"]
    )
    assert after.exit_code == 1
    assert "warning expired-waiver" in after.output
    assert "warning missing-purpose" in after.output


def test_the_demo_registry_passes(runner: CliRunner, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    result = runner.invoke(main, ["check", "fixtures/demo/registry", "--today", "2026-12-01"])
    assert result.exit_code == 0, result.output
    assert "fixtures/demo/registry/bank.yaml:" in result.output
    assert " error " not in result.output and " warning " not in result.output


def test_the_pull_request_variant_fails_naming_each_defect(
    runner: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(ROOT)
    result = runner.invoke(
        main, ["check", "fixtures/demo/pull-request", "--format", "json", "--today", "2026-12-01"]
    )
    assert result.exit_code == 1
    errors = [f for f in json.loads(result.stdout)["findings"] if f["severity"] == "error"]
    assert {(f["code"], f["location"]["file"]) for f in errors} == {
        ("missing-system-of-record", "fixtures/demo/pull-request/shop.yaml"),
        ("missing-owner", "fixtures/demo/pull-request/warehouse.yaml"),
        ("backflow-into-system-of-record", "fixtures/demo/pull-request/bi.yaml"),
        ("unknown-transform", "fixtures/demo/pull-request/portal.yaml"),
    }
    assert all(isinstance(f["location"]["line"], int) for f in errors)


def test_python_m_lineage_check_reports_bad_yaml_without_a_traceback(tmp_path: Path) -> None:
    path = write(tmp_path, "systems:\n  - name: CRM\n    owner: [a\n")
    done = subprocess.run(
        [sys.executable, "-m", "lineage", "check", str(path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2
    assert done.stdout == ""
    assert done.stderr.count("\n") == 1
    assert done.stderr.startswith(f"lineage: {path}:")
    assert "Traceback" not in done.stderr


def test_python_m_lineage_check_passes_the_demo_registry() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "lineage", "check", "fixtures/demo/registry", "--format", "sarif"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["version"] == "2.1.0"


def test_the_pre_commit_hook_runs_lineage_check_on_registry_changes() -> None:
    [hook, *_] = YAML(typ="safe").load((ROOT / ".pre-commit-hooks.yaml").read_text())
    assert hook["id"] == "lineage-check"
    assert hook["entry"] == "lineage check"
    assert hook["language"] == "python"
    assert hook["pass_filenames"] is False
    pattern = re.compile(hook["files"])
    assert pattern.search("fixtures/demo/registry/erp.yaml")
    assert pattern.search("registry/teams/crm.yml")
    assert not pattern.search("lineage/registry/loader.py")
