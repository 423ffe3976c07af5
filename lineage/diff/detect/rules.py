"""An element's rules and type: tightened (rejects values it accepted), loosened, retyped.

Rules of every declaration of an element count together, by kind: ``not_null`` or a
``pattern`` added tightens, removed loosens; ``min`` raised or ``max`` lowered tightens,
the other way loosens; ``one_of`` losing values tightens, gaining them loosens; a changed
``pattern`` (or a ``one_of`` that loses and gains) is both, reported once as tightened.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from ...model.findings import Finding
from ...model.registry import Rule
from ..codes import change
from ..pair import Pair, Side


def _rules(side: Side, name: str) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for element in side.registry.elements:
        if element.name == name:
            for rule in element.rules:
                found.setdefault(rule.kind, rule.arg)
    return found


_ABSENT = object()


def _compare(kind: str, old: Any, new: Any) -> tuple[list[str], list[str]]:
    """(tightening, loosening) descriptions of one rule kind's change (_ABSENT: no rule)."""
    if old is _ABSENT:
        return [f"adds {Rule(kind=kind, arg=new)}"], []
    if new is _ABSENT:
        return [], [f"drops {Rule(kind=kind, arg=old)}"]
    if kind == "min":
        if new > old:
            return [f"raises min {old} -> {new}"], []
        return [], [f"lowers min {old} -> {new}"]
    if kind == "max":
        if new < old:
            return [f"lowers max {old} -> {new}"], []
        return [], [f"raises max {old} -> {new}"]
    if kind == "one_of":
        lost = [v for v in old if v not in new]
        gained = [v for v in new if v not in old]
        if lost:
            also = f" (and allows {gained!r})" if gained else ""
            return [f"one_of no longer allows {lost!r}{also}"], []
        return [], [f"one_of now also allows {gained!r}"]
    return [f"changes {Rule(kind=kind, arg=old)} to {Rule(kind=kind, arg=new)}"], []


def rules_changed(pair: Pair) -> Iterator[Finding]:
    """``rule-tightened`` and ``rule-loosened`` per element, each listing what changed."""
    for name, declared in pair.head.elements.items():
        if name not in pair.base.elements:
            continue
        before, after = _rules(pair.base, name), _rules(pair.head, name)
        if before == after:
            continue
        tighter: list[str] = []
        looser: list[str] = []
        for kind in sorted(set(before) | set(after)):
            old, new = before.get(kind, _ABSENT), after.get(kind, _ABSENT)
            if old == new:
                continue
            t, lo = _compare(kind, old, new)
            tighter += t
            looser += lo
        owners = [pair.head.element_owner(name), pair.head.system_owner(declared.system_of_record)]
        found = []
        if tighter:
            found.append(
                (
                    "rule-tightened",
                    f"element {name!r}: {'; '.join(tighter)}: values accepted before may now "
                    "break its rules",
                )
            )
        if looser:
            found.append(
                (
                    "rule-loosened",
                    f"element {name!r}: {'; '.join(looser)}: values rejected before now pass",
                )
            )
        for code, message in found:
            yield change(
                code,
                message,
                owners=owners,
                location=declared.first.location,
                before=_shown(before),
                after=_shown(after),
                systems=[declared.system_of_record, declared.system_of_origin],
                element=name,
            )


def _shown(rules: dict[str, Any]) -> list[str]:
    return [str(Rule(kind=kind, arg=arg)) for kind, arg in sorted(rules.items())]


def type_changed(pair: Pair) -> Iterator[Finding]:
    """An element declared with another type: values compare differently from now on."""
    for name, declared in pair.head.elements.items():
        base = pair.base.elements.get(name)
        if base is None or base.first.type == declared.first.type:
            continue
        yield change(
            "type-changed",
            f"element {name!r} is now {declared.first.type.value}, was {base.first.type.value}: "
            "recorded values are compared and checked as the new type",
            owners=[pair.head.element_owner(name)],
            location=declared.first.location,
            before=base.first.type.value,
            after=declared.first.type.value,
            systems=[declared.system_of_record],
            element=name,
        )
