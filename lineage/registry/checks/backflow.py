"""Flows that run from a copy back into the truth: ``backflow-into-system-of-record``.

An integration into an element's system of record is fine from the element's system of origin
(the origin feeding the record). From anywhere else it is a copy overwriting the truth; and
even from the origin it is a backflow when the origin itself receives the element from the
system of record, directly or over several hops: the values go round in a cycle.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator

from ...model.findings import Finding
from ...model.registry import Carry, Integration, Registry
from .base import declared_elements, integration_owner


def backflow_into_system_of_record(registry: Registry) -> Iterator[Finding]:
    """An integration carries an element into its system of record from a copy."""
    flows = _flows(registry)
    for name, declared in declared_elements(registry).items():
        record, origin = declared.system_of_record, declared.system_of_origin
        if not record:
            continue
        edges = flows.get(name, [])
        for integration, carry in edges:
            source = integration.source
            if integration.target != record or source == record:
                continue
            path = _path(edges, record, source)
            if source == origin and path is None:
                continue  # the origin feeding the record
            cycle = [*path, record] if path else [source, record]
            if path:
                what = f"{source} receives it from {record} ({' -> '.join(cycle)}), a cycle"
            else:
                what = f"{source} holds a copy (neither its origin nor its record)"
            yield Finding.of(
                "backflow-into-system-of-record",
                f"integration {integration.name!r} carries {name!r} from {source} into "
                f"{record}, its system of record, but {what}: change the value in {record} "
                "and let it flow out, or declare where the truth really lives",
                owner=integration_owner(registry, integration),
                location=carry.location or integration.location,
                evidence={
                    "source": source,
                    "target": record,
                    "system_of_record": record,
                    "system_of_origin": origin,
                    "cycle": cycle,
                },
                element=name,
                system=record,
                integration=integration.name,
            )


def _flows(registry: Registry) -> dict[str, list[tuple[Integration, Carry]]]:
    """Per element, the carries that move it as itself (not derived from other elements)."""
    flows: dict[str, list[tuple[Integration, Carry]]] = {}
    for integration in registry.integrations:
        for carry in integration.carries:
            if carry.element in carry.input_elements:
                flows.setdefault(carry.element, []).append((integration, carry))
    return flows


def _path(edges: list[tuple[Integration, Carry]], start: str, goal: str) -> list[str] | None:
    """Systems from ``start`` to ``goal`` along the element's flows (breadth first), if any."""
    following: dict[str, list[str]] = {}
    for integration, _ in edges:
        following.setdefault(integration.source, []).append(integration.target)
    before: dict[str, str | None] = {start: None}
    queue = deque([start])
    while queue:
        here = queue.popleft()
        if here == goal:
            path = [here]
            while (back := before[path[-1]]) is not None:
                path.append(back)
            return path[::-1]
        for there in following.get(here, ()):
            if there not in before:
                before[there] = here
                queue.append(there)
    return None
