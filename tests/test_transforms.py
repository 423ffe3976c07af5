"""The transform catalogue: built-ins, argument checking, safe expressions, extension."""

from __future__ import annotations

import doctest
from decimal import ROUND_DOWN, Context, Decimal, localcontext

import pytest

import lineage.transforms.builtins
import lineage.transforms.catalogue
import lineage.transforms.expr
import lineage.transforms.rules
import lineage.transforms.values
from lineage.errors import TransformError
from lineage.model.registry import ElementType
from lineage.transforms import (
    DEFAULT_CATALOGUE,
    Catalogue,
    TransformCall,
    parse_transform,
    register,
)
from lineage.transforms.spec import Param

DESIGN_BUILTINS = {
    "identity",
    "upper",
    "lower",
    "strip",
    "round",
    "multiply",
    "add",
    "currency",
    "sum",
    "concat",
    "lookup",
    "format_date",
    "expr",
}


def run(text: str, *inputs: str | None, **options: object) -> str | None:
    return parse_transform(text).apply(list(inputs), **options)  # type: ignore[arg-type]


def test_catalogue_lists_every_builtin_named_in_the_design() -> None:
    assert set(DEFAULT_CATALOGUE.names()) >= DESIGN_BUILTINS
    described = {row["name"]: row for row in DEFAULT_CATALOGUE.describe()}
    assert described["currency"]["signature"] == "currency(rate, places=2)"
    assert all(row["doc"] for row in described.values())


@pytest.mark.parametrize(
    ("text", "inputs", "expected"),
    [
        ("identity", ["12 Main St"], "12 Main St"),
        ("upper", ["12 Main St"], "12 MAIN ST"),
        ("lower", ["ÄBC"], "äbc"),
        ("strip", ["  x y  "], "x y"),
        ("round(2)", ["10.005"], "10.01"),
        ("round(2)", ["-10.005"], "-10.01"),
        ("round(2)", ["10"], "10.00"),
        ("round", ["2.5"], "3"),
        ("round(-2)", ["1250"], "1300"),
        ("multiply(1.2)", ["50.00"], "60.00"),
        ("multiply(1.25)", ["10.05"], "12.5625"),
        ("multiply(0.1)", ["3"], "0.3"),
        ("multiply(1.5)", ["50"], "75"),
        ("multiply(1.25)", ["10"], "12.5"),
        ("multiply(2)", ["0.50"], "1.00"),
        ("multiply(0.5)", ["-0.00"], "0.00"),
        ("multiply(1E3)", ["2.5"], "2500"),
        ("multiply(2)", ["1E-9"], "0.000000002"),
        ("multiply(1.2)", [" 50.00 "], "60.00"),
        ("multiply(-1)", ["0"], "0"),
        ("add(-5)", ["3"], "-2"),
        ("add(0.1)", ["0.2"], "0.3"),
        ("add(1.50)", ["50.00"], "51.50"),
        ("currency(rate=0.92)", ["100"], "92.00"),
        ("currency(rate=0.925)", ["1"], "0.93"),
        ("currency(rate=1.1, places=0)", ["15"], "17"),
        ("sum", ["1.5", "2", "0.25"], "3.75"),
        ("sum", ["1.5", None], "1.5"),
        ("sum", [None, None], None),
        ("concat", ["Carol", "Smith"], "Carol Smith"),
        ('concat(sep=", ")', ["12 Main St", None, "Springfield"], "12 Main St, Springfield"),
        ('format_date("%d/%m/%Y")', ["2026-11-20"], "20/11/2026"),
        ('format_date("%Y-%m-%d")', ["2026-11-20T09:05:00Z"], "2026-11-20"),
        ('format_date("%H:%M")', ["2026-11-20T09:05:00+01:00"], "09:05"),
        ('expr("a * b")', ["2.50", "4"], "10.00"),
        ('expr("a * 1.2")', ["50.00"], "60.000"),
        ('expr("value + inputs[1]")', ["1", "2"], "3"),
        ('expr("round(a / 3, 2)")', ["10"], "3.33"),
        ('expr("max(inputs) - min(inputs)")', ["4", "9", "1"], "8"),
        ('expr("a if a > 0 else 0")', ["-3"], "0"),
        ("expr(\"a + ' ' + b\")", ["Carol", "Smith"], "Carol Smith"),
        ("expr(\"str(a) + 'x'\")", ["5.0"], "5.0x"),
        ('expr("a > 100")', ["120"], "true"),
        ('expr("sum(inputs)")', ["1", None, "2"], "3"),
    ],
)
def test_builtin_computes_expected_output(
    text: str, inputs: list[str | None], expected: str | None
) -> None:
    assert parse_transform(text).apply(inputs) == expected


