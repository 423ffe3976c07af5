"""Data-driven registry check cases: tests/cases/registry/*.yaml (see its README)."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest

from lineage.model.findings import CODES
from lineage.registry import check_registry, load_registry

CASES = Path(__file__).parent / "cases" / "registry"
EXPECT = re.compile(r"#\s*expect:\s*([\w\-, ]+)$")
ABSENT = re.compile(r"#\s*absent:\s*([\w\-, ]+)$")
TODAY = dt.date(2026, 12, 1)


def _codes(text: str) -> list[str]:
    return [code.strip() for code in text.split(",") if code.strip()]


def _markers(path: Path) -> tuple[set[tuple[str, int]], set[str]]:
    expected: set[tuple[str, int]] = set()
    compared: set[str] = set()
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        if match := EXPECT.search(line):
            for code in _codes(match.group(1)):
                expected.add((code, number))
                compared.add(code)
        if match := ABSENT.search(line):
            compared.update(_codes(match.group(1)))
    return expected, compared


@pytest.mark.parametrize("case", sorted(CASES.glob("*.yaml")), ids=lambda p: p.stem)
def test_registry_case_reports_exactly_the_marked_lines(case: Path) -> None:
    expected, compared = _markers(case)
    assert compared, f"{case.name} marks nothing to compare"
    assert compared <= set(CODES), f"{case.name} names unknown codes"
    findings = check_registry(load_registry([case]), today=TODAY)
    found = {(f.code, f.location.line) for f in findings if f.code in compared and f.location}
    assert found == expected
    for finding in findings:
        if finding.code in compared:
            assert finding.location is not None
            assert finding.location.file == str(case)


def test_every_registry_code_has_a_positive_and_a_negative_case() -> None:
    positive: set[str] = set()
    negative: set[str] = set()
    for case in CASES.glob("*.yaml"):
        expected, compared = _markers(case)
        positive |= {code for code, _ in expected}
        negative |= compared - {code for code, _ in expected}
    # unreadable-registry is a file that does not load at all, so it has no case here:
    # tests/test_first_minutes.py runs `lineage check` on such files in every format.
    registry_codes = {
        code
        for code, info in CODES.items()
        if info.registry and code not in ("expired-waiver", "unused-waiver", "unreadable-registry")
    }
    assert registry_codes <= positive
    assert registry_codes <= negative
