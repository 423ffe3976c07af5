"""The ``expr("a * b")`` transform: a small safe expression over a hop's inputs.

The expression is checked once, at parse time, against a whitelist of syntax (arithmetic,
comparisons, ``x if c else y``, ``and``/``or``/``not``, indexing, calls of our few functions)
and names (``a``..``z``, ``value``, ``inputs`` and the functions). It is evaluated by
simpleeval with no attribute access, no imports and no names beyond ours; Python's ``eval``
is never involved.

Bindings: ``a``, ``b``, ``c``, ... are the inputs in order, ``value`` is the first input and
``inputs`` the list of all. An input that looks like a number is a :class:`~decimal.Decimal`,
and so is every number written with a decimal point in the expression, so arithmetic is exact
decimal arithmetic (``a * 1.2`` of ``"50.00"`` is ``60.000``).
"""

from __future__ import annotations

import ast
import functools
import re
import string
from collections.abc import Sequence
from decimal import ROUND_HALF_UP, Context, Decimal, InvalidOperation, Overflow, localcontext
from typing import Any, cast

import simpleeval

from lineage.errors import TransformError
from lineage.limits import LIMITS

from .values import as_text

__all__ = [
    "DECIMAL_CONTEXT",
    "FUNCTIONS",
    "MAX_EXPONENT",
    "MAX_EXPRESSION_LENGTH",
    "compile_expression",
    "evaluate",
]

MAX_EXPRESSION_LENGTH = 1000

_LIMIT = LIMITS.exponent
DECIMAL_CONTEXT = Context(prec=50, rounding=ROUND_HALF_UP, Emax=_LIMIT, Emin=-_LIMIT)
"""Precision (50 digits), rounding (half up) and exponent range (``LINEAGE_MAX_EXPONENT``,
overflow an error) of all transform arithmetic, whatever the caller's decimal context is."""

# Whole numbers an expression makes stay within the same bound as decimals: about
# 10 ** LINEAGE_MAX_EXPONENT, so that no chain of products grows without end.
_INT_BITS = _LIMIT * 3322 // 1000 + 1

_LETTERS = tuple(string.ascii_lowercase)
_NUMBER = re.compile(r"\s*[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?\s*\Z")


def _round(number: object, ndigits: int = 0) -> Decimal:
    """Round half up (10.005 -> 10.01), on decimals."""
    exponent = Decimal(1).scaleb(-int(ndigits))
    return _decimal(number).quantize(exponent, rounding=ROUND_HALF_UP)


def _bounded(number: Decimal) -> Decimal:
    """``number`` when finite and within ``LINEAGE_MAX_EXPONENT``: no digits by the billion."""
    if not number.is_finite():
        raise ValueError(f"not a finite number: {number}")
    if not -_LIMIT <= number.adjusted() <= _LIMIT:
        raise ValueError(
            f"the number's exponent {number.adjusted()} is beyond the limit of +/-{_LIMIT} "
            "(LINEAGE_MAX_EXPONENT)"
        )
    return number


def _decimal(value: object) -> Decimal:
    if isinstance(value, Decimal):
        return _bounded(value)
    if isinstance(value, bool):
        raise TypeError(f"not a number: {value!r}")
    if isinstance(value, int):
        return Decimal(_whole(value))
    if isinstance(value, float):
        return Decimal(repr(value))
    if isinstance(value, str):
        try:
            return _bounded(Decimal(value.strip()))
        except InvalidOperation:
            raise ValueError(f"not a number: {value!r}") from None
    raise TypeError(f"not a number: {value!r}")


def _whole(number: int) -> int:
    if number.bit_length() > _INT_BITS:
        raise ValueError(f"a whole number beyond 10**{_LIMIT} (LINEAGE_MAX_EXPONENT)")
    return number


def _int(value: object) -> int:
    return int(_decimal(value))


def _str(value: object) -> str:
    return as_text(value)


def _sum(values: Sequence[object]) -> Decimal:
    total = Decimal(0)
    for item in values:
        if item is not None:
            total += _decimal(item)
    return total


FUNCTIONS: dict[str, object] = {
    "abs": abs,
    "decimal": _decimal,
    "int": _int,
    "len": len,
    "max": max,
    "min": min,
    "round": _round,
    "str": _str,
    "sum": _sum,
}
"""The functions an expression may call. ``round`` rounds half up; ``sum`` skips nulls."""

# Bit operations and identity tests have no business in a value transform.
_LEFT_OUT: tuple[type[ast.AST], ...] = (
    *(ast.RShift, ast.LShift, ast.BitXor, ast.BitOr, ast.BitAnd, ast.Invert),
    *(ast.Is, ast.IsNot),
)
MAX_EXPONENT = 1000


def _power(base: object, exponent: object) -> object:
    """``**`` with a small exponent, so that ``9 ** 3999999`` cannot stall ingestion."""
    power = _decimal(exponent)
    if power.copy_abs() > MAX_EXPONENT:
        raise ValueError(f"exponents are limited to {MAX_EXPONENT}, got {exponent!r}")
    return _decimal(base) ** power


def _bounded_op(operator: Any) -> Any:
    """``operator`` with its whole-number results kept within the limit (see ``_INT_BITS``)."""

    def apply(*operands: object) -> object:
        result = operator(*operands)
        if type(result) is int:
            _whole(result)
        return result

    return apply


