"""The answer shape of the steward's questions: a small graph of value versions.

:func:`lineage.trace.trace` and :func:`lineage.impact.impact` return these; the renderers
draw them and ``to_json()`` gives the contract JSON (docs/CONTRACT.md §3-4). The graph's parts
(problems, nodes, edges) are named tuples, not frozen dataclasses: a trace builds a few dozen
of them and answers in about a millisecond, and a frozen dataclass costs five times as much to
make (4 us, not 0.8, on the benchmark machine). A node keeps its moment as integer
microseconds and formats ``at`` (ISO 8601) when it is read. Attributes beyond the contract
(``at_us``, ``problems``, an edge's ``kind`` and ``position``, the subject and culprit node
ids) serve the renderers and are left out of the JSON.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, NamedTuple

from .model.findings import Finding
from .rules import Judged, judged_iso
from .store.queries import PlaceKey
from .store.schema import iso


@dataclass(frozen=True, slots=True)
class Subject:
    """The place asked about and the value it holds."""

    system: str
    element: str
    record: str
    value: str | None

    def to_json(self) -> dict[str, Any]:
        return {"system": self.system, "element": self.element, "record": self.record,
                "value": self.value}  # fmt: skip


class Problem(NamedTuple):
    """Something wrong with one node: a finding code, the event, whom to ask, and why.

    ``expected`` is the value the node should hold, when the check knows it (what the
    transform makes of the inputs for an unexplained transformation), else None.
    """

    code: str
    event: str | None
    owner: str | None
    message: str
    expected: str | None = None


class GraphNode(NamedTuple):
    """A value version: what one place held from one event on.

    ``kind`` is ``write``, ``hop`` (the hop's output), ``snapshot``, or ``untraced``: a hop
    input whose place the store holds no event for at the hop's time (``event`` and ``at``
    are then None and ``value`` is what the hop says it read). ``at_us`` is the event's
    moment in microseconds since the epoch, ``at`` the same in ISO 8601.
    """

    id: str
    kind: str
    event: str | None
    system: str
    element: str
    record: str
    value: str | None
    at_us: int | None = None
    problems: tuple[Problem, ...] = ()

    @property
    def at(self) -> str | None:
        return None if self.at_us is None else iso(self.at_us)

    @property
    def place(self) -> PlaceKey:
        return PlaceKey(self.system, self.element, self.record)

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "kind": self.kind, "event": self.event, "system": self.system,
                "element": self.element, "record": self.record, "value": self.value,
                "at": self.at}  # fmt: skip


class GraphEdge(NamedTuple):
    """A step the value took: a hop from one of its inputs, or a snapshot observing a value.

    ``source`` and ``target`` are node ids (``from`` and ``to`` in JSON). ``event`` is the hop
    (or snapshot) at the target end; ``integration`` and ``transform`` are None for an
    observed step (``kind`` ``observed``); ``owner`` answers for the step; ``position`` is the
    hop input it stands for (-1 for an observation); ``read`` is the value the hop says it
    read at that input (None for an observation), which differs from the source node's value
    on a broken chain.
    """

    source: str
    target: str
    event: str | None
    integration: str | None
    transform: str | None
    verified: bool
    owner: str | None
    kind: str = "hop"
    position: int = 0
    read: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {"from": self.source, "to": self.target, "event": self.event,
                "integration": self.integration, "transform": self.transform,
                "verified": self.verified, "owner": self.owner}  # fmt: skip


@dataclass(frozen=True, slots=True)
class RootCause:
    """The earliest event on the path where the value went wrong, and whom to ask."""

    event: str | None
    code: str
    owner: str | None
    message: str

    def to_json(self) -> dict[str, Any]:
        return {"event": self.event, "code": self.code, "owner": self.owner,
                "message": self.message}  # fmt: skip


@dataclass(frozen=True, slots=True, kw_only=True)
class ValueGraph:
    """A part of the lineage graph around one place: what trace and impact return.

    Attributes:
        subject: the place asked about and the value it holds.
        nodes: value versions, oldest first.
        edges: steps between them.
        subject_id: the node standing for the subject's value.
        as_of: the moment asked about (ISO 8601), None for now.
        findings: the open findings on what it shows (:func:`lineage.answers.with_findings`),
            in the shape ``lineage scan`` reports them.
        judged: the moment it judged as of (``--as-of``, else the store's clock) and why;
            ``as_of`` in the JSON.
    """

    subject: Subject
    nodes: tuple[GraphNode, ...]
    edges: tuple[GraphEdge, ...]
    subject_id: str
    as_of: str | None = None
    findings: tuple[Finding, ...] = ()
    judged: Judged | None = None

    def node(self, node_id: str) -> GraphNode:
        return next(n for n in self.nodes if n.id == node_id)

    @property
    def subject_node(self) -> GraphNode:
        return self.node(self.subject_id)

    @property
    def culprit(self) -> str | None:
        """The id of the node to draw as the culprit, if any."""
        return None

    def to_json(self) -> dict[str, Any]:
        """The contract JSON shape (docs/CONTRACT.md §3-4) as plain data."""
        return {
            "subject": self.subject.to_json(),
            "nodes": [n.to_json() for n in self.nodes],
            "edges": [e.to_json() for e in self.edges],
        }

    def judged_json(self) -> str | None:
        """The moment judged as of, ISO 8601 in UTC: the answer's ``as_of``."""
        return judged_iso(self.judged) if self.judged is not None else None

    def findings_json(self) -> list[dict[str, Any]]:
        """The open findings in the shape ``lineage scan --format json`` gives them."""
        return [f.model_dump(mode="json") for f in self.findings]

    def flagged(self) -> set[str]:
        """The ids of the nodes an open finding is on (by event, else by place)."""
        events = {f.subject.event for f in self.findings if f.subject.event}
        places = {
            (f.subject.system, f.subject.element, f.subject.record)
            for f in self.findings
            if f.subject.event is None
        }
        return {
            n.id
            for n in self.nodes
            if (n.event is not None and n.event in events)
            or (n.system, n.element, n.record) in places
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class TraceResult(ValueGraph):
    """A value's path back to its origin (``lineage trace --format json``).

    Attributes:
        origin: ids of the write nodes the walk reached.
        observed: OpenLineage jobs feeding the places the walk could not explain further.
        root_cause: the earliest event where the value went wrong, or None.
        culprit_id: the node of the root cause, drawn red.
    """

    origin: tuple[str, ...] = ()
    root_cause: RootCause | None = None
    culprit_id: str | None = None
    observed: tuple[Any, ...] = ()
    """OpenLineage jobs writing the places the trace could not explain further
    (:class:`lineage.interop.observed.ObservedFeed`): where to look next."""

    @property
    def culprit(self) -> str | None:
        return self.culprit_id

    def to_json(self) -> dict[str, Any]:
        data = ValueGraph.to_json(self)
        data["origin"] = list(self.origin)
        data["root_cause"] = self.root_cause.to_json() if self.root_cause else None
        if self.observed:  # only where the registry maps OpenLineage and a job feeds a dead end
            data["observed"] = [feed.to_json() for feed in self.observed]
        data["findings"] = self.findings_json()
        data["as_of"] = self.judged_json()
        return data


@dataclass(frozen=True, slots=True, kw_only=True)
class ImpactResult(ValueGraph):
    """Everything downstream of a value (``lineage impact --format json``).

    Attributes:
        counts: per system, the number of distinct places the value reached.
    """

    counts: dict[str, int] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        data = ValueGraph.to_json(self)
        data["counts"] = dict(self.counts)
        data["findings"] = self.findings_json()
        data["as_of"] = self.judged_json()
        return data
