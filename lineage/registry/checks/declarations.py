"""Names that must be declared: ``undeclared-element``, ``unknown-system``,
``duplicate-declaration``."""

from __future__ import annotations

from collections.abc import Iterator

from ...model.findings import Finding
from ...model.registry import Registry
from ...rules import blank, element_owner, integration_owner
from .base import at


def undeclared_element(registry: Registry) -> Iterator[Finding]:
    """An integration carries (or reads as input) an element nobody declared."""
    declared = {e.name for e in registry.elements}
    for integration in registry.integrations:
        for carry in integration.carries:
            names = [carry.element, *(i for i in carry.inputs if i != carry.element)]
            for name in dict.fromkeys(names):
                if name in declared:
                    continue
                role = "carries" if name == carry.element else f"reads {carry.element!r} from"
                yield Finding.of(
                    "undeclared-element",
                    f"integration {integration.name!r} {role} element {name!r}, which no "
                    "registry file declares: declare it under elements with its system of "
                    "record and owner, or fix the name",
                    owner=integration_owner(registry, integration),
                    location=carry.location or integration.location,
                    evidence={"carry": carry.element, "inputs": list(carry.input_elements)},
                    element=name,
                    integration=integration.name,
                )


def unknown_system(registry: Registry) -> Iterator[Finding]:
    """An element or integration names a system that is not declared under systems."""
    known = {s.name for s in registry.systems}
    listed = ", ".join(sorted(known)) or "none"
    for element in registry.elements:
        for role, name in (
            ("system_of_origin", element.system_of_origin),
            ("system_of_record", element.system_of_record),
        ):
            if blank(name) or name in known:
                continue
            yield Finding.of(
                "unknown-system",
                f"element {element.name!r} names {role} {name!r}, which is not a declared "
                f"system (declared: {listed}): declare it under systems or fix the name",
                owner=element_owner(registry, element),
                location=element.location,
                evidence={"field": role, "declared_systems": sorted(known)},
                element=element.name,
                system=name,
            )
    for integration in registry.integrations:
        for role, name in (("source", integration.source), ("target", integration.target)):
            if name in known:
                continue
            yield Finding.of(
                "unknown-system",
                f"integration {integration.name!r} names {role} {name!r}, which is not a "
                f"declared system (declared: {listed}): declare it under systems or fix the name",
                owner=integration_owner(registry, integration),
                location=integration.location,
                evidence={"field": role, "declared_systems": sorted(known)},
                integration=integration.name,
                system=name,
            )


def duplicate_declaration(registry: Registry) -> Iterator[Finding]:
    """A system or integration name declared twice: events naming it become ambiguous."""
    first_system: dict[str, str] = {}
    for system in registry.systems:
        if system.name not in first_system:
            first_system[system.name] = at(system.location)
            continue
        yield Finding.of(
            "duplicate-declaration",
            f"system {system.name!r} is declared again (first at {first_system[system.name]}): "
            "keep one declaration",
            owner=system.owner,
            location=system.location,
            evidence={"first": first_system[system.name]},
            system=system.name,
        )
    first_integration: dict[str, str] = {}
    for integration in registry.integrations:
        if integration.name not in first_integration:
            first_integration[integration.name] = at(integration.location)
            continue
        yield Finding.of(
            "duplicate-declaration",
            f"integration {integration.name!r} is declared again (first at "
            f"{first_integration[integration.name]}): rename one or keep one declaration",
            owner=integration_owner(registry, integration),
            location=integration.location,
            evidence={"first": first_integration[integration.name]},
            integration=integration.name,
        )
