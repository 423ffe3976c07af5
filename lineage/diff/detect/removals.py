"""Declarations removed (reported at BASE's line) and added (at HEAD's line)."""

from __future__ import annotations

from collections.abc import Iterator

from ...model.findings import Finding
from ..codes import change
from ..pair import Pair


def removed(pair: Pair) -> Iterator[Finding]:
    """``system-removed``, ``element-removed``, ``integration-removed`` at BASE's declaration."""
    for name, system in pair.base.systems.items():
        if name not in pair.head.systems:
            yield change(
                "system-removed",
                f"system {name!r} is no longer declared: what it holds has no declared home",
                owners=[system.owner],
                location=system.location,
                before=name,
                systems=[name],
                system=name,
            )
    for name, declared in pair.base.elements.items():
        if name not in pair.head.elements:
            still = sorted(
                i.name
                for i in pair.head.registry.integrations
                if any(c.element == name or name in c.inputs for c in i.carries)
            )
            tail = f"; still carried by {', '.join(still)}" if still else ""
            yield change(
                "element-removed",
                f"element {name!r} is no longer declared: its system of record "
                f"({declared.system_of_record or 'none'}) and owner are forgotten{tail}",
                owners=[
                    pair.base.element_owner(name),
                    pair.base.system_owner(declared.system_of_record),
                ],
                location=declared.first.location,
                before=name,
                systems=[declared.system_of_record, declared.system_of_origin],
                evidence={"still_carried_by": still},
                element=name,
            )
    for name, integ in pair.base.integrations.items():
        if name not in pair.head.integrations:
            yield change(
                "integration-removed",
                f"integration {name!r} ({integ.source} -> {integ.target}, carrying "
                f"{', '.join(c.element for c in integ.carries) or 'nothing'}) is no longer "
                "declared: hops recorded on it become undeclared",
                owners=[integ.owner, pair.base.system_owner(integ.target)],
                location=integ.location,
                before=name,
                systems=[integ.target],
                integration=name,
            )


def added(pair: Pair) -> Iterator[Finding]:
    """``system-added``, ``element-added``, ``integration-added`` at HEAD's declaration."""
    for name, system in pair.head.systems.items():
        if name not in pair.base.systems:
            yield change(
                "system-added",
                f"system {name!r} is declared",
                owners=[system.owner],
                location=system.location,
                after=name,
                systems=[name],
                system=name,
            )
    for name, declared in pair.head.elements.items():
        if name not in pair.base.elements:
            yield change(
                "element-added",
                f"element {name!r} is declared (system of record "
                f"{declared.system_of_record or 'none'})",
                owners=[pair.head.element_owner(name)],
                location=declared.first.location,
                after=name,
                systems=[declared.system_of_record],
                element=name,
            )
    for name, integ in pair.head.integrations.items():
        if name not in pair.base.integrations:
            yield change(
                "integration-added",
                f"integration {name!r} is declared ({integ.source} -> {integ.target}, carrying "
                f"{', '.join(c.element for c in integ.carries) or 'nothing'})",
                owners=[integ.owner, pair.head.system_owner(integ.target)],
                location=integ.location,
                after=name,
                systems=[integ.target],
                integration=name,
            )
