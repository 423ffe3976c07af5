"""The catalogue: parse transform text (``multiply(1.2)``) into a call that can be re-run.

Transform text is a name or a call with literal arguments, parsed with :func:`ast.parse` and
accepted only as ``name``, or ``name(arg, ..., key=arg)`` where each argument is a number, a
quoted string or a bare name. Nothing is ever evaluated as Python.

Parsing is cached per catalogue (the event writer parses the transform of every hop), and a
parsed :class:`TransformCall` has its arguments already bound and checked, so
:meth:`TransformCall.apply` costs little more than the transform's own function.

>>> call = parse_transform("multiply(1.2)")
>>> call.apply(["50.00"])
'60.00'
"""

from __future__ import annotations

import ast
import inspect
import keyword
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from types import MappingProxyType
from typing import Any, TypeVar, cast, overload

from lineage.errors import TransformError
from lineage.model.registry import ElementType

from .builtins import BUILTINS
from .spec import REQUIRED, ApplyContext, Identifier, Param, TransformSpec, literal_text
from .values import as_text, normalize

__all__ = [
    "DEFAULT_CATALOGUE",
    "Catalogue",
    "TransformCall",
    "parse_transform",
    "register",
]

F = TypeVar("F", bound=Callable[..., object])

_NO_LOOKUPS: Mapping[str, Mapping[str, str]] = MappingProxyType({})
_CACHE_LIMIT = 4096
_STRING = ElementType.STRING


@dataclass(frozen=True, eq=False, slots=True)
class TransformCall:
    """A parsed transform, its arguments checked and bound, ready to apply.

    Attributes:
        text: the canonical text (``currency(rate=0.92)``; ``identity`` for an empty text);
            two calls with the same text do the same thing.
        name: the transform's name.
        args: the positional arguments as written (numbers as Decimal, bare names as str).
        kwargs: the keyword arguments as written.
        params: every parameter bound to its value, defaults included, as the function gets them.
        spec: the catalogue entry.
    """

    text: str
    name: str
    args: tuple[object, ...]
    kwargs: Mapping[str, object]
    params: Mapping[str, Any]
    spec: TransformSpec
    _kwargs: dict[str, Any] = field(repr=False)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, TransformCall):
            return NotImplemented
        return self.text == other.text and self.spec == other.spec

    def __hash__(self) -> int:
        return hash(self.text)

    def __str__(self) -> str:
        return self.text

    def lookup_tables(self) -> set[str]:
        """The lookup tables this call reads (``{"countries"}`` for ``lookup(countries)``).

        The registry checks report ``unknown-transform`` for a table not declared under
        ``lookups:``.
        """
        return {str(self.params[p.name]) for p in self.spec.params if p.kind == "table"}

    def check_inputs(self, count: int) -> None:
        """Raise TransformError when the transform cannot take ``count`` input values."""
        spec = self.spec
        if count < spec.min_inputs or (spec.max_inputs is not None and count > spec.max_inputs):
            raise TransformError(
                f"{self.text} takes {spec.inputs_text()}, got {count}", transform=self.name
            )

    def apply(
        self,
        inputs: Sequence[str | None],
        *,
        out_type: ElementType = _STRING,
        lookups: Mapping[str, Mapping[str, str]] | None = None,
    ) -> str | None:
        """Re-run the transform on input values (text as stored).

        Single-input transforms (all but ``sum``, ``concat`` and ``expr``) take exactly one
        input and give null for a null input. The result is text; for an ``out_type`` other
        than string it is the canonical text of that type (see
        :func:`lineage.transforms.normalize`), ready to compare with a normalized observed value.

        Args:
            inputs: the input values in order; JSON numbers and booleans are accepted too.
            out_type: the type of the output element.
            lookups: the registry's lookup tables (``Registry.lookups``), for ``lookup``.

        Raises:
            TransformError: the inputs do not fit (their number, or ``multiply`` on ``"abc"``),
                or a lookup key or table is missing.

        >>> parse_transform("round(2)").apply(["10.005"])
        '10.01'
        """
        spec = self.spec
        count = len(inputs)
        if count < spec.min_inputs or (spec.max_inputs is not None and count > spec.max_inputs):
            self.check_inputs(count)
        try:
            context = ApplyContext(lookups or _NO_LOOKUPS, out_type) if spec.wants_context else None
            if spec.max_inputs == 1:
                value = inputs[0]
                if value is None:
                    return None
                if type(value) is not str:
                    value = as_text(value)
                if context is not None:
                    result = spec.func(value, context=context, **self._kwargs)
                else:
                    result = spec.func(value, **self._kwargs)
            else:
                values = [v if v is None or type(v) is str else as_text(v) for v in inputs]
                if context is not None:
                    result = spec.func(values, context=context, **self._kwargs)
                else:
                    result = spec.func(values, **self._kwargs)
        except TransformError:
            raise
        except (ArithmeticError, ValueError, TypeError, KeyError, IndexError) as exc:
            raise TransformError(
                f"{self.text} fails on {list(inputs)!r}: {exc}", transform=self.name
            ) from exc
        if result is None:
            return None
        text = result if type(result) is str else as_text(result)
        if out_type is not _STRING and out_type != _STRING:
            return normalize(text, out_type)
        return text


