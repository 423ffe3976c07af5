"""Element rules: each broken rule is one reason a steward can read."""

from __future__ import annotations

import pytest

from lineage.model.registry import ElementType, Rule
from lineage.transforms import rule_violations


def rules(*raw: object) -> list[Rule]:
    return [Rule.model_validate(r) for r in raw]


def test_null_breaks_only_not_null() -> None:
    assert rule_violations(None, rules("not_null", {"min": 0}), ElementType.DECIMAL) == [
        "value is null but the element is not_null"
    ]
    assert rule_violations(None, rules({"min": 0}), ElementType.DECIMAL) == []


@pytest.mark.parametrize(
    ("value", "rule", "kind", "reason"),
    [
        ("-5", {"min": 0}, ElementType.DECIMAL, "-5 is below min 0"),
        ("100.5", {"max": 100}, ElementType.DECIMAL, "100.5 is above max 100"),
        ("0.05", {"min": 0.1}, ElementType.DECIMAL, "0.05 is below min 0.1"),
        ("9", {"min": 10}, ElementType.STRING, "9 is below min 10"),
        ("x", {"min": 0}, ElementType.STRING, "'x' is not a number, so rule min 0 cannot hold"),
        ("x", {"pattern": "^[A-Z]"}, ElementType.STRING, "'x' does not match pattern ^[A-Z]"),
        ("z", {"one_of": ["a", "b"]}, ElementType.STRING, "'z' is not one of ['a', 'b']"),
        ("3", {"one_of": [1, 2]}, ElementType.INTEGER, "'3' is not one of ['1', '2']"),
    ],
)
def test_broken_rule_gives_readable_reason(
    value: str, rule: object, kind: ElementType, reason: str
) -> None:
    assert rule_violations(value, rules(rule), kind) == [reason]


@pytest.mark.parametrize(
    ("value", "rule", "kind"),
    [
        ("0", {"min": 0}, ElementType.DECIMAL),
        ("100.00", {"max": 100}, ElementType.DECIMAL),
        ("1E+2", {"max": 100}, ElementType.DECIMAL),
        ("0.1", {"min": 0.1}, ElementType.DECIMAL),
        ("Main St", {"pattern": "^[A-Z]"}, ElementType.STRING),
        ("DE-1", {"pattern": "[0-9]"}, ElementType.STRING),
        ("a", {"one_of": ["a", "b"]}, ElementType.STRING),
        ("2.0", {"one_of": [1, 2]}, ElementType.DECIMAL),
        ("YES", {"one_of": [True]}, ElementType.BOOLEAN),
        ("", "not_null", ElementType.STRING),
    ],
)
def test_value_within_rule_has_no_violation(value: str, rule: object, kind: ElementType) -> None:
    assert rule_violations(value, rules(rule), kind) == []


@pytest.mark.parametrize(
    ("value", "kind", "reason"),
    [
        ("abc", ElementType.DECIMAL, "'abc' is not a decimal"),
        ("5.5", ElementType.INTEGER, "'5.5' is not an integer"),
        ("maybe", ElementType.BOOLEAN, "'maybe' is not a boolean"),
        ("20/11/2026", ElementType.DATE, "'20/11/2026' is not a date (YYYY-MM-DD)"),
        ("yesterday", ElementType.DATETIME, "'yesterday' is not an ISO datetime"),
    ],
)
def test_value_not_of_element_type_is_a_violation(
    value: str, kind: ElementType, reason: str
) -> None:
    assert rule_violations(value, [], kind) == [reason]


def test_type_violation_skips_min_max_but_checks_the_rest() -> None:
    found = rule_violations("abc", rules({"min": 0}, {"one_of": ["1", "2"]}), ElementType.DECIMAL)
    assert found == ["'abc' is not a decimal", "'abc' is not one of ['1', '2']"]


def test_every_broken_rule_is_reported() -> None:
    found = rule_violations("-5", rules({"min": 0}, {"pattern": "^[0-9]+$"}), ElementType.INTEGER)
    assert found == ["-5 is below min 0", "'-5' does not match pattern ^[0-9]+$"]
