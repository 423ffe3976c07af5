"""Flows that run from a copy back into the truth: ``backflow-into-system-of-record``.

An integration into an element's system of record is fine from the element's system of origin
(the origin feeding the record). From anywhere else it is a copy overwriting the truth; and
even from the origin it is a backflow when the origin itself receives the element from the
system of record, directly or over several hops: the values go round in a cycle. Which
carries do is the declared graph's answer (:meth:`lineage.declared.DeclaredGraph.backflows`).
"""

from __future__ import annotations

from collections.abc import Iterator

from ...declared import declared_graph
from ...model.findings import Finding
from ...model.registry import Registry
from ...rules import integration_owner
from .base import declared_elements


def backflow_into_system_of_record(registry: Registry) -> Iterator[Finding]:
    """An integration carries an element into its system of record from a copy."""
    graph = declared_graph(registry)
    for name, declared in declared_elements(registry).items():
        record, origin = declared.system_of_record, declared.system_of_origin
        if not record:
            continue
        for backflow in graph.backflows(name, record, origin):
            integration, source = backflow.integration, backflow.integration.source
            if backflow.returns:
                what = (
                    f"{source} receives it from {record} ({' -> '.join(backflow.cycle)}), a cycle"
                )
            else:
                what = f"{source} holds a copy (neither its origin nor its record)"
            yield Finding.of(
                "backflow-into-system-of-record",
                f"integration {integration.name!r} carries {name!r} from {source} into "
                f"{record}, its system of record, but {what}: change the value in {record} "
                "and let it flow out, or declare where the truth really lives",
                owner=integration_owner(registry, integration),
                location=backflow.carry.location or integration.location,
                evidence={
                    "source": source,
                    "target": record,
                    "system_of_record": record,
                    "system_of_origin": origin,
                    "cycle": list(backflow.cycle),
                },
                element=name,
                system=record,
                integration=integration.name,
            )