@pytest.mark.parametrize("text", ["upper", "multiply(2)", "round(2)", "lookup(t)", "strip"])
def test_single_input_transform_gives_null_for_null(text: str) -> None:
    assert run(text, None, lookups={"t": {}}) is None


def test_expr_with_null_input_gives_null_instead_of_failing() -> None:
    assert run('expr("a * b")', "2", None) is None


def test_lookup_maps_value_through_registry_table() -> None:
    lookups = {"countries": {"DE": "Germany", "FR": "France"}}
    call = parse_transform("lookup(countries)")
    assert call.apply(["DE"], lookups=lookups) == "Germany"
    assert parse_transform('lookup("countries")').text == "lookup(countries)"
    assert call.lookup_tables() == {"countries"}
    assert parse_transform("upper").lookup_tables() == set()


def test_lookup_of_unknown_key_names_key_and_table() -> None:
    with pytest.raises(TransformError, match="'XX' is not a key of lookup table 'countries'"):
        run("lookup(countries)", "XX", lookups={"countries": {"DE": "Germany"}})


def test_lookup_of_undeclared_table_says_to_declare_it() -> None:
    with pytest.raises(TransformError, match=r"lookup table 'nope' is not declared.*lookups:"):
        run("lookup(nope)", "DE", lookups={"countries": {"DE": "Germany"}})
    with pytest.raises(TransformError, match="not declared"):
        run("lookup(nope)", "DE")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("multiply(x)", "multiply takes a number as factor, got x"),
        ("multiply()", "multiply needs factor"),
        ('multiply("2")', 'multiply takes a number as factor, got "2"'),
        ("multiply(1, 2)", "multiply takes at most 1 argument"),
        ("multiply(factr=1)", "multiply has no argument 'factr': it takes factor"),
        ("multiply(1, factor=2)", "multiply got factor twice"),
        ("multiply(1 + 2)", "plain numbers, quoted strings or names, got 1 \\+ 2"),
        ("multiply(**x)", "\\*\\* arguments are not allowed"),
        ('round("a")', 'round takes a whole number as digits, got "a"'),
        ("round(2.5)", "round takes a whole number as digits, got 2.5"),
        ("round(99)", "cannot round to 99 places"),
        ("frobnicate(3)", "unknown transform 'frobnicate': known are add, concat, currency"),
        ("lookup()", "lookup needs table"),
        ("lookup(1)", "lookup takes a lookup table name as table, got 1"),
        ("concat(sep=x)", "concat takes a quoted string as sep, got x \\(quote it\\)"),
        ("upper(1)", "upper takes no arguments, got 1"),
        ("currency(0.9, rate=1)", "currency got rate twice"),
        ("currency()", "currency needs rate"),
        ("format_date()", "format_date needs fmt"),
        ("multiply(", "is not a name or a call like multiply\\(1.2\\)"),
        ("os.system('x')", "is not a name or a call"),
        ("upper; lower", "is not a name or a call"),
        ("(lambda: 1)()", "is not a name or a call"),
    ],
)
def test_bad_transform_text_is_rejected_with_reason(text: str, message: str) -> None:
    with pytest.raises(TransformError, match=message):
        parse_transform(text)


@pytest.mark.parametrize(
    ("text", "inputs", "message"),
    [
        ("multiply(1.2)", ["abc"], "multiply takes a number, got 'abc'"),
        ("multiply(1.2)", ["NaN"], "multiply takes a number, got 'NaN'"),
        ("add(1)", ["1,5"], "add takes a number, got '1,5'"),
        ("round(2)", ["ten"], "round takes a number, got 'ten'"),
        ("currency(rate=0.9)", [""], "currency takes a number, got ''"),
        ("sum", ["1", "two"], "sum takes a number, got 'two'"),
        ('format_date("%Y")', ["20 Nov 2026"], "format_date takes an ISO date or datetime"),
        ("upper", ["a", "b"], "upper takes one input, got 2"),
        ("upper", [], "upper takes one input, got 0"),
        ("sum", [], "sum takes 1 or more inputs, got 0"),
        ('expr("a * b")', ["2", "x"], "fails on"),
        ('expr("a / b")', ["1", "0"], "fails on"),
        ('expr("a + b")', ["1"], "uses 'b' but the hop has 1 input"),
        ('expr("inputs")', ["1"], "gives list, not a single value"),
    ],
)
def test_inputs_that_do_not_fit_raise_transform_error(
    text: str, inputs: list[str | None], message: str
) -> None:
    with pytest.raises(TransformError, match=message):
        parse_transform(text).apply(inputs)


