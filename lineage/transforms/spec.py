"""What a transform declares: its parameters, how many inputs it takes, and its function.

A :class:`TransformSpec` is the catalogue entry; a parsed call (``multiply(1.2)``) binds its
arguments against the spec's :class:`Param` list once, at parse time, so applying it later
costs one function call.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Literal

from lineage.errors import TransformError
from lineage.model.registry import ElementType

from .values import decimal_text

__all__ = [
    "REQUIRED",
    "ApplyContext",
    "Identifier",
    "Param",
    "ParamKind",
    "TransformSpec",
    "literal_text",
]

ParamKind = Literal["number", "integer", "string", "name", "table"]
"""``number``: a decimal (given to the function as :class:`~decimal.Decimal`); ``integer``:
an int; ``string``: a quoted string; ``name``: a bare name or a string; ``table``: a lookup
table's name (bare or quoted), which the registry checks against its ``lookups:``."""

_KIND_WORDS: dict[str, str] = {
    "number": "a number",
    "integer": "a whole number",
    "string": "a quoted string",
    "name": "a name",
    "table": "a lookup table name",
}


class _Required:
    def __repr__(self) -> str:
        return "REQUIRED"


REQUIRED: Any = _Required()
"""Default of a parameter that must be given."""


class Identifier(str):
    """A bare name written as an argument (``lookup(countries)``), as opposed to a string."""

    __slots__ = ()


@dataclass(frozen=True, slots=True)
class Param:
    """One parameter of a transform.

    Args:
        name: the keyword it may be given by (``rate`` in ``currency(rate=0.92)``).
        kind: what it accepts, see :data:`ParamKind`.
        default: its value when omitted; :data:`REQUIRED` when it must be given.
        keyword: write it as ``name=value`` in the canonical text (``currency(rate=0.92)``).
        doc: one line for the catalogue's description.
    """

    name: str
    kind: ParamKind = "string"
    default: Any = REQUIRED
    keyword: bool = False
    doc: str = ""

    @property
    def required(self) -> bool:
        return self.default is REQUIRED

    def convert(self, transform: str, value: object) -> object:
        """The argument as the function receives it; TransformError when it is the wrong kind."""
        kind = self.kind
        if kind == "number":
            if isinstance(value, Decimal):
                return value
        elif kind == "integer":
            if isinstance(value, Decimal) and value == value.to_integral_value():
                return int(value)
        elif kind == "string":
            if isinstance(value, str) and not isinstance(value, Identifier):
                return str(value)
        elif isinstance(value, str):
            return str(value)
        raise TransformError(
            f"{transform} takes {_KIND_WORDS[kind]} as {self.name}, got {literal_text(value)}"
            + (" (quote it)" if isinstance(value, Identifier) and kind == "string" else ""),
            transform=transform,
        )


@dataclass(frozen=True, slots=True)
class ApplyContext:
    """What a transform may need besides its inputs: the registry's lookup tables, the out type."""

    lookups: Mapping[str, Mapping[str, str]]
    out_type: ElementType


@dataclass(frozen=True, slots=True)
class TransformSpec:
    """A catalogue entry.

    Args:
        name: the name written in the registry (``multiply``).
        func: for a single-input transform ``func(value, **params)`` with ``value`` a non-null
            string; for a many-input one ``func(values, **params)`` with the list of input
            strings (nulls included). Functions that take a ``context`` keyword also receive
            an :class:`ApplyContext`. The result may be a string, a Decimal, an int, a bool or
            None; it is turned into text.
        params: the parameters, in positional order.
        min_inputs, max_inputs: how many input values a hop may give it (``None``: no limit).
        doc: one line for the catalogue's description.
        check: optional validation of the bound arguments at parse time (raises TransformError).
    """

    name: str
    func: Callable[..., object]
    params: tuple[Param, ...] = ()
    min_inputs: int = 1
    max_inputs: int | None = 1
    doc: str = ""
    check: Callable[[dict[str, Any]], object] | None = None
    wants_context: bool = field(default=False)

    @property
    def single(self) -> bool:
        """True when it takes exactly one input value (and a null input gives null)."""
        return self.max_inputs == 1

    def signature(self) -> str:
        """``currency(rate, places=2)``: how to call it, for messages and documentation."""
        if not self.params:
            return self.name
        parts = [
            p.name if p.required else f"{p.name}={literal_text(p.default)}" for p in self.params
        ]
        return f"{self.name}({', '.join(parts)})"

    def inputs_text(self) -> str:
        if self.max_inputs == 1:
            return "one input"
        if self.max_inputs is None:
            return f"{self.min_inputs} or more inputs"
        return f"{self.min_inputs} to {self.max_inputs} inputs"


def literal_text(value: object) -> str:
    """An argument as written in canonical transform text: ``1.2``, ``"%Y"``, ``countries``."""
    if isinstance(value, Identifier):
        return str(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, Decimal):
        return decimal_text(value)
    if isinstance(value, bool):
        return "True" if value else "False"
    if value is None:
        return "None"
    return str(value)
