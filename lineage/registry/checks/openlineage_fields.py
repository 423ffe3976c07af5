"""Elements' OpenLineage dataset fields: ``unknown-system``, ``ambiguous-dataset-field`` and
``unmapped-element``.

An element says, per system, which dataset field holds it. The system must be declared; one
field of one dataset in one system holds one element; and an integration run by OpenLineage
jobs should find each element it carries mapped in its source or target system, or the jobs'
column lineage of it can never be recognised.
"""

from __future__ import annotations

from collections.abc import Iterator

from ...model.findings import Finding
from ...model.registry import Registry
from ...rules import element_owner, integration_owner
from .base import at


def unknown_mapped_system(registry: Registry) -> Iterator[Finding]:
    """An element's dataset field names a system that is not declared."""
    known = {s.name for s in registry.systems}
    listed = ", ".join(sorted(known)) or "none"
    for element in registry.elements:
        for held in element.openlineage_fields:
            if held.system in known:
                continue
            yield Finding.of(
                "unknown-system",
                f"element {element.name!r} maps OpenLineage field {held.dataset}.{held.field} "
                f"in system {held.system!r}, which is not a declared system (declared: "
                f"{listed}): declare it under systems or fix the name",
                owner=element_owner(registry, element),
                location=held.location or element.location,
                evidence={"field": "openlineage_fields", "declared_systems": sorted(known)},
                element=element.name,
                system=held.system,
            )


def ambiguous_dataset_field(registry: Registry) -> Iterator[Finding]:
    """One dataset field of one system mapped to two different elements."""
    first: dict[tuple[str, str, str], tuple[str, str]] = {}
    for element in registry.elements:
        for held in element.openlineage_fields:
            key = (held.system, held.dataset, held.field)
            if key not in first:
                first[key] = (element.name, at(held.location))
                continue
            other, where = first[key]
            if other == element.name:
                continue
            yield Finding.of(
                "ambiguous-dataset-field",
                f"element {element.name!r} maps OpenLineage field {held.dataset}.{held.field} "
                f"in {held.system}, which element {other!r} maps at {where}: one field holds "
                "one element, so remove one mapping",
                owner=element_owner(registry, element),
                location=held.location or element.location,
                evidence={"dataset": held.dataset, "field": held.field, "other_element": other},
                element=element.name,
                system=held.system,
            )


def unmapped_element(registry: Registry) -> Iterator[Finding]:
    """A job-run integration carries an element mapped in neither its source nor its target."""
    mapped = {
        (held.system, element.name)
        for element in registry.elements
        for held in element.openlineage_fields
    }
    for integration in registry.integrations:
        if not integration.openlineage_jobs:
            continue
        for carry in integration.carries:
            missing = [
                system
                for system in (integration.source, integration.target)
                if (system, carry.element) not in mapped
            ]
            if not missing:
                continue
            yield Finding.of(
                "unmapped-element",
                f"integration {integration.name!r} is run by OpenLineage jobs and carries "
                f"{carry.element!r}, which no openlineage_fields entry places in "
                f"{' or '.join(missing)}: add the dataset and field that hold it there",
                owner=integration_owner(registry, integration),
                location=carry.location or integration.location,
                evidence={"systems": missing},
                element=carry.element,
                integration=integration.name,
            )
