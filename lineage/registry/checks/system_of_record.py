"""Exactly one system of record per element: ``missing-`` and ``multiple-systems-of-record``."""

from __future__ import annotations

from collections.abc import Iterator

from ...model.findings import Finding
from ...model.registry import Registry
from ...rules import blank, element_owner
from .base import at, element_declarations


def missing_system_of_record(registry: Registry) -> Iterator[Finding]:
    """An element no declaration gives a system of record: nobody can say which copy is true."""
    for name, declarations in element_declarations(registry).items():
        if any(not blank(d.system_of_record) for d in declarations):
            continue
        first = declarations[0]
        carried_by = sorted(
            {i.name for i in registry.integrations for c in i.carries if c.element == name}
        )
        where = f", yet {', '.join(carried_by)} carries it" if carried_by else ""
        yield Finding.of(
            "missing-system-of-record",
            f"element {name!r} declares no system_of_record{where}: add system_of_record "
            "naming the one system where its truth lives",
            owner=element_owner(registry, first),
            location=first.location,
            evidence={"system_of_origin": first.system_of_origin, "carried_by": carried_by},
            element=name,
        )


def multiple_systems_of_record(registry: Registry) -> Iterator[Finding]:
    """Declarations (often in two teams' files) that name different systems of record."""
    for name, declarations in element_declarations(registry).items():
        named = [d for d in declarations if not blank(d.system_of_record)]
        records = {d.system_of_record for d in named}
        if len(records) < 2:
            continue
        first = named[0]
        second = next(d for d in named if d.system_of_record != first.system_of_record)
        evidence = {
            "declarations": [
                {
                    "system_of_record": d.system_of_record,
                    "file": d.location.file if d.location else None,
                    "line": d.location.line if d.location else None,
                    "owner": d.owner,
                }
                for d in named
            ]
        }
        yield Finding.of(
            "multiple-systems-of-record",
            f"element {name!r} is declared with system of record {first.system_of_record} "
            f"at {at(first.location)} and {second.system_of_record} at {at(second.location)}: "
            "agree on one system of record and keep only that",
            owner=element_owner(registry, second) or element_owner(registry, first),
            location=second.location,
            evidence=evidence,
            element=name,
        )
