"""Carries whose transform the tracker cannot re-run: ``unknown-transform``.

A transform is unknown when the catalogue does not have it or its arguments do not fit, when
it reads a lookup table the registry does not declare, or when it cannot take the number of
input elements the carry names (``upper`` of two elements, ``expr("a * b")`` of one).
"""

from __future__ import annotations

import ast
import string
from collections.abc import Iterator

from ...errors import TransformError
from ...model.findings import Finding
from ...model.registry import Carry, Registry
from ...rules import integration_owner
from ...transforms import TransformCall, parse_transform
from ...transforms.expr import compile_expression


def unknown_transform(registry: Registry) -> Iterator[Finding]:
    """A carry's transform is not in the catalogue, has bad arguments, or does not fit."""
    for integration in registry.integrations:
        for carry in integration.carries:
            reason = _problem(registry, carry)
            if reason is None:
                continue
            yield Finding.of(
                "unknown-transform",
                f"integration {integration.name!r} carries {carry.element!r} with transform "
                f"{carry.transform!r}: {reason}",
                owner=integration_owner(registry, integration),
                location=carry.location or integration.location,
                evidence={"transform": carry.transform, "inputs": list(carry.input_elements)},
                element=carry.element,
                integration=integration.name,
            )


def _problem(registry: Registry, carry: Carry) -> str | None:
    try:
        call = parse_transform(carry.transform)
    except TransformError as exc:
        return str(exc)
    missing = sorted(call.lookup_tables() - set(registry.lookups))
    if missing:
        declared = ", ".join(sorted(registry.lookups)) or "none"
        return (
            f"lookup table {missing[0]!r} is not declared under lookups (declared: {declared}); "
            "add the table or fix its name"
        )
    count = len(carry.input_elements)
    try:
        call.check_inputs(count)
    except TransformError as exc:
        return f"{exc} (inputs: {', '.join(carry.input_elements)}); fix inputs or the transform"
    needed = _expression_inputs(call)
    if needed > count:
        letter = string.ascii_lowercase[needed - 1]
        return (
            f"the expression uses {letter!r} but the carry names {count} input element(s) "
            f"({', '.join(carry.input_elements)}); list every input under inputs, in order"
        )
    return None


def _expression_inputs(call: TransformCall) -> int:
    """How many inputs an ``expr`` needs: the position of the last letter it names."""
    if call.name != "expr":
        return 0
    expression = call.params.get("expression")
    if not isinstance(expression, str):
        return 0
    letters = {
        node.id
        for node in ast.walk(compile_expression(expression))
        if isinstance(node, ast.Name) and len(node.id) == 1 and node.id in string.ascii_lowercase
    }
    return max((string.ascii_lowercase.index(x) + 1 for x in letters), default=0)
