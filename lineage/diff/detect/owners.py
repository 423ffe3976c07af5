"""Owners removed or changed on a system, an element or an integration."""

from __future__ import annotations

from collections.abc import Iterator

from ...model.findings import Finding
from ...model.registry import Location
from ..codes import change
from ..pair import Pair


def _owner_change(  # noqa: PLR0917  (one call site per kind, every part named there)
    kind: str,
    name: str,
    before: str | None,
    after: str | None,
    location: Location | None,
    fallback: list[str | None],
    systems: list[str | None],
) -> Finding | None:
    if before == after or before is None:
        return None  # an owner named where none was is the fix, not a change to review
    system = name if kind == "system" else None
    element = name if kind == "element" else None
    integration = name if kind == "integration" else None
    if after is None:
        return change(
            "owner-removed",
            f"{kind} {name!r} no longer names an owner (it was {before}): nobody is accountable "
            f"for it; name one",
            owners=[before, *fallback],
            location=location,
            before=before,
            after=None,
            systems=systems,
            system=system,
            element=element,
            integration=integration,
        )
    return change(
        "owner-changed",
        f"{kind} {name!r} changes owner from {before} to {after}: both should agree",
        owners=[after, before],
        location=location,
        before=before,
        after=after,
        systems=systems,
        system=system,
        element=element,
        integration=integration,
    )


def owner_changes(pair: Pair) -> Iterator[Finding]:
    """``owner-removed`` (error) and ``owner-changed`` (warning), at HEAD's declaration."""
    for name, system in pair.head.systems.items():
        if name in pair.base.systems:
            found = _owner_change(
                "system",
                name,
                pair.base.system_owner(name),
                pair.head.system_owner(name),
                system.location,
                [],
                [name],
            )
            if found:
                yield found
    for name, declared in pair.head.elements.items():
        if name in pair.base.elements:
            found = _owner_change(
                "element",
                name,
                pair.base.element_owner(name),
                pair.head.element_owner(name),
                declared.first.location,
                [pair.head.system_owner(declared.system_of_record)],
                [declared.system_of_record],
            )
            if found:
                yield found
    for name, integ in pair.head.integrations.items():
        if name in pair.base.integrations:
            found = _owner_change(
                "integration",
                name,
                pair.base.integration_owner(name),
                pair.head.integration_owner(name),
                integ.location,
                [pair.head.system_owner(integ.target), pair.head.system_owner(integ.source)],
                [integ.target],
            )
            if found:
                yield found
