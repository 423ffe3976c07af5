"""Flows that start where the element never arrives: ``unreachable-copy``."""

from __future__ import annotations

from collections.abc import Iterator

from ...declared import declared_graph
from ...model.findings import Finding
from ...model.registry import Registry
from ...rules import integration_owner
from .base import declared_elements


def unreachable_copy(registry: Registry) -> Iterator[Finding]:
    """An integration reads an element from a system no declared flow supplies it to.

    The source must be the element's origin, its system of record, or the target of an
    integration that carries it (:meth:`lineage.declared.DeclaredGraph.supplied`);
    otherwise the values it sends come from nowhere declared.
    """
    declared = declared_elements(registry)
    graph = declared_graph(registry)
    for integration in registry.integrations:
        source = integration.source
        for carry in integration.carries:
            for name in carry.input_elements:
                facts = declared.get(name)
                if facts is None or not (facts.system_of_record or facts.system_of_origin):
                    continue  # undeclared-element or missing-system-of-record says it already
                holders = {facts.system_of_record, facts.system_of_origin}
                if source in holders or source in graph.supplied(name):
                    continue
                reads = (
                    f"carries {name!r}"
                    if name == carry.element
                    else f"reads {name!r} (for {carry.element!r})"
                )
                yield Finding.of(
                    "unreachable-copy",
                    f"integration {integration.name!r} {reads} from {source}, but {source} is "
                    f"neither its origin ({facts.system_of_origin}) nor its system of record "
                    f"({facts.system_of_record}) and no declared integration delivers it there: "
                    f"declare the flow that brings it into {source}, or read it from "
                    f"{facts.system_of_record}",
                    owner=integration_owner(registry, integration),
                    location=carry.location or integration.location,
                    evidence={
                        "source": source,
                        "system_of_origin": facts.system_of_origin,
                        "system_of_record": facts.system_of_record,
                        "supplied_to": sorted(graph.supplied(name)),
                    },
                    element=name,
                    system=source,
                    integration=integration.name,
                )
