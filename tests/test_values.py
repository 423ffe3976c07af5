"""Typed comparison: values are equal by their element type, not by their spelling."""

from __future__ import annotations

import random
from decimal import Decimal, InvalidOperation

import pytest

from lineage.limits import LIMITS
from lineage.model.registry import ElementType
from lineage.transforms import normalize, values_equal

D = ElementType.DECIMAL
I = ElementType.INTEGER  # noqa: E741
B = ElementType.BOOLEAN
DAY = ElementType.DATE
AT = ElementType.DATETIME
S = ElementType.STRING


@pytest.mark.parametrize(
    ("value", "kind", "expected"),
    [
        ("120.00", D, "120"),
        ("120", D, "120"),
        ("1E+2", D, "100"),
        ("1.5e-3", D, "0.0015"),
        ("-0", D, "0"),
        ("-0.00", D, "0"),
        ("+5.10", D, "5.1"),
        (" 7 ", D, "7"),
        ("0.1", D, "0.1"),
        ("007", D, "7"),
        ("12345678901234567890123456789012.50", D, "12345678901234567890123456789012.5"),
        ("5.0", I, "5"),
        ("42", I, "42"),
        ("abc", D, "abc"),
        ("NaN", D, "NaN"),
        ("1,5", D, "1,5"),
        ("TRUE", B, "true"),
        ("yes", B, "true"),
        ("1", B, "true"),
        ("No", B, "false"),
        ("0", B, "false"),
        ("maybe", B, "maybe"),
        ("2026-11-20", DAY, "2026-11-20"),
        ("20261120", DAY, "2026-11-20"),
        ("2026-11-20T00:00:00Z", DAY, "2026-11-20"),
        ("2026-11-20T09:00:00Z", DAY, "2026-11-20T09:00:00Z"),
        ("20/11/2026", DAY, "20/11/2026"),
        ("2026-11-20T10:00:00+01:00", AT, "2026-11-20T09:00:00Z"),
        ("2026-11-20T09:00:00", AT, "2026-11-20T09:00:00Z"),
        ("2026-11-20 09:00:00.250000Z", AT, "2026-11-20T09:00:00.250000Z"),
        ("2026-11-20", AT, "2026-11-20T00:00:00Z"),
        ("2026-11-20T09:00:00Z", AT, "2026-11-20T09:00:00Z"),
        ("2026-11-20T09:00:00.000Z", AT, "2026-11-20T09:00:00Z"),
        ("2026-11-20T09:00:00.000000Z", AT, "2026-11-20T09:00:00Z"),
        ("2026-11-20T09:00:00.123456Z", AT, "2026-11-20T09:00:00.123456Z"),
        ("2026-11-20T090000.1Z", AT, "2026-11-20T09:00:00.100000Z"),
        ("2026-13-20T09:00:00Z", AT, "2026-13-20T09:00:00Z"),
        ("yesterday", AT, "yesterday"),
        (" Mixed Case ", S, " Mixed Case "),
        ("120.00", S, "120.00"),
    ],
)
def test_normalize_gives_canonical_text_for_the_type(
    value: str, kind: ElementType, expected: str
) -> None:
    assert normalize(value, kind) == expected


def test_normalize_keeps_null() -> None:
    assert normalize(None, D) is None


def test_normalize_accepts_json_numbers_and_booleans() -> None:
    assert normalize(120.0, D) == "120"  # type: ignore[arg-type]
    assert normalize(True, B) == "true"  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("a", "b", "kind", "equal"),
    [
        ("120.00", "120", D, True),
        ("120.001", "120", D, False),
        ("1E+2", "100.0", D, True),
        ("120.00", "120", S, False),
        ("abc", "abc", D, True),
        ("abc", "ABC", D, False),
        ("yes", "TRUE", B, True),
        ("2026-11-20T10:00:00+01:00", "2026-11-20T09:00:00Z", AT, True),
        ("2026-11-20T09:00:01Z", "2026-11-20T09:00:00Z", AT, False),
        ("2026-11-20", "20261120", DAY, True),
        ("2026-11-20", "2026-11-21", DAY, False),
        (None, None, D, True),
        (None, "0", D, False),
        ("", None, S, False),
    ],
)
def test_values_equal_compares_by_element_type(
    a: str | None, b: str | None, kind: ElementType, equal: bool
) -> None:
    assert values_equal(a, b, kind) is equal
    assert values_equal(b, a, kind) is equal


def test_decimal_normalize_agrees_with_exact_decimal_arithmetic_on_odd_spellings() -> None:
    # normalize takes a string shortcut for plain spellings; it must agree with Decimal.
    rng = random.Random(7)
    alphabet = "0123456789.-+eE _"
    for _ in range(20000):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(1, 8)))
        try:
            number = Decimal(text)
        except InvalidOperation:
            expected = text
        else:
            # beyond LINEAGE_MAX_EXPONENT a number is left as written (no gigabytes of zeros)
            beyond = number.is_finite() and abs(number.adjusted()) > LIMITS.exponent
            if beyond or not number.is_finite():
                expected = text
                assert normalize(text, D) == expected, text
                continue
            expected = format(number, "f")
            if "." in expected and number.is_finite():
                expected = expected.rstrip("0").rstrip(".")
            if number.is_finite() and not number:
                expected = "0"
        assert normalize(text, D) == expected, text
