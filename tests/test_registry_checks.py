"""Registry checks across files, owners to talk to, ordering, and the demo company."""

from __future__ import annotations

import datetime as dt
import re
import textwrap
from pathlib import Path

import pytest

from lineage.model import Finding, Severity
from lineage.registry import CHECKS, check_registry, load_registry, run_checks

ROOT = Path(__file__).resolve().parent.parent
DEMO = ROOT / "lineage" / "fixtures" / "demo"
TODAY = dt.date(2026, 12, 1)


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text))
    return path


def line_of(path: Path, pattern: str) -> int:
    """The 1-based line of the first line of ``path`` matching ``pattern``."""
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        if re.search(pattern, line):
            return number
    raise AssertionError(f"{pattern!r} not in {path}")


def test_two_files_naming_two_systems_of_record_are_reported_with_both_places(
    tmp_path: Path,
) -> None:
    registry_dir = tmp_path / "registry"
    write(
        registry_dir / "finance.yaml",
        """\
        systems:
          - {name: ERP, owner: finance@example.com}
          - {name: Tax, owner: tax@example.com}
        elements:
          - name: tax.rate
            system_of_record: ERP
            owner: controller@example.com
        """,
    )
    write(
        registry_dir / "tax.yaml",
        """\
        # the tax team thinks the rate is theirs
        elements:
          - name: tax.rate
            system_of_record: Tax
            owner: tom@example.com
        """,
    )
    findings = check_registry(load_registry([registry_dir]), today=TODAY)
    [finding] = [f for f in findings if f.code == "multiple-systems-of-record"]
    finance, tax = str(registry_dir / "finance.yaml"), str(registry_dir / "tax.yaml")
    assert finding.location is not None
    assert (finding.location.file, finding.location.line) == (tax, 3)
    assert f"{finance}:5" in finding.message and f"{tax}:3" in finding.message
    assert finding.evidence["declarations"] == [
        {"system_of_record": "ERP", "file": finance, "line": 5, "owner": "controller@example.com"},
        {"system_of_record": "Tax", "file": tax, "line": 3, "owner": "tom@example.com"},
    ]
    assert finding.owner == "tom@example.com"
    assert finding.subject.element == "tax.rate"


def test_an_integration_without_owner_names_the_receiving_system_owner(
    tmp_path: Path,
) -> None:
    path = write(
        tmp_path / "r.yaml",
        """\
        systems:
          - {name: ERP, owner: finance@example.com}
          - {name: BI, owner: data@example.com}
          - {name: WMS}
        elements:
          - {name: order.total, system_of_record: ERP}
        integrations:
          - name: erp-to-bi
            source: ERP
            target: BI
            purpose: reports
            carries: [{element: order.total, transform: round(2)}]
        """,
    )
    findings = [
        f for f in check_registry(load_registry([path]), today=TODAY) if f.code == "missing-owner"
    ]
    by_subject = {
        (f.subject.system or f.subject.element or f.subject.integration): f for f in findings
    }
    assert by_subject["erp-to-bi"].owner == "data@example.com"
    assert by_subject["order.total"].owner == "finance@example.com"
    assert by_subject["WMS"].owner is None
    assert "add owner" in by_subject["WMS"].message


def test_findings_are_sorted_by_severity_then_file_and_line(tmp_path: Path) -> None:
    write(
        tmp_path / "a.yaml",
        """\
        systems:
          - {name: ERP, owner: finance@example.com}
          - {name: BI, owner: data@example.com}
        integrations:
          - name: erp-to-bi
            source: ERP
            target: BI
            owner: data@example.com
            carries: [{element: order.total}]
        """,
    )
    write(
        tmp_path / "b.yaml",
        """\
        elements:
          - {name: order.total, owner: controller@example.com}
          - {name: invoice.total, system_of_record: ERP}
        """,
    )
    findings = check_registry(load_registry([tmp_path]), today=TODAY)
    keys = [(f.severity.rank, f.location.file, f.location.line) for f in findings if f.location]
    assert keys == sorted(keys)
    assert findings[0].severity == Severity.ERROR
    assert findings[-1].severity == Severity.INFO


def test_each_check_is_one_registered_function() -> None:
    names = [check.__name__ for check in CHECKS]
    assert len(names) == len(set(names))
    assert "backflow_into_system_of_record" in names


def test_the_demo_registry_has_nothing_worse_than_info() -> None:
    registry = load_registry([DEMO / "registry"])
    findings = check_registry(registry, today=TODAY)
    assert [f for f in findings if f.severity != Severity.INFO] == []
    assert {f.code for f in findings} == {"pass-through"}
    raw = run_checks(registry)
    assert len(raw) > len(findings), "the demo's waivers silence something"


def test_the_demo_registry_declares_the_company() -> None:
    registry = load_registry([DEMO / "registry"])
    assert {s.name for s in registry.systems} == {
        "CRM",
        "ERP",
        "WMS",
        "Shop",
        "Bank",
        "Tax",
        "BI",
        "Portal",
    }
    record = {e.name: e.system_of_record for e in registry.elements}
    assert record["payment.amount"] == "Bank"
    assert record["invoice.vat_amount"] == "ERP"
    assert record["stock.on_hand"] == "WMS"
    assert registry.element("customer.address") is not None
    targets = {
        i.target for i in registry.integrations for c in i.carries if c.element == "order.total"
    }
    assert {"BI", "Portal"} <= targets
    assert {i.level for i in registry.integrations} >= {
        "foundation",
        "operations",
        "intelligence",
        "experience",
    }
    assert "country_names" in registry.lookups
    assert all(s.owner for s in registry.systems)


PULL_REQUEST_DEFECTS = [
    ("missing-system-of-record", "shop.yaml", r"- name: order\.discount"),
    ("missing-owner", "warehouse.yaml", r"- name: wms-to-portal-shipments"),
    ("backflow-into-system-of-record", "bi.yaml", r"element: order\.total"),
    ("unknown-transform", "portal.yaml", r"transform: titlecase"),
]


@pytest.mark.parametrize(("code", "file", "pattern"), PULL_REQUEST_DEFECTS)
def test_the_pull_request_variant_names_each_defect_with_file_and_line(
    code: str, file: str, pattern: str
) -> None:
    findings = check_registry(load_registry([DEMO / "pull-request"]), today=TODAY)
    path = DEMO / "pull-request" / file
    line = line_of(path, pattern)
    if code == "backflow-into-system-of-record":
        text = path.read_text().splitlines()
        start = line_of(path, r"- name: bi-to-erp-corrections")
        line = start + next(
            i for i, t in enumerate(text[start - 1 :]) if "element: order.total" in t
        )
    if code == "unknown-transform":
        line -= 1  # the finding points at the carry, one line above its transform
    hits = [f for f in findings if f.code == code]
    assert [(f.location.file, f.location.line) for f in hits if f.location] == [(str(path), line)]


def test_the_pull_request_variant_has_no_other_errors() -> None:
    findings = check_registry(load_registry([DEMO / "pull-request"]), today=TODAY)
    errors = sorted(f.code for f in findings if f.severity == Severity.ERROR)
    assert errors == sorted(code for code, _, _ in PULL_REQUEST_DEFECTS)


def _unused(findings: list[Finding]) -> list[Finding]:
    return [f for f in findings if f.code == "unused-waiver"]


def test_the_demo_waivers_are_all_in_use() -> None:
    findings = check_registry(load_registry([DEMO / "registry"]), today=TODAY)
    assert _unused(findings) == []