@pytest.mark.parametrize(
    ("expression", "message"),
    [
        ("__import__('os')", "calls __import__, which is not one of"),
        ("a.__class__", "attribute access"),
        ("a.upper()", "attribute access"),
        ("open('/etc/passwd')", "calls open"),
        ("eval('1')", "calls eval"),
        ("x_y + 1", "uses the name 'x_y'"),
        ("__builtins__", "uses the name '__builtins__'"),
        ("[c for c in inputs]", "ListComp"),
        ("(lambda: 1)()", "calls"),
        ("a := 1", "is not a valid expression"),
        ("a *", "is not a valid expression"),
        ("a << 2", "LShift"),
        ("a is None", "Is"),
        ("{'k': 1}", "Dict"),
        ("f'{a}'", "JoinedStr"),
        ("1j", "literal"),
        ("a" + " + a" * 600, "longer than"),
    ],
)
def test_expr_rejects_unsafe_or_invalid_expressions_at_parse_time(
    expression: str, message: str
) -> None:
    with pytest.raises(TransformError, match=message):
        parse_transform(f"expr({expression!r})")


@pytest.mark.parametrize("expression", ["a ** 99999999", "9 ** 3999999", "int(a) ** 5000"])
def test_expr_refuses_huge_powers_instead_of_hanging(expression: str) -> None:
    with pytest.raises(TransformError, match="exponents are limited to 1000"):
        run(f"expr({expression!r})", "9")


def test_expr_uses_fifty_digits_and_half_up_whatever_the_callers_context() -> None:
    with localcontext(Context(prec=3, rounding=ROUND_DOWN)):
        assert run('expr("a / 3")', "1") == "0." + "3" * 50
        assert run('expr("round(a, 2)")', "2.345") == "2.35"
        assert run('expr("a ** 2")', "1.5") == "2.25"
        assert run("multiply(1.0001)", "1.0001") == "1.00020001"


def test_arithmetic_is_decimal_not_float() -> None:
    # 0.1 + 0.2 in float is 0.30000000000000004
    assert run("add(0.1)", "0.2") == "0.3"
    assert run("multiply(3)", "0.1") == "0.3"
    assert run('expr("a + 0.1")', "0.2") == "0.3"
    assert parse_transform("multiply(1.2)").params["factor"] == Decimal("1.2")


def test_canonical_text_is_the_same_however_it_was_written() -> None:
    assert parse_transform(" multiply( 1.20 ) ").text == "multiply(1.2)"
    assert parse_transform("currency(0.92)").text == "currency(rate=0.92)"
    assert parse_transform("currency(rate=0.92)") == parse_transform("currency(0.92)")
    assert parse_transform("concat(' ')").text == 'concat(sep=" ")'
    assert parse_transform("upper()").text == "upper"
    assert parse_transform("add(-5)").text == "add(-5)"
    assert parse_transform("round(digits=2)").text == "round(2)"
    assert parse_transform("").text == "identity"
    assert parse_transform(None).text == "identity"
    assert str(parse_transform("expr('a * b')")) == 'expr("a * b")'


def test_call_exposes_name_and_arguments_as_written() -> None:
    call = parse_transform("currency(0.92, places=3)")
    assert call.name == "currency"
    assert call.args == (Decimal("0.92"),)
    assert dict(call.kwargs) == {"places": Decimal(3)}
    assert dict(call.params) == {"rate": Decimal("0.92"), "places": 3}


def test_parse_is_cached_per_text() -> None:
    assert parse_transform("multiply(1.2)") is parse_transform("multiply(1.2)")


def test_out_type_gives_canonical_text_of_the_output_element() -> None:
    assert run("multiply(1.2)", "50.00", out_type=ElementType.DECIMAL) == "60"
    assert run("identity", "YES", out_type=ElementType.BOOLEAN) == "true"
    assert run("identity", "2026-11-20T10:00:00+01:00", out_type=ElementType.DATETIME) == (
        "2026-11-20T09:00:00Z"
    )


