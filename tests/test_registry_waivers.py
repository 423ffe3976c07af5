"""Waivers: accepted findings, silenced until they expire; unused ones are reported."""

from __future__ import annotations

import datetime as dt
import textwrap
from pathlib import Path

from lineage.model import Finding, Location, Waiver
from lineage.registry import apply_waivers, check_registry, load_registry

REGISTRY = """\
systems:
  - {name: ERP, owner: finance@example.com}
  - {name: BI, owner: data@example.com}
elements:
  - {name: order.total, system_of_record: ERP, owner: controller@example.com}
  - {name: invoice.total, system_of_record: ERP, owner: controller@example.com}
integrations:
  - name: erp-to-bi
    source: ERP
    target: BI
    owner: bi-lead@example.com
    level: foundation
    purpose: nightly reports
    carries:
      - element: order.total
      - element: invoice.total
"""


def registry_with(tmp_path: Path, waivers: str) -> Path:
    path = tmp_path / "registry.yaml"
    path.write_text(REGISTRY + "waivers:\n" + textwrap.dedent(waivers))
    return path


def codes(findings: list[Finding]) -> list[str]:
    return [f.code for f in findings]


def test_a_waiver_naming_only_the_integration_silences_every_element_it_carries(
    tmp_path: Path,
) -> None:
    path = registry_with(
        tmp_path,
        """\
        - code: pass-through
          subject: {integration: erp-to-bi}
          reason: BI is rebuilt from the ERP every night
          owner: bi-lead@example.com
          expires: 2027-03-31
        """,
    )
    findings = check_registry(load_registry([path]), today=dt.date(2026, 12, 1))
    assert "pass-through" not in codes(findings)
    assert codes(findings) == ["missing-fallback"]


def test_a_waiver_naming_one_element_leaves_the_others_reported(tmp_path: Path) -> None:
    path = registry_with(
        tmp_path,
        """\
        - code: pass-through
          subject: {integration: erp-to-bi, element: order.total}
          reason: auditors need the exact figure
          owner: bi-lead@example.com
        """,
    )
    findings = check_registry(load_registry([path]), today=dt.date(2026, 12, 1))
    left = [f for f in findings if f.code == "pass-through"]
    assert [f.subject.element for f in left] == ["invoice.total"]


def test_an_expired_waiver_silences_nothing_and_is_reported_where_it_is_written(
    tmp_path: Path,
) -> None:
    path = registry_with(
        tmp_path,
        """\
        - code: missing-fallback
          subject: {integration: erp-to-bi}
          reason: BI is rebuilt from the ERP every night
          owner: bi-lead@example.com
          expires: 2026-11-30
        """,
    )
    registry = load_registry([path])
    still_valid = check_registry(registry, today=dt.date(2026, 11, 30))
    assert "missing-fallback" not in codes(still_valid)
    findings = check_registry(registry, today=dt.date(2026, 12, 1))
    assert "missing-fallback" in codes(findings)
    expired = next(f for f in findings if f.code == "expired-waiver")
    assert expired.severity == "warning"
    assert expired.owner == "bi-lead@example.com"
    assert expired.location == Location(file=str(path), line=18)
    assert expired.subject.integration == "erp-to-bi"
    assert "2026-11-30" in expired.message
    assert "unused-waiver" not in codes(findings)


def test_a_waiver_that_matches_nothing_is_reported_as_unused(tmp_path: Path) -> None:
    path = registry_with(
        tmp_path,
        """\
        - code: missing-purpose
          subject: {integration: erp-to-bi}
          reason: the purpose is obvious
          owner: bi-lead@example.com
        """,
    )
    findings = check_registry(load_registry([path]), today=dt.date(2026, 12, 1))
    unused = next(f for f in findings if f.code == "unused-waiver")
    assert unused.severity == "info"
    assert unused.location is not None and unused.location.line == 18
    assert "missing-purpose" in unused.message


def test_a_runtime_waiver_is_left_to_scan_by_check(tmp_path: Path) -> None:
    path = registry_with(
        tmp_path,
        """\
        - code: conflicting-truth
          subject: {system: BI, record: R-9}
          reason: record migrated by hand
          owner: bi-lead@example.com
          expires: 2020-01-01
        """,
    )
    findings = check_registry(load_registry([path]), today=dt.date(2026, 12, 1))
    assert "unused-waiver" not in codes(findings)
    assert "expired-waiver" not in codes(findings)


def test_apply_waivers_works_on_runtime_findings_by_record() -> None:
    stale = Finding.of(
        "conflicting-truth",
        "BI holds 72.00, expected 96.00",
        system="BI",
        element="order.total",
        record="R-9",
    )
    other = Finding.of(
        "conflicting-truth",
        "BI holds 10.00, expected 12.00",
        system="BI",
        element="order.total",
        record="R-10",
    )
    waiver = Waiver(
        code="conflicting-truth", subject={"record": "R-9"}, reason="known", owner="bi@x"
    )
    kept, waived = apply_waivers([stale, other], [waiver], dt.date(2026, 12, 1))
    assert waived == [stale]
    assert kept == [other]


def test_apply_waivers_judges_only_the_codes_it_is_given() -> None:
    waiver = Waiver(code="pass-through", subject={"integration": "x"}, reason="r", owner="o")
    kept, waived = apply_waivers([], [waiver], dt.date(2026, 12, 1), codes={"rule-violation"})
    assert (kept, waived) == ([], [])
    kept, _ = apply_waivers([], [waiver], dt.date(2026, 12, 1))
    assert codes(kept) == ["unused-waiver"]
