"""Recognising renames: a declaration under a new name, otherwise the same, is one change.

A system is renamed when one that disappeared and one that appeared have the same owner and
description; an element when they have the same declarations (system of origin and of
record, owner, type, rules, description, systems renamed first); an integration when it has
the same source, target and carries (elements and transforms, renamed first). Only one-to-one
matches count: two equal candidates are left as removed and added, since guessing between
them would name the wrong one.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass, field
from typing import TypeVar

from ..errors import TransformError
from ..model.findings import Finding
from ..model.registry import Carry, Element, Integration, Registry, System, Waiver
from ..transforms import parse_transform
from .codes import change
from .source import rebuilt

__all__ = ["Renames", "find_renames"]

T = TypeVar("T", System, Element, Integration)


@dataclass
class Renames:
    """Old name -> new name, per kind, and the rename changes to report."""

    systems: dict[str, str] = field(default_factory=dict)
    elements: dict[str, str] = field(default_factory=dict)
    integrations: dict[str, str] = field(default_factory=dict)
    changes: list[Finding] = field(default_factory=list)

    def system(self, name: str | None) -> str | None:
        return self.systems.get(name, name) if name is not None else None

    def element(self, name: str) -> str:
        return self.elements.get(name, name)


def find_renames(base: Registry, head: Registry) -> tuple[Registry, Renames]:
    """BASE with every recognised rename applied, and the renames."""
    renames = Renames()
    # one stage at a time, each applied alone: a chain (A renamed B, B renamed C) stays right
    renames.systems = _match(
        base.systems, head.systems, lambda s: (s.owner, s.description), _informative_system
    )
    base = apply(base, Renames(systems=renames.systems))
    renames.elements = _match(base.elements, head.elements, _element_signature, lambda _: True)
    base = apply(base, Renames(elements=renames.elements))
    renames.integrations = _match(
        base.integrations, head.integrations, _integration_signature, lambda i: bool(i.carries)
    )
    renamed = apply(base, Renames(integrations=renames.integrations))
    renames.changes = _report(renames, head)
    return renamed, renames


def _informative_system(system: System) -> bool:
    return system.owner is not None or system.description is not None


def _element_signature(element: Element) -> Hashable:
    return (
        element.system_of_origin,
        element.system_of_record,
        element.owner,
        element.type,
        element.rules,
        element.description,
    )


def _canonical(transform: str) -> str:
    try:
        return parse_transform(transform).text
    except TransformError:
        return transform.strip()


def _integration_signature(integ: Integration) -> Hashable:
    carries = sorted((c.element, _canonical(c.transform), c.inputs) for c in integ.carries)
    return (integ.source, integ.target, tuple(carries))


def _match(
    base: Sequence[T],
    head: Sequence[T],
    signature: Callable[[T], Hashable],
    eligible: Callable[[T], bool],
) -> dict[str, str]:
    base_names = {d.name for d in base}
    head_names = {d.name for d in head}
    gone = _by_signature([d for d in base if d.name not in head_names], signature, eligible)
    new = _by_signature([d for d in head if d.name not in base_names], signature, eligible)
    found: dict[str, str] = {}
    for key, olds in gone.items():
        news = new.get(key, [])
        if len(olds) == 1 and len(news) == 1:
            found[olds[0]] = news[0]
    return found


def _by_signature(
    decls: Sequence[T], signature: Callable[[T], Hashable], eligible: Callable[[T], bool]
) -> dict[Hashable, list[str]]:
    grouped: dict[Hashable, list[str]] = {}
    names: dict[str, int] = {}
    for decl in decls:
        names[decl.name] = names.get(decl.name, 0) + 1
    for decl in decls:
        if names[decl.name] != 1 or not eligible(decl):
            continue  # declared in pieces (or twice): not one recognisable declaration
        grouped.setdefault(signature(decl), []).append(decl.name)
    return grouped


def apply(registry: Registry, renames: Renames) -> Registry:
    """``registry`` with the renames applied to every declaration and reference."""
    systems = tuple(s.model_copy(update={"name": renames.system(s.name)}) for s in registry.systems)
    elements = tuple(
        e.model_copy(
            update={
                "name": renames.element(e.name),
                "system_of_record": renames.system(e.system_of_record),
                "system_of_origin": renames.system(e.system_of_origin),
            }
        )
        for e in registry.elements
    )
    integrations = tuple(
        i.model_copy(
            update={
                "name": renames.integrations.get(i.name, i.name),
                "source": renames.system(i.source),
                "target": renames.system(i.target),
                "carries": tuple(_carry(c, renames) for c in i.carries),
            }
        )
        for i in registry.integrations
    )
    waivers = tuple(_waiver(w, renames) for w in registry.waivers)
    return rebuilt(
        registry,
        systems=systems,
        elements=elements,
        integrations=integrations,
        waivers=waivers,
    )


def _carry(carry: Carry, renames: Renames) -> Carry:
    return carry.model_copy(
        update={
            "element": renames.element(carry.element),
            "inputs": tuple(renames.element(e) for e in carry.inputs),
        }
    )


def _waiver(waiver: Waiver, renames: Renames) -> Waiver:
    maps = {
        "system": renames.systems,
        "element": renames.elements,
        "integration": renames.integrations,
    }
    subject = {key: maps.get(key, {}).get(value, value) for key, value in waiver.subject.items()}
    return waiver.model_copy(update={"subject": subject})


def _report(renames: Renames, head: Registry) -> list[Finding]:
    found: list[Finding] = []
    for old, new in renames.systems.items():
        system = head.system(new)
        assert system is not None
        found.append(
            change(
                "system-renamed",
                f"system {old!r} is renamed {new!r} (same owner and description); every "
                "declaration naming it follows",
                owners=[system.owner],
                location=system.location,
                before=old,
                after=new,
                systems=[new],
                system=new,
            )
        )
    for old, new in renames.elements.items():
        element = head.element(new)
        assert element is not None
        found.append(
            change(
                "element-renamed",
                f"element {old!r} is renamed {new!r} (same declarations); recorded values stay "
                f"under {old!r} until systems send the new name",
                owners=[element.owner],
                location=element.location,
                before=old,
                after=new,
                systems=[element.system_of_record, element.system_of_origin],
                element=new,
            )
        )
    for old, new in renames.integrations.items():
        integ = head.integration(new)
        assert integ is not None
        found.append(
            change(
                "integration-renamed",
                f"integration {old!r} is renamed {new!r} (same source, target and carries); "
                "jobs that record hops under the old name must send the new one",
                owners=[integ.owner],
                location=integ.location,
                before=old,
                after=new,
                systems=[integ.target],
                integration=new,
            )
        )
    return found
