"""Every system, element and integration names the human accountable: ``missing-owner``."""

from __future__ import annotations

from collections.abc import Iterator

from ...model.findings import Finding
from ...model.registry import Registry
from ...rules import blank, element_owner, integration_owner
from .base import element_declarations


def missing_owner(registry: Registry) -> Iterator[Finding]:
    """A declaration with no owner: when it breaks, nobody is called."""
    for system in registry.systems:
        if not blank(system.owner):
            continue
        # Someone answering for data kept in the system is the next best person to ask.
        stewards = sorted(
            {e.owner for e in registry.elements if e.system_of_record == system.name and e.owner}
        )
        yield Finding.of(
            "missing-owner",
            f"system {system.name!r} has no owner: add owner with the e-mail or handle of the "
            "person accountable for it",
            owner=stewards[0] if stewards else None,
            location=system.location,
            system=system.name,
        )
    for name, declarations in element_declarations(registry).items():
        if any(not blank(d.owner) for d in declarations):
            continue
        first = declarations[0]
        yield Finding.of(
            "missing-owner",
            f"element {name!r} has no owner: add owner with the person accountable for its values",
            owner=element_owner(registry, first),
            location=first.location,
            element=name,
        )
    for integration in registry.integrations:
        if not blank(integration.owner):
            continue
        yield Finding.of(
            "missing-owner",
            f"integration {integration.name!r} ({integration.source} -> {integration.target}) "
            "has no owner: add owner with the person who fixes it when a delivery fails",
            owner=integration_owner(registry, integration),
            location=integration.location,
            integration=integration.name,
        )