class Catalogue:
    """The transforms the tracker knows by name, built-ins included unless asked otherwise.

    Extend it from Python with :meth:`register`, directly or as a decorator::

        @DEFAULT_CATALOGUE.register("mask", params=[Param("keep", "integer", default=4)])
        def mask(value: str, keep: int) -> str:
            return "*" * (len(value) - keep) + value[-keep:]

    Args:
        builtins: start with the built-in transforms (docs/CONTRACT.md §1).
    """

    def __init__(self, *, builtins: bool = True) -> None:
        self._specs: dict[str, TransformSpec] = {}
        self._cache: dict[str, TransformCall] = {}
        self._lock = threading.Lock()
        if builtins:
            for spec in BUILTINS:
                self._specs[spec.name] = spec

    def __contains__(self, name: object) -> bool:
        return name in self._specs

    def __iter__(self) -> Iterator[TransformSpec]:
        return iter(sorted(self._specs.values(), key=lambda s: s.name))

    def __len__(self) -> int:
        return len(self._specs)

    def names(self) -> list[str]:
        """Every transform name, sorted."""
        return sorted(self._specs)

    def spec(self, name: str) -> TransformSpec | None:
        """The catalogue entry called ``name``, if any."""
        return self._specs.get(name)

    def add(self, spec: TransformSpec, *, replace: bool = False) -> None:
        """Add a ready-made entry; TransformError if the name is taken and not ``replace``."""
        if not spec.name.isidentifier() or keyword.iskeyword(spec.name):
            raise TransformError(
                f"cannot register {spec.name!r}: a transform name is a Python-style identifier",
                transform=spec.name,
            )
        seen: set[str] = set()
        for param in spec.params:
            if not param.name.isidentifier() or param.name in seen:
                raise TransformError(
                    f"cannot register {spec.name}: parameter names must be distinct identifiers,"
                    f" got {param.name!r}",
                    transform=spec.name,
                )
            seen.add(param.name)
        with self._lock:
            if spec.name in self._specs and not replace:
                raise TransformError(
                    f"transform {spec.name!r} is already in the catalogue: pass replace=True "
                    "to replace it",
                    transform=spec.name,
                )
            self._specs[spec.name] = spec
            self._cache = {}

    @overload
    def register(
        self,
        name: str,
        func: None = None,
        *,
        params: Sequence[Param] = (),
        inputs: int | tuple[int, int | None] = 1,
        doc: str = "",
        check: Callable[[dict[str, Any]], object] | None = None,
        replace: bool = False,
    ) -> Callable[[F], F]: ...

    @overload
    def register(
        self,
        name: str,
        func: F,
        *,
        params: Sequence[Param] = (),
        inputs: int | tuple[int, int | None] = 1,
        doc: str = "",
        check: Callable[[dict[str, Any]], object] | None = None,
        replace: bool = False,
    ) -> F: ...

    def register(
        self,
        name: str,
        func: F | None = None,
        *,
        params: Sequence[Param] = (),
        inputs: int | tuple[int, int | None] = 1,
        doc: str = "",
        check: Callable[[dict[str, Any]], object] | None = None,
        replace: bool = False,
    ) -> F | Callable[[F], F]:
        """Add a transform written in Python; usable as a decorator when ``func`` is omitted.

        Args:
            name: the name the registry writes (an identifier).
            func: with ``inputs=1``, ``func(value, **params)`` where ``value`` is a non-null
                string (a null input gives null without calling it); otherwise
                ``func(values, **params)`` with the list of input strings, nulls included.
                If it has a ``context`` parameter it also gets an :class:`ApplyContext`
                (lookup tables, output type). It returns text, a Decimal, an int, a bool or
                None, and raises TransformError (or ValueError) when an input does not fit.
            params: its parameters, positional order.
            inputs: ``1`` for exactly one input, ``n`` for exactly n, or ``(min, max)`` with
                ``max=None`` for no upper limit.
            doc: one line describing it.
            check: validates the bound parameters at parse time (raises TransformError).
            replace: allow replacing a transform of the same name.

        Returns:
            ``func`` itself, or a decorator that registers and returns its function.
        """

        def decorate(function: F) -> F:
            low, high = (inputs, inputs) if isinstance(inputs, int) else inputs
            if low < 0 or (high is not None and high < max(low, 1)):
                raise TransformError(
                    f"cannot register {name}: inputs {inputs!r} is not a valid range",
                    transform=name,
                )
            try:
                wants_context = "context" in inspect.signature(function).parameters
            except (TypeError, ValueError):
                wants_context = False
            self.add(
                TransformSpec(
                    name,
                    function,
                    tuple(params),
                    min_inputs=low,
                    max_inputs=high,
                    doc=doc or (inspect.getdoc(function) or "").partition("\n")[0],
                    check=check,
                    wants_context=wants_context,
                ),
                replace=replace,
            )
            return function

        return decorate if func is None else decorate(func)

    def parse(self, text: str | None) -> TransformCall:
        """Parse transform text against this catalogue (cached); see :func:`parse_transform`."""
        key = "" if text is None else text
        call = self._cache.get(key)
        if call is None:
            call = _parse(key, self)
            cache = self._cache
            if len(cache) >= _CACHE_LIMIT:
                cache.clear()
            cache[key] = call
        return call

    def describe(self) -> list[dict[str, str]]:
        """One row per transform: name, signature, inputs, meaning (for docs and the UI)."""
        return [
            {
                "name": s.name,
                "signature": s.signature(),
                "inputs": s.inputs_text(),
                "doc": s.doc,
            }
            for s in self
        ]