_OPERATORS = {
    op: _bounded_op(fn) for op, fn in simpleeval.DEFAULT_OPERATORS.items() if op not in _LEFT_OUT
}
_OPERATORS[ast.Pow] = _power
_ALLOWED_OPS = (*_OPERATORS, ast.And, ast.Or)
_ALLOWED_NODES = (
    ast.Expression,
    ast.BinOp,
    ast.UnaryOp,
    ast.BoolOp,
    ast.Compare,
    ast.IfExp,
    ast.Call,
    ast.keyword,
    ast.Name,
    ast.Load,
    ast.Constant,
    ast.Subscript,
    ast.Slice,
)
_NAMES = frozenset({*_LETTERS, "value", "inputs"})


def _reject(source: str, reason: str) -> TransformError:
    return TransformError(f"expr({source!r}) {reason}", transform="expr")


@functools.lru_cache(maxsize=1024)
def compile_expression(source: str) -> ast.expr:
    """Check ``source`` and return its tree, ready for :func:`evaluate`.

    Raises:
        TransformError: a syntax error, or syntax or names outside the whitelist.
    """
    if len(source) > MAX_EXPRESSION_LENGTH:
        raise _reject(source[:40] + "...", f"is longer than {MAX_EXPRESSION_LENGTH} characters")
    text = source.strip()
    try:
        tree = ast.parse(text, mode="eval")
    except SyntaxError as exc:
        raise _reject(source, f"is not a valid expression: {exc.msg}") from None
    if any(isinstance(node, ast.Attribute) for node in ast.walk(tree)):
        raise _reject(source, "uses attribute access (.name), which is not allowed")
    for node in ast.walk(tree):
        if isinstance(node, ast.operator | ast.unaryop | ast.cmpop | ast.boolop):
            if not isinstance(node, _ALLOWED_OPS):
                raise _reject(source, f"uses the operator {type(node).__name__}, not allowed")
            continue
        if not isinstance(node, _ALLOWED_NODES):
            raise _reject(source, f"uses {type(node).__name__}, which is not allowed")
        if isinstance(node, ast.Call):
            if not isinstance(node.func, ast.Name) or node.func.id not in FUNCTIONS:
                called = ast.unparse(node.func)
                raise _reject(
                    source,
                    f"calls {called}, which is not one of {', '.join(sorted(FUNCTIONS))}",
                )
        elif isinstance(node, ast.Name):
            if node.id not in _NAMES and node.id not in FUNCTIONS:
                raise _reject(
                    source,
                    f"uses the name {node.id!r}: use a, b, c, ... (the inputs in order), "
                    "value (the first input) or inputs (all of them)",
                )
        elif isinstance(node, ast.Constant):
            if isinstance(node.value, float):
                # Exact decimal from the text as written, never via a binary float.
                written = ast.get_source_segment(text, node) or repr(node.value)
                node.value = cast(Any, Decimal(written.replace("_", "")))
            elif not isinstance(node.value, int | str | bool | type(None)):
                raise _reject(source, f"uses the literal {ast.unparse(node)}, not allowed")
    return tree.body


def _bind(value: str | None) -> object:
    """An input as the expression sees it: a number when it looks like one (within limits)."""
    if value is not None and _NUMBER.match(value):
        try:
            return _bounded(Decimal(value.strip()))
        except ValueError as exc:
            raise TransformError(f"input {value[:40]!r}: {exc}", transform="expr") from None
    return value


def evaluate(values: Sequence[str | None], expression: str) -> object:
    """Evaluate ``expression`` with ``a``, ``b``, ... bound to ``values``.

    A null input that makes the expression fail gives null (nulls propagate).

    Raises:
        TransformError: the expression fails on these inputs.
    """
    tree = compile_expression(expression)
    bound = [_bind(v) for v in values]
    names: dict[str, object] = dict(zip(_LETTERS, bound, strict=False))
    names["value"] = bound[0] if bound else None
    names["inputs"] = bound
    evaluator = simpleeval.SimpleEval(operators=_OPERATORS, functions=FUNCTIONS, names=names)
    try:
        # The built-ins' precision and half-up rounding, whatever the caller's context is.
        with localcontext(DECIMAL_CONTEXT):
            result = evaluator.eval(expression, previously_parsed=tree)
    except simpleeval.NameNotDefined as exc:
        raise _reject(
            expression, f"uses {exc.name!r} but the hop has {len(values)} input(s)"
        ) from None
    except (
        simpleeval.InvalidExpression,
        ArithmeticError,
        TypeError,
        ValueError,
        IndexError,
        KeyError,
    ) as exc:
        if any(v is None for v in values):
            return None
        if isinstance(exc, Overflow):
            exc = ValueError(f"a result beyond 1e+/-{_LIMIT} (LINEAGE_MAX_EXPONENT)")
        elif isinstance(exc, InvalidOperation):
            exc = ValueError(
                "an operation decimal arithmetic cannot do (rounding beyond 50 digits, or 0/0)"
            )
        raise _reject(expression, f"fails on {list(values)!r}: {exc}") from exc
    if isinstance(result, float):
        return Decimal(repr(result))
    if result is None or isinstance(result, str | int | Decimal):
        return result
    raise _reject(expression, f"gives {type(result).__name__}, not a single value")