def test_json_number_inputs_are_accepted() -> None:
    call = parse_transform("multiply(2)")
    assert call.apply([21]) == "42"  # type: ignore[list-item]
    assert parse_transform("sum").apply([1.5, 2]) == "3.5"  # type: ignore[list-item]


def test_register_adds_transform_to_a_new_catalogue_only() -> None:
    catalogue = Catalogue()

    @catalogue.register("mask", params=[Param("keep", "integer", default=4)])
    def mask(value: str, keep: int) -> str:
        """Hide all but the last characters."""
        return "*" * (len(value) - keep) + value[-keep:]

    call = parse_transform("mask(2)", catalogue)
    assert call.apply(["DE89370400"]) == "********00"
    assert call.apply([None]) is None
    assert mask("abcdef", 1) == "*****f"
    assert "mask" in catalogue
    assert next(r for r in catalogue.describe() if r["name"] == "mask")["doc"] == (
        "Hide all but the last characters."
    )
    with pytest.raises(TransformError, match="unknown transform 'mask'"):
        parse_transform("mask(2)")
    with pytest.raises(TransformError, match="mask takes a whole number as keep"):
        parse_transform("mask(x)", catalogue)


def test_register_on_default_catalogue_makes_transform_parseable(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    isolated = Catalogue()
    monkeypatch.setattr(lineage.transforms.catalogue, "DEFAULT_CATALOGUE", isolated)

    def weighted(values: list[str | None], weight: Decimal) -> Decimal:
        return sum((Decimal(v) * weight for v in values if v is not None), Decimal(0))

    lineage.transforms.catalogue.DEFAULT_CATALOGUE.register(
        "weighted", weighted, params=[Param("weight", "number")], inputs=(1, None)
    )
    assert parse_transform("weighted(0.5)").apply(["10", "20"]) == "15.0"
    assert "weighted" not in DEFAULT_CATALOGUE
    assert register.__self__ is DEFAULT_CATALOGUE  # type: ignore[attr-defined]


def test_registered_transform_can_read_lookups_through_context() -> None:
    catalogue = Catalogue()

    @catalogue.register("code_of", params=[Param("table", "table")])
    def code_of(value: str, table: str, context: lineage.transforms.spec.ApplyContext) -> str:
        reverse = {v: k for k, v in context.lookups[table].items()}
        return reverse[value]

    call = parse_transform("code_of(countries)", catalogue)
    assert call.lookup_tables() == {"countries"}
    assert call.apply(["Germany"], lookups={"countries": {"DE": "Germany"}}) == "DE"
    with pytest.raises(TransformError, match="code_of\\(countries\\) fails on \\['Spain'\\]"):
        call.apply(["Spain"], lookups={"countries": {"DE": "Germany"}})


def test_register_refuses_to_replace_silently() -> None:
    catalogue = Catalogue()
    with pytest.raises(TransformError, match="'upper' is already in the catalogue"):
        catalogue.register("upper", str.lower)
    assert parse_transform("upper", catalogue).apply(["a"]) == "A"
    catalogue.register("upper", lambda value: value.lower(), replace=True)
    assert parse_transform("upper", catalogue).apply(["A"]) == "a"


@pytest.mark.parametrize("name", ["not valid", "class", "1x"])
def test_register_rejects_names_registry_cannot_write(name: str) -> None:
    with pytest.raises(TransformError, match="identifier"):
        Catalogue().register(name, str.upper)


def test_empty_catalogue_knows_nothing() -> None:
    empty = Catalogue(builtins=False)
    assert len(empty) == 0
    with pytest.raises(TransformError, match=r"unknown transform 'upper': known are $"):
        parse_transform("upper", empty)


def test_transform_call_is_a_hashable_value() -> None:
    calls = {parse_transform("multiply(1.2)"), parse_transform("multiply(1.20)")}
    assert len(calls) == 1
    assert isinstance(next(iter(calls)), TransformCall)


@pytest.mark.parametrize(
    "module",
    [
        lineage.transforms.builtins,
        lineage.transforms.catalogue,
        lineage.transforms.expr,
        lineage.transforms.rules,
        lineage.transforms.values,
    ],
)
def test_docstring_examples_hold(module: object) -> None:
    failed, _ = doctest.testmod(module)  # type: ignore[arg-type]
    assert failed == 0
