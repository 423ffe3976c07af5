"""Which copies the declarations let the tracker compare with the golden value, and how.

Decided from the declared graph alone (no store): for each element, the systems its declared
integrations carry it between, as a ``networkx`` directed graph built once per registry
version. A system is

- ``downstream`` of the element's system of record when a declared path carries the element
  from the system of record to it (its copy is judged by carrying the golden value there);
- ``upstream`` when a declared path carries the element from it to the system of record (its
  copy is judged by carrying its own value to the system of record);
- not comparable otherwise: no declared path joins the two, in either direction, and the copy
  is ``unknown`` with that reason. The ``conflicting-truth`` scan never walks from such a copy.

A system both downstream and upstream (a declared loop through the system of record) is
judged as downstream.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Literal

import networkx as nx

from ..model.registry import Registry

Direction = Literal["downstream", "upstream"]
"""Where a copy's system stands against the element's system of record."""

_CACHED = 8
"""Registry versions whose graphs are kept (the newest few; a store has one in force)."""


@dataclass(slots=True)
class DeclaredGraph:
    """Each element's declared carry graph, and where every system stands against its system
    of record (computed once per element).

    Args:
        registry: the declarations.
    """

    registry: Registry
    _graphs: dict[str, nx.DiGraph] = field(init=False, default_factory=dict)
    _sides: dict[str, dict[str, Direction]] = field(init=False, default_factory=dict)

    def __post_init__(self) -> None:
        for integration in self.registry.integrations:
            for carry in integration.carries:
                graph = self._graphs.setdefault(carry.element, nx.DiGraph())
                graph.add_edge(integration.source, integration.target)

    def sides(self, element: str) -> dict[str, Direction]:
        """Every system comparable with ``element``'s system of record, with its direction
        (the system of record itself is left out; empty when none is declared)."""
        cached = self._sides.get(element)
        if cached is not None:
            return cached
        found: dict[str, Direction] = {}
        declared = self.registry.element(element)
        sor = declared.system_of_record if declared else None
        graph = self._graphs.get(element)
        if sor is not None and graph is not None and sor in graph:
            for system in nx.ancestors(graph, sor):
                found[system] = "upstream"
            for system in nx.descendants(graph, sor):
                found[system] = "downstream"
            found.pop(sor, None)
        self._sides[element] = found
        return found

    def direction(self, element: str, system: str) -> Direction | None:
        """Where ``system`` stands against ``element``'s system of record (None: not
        comparable, or it is the system of record)."""
        return self.sides(element).get(system)

    def comparable(self) -> list[tuple[str, str, Direction]]:
        """Every ``(element, system, direction)`` a copy can be judged in, sorted."""
        rows: list[tuple[str, str, Direction]] = []
        for declared in self.registry.elements:
            for system, side in self.sides(declared.name).items():
                rows.append((declared.name, system, side))
        return sorted(set(rows))


_graphs: dict[int, tuple[Registry, DeclaredGraph]] = {}
_lock = threading.Lock()


def declared_graph(registry: Registry) -> DeclaredGraph:
    """The :class:`DeclaredGraph` of ``registry``, built once per registry version (the store
    hands out one parsed registry per version) and kept for the newest few."""
    key = id(registry)
    with _lock:
        held = _graphs.get(key)
        if held is not None and held[0] is registry:
            return held[1]
    graph = DeclaredGraph(registry)
    with _lock:
        if len(_graphs) >= _CACHED:
            _graphs.pop(next(iter(_graphs)))
        _graphs[key] = (registry, graph)
    return graph


__all__ = ["DeclaredGraph", "Direction", "declared_graph"]