def _literal(node: ast.expr, source: str, transform: str) -> object:
    """A literal argument: a Decimal, a string, an Identifier, a bool or None."""
    sign = 1
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub | ast.UAdd):
        sign = -1 if isinstance(node.op, ast.USub) else 1
        operand = node.operand
        if isinstance(operand, ast.Constant) and _is_number(operand.value):
            return sign * _number(operand, source)
    elif isinstance(node, ast.Constant):
        value = node.value
        if _is_number(value):
            return _number(node, source)
        if isinstance(value, str | bool) or value is None:
            return value
    elif isinstance(node, ast.Name):
        return Identifier(node.id)
    raise TransformError(
        f"{transform}: arguments are plain numbers, quoted strings or names,"
        f" got {ast.unparse(node)}",
        transform=transform,
    )


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _number(node: ast.Constant, source: str) -> Decimal:
    # From the text as written, so 1.2 is exactly 1.2 and not the nearest binary float.
    written = ast.get_source_segment(source, node)
    if written is not None:
        try:
            return Decimal(written.replace("_", ""))
        except InvalidOperation:
            pass  # 0x10 and the like: fall back to the parsed value
    value = node.value
    return Decimal(repr(value)) if isinstance(value, float) else Decimal(cast(int, value))


def _parse(text: str, catalogue: Catalogue) -> TransformCall:
    source = text.strip()
    if not source:
        source = "identity"
    try:
        tree = ast.parse(source, mode="eval")
    except SyntaxError as exc:
        raise TransformError(
            f"transform {text!r} is not a name or a call like multiply(1.2): {exc.msg}",
        ) from None
    node = tree.body
    if isinstance(node, ast.Name):
        name, arg_nodes, keywords = node.id, [], []
    elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
        name, arg_nodes, keywords = node.func.id, node.args, node.keywords
    else:
        raise TransformError(f"transform {text!r} is not a name or a call like multiply(1.2)")
    spec = catalogue.spec(name)
    if spec is None:
        raise TransformError(
            f"unknown transform {name!r}: known are {', '.join(catalogue.names())}",
            transform=name,
        )
    args = tuple(_literal(a, source, name) for a in arg_nodes)
    kwargs: dict[str, object] = {}
    for item in keywords:
        if item.arg is None:
            raise TransformError(f"{name}: ** arguments are not allowed", transform=name)
        kwargs[item.arg] = _literal(item.value, source, name)
    params, given = _bind(spec, args, kwargs)
    if spec.check is not None:
        spec.check(params)
    return TransformCall(
        text=_canonical(spec, params, given),
        name=name,
        args=args,
        kwargs=MappingProxyType(kwargs),
        params=MappingProxyType(params),
        spec=spec,
        _kwargs=params,
    )


