"""The built-in transforms (docs/CONTRACT.md §1), as catalogue entries.

Arithmetic is exact decimal arithmetic (never float) in a private context of 50 significant
digits; rounding is always half up (``round(2)`` of ``10.005`` is ``10.01``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from decimal import Decimal, InvalidOperation
from typing import Any

from lineage.errors import TransformError

from .expr import DECIMAL_CONTEXT, compile_expression, evaluate
from .spec import ApplyContext, Param, TransformSpec
from .values import as_text

__all__ = ["BUILTINS", "DECIMAL_CONTEXT", "to_number"]


_ONE = Decimal(1)


def to_number(value: str, transform: str) -> Decimal:
    """The finite decimal ``value`` spells; TransformError naming ``transform`` otherwise."""
    try:
        number = Decimal(value)
        if number.is_finite():
            limit = DECIMAL_CONTEXT.Emax
            if -limit <= number.adjusted() <= limit:
                return number
            raise TransformError(
                f"{transform} takes numbers within 1e+/-{limit} (LINEAGE_MAX_EXPONENT), "
                f"got {value[:40]!r}",
                transform=transform,
            )
    except (InvalidOperation, ValueError):
        pass
    raise TransformError(f"{transform} takes a number, got {value!r}", transform=transform)


def _places(written: str, number: Decimal) -> int:
    """Decimal places as written: 2 for "50.00", 0 for "50" (string work; as_tuple is slow)."""
    if "e" in written or "E" in written:
        exponent = number.as_tuple().exponent
        return -exponent if isinstance(exponent, int) and exponent < 0 else 0
    dot = written.find(".")
    return 0 if dot < 0 else len(written.rstrip()) - dot - 1


def _keep_scale(result: Decimal, places: int) -> str:
    """Text of ``result`` with trailing zeros beyond ``places`` decimals dropped.

    50.00 * 1.2 is 60.000 in decimal arithmetic: written 60.00, as its input was.
    """
    if not result:
        result = result.copy_abs()
    text = str(result)
    if "E" in text:
        return as_text(result)
    dot = text.find(".")
    if dot < 0:
        return text
    keep = dot + 1 + places if places else dot
    stripped = text.rstrip("0").rstrip(".")
    if len(stripped) <= keep:
        return text[:keep]
    return stripped


def _round_half_up(number: Decimal, places: int, transform: str) -> Decimal:
    try:
        return number.quantize(_ONE.scaleb(-places), context=DECIMAL_CONTEXT)
    except InvalidOperation:
        raise TransformError(
            f"{transform} cannot round {number} to {places} places", transform=transform
        ) from None


def _identity(value: str) -> str:
    return value


def _upper(value: str) -> str:
    return value.upper()


def _lower(value: str) -> str:
    return value.lower()


def _strip(value: str) -> str:
    return value.strip()


def _round(value: str, digits: int) -> Decimal:
    return _round_half_up(to_number(value, "round"), digits, "round")


def _multiply(value: str, factor: Decimal) -> str:
    number = to_number(value, "multiply")
    return _keep_scale(DECIMAL_CONTEXT.multiply(number, factor), _places(value, number))


def _add(value: str, amount: Decimal) -> Decimal:
    return DECIMAL_CONTEXT.add(to_number(value, "add"), amount)


def _currency(value: str, rate: Decimal, places: int) -> Decimal:
    converted = DECIMAL_CONTEXT.multiply(to_number(value, "currency"), rate)
    return _round_half_up(converted, places, "currency")


def _sum(values: Sequence[str | None]) -> Decimal | None:
    total: Decimal | None = None
    for value in values:
        if value is not None:
            number = to_number(value, "sum")
            total = number if total is None else DECIMAL_CONTEXT.add(total, number)
    return total


def _concat(values: Sequence[str | None], sep: str) -> str | None:
    present = [v for v in values if v is not None]
    return sep.join(present) if present else None


def _lookup(value: str, table: str, context: ApplyContext) -> str:
    entries = context.lookups.get(table)
    if entries is None:
        raise TransformError(
            f"lookup table {table!r} is not declared: add it under lookups: in the registry",
            transform="lookup",
        )
    try:
        return entries[value]
    except KeyError:
        raise TransformError(
            f"{value!r} is not a key of lookup table {table!r}", transform="lookup"
        ) from None


def _format_date(value: str, fmt: str) -> str:
    try:
        moment = dt.datetime.fromisoformat(value.strip())
    except ValueError:
        raise TransformError(
            f"format_date takes an ISO date or datetime, got {value!r}", transform="format_date"
        ) from None
    return moment.strftime(fmt)


def _expr(values: Sequence[str | None], expression: str) -> object:
    return evaluate(values, expression)


def _check_expr(params: dict[str, Any]) -> None:
    compile_expression(params["expression"])


def _check_round(params: dict[str, Any]) -> None:
    digits = params.get("digits", params.get("places"))
    if isinstance(digits, int) and not -20 <= digits <= 20:
        raise TransformError(f"cannot round to {digits} places: use -20 to 20", transform="round")


BUILTINS: tuple[TransformSpec, ...] = (
    TransformSpec("identity", _identity, doc="the value unchanged"),
    TransformSpec("upper", _upper, doc="the text in upper case"),
    TransformSpec("lower", _lower, doc="the text in lower case"),
    TransformSpec("strip", _strip, doc="the text without leading and trailing blanks"),
    TransformSpec(
        "round",
        _round,
        (Param("digits", "integer", default=0, doc="decimal places"),),
        doc="the number rounded half up to N decimal places (10.005 -> 10.01)",
        check=_check_round,
    ),
    TransformSpec(
        "multiply",
        _multiply,
        (Param("factor", "number", doc="the factor"),),
        doc="the number times X, exactly (50.00 * 1.2 = 60.00)",
    ),
    TransformSpec(
        "add",
        _add,
        (Param("amount", "number", doc="what to add (negative to subtract)"),),
        doc="the number plus X, exactly",
    ),
    TransformSpec(
        "currency",
        _currency,
        (
            Param("rate", "number", keyword=True, doc="the exchange rate"),
            Param("places", "integer", default=2, keyword=True, doc="decimal places"),
        ),
        doc="the amount times the rate, rounded half up to 2 places",
        check=_check_round,
    ),
    TransformSpec(
        "sum",
        _sum,
        min_inputs=1,
        max_inputs=None,
        doc="the sum of the inputs (nulls skipped; all null gives null)",
    ),
    TransformSpec(
        "concat",
        _concat,
        (Param("sep", "string", default=" ", keyword=True, doc="the separator"),),
        min_inputs=1,
        max_inputs=None,
        doc="the inputs joined by the separator (nulls skipped; all null gives null)",
    ),
    TransformSpec(
        "lookup",
        _lookup,
        (Param("table", "table", doc="a table declared under lookups: in the registry"),),
        doc="the value mapped through a lookup table; a key not in the table is an error",
        wants_context=True,
    ),
    TransformSpec(
        "format_date",
        _format_date,
        (Param("fmt", "string", doc="a strftime format such as %Y-%m-%d"),),
        doc="an ISO date or datetime written in the strftime format, as given (no time zone shift)",
    ),
    TransformSpec(
        "expr",
        _expr,
        (Param("expression", "string", doc='a safe expression such as "a * b"'),),
        min_inputs=1,
        max_inputs=None,
        doc="a safe expression over the inputs a, b, c, ... (value = a, inputs = all)",
        check=_check_expr,
    ),
)
