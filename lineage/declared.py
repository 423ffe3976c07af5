"""The declared graph: what the registry's integrations join, as ``networkx`` graphs built
once per registry version.

Every question the declarations alone answer about where data may flow is answered here,
from one set of graphs:

- the **systems graph** (:attr:`DeclaredGraph.systems`): every system declared or named by an
  integration, and every integration an edge from its source to its target;
- each element's **carry graph** (:meth:`DeclaredGraph.carries`): the systems its declared
  carries move it between, one edge per carry, with the integration and the transform;
- **paths** between two systems for one element (:meth:`DeclaredGraph.paths`): the declared
  steps (integration, transform, inputs) a value of it takes from one to the other, which
  ``lineage golden`` re-runs to say what a copy should hold;
- where each system stands against the element's system of record
  (:meth:`DeclaredGraph.sides`): ``downstream`` when a declared path carries the element from
  the system of record to it, ``upstream`` when one carries it from there to the system of
  record, not comparable otherwise (a declared loop through the system of record counts as
  downstream). ``conflicting-truth`` never walks from a place that is not comparable;
- **reachability** (:meth:`DeclaredGraph.supplied`): the systems some declared integration
  delivers an element to (``unreachable-copy`` is a flow that reads it anywhere else but its
  origin and its system of record);
- **backflow** (:meth:`DeclaredGraph.backflows`): carries into the system of record from a
  copy, or from an origin that receives the element from the system of record (a cycle:
  ``backflow-into-system-of-record``).

The store hands out one parsed :class:`~lineage.model.registry.Registry` per version, so
:func:`declared_graph` keys its cache by that object: the first question after a ``lineage
load`` builds the graphs, every later one (any thread) reuses them.

Example:
    >>> from lineage.model.registry import Carry, Element, Integration, Registry, System
    >>> registry = Registry(
    ...     systems=(System(name="CRM"), System(name="ERP"), System(name="BI")),
    ...     elements=(Element(name="order.total", system_of_origin="CRM",
    ...                       system_of_record="ERP"),),
    ...     integrations=(
    ...         Integration(name="crm-erp", source="CRM", target="ERP",
    ...                     carries=(Carry(element="order.total", transform="round(2)"),)),
    ...         Integration(name="erp-bi", source="ERP", target="BI",
    ...                     carries=(Carry(element="order.total", transform="multiply(1.2)"),)),
    ...     ),
    ... )
    >>> graph = declared_graph(registry)
    >>> [str(step) for step in graph.paths("order.total", "CRM", "BI")[0]]
    ['crm-erp round(2)', 'erp-bi multiply(1.2)']
    >>> graph.sides("order.total")
    {'CRM': 'upstream', 'BI': 'downstream'}
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass
from itertools import islice
from typing import TYPE_CHECKING, Literal

from .model.registry import Carry, Integration, Registry

# networkx is imported where a graph is built or searched, not here: importing it takes
# half a second, and most commands (an ingest, a trace) never build the declared graph
if TYPE_CHECKING:
    import networkx as nx

Direction = Literal["downstream", "upstream"]
"""Where a copy's system stands against the element's system of record."""

MAX_PATHS = 8
"""Declared paths considered between two systems for one element (more: ambiguous)."""

KEPT_PATHS = 4096
"""Path answers a graph keeps (then it forgets them all): bounded memory for a long-lived
server asked about many pairs of systems."""

_CACHED = 8
"""Registry versions whose graphs are kept (the newest few; a store has one in force)."""


@dataclass(frozen=True, slots=True)
class Step:
    """One declared carry on a path: the integration, its ends, the transform and inputs."""

    integration: str
    source: str
    target: str
    transform: str
    inputs: tuple[str, ...]
    owner: str | None

    def __str__(self) -> str:
        return f"{self.integration} {self.transform}"


Path = tuple[Step, ...]
"""The steps from one system to another, in order."""


@dataclass(frozen=True, slots=True)
class Backflow:
    """A declared carry into an element's system of record that runs against the flow.

    Attributes:
        integration: the integration carrying the element into its system of record.
        carry: its carry of the element.
        cycle: the systems the values go round: from the system of record to the source and
            back (``ERP -> BI -> ERP``), or just ``source -> record`` from a copy that
            nothing declared feeds from the system of record.
        returns: True when the source receives the element from the system of record (a
            cycle), False when the source merely holds a copy.
    """

    integration: Integration
    carry: Carry
    cycle: tuple[str, ...]
    returns: bool


def _step(integration: Integration, carry: Carry) -> Step:
    return Step(
        integration.name,
        integration.source,
        integration.target,
        carry.transform,
        carry.input_elements,
        integration.owner,
    )


class DeclaredGraph:
    """One registry's declared graphs, and the answers read from them (kept, thread-safe).

    The graphs are built whole in the constructor and never changed after; the answers
    derived from them (sides, paths) are computed on first use and kept under a lock.

    Args:
        registry: the declarations.
    """

    def __init__(self, registry: Registry) -> None:
        import networkx as nx  # noqa: PLC0415 - on first use (see the imports above)

        self.registry = registry
        #: systems (declared ones first, in reading order) and integrations (one edge each,
        #: keyed by its position in the registry, ``integration`` the declaration)
        self.systems: nx.MultiDiGraph = nx.MultiDiGraph()
        self.systems.add_nodes_from(s.name for s in registry.systems)
        # per element: every carry of it (keyed by (integration, carry) position);
        # the carries that move it as itself, in reading order (what backflow follows);
        # each integration's carry of it, successors ordered by (target, integration)
        # (what paths enumerate, so the first paths found are always the same ones)
        self._carries: dict[str, nx.MultiDiGraph] = {}
        self._flows: dict[str, nx.MultiDiGraph] = {}
        self._routes: dict[str, nx.MultiDiGraph] = {}
        first: dict[str, list[Step]] = {}
        for i, integration in enumerate(registry.integrations):
            source, target = integration.source, integration.target
            self.systems.add_edge(source, target, key=i, integration=integration)
            seen: set[str] = set()
            for j, carry in enumerate(integration.carries):
                name = carry.element
                step = _step(integration, carry)
                carried = self._carries.setdefault(name, nx.MultiDiGraph())
                carried.add_edge(source, target, key=(i, j), step=step, carry=carry)
                if name in carry.input_elements:
                    flows = self._flows.setdefault(name, nx.MultiDiGraph())
                    flows.add_edge(source, target, key=(i, j), integration=integration, carry=carry)
                if name not in seen:
                    seen.add(name)
                    first.setdefault(name, []).append(step)
        for name, steps in first.items():
            routes = self._routes[name] = nx.MultiDiGraph()
            for step in sorted(steps, key=lambda s: (s.target, s.integration)):
                routes.add_edge(step.source, step.target, key=len(routes.edges), step=step)
        self._lock = threading.Lock()
        self._sides: dict[str, dict[str, Direction]] = {}
        self._paths: dict[tuple[str, str, str], list[Path]] = {}
        self._supplied: dict[str, frozenset[str]] = {}

    # -- the graphs ----------------------------------------------------------------------

    def carries(self, element: str) -> nx.MultiDiGraph:
        """``element``'s carry graph: systems, and one edge per declared carry of it (the
        edge's ``step`` is the :class:`Step`, ``carry`` the declaration). Empty when nothing
        carries it. Read only: it is shared."""
        import networkx as nx  # noqa: PLC0415 - on first use (see the imports above)

        return self._carries.get(element) or nx.MultiDiGraph()

    def integrations_into(self, system: str) -> tuple[Integration, ...]:
        """The integrations whose target is ``system``, in reading order."""
        if system not in self.systems:
            return ()
        edges = self.systems.in_edges(system, keys=True, data="integration")
        return tuple(integration for _, _, _, integration in sorted(edges, key=lambda e: e[2]))

    def integrations_from(self, system: str) -> tuple[Integration, ...]:
        """The integrations whose source is ``system``, in reading order."""
        if system not in self.systems:
            return ()
        edges = self.systems.out_edges(system, keys=True, data="integration")
        return tuple(integration for _, _, _, integration in sorted(edges, key=lambda e: e[2]))

    # -- where systems stand against the system of record ----------------------------------

    def sides(self, element: str) -> Mapping[str, Direction]:
        """Every system comparable with ``element``'s system of record, with its direction
        (the system of record itself is left out; empty when none is declared)."""
        import networkx as nx  # noqa: PLC0415 - on first use (see the imports above)

        with self._lock:
            cached = self._sides.get(element)
        if cached is not None:
            return cached
        found: dict[str, Direction] = {}
        declared = self.registry.element(element)
        sor = declared.system_of_record if declared else None
        graph = self._carries.get(element)
        if sor is not None and graph is not None and sor in graph:
            for system in nx.ancestors(graph, sor):
                found[system] = "upstream"
            for system in nx.descendants(graph, sor):
                found[system] = "downstream"
            found.pop(sor, None)
        with self._lock:
            return self._sides.setdefault(element, found)

    def direction(self, element: str, system: str) -> Direction | None:
        """Where ``system`` stands against ``element``'s system of record (None: not
        comparable, or it is the system of record)."""
        return self.sides(element).get(system)

    def comparable(self) -> list[tuple[str, str, Direction]]:
        """Every ``(element, system, direction)`` a copy can be judged in, sorted."""
        rows: list[tuple[str, str, Direction]] = []
        for declared in self.registry.merged_elements:
            for system, side in self.sides(declared.name).items():
                rows.append((declared.name, system, side))
        return sorted(set(rows))

    # -- paths -----------------------------------------------------------------------------

    def paths(self, element: str, source: str, target: str) -> list[Path]:
        """Declared paths carrying ``element`` from ``source`` to ``target``.

        Each step is an integration's carry of the element (its first, when it declares
        several). Simple paths only (no system twice), shortest first, at most
        ``MAX_PATHS + 1`` (one more than used, so that too many is visible): the first
        found in a depth-first walk that takes each system's integrations by target, then
        name. The caller must not change the list.
        """
        import networkx as nx  # noqa: PLC0415 - on first use (see the imports above)

        key = (element, source, target)
        with self._lock:
            cached = self._paths.get(key)
        if cached is not None:
            return cached
        found: list[Path] = []
        routes = self._routes.get(element)
        if routes is not None and source != target and source in routes and target in routes:
            # only systems that can still reach the target are worth entering
            onward = nx.ancestors(routes, target)
            if source in onward:
                onward.add(target)
                view = nx.subgraph_view(routes, filter_node=onward.__contains__)
                for edges in islice(nx.all_simple_edge_paths(view, source, target), MAX_PATHS + 1):
                    found.append(tuple(routes.edges[edge]["step"] for edge in edges))
                found.sort(key=len)
        with self._lock:
            if len(self._paths) >= KEPT_PATHS:
                self._paths.clear()
            return self._paths.setdefault(key, found)

    # -- reachability ----------------------------------------------------------------------

    def supplied(self, element: str) -> frozenset[str]:
        """The systems some declared integration delivers ``element`` to (made from other
        elements or carried as itself)."""
        with self._lock:
            cached = self._supplied.get(element)
        if cached is not None:
            return cached
        graph = self._carries.get(element)
        found = frozenset(v for v, degree in graph.in_degree() if degree) if graph else frozenset()
        with self._lock:
            return self._supplied.setdefault(element, found)

    # -- backflow --------------------------------------------------------------------------

    def flow_path(self, element: str, start: str, goal: str) -> tuple[str, ...] | None:
        """The systems from ``start`` to ``goal`` along the carries that move ``element`` as
        itself (a shortest path, the first found breadth first in reading order), if any."""
        import networkx as nx  # noqa: PLC0415 - on first use (see the imports above)

        flows = self._flows.get(element)
        if flows is None or start not in flows:
            return None
        if start == goal:
            return (start,)
        before = dict(nx.bfs_predecessors(flows, start))
        if goal not in before:
            return None
        path = [goal]
        while path[-1] != start:
            path.append(before[path[-1]])
        return tuple(reversed(path))

    def backflows(self, element: str, record: str, origin: str | None) -> list[Backflow]:
        """The carries of ``element`` into ``record``, its system of record, that run from a
        copy back into the truth, in reading order.

        A carry into the system of record is fine from the element's system of ``origin``
        (the origin feeding the record), unless the origin itself receives the element from
        the system of record, directly or over several hops: the values then go round in a
        cycle. From anywhere else it is a copy overwriting the truth.
        """
        flows = self._flows.get(element)
        if flows is None or record not in flows:
            return []
        found: list[Backflow] = []
        into = sorted(flows.in_edges(record, keys=True, data=True), key=lambda e: e[2])
        for source, _, _, data in into:
            if source == record:
                continue
            path = self.flow_path(element, record, source)
            if source == origin and path is None:
                continue  # the origin feeding the record
            cycle = (*path, record) if path else (source, record)
            found.append(Backflow(data["integration"], data["carry"], cycle, path is not None))
        return found


_graphs: dict[int, tuple[Registry, DeclaredGraph]] = {}
_lock = threading.Lock()


def declared_graph(registry: Registry) -> DeclaredGraph:
    """The :class:`DeclaredGraph` of ``registry``, built once per registry version (the store
    hands out one parsed registry per version) and kept for the newest few.

    Safe to call from many threads: one of them builds, the others wait for it.
    """
    key = id(registry)
    with _lock:
        held = _graphs.get(key)
        if held is not None and held[0] is registry:
            return held[1]
        graph = DeclaredGraph(registry)
        if len(_graphs) >= _CACHED:
            _graphs.pop(next(iter(_graphs)))
        _graphs[key] = (registry, graph)
        return graph


__all__ = [
    "MAX_PATHS",
    "Backflow",
    "DeclaredGraph",
    "Direction",
    "Path",
    "Step",
    "declared_graph",
]