def _bind(
    spec: TransformSpec, args: tuple[object, ...], kwargs: dict[str, object]
) -> tuple[dict[str, Any], set[str]]:
    name = spec.name
    declared = spec.params
    if len(args) > len(declared):
        if declared:
            takes = f"at most {len(declared)} argument(s) ({', '.join(p.name for p in declared)})"
        else:
            takes = "no arguments"
        raise TransformError(
            f"{name} takes {takes}, got {len(args)}: write {spec.signature()}", transform=name
        )
    by_name = {p.name: p for p in declared}
    raw: dict[str, object] = {p.name: a for p, a in zip(declared, args, strict=False)}
    for key, value in kwargs.items():
        if key not in by_name:
            known = ", ".join(by_name) or "no arguments"
            raise TransformError(
                f"{name} has no argument {key!r}: it takes {known}", transform=name
            )
        if key in raw:
            raise TransformError(f"{name} got {key} twice", transform=name)
        raw[key] = value
    params: dict[str, Any] = {}
    for param in declared:
        if param.name in raw:
            params[param.name] = param.convert(name, raw[param.name])
        elif param.default is REQUIRED:
            raise TransformError(
                f"{name} needs {param.name} ({param.doc or param.kind}): write {spec.signature()}",
                transform=name,
            )
        else:
            params[param.name] = param.default
    return params, set(raw)


def _canonical(spec: TransformSpec, params: dict[str, Any], given: set[str]) -> str:
    parts: list[str] = []
    positional = True
    for param in spec.params:
        if param.name not in given:
            positional = False
            continue
        bound = params[param.name]
        if param.kind in ("name", "table") and isinstance(bound, str) and _bare(bound):
            bound = Identifier(bound)
        value = literal_text(bound)
        if positional and not param.keyword:
            parts.append(value)
        else:
            positional = False
            parts.append(f"{param.name}={value}")
    return f"{spec.name}({', '.join(parts)})" if parts else spec.name


def _bare(text: str) -> bool:
    return text.isidentifier() and not keyword.iskeyword(text)


DEFAULT_CATALOGUE = Catalogue()
"""The catalogue :func:`parse_transform` uses unless given another."""

register = DEFAULT_CATALOGUE.register
"""Register a transform in :data:`DEFAULT_CATALOGUE` (see :meth:`Catalogue.register`)."""


def parse_transform(text: str | None, catalogue: Catalogue | None = None) -> TransformCall:
    """Parse transform text such as ``"multiply(1.2)"`` (cached per catalogue).

    An empty text (or None) is ``identity``, as a carry without ``transform`` is.

    Args:
        text: the transform as written in the registry or in a hop event.
        catalogue: where names are looked up; :data:`DEFAULT_CATALOGUE` by default.

    Raises:
        TransformError: an unknown name (the message lists the known ones), bad syntax, or
            arguments the transform does not take.

    >>> parse_transform("currency(0.92)").text
    'currency(rate=0.92)'
    """
    return (DEFAULT_CATALOGUE if catalogue is None else catalogue).parse(text)
