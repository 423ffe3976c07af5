"""Typed values: the canonical text of a value for its element type, and comparison by it.

Values are stored and travel as text. Two texts are the same value when their canonical
forms are equal: decimals numerically (``"120.00"`` is ``"120"``), booleans by meaning
(``"yes"`` is ``"true"``), dates and datetimes as instants (datetimes in UTC), strings exactly.

Everything here is called once per event on ingest and scan, so it parses with the standard
library's C code and caches nothing.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal, InvalidOperation

from lineage.limits import LIMITS
from lineage.model.registry import ElementType

__all__ = [
    "FALSE_WORDS",
    "TRUE_WORDS",
    "NumberLimitError",
    "as_text",
    "canonical",
    "check_number",
    "decimal_text",
    "normalize",
    "parse_boolean",
    "parse_date",
    "parse_datetime",
    "parse_decimal",
    "values_equal",
]

TRUE_WORDS = frozenset({"true", "1", "yes"})
FALSE_WORDS = frozenset({"false", "0", "no"})

_UTC = dt.UTC
_MIDNIGHT = dt.time(0, 0)


_MAX_EXPONENT = LIMITS.exponent
_MAX_DIGITS = LIMITS.digits
# A plain number with no more digits than this is within both limits without counting.
_FAST_DIGITS = min(_MAX_DIGITS, _MAX_EXPONENT)


class NumberLimitError(ValueError):
    """A number not finite, or beyond the digit or exponent limits (:mod:`lineage.limits`)."""


def parse_decimal(text: str) -> Decimal | None:
    """The finite decimal ``text`` spells (surrounding blanks allowed), or None.

    A number whose exponent is beyond ``LINEAGE_MAX_EXPONENT`` (``1e999999999``) counts as no
    number: written out it would take gigabytes.

    >>> parse_decimal("1.20"), parse_decimal("abc"), parse_decimal("NaN")
    (Decimal('1.20'), None, None)
    >>> parse_decimal("1e999999999") is None
    True
    """
    try:
        number = Decimal(text)
    except (InvalidOperation, ValueError, TypeError):
        return None
    if not number.is_finite() or not -_MAX_EXPONENT <= number.adjusted() <= _MAX_EXPONENT:
        return None
    return number


def check_number(number: Decimal) -> Decimal:
    """``number`` when it is finite and within the digit and exponent limits.

    Raises:
        NumberLimitError: saying which limit, and the variable that sets it.
    """
    if not number.is_finite():
        raise NumberLimitError(f"{number} is not a finite number: send a number or null")
    adjusted = number.adjusted()
    if not -_MAX_EXPONENT <= adjusted <= _MAX_EXPONENT:
        raise NumberLimitError(
            f"the number's exponent {adjusted} is beyond the limit of +/-{_MAX_EXPONENT} "
            "(LINEAGE_MAX_EXPONENT)"
        )
    digits = number.as_tuple().digits
    count = len(digits)
    if count > _MAX_DIGITS:
        while count and digits[count - 1] == 0:
            count -= 1
        if count > _MAX_DIGITS:
            raise NumberLimitError(
                f"the number has {count} significant digits, beyond the limit of "
                f"{_MAX_DIGITS} (LINEAGE_MAX_DIGITS)"
            )
    return number


def decimal_text(number: Decimal) -> str:
    """Plain text of a decimal: no exponent, no trailing zeros, no negative zero.

    Does not round (unlike ``Decimal.normalize``, which obeys the context precision).

    >>> decimal_text(Decimal("120.00")), decimal_text(Decimal("1E+2"))
    ('120', '100')
    >>> decimal_text(Decimal("-0.0"))
    '0'
    """
    if not number:
        return "0"
    text = str(number)  # plain unless the exponent is positive or the number tiny
    if "E" in text:
        text = format(number, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text


def parse_boolean(text: str) -> bool | None:
    """True for true/1/yes, False for false/0/no (any case, blanks around), else None."""
    word = text.strip().lower()
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    return None


def parse_datetime(text: str) -> dt.datetime | None:
    """An ISO 8601 date or datetime as an aware datetime in UTC (naive means UTC), or None."""
    try:
        moment = dt.datetime.fromisoformat(text.strip())
    except ValueError:
        return None
    if moment.tzinfo is None:
        return moment.replace(tzinfo=_UTC)
    return moment.astimezone(_UTC)


def parse_date(text: str) -> dt.date | None:
    """An ISO 8601 date, or a datetime at midnight UTC (as exports often write dates), or None."""
    text = text.strip()
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        pass
    moment = parse_datetime(text)
    if moment is None or moment.timetz().replace(tzinfo=None) != _MIDNIGHT:
        return None
    return moment.date()


def _checked_numeric(value: str) -> str:
    """Canonical text of a number; NumberLimitError beyond the limits, ``value`` if no number."""
    # Fast path, in plain string operations, for the usual spelling: [-]digits[.digits].
    negative = value[:1] == "-"
    whole, _, fraction = (value[1:] if negative else value).partition(".")
    digits = not fraction or (fraction.isdigit() and fraction.isascii())
    if whole.isdigit() and whole.isascii() and digits:
        if len(whole) + len(fraction) > _FAST_DIGITS:
            check_number(Decimal(value))
        whole = whole.lstrip("0") or "0"
        fraction = fraction.rstrip("0")
        text = f"{whole}.{fraction}" if fraction else whole
        return "-" + text if negative and text != "0" else text
    try:
        number = Decimal(value)
    except (InvalidOperation, ValueError, TypeError):
        return value
    return decimal_text(check_number(number))


def _numeric(value: str) -> str:
    try:
        return _checked_numeric(value)
    except NumberLimitError:
        return value


def _boolean(value: str) -> str:
    flag = parse_boolean(value)
    if flag is None:
        return value
    return "true" if flag else "false"


def _date(value: str) -> str:
    day = parse_date(value)
    return value if day is None else day.isoformat()


def _datetime(value: str) -> str:
    # Fast path: already canonical ("2026-11-20T09:00:00Z", maybe with microseconds), so
    # only check that it parses; building the text again costs more than the parse.
    if (
        value[-1:] == "Z"
        and len(value) in (20, 27)
        and value[10:11] == "T"
        and value[13:14] == value[16:17] == ":"
    ):
        try:
            dt.datetime.fromisoformat(value)
        except ValueError:
            return value
        if len(value) == 20 or value[20:26] != "000000":
            return value
    moment = parse_datetime(value)
    if moment is None:
        return value
    return moment.replace(tzinfo=None).isoformat() + "Z"


_NORMALIZERS = {
    ElementType.INTEGER: _numeric,
    ElementType.DECIMAL: _numeric,
    ElementType.BOOLEAN: _boolean,
    ElementType.DATE: _date,
    ElementType.DATETIME: _datetime,
}


def normalize(value: str | None, kind: ElementType) -> str | None:
    """The canonical text of ``value`` for an element of type ``kind``.

    - integer, decimal: the number without exponent or trailing zeros
      (``"120.00"`` -> ``"120"``, ``"1E+2"`` -> ``"100"``, ``"-0"`` -> ``"0"``);
    - boolean: ``"true"`` or ``"false"`` (from true/false/1/0/yes/no, any case);
    - date: ``YYYY-MM-DD``;
    - datetime: ISO 8601 in UTC with a ``Z`` (a naive time is taken as UTC), seconds always,
      microseconds when not zero: ``"2026-11-20T10:00:00+01:00"`` -> ``"2026-11-20T09:00:00Z"``;
    - string: unchanged.

    A value that does not parse as its type is returned unchanged, so it still compares
    exactly; :func:`lineage.transforms.rule_violations` reports it as a type violation.

    Args:
        value: the value as text, or None for null (returned as None).
        kind: the element's declared type.

    >>> normalize("120.00", ElementType.DECIMAL), normalize("YES", ElementType.BOOLEAN)
    ('120', 'true')
    """
    if value is None:
        return None
    if type(value) is not str:
        value = as_text(value)
    normalizer = _NORMALIZERS.get(kind)
    return value if normalizer is None else normalizer(value)


def canonical(value: str, kind: ElementType) -> str:
    """:func:`normalize` for a value entering the tracker: numbers beyond the limits refused.

    Raises:
        NumberLimitError: on an integer or decimal element, a NaN, an Infinity, or a number
            with more digits or a larger exponent than :mod:`lineage.limits` allows.
    """
    if kind is ElementType.INTEGER or kind is ElementType.DECIMAL:
        return _checked_numeric(value)
    normalizer = _NORMALIZERS.get(kind)
    return value if normalizer is None else normalizer(value)


def values_equal(a: str | None, b: str | None, kind: ElementType) -> bool:
    """True when ``a`` and ``b`` are the same value for an element of type ``kind``.

    Null equals only null.

    >>> values_equal("120.00", "120", ElementType.DECIMAL)
    True
    >>> values_equal("a", "A", ElementType.STRING)
    False
    """
    if a is None or b is None:
        return a is None and b is None
    if a == b:
        return True
    return normalize(a, kind) == normalize(b, kind)


def as_text(value: object) -> str:
    """Text of a value that is not a string: a JSON number or boolean, or a computed Decimal."""
    if isinstance(value, str):
        return value
    if isinstance(value, Decimal):
        # Keeps the scale ("60.00" stays "60.00") but never writes "-0".
        if not value:
            value = value.copy_abs()
        text = str(value)  # plain unless the exponent is positive or the number tiny
        return format(value, "f") if "E" in text else text
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, float):
        return repr(value)
    return str(value)
