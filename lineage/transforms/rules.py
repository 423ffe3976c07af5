"""Element rules (docs/CONTRACT.md §1): which of them a value breaks, in words a steward reads.

Besides the declared rules, a value that does not parse as its element's type is a violation
(``'abc' is not a decimal``). ``min``/``max`` compare numerically, ``pattern`` is searched
anywhere in the value (anchor it with ``^...$`` to match the whole), and ``one_of`` compares
by the element's type (``1.0`` is one of ``[1, 2]`` for a decimal element).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Sequence
from decimal import Decimal

from lineage.model.registry import ElementType, Rule

from .values import normalize, parse_boolean, parse_date, parse_datetime, parse_decimal

__all__ = ["conforms", "rule_violations"]

_NUMERIC = (ElementType.INTEGER, ElementType.DECIMAL)


def _is_integer(text: str) -> bool:
    number = parse_decimal(text)
    return number is not None and number == number.to_integral_value()


_TYPE_CHECKS: dict[ElementType, tuple[Callable[[str], object], str]] = {
    ElementType.INTEGER: (_is_integer, "an integer"),
    ElementType.DECIMAL: (lambda text: parse_decimal(text) is not None, "a decimal"),
    ElementType.BOOLEAN: (lambda text: parse_boolean(text) is not None, "a boolean"),
    ElementType.DATE: (lambda text: parse_date(text) is not None, "a date (YYYY-MM-DD)"),
    ElementType.DATETIME: (lambda text: parse_datetime(text) is not None, "an ISO datetime"),
}


def conforms(value: str, kind: ElementType) -> bool:
    """True when ``value`` parses as its element type (every string does)."""
    check = _TYPE_CHECKS.get(kind)
    return check is None or bool(check[0](value))


@functools.lru_cache(maxsize=256)
def _compiled(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern)


def _bound(arg: object) -> Decimal:
    # Through str() so that a YAML 0.1 is the decimal 0.1, not the binary float's expansion.
    return Decimal(str(arg))


def _choice_text(choice: object) -> str:
    if isinstance(choice, bool):
        return "true" if choice else "false"
    return str(choice)


def rule_violations(value: str | None, rules: Sequence[Rule], kind: ElementType) -> list[str]:
    """The reasons ``value`` breaks its element's rules or type; empty when it is fine.

    Args:
        value: the value as text, None for null.
        rules: the element's rules.
        kind: the element's declared type.

    A null value breaks only ``not_null``. A value that is not of the element's type is one
    violation, and then ``min``/``max`` are not tried on it.

    >>> rule_violations("-5", [Rule(kind="min", arg=0)], ElementType.DECIMAL)
    ['-5 is below min 0']
    """
    if not rules and kind not in _TYPE_CHECKS:  # a string with no rules: nothing to break
        return []
    if value is None:
        if any(rule.kind == "not_null" for rule in rules):
            return ["value is null but the element is not_null"]
        return []
    if type(value) is not str:
        value = str(value)
    reasons: list[str] = []
    typed = conforms(value, kind)
    if not typed:
        reasons.append(f"{value!r} is not {_TYPE_CHECKS[kind][1]}")
    for rule in rules:
        reason = _violation(value, rule, kind, typed)
        if reason is not None:
            reasons.append(reason)
    return reasons


def _violation(value: str, rule: Rule, kind: ElementType, typed: bool) -> str | None:
    if rule.kind in ("min", "max"):
        if not typed:
            return None
        number = parse_decimal(value)
        if number is None:
            return f"{value!r} is not a number, so rule {rule.kind} {rule.arg} cannot hold"
        limit = _bound(rule.arg)
        if rule.kind == "min" and number < limit:
            return f"{value} is below min {rule.arg}"
        if rule.kind == "max" and number > limit:
            return f"{value} is above max {rule.arg}"
        return None
    if rule.kind == "pattern":
        if _compiled(str(rule.arg)).search(value) is None:
            return f"{value!r} does not match pattern {rule.arg}"
        return None
    if rule.kind == "one_of":
        choices = rule.arg if isinstance(rule.arg, list) else [rule.arg]
        canonical = normalize(value, kind)
        if all(normalize(_choice_text(c), kind) != canonical for c in choices):
            listed = ", ".join(repr(_choice_text(c)) for c in choices)
            return f"{value!r} is not one of [{listed}]"
        return None
    return None
