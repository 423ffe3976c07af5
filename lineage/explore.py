"""The explorer's answers: one system, one integration, a page of records, and search.

Each answer reads the registry in force and a bounded number of indexed statements
(:mod:`lineage.store.explore`): none reads the event table whole, so each stays fast at
millions of events.

- :func:`system_view`: what a system holds (by declaration and as recorded), what it is the
  system of record for, the integrations in and out, its open findings.
- :func:`integration_view`: an integration as declared (each carry's transform, owner,
  timeout) beside what is recorded about it (its open findings).
- :func:`records_page`: the record keys of one element in one system, a page at a time, each
  with its current value and its verdict against the golden record (:class:`~lineage.golden.Judge`).
- :func:`search`: systems, elements, integrations and owners of the registry whose name
  starts with or contains the text, and record keys that start with it or contain it.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass, field
from typing import Literal, TypeVar

from .declared import declared_graph
from .detect.observed_flows import outside_declarations
from .detect.run import Filters
from .errors import NotFoundError
from .findings import read_findings
from .golden import Judge
from .interop.observed import observe
from .model.findings import Finding
from .model.registry import Element, Integration, Registry, System
from .rules import (
    DELIVERED,
    FAILED,
    SENT,
    current_status,
    duration_text,
    lost_before_us,
    timeout_us,
)
from .store import Connection
from .store.database import Store
from .store.explore import (
    elements_of_record,
    elements_recorded,
    integration_hops,
    keys_by_prefix,
    keys_containing,
    record_keys_after,
)
from .store.openlineage import job_rows, jobs_named, latest_runs
from .store.queries import clock, current_event
from .store.schema import as_micros
from .store.walks import read_connection
from .valuegraph import TraceResult, ValueGraph

__all__ = [
    "PAGE_SIZE",
    "CarryTraffic",
    "Hit",
    "IntegrationView",
    "JobRecord",
    "RecordRow",
    "RecordsPage",
    "SystemView",
    "integration_view",
    "records_page",
    "search",
    "steps_to",
    "system_view",
    "within",
]

PAGE_SIZE = 25
"""Record keys on one page of the records browser."""

FINDINGS_SHOWN = 200
"""Open findings a system's or an integration's page lists (the findings page has the rest)."""


@dataclass(frozen=True, slots=True)
class Holding:
    """An element a system holds, and why: ``record``, ``origin``, ``copy``, ``recorded``."""

    element: str
    roles: tuple[str, ...]
    recorded: bool


@dataclass(frozen=True, slots=True)
class SystemView:
    """One system as declared and as recorded.

    Attributes:
        name: the system's name.
        declared: its declaration (None: an integration or an event names it, nobody declares it).
        holds: each element it holds, by declaration or as recorded, sorted by name.
        truths: the elements it is the system of record for.
        incoming: the declared integrations delivering into it.
        outgoing: the declared integrations reading from it.
        findings: its open findings (those whose subject is the system), as
            :func:`lineage.findings.read_findings` reads them: after waivers, most urgent
            first, at most :data:`FINDINGS_SHOWN`.
        findings_total: how many open findings it has in all.
    """

    name: str
    declared: System | None
    holds: tuple[Holding, ...]
    truths: tuple[Element, ...]
    incoming: tuple[Integration, ...]
    outgoing: tuple[Integration, ...]
    findings: tuple[Finding, ...]
    findings_total: int


def system_view(store: Store, name: str) -> SystemView:
    """What one system holds, is the truth of, receives and sends, and its open findings.

    Raises:
        NotFoundError: the registry does not name the system and nothing is recorded in it.
    """
    registry = store.registry()
    with read_connection(store) as conn:
        recorded = elements_recorded(conn, name)
    declared = registry.system(name)
    declared_flows = declared_graph(registry)
    incoming = declared_flows.integrations_into(name)
    outgoing = declared_flows.integrations_from(name)
    if declared is None and not incoming and not outgoing and not recorded:
        raise NotFoundError(
            f"the registry declares no system {name!r} and nothing is recorded in it: check "
            "the name (the system map lists every system)"
        )
    roles: dict[str, list[str]] = {}
    for element in registry.merged_elements:
        if element.system_of_record == name:
            roles.setdefault(element.name, []).append("system of record")
        if element.system_of_origin == name:
            roles.setdefault(element.name, []).append("system of origin")
    for integration in incoming:
        for carry in integration.carries:
            entry = roles.setdefault(carry.element, [])
            if not entry:
                entry.append("copy")
    for element_name in recorded:
        roles.setdefault(element_name, [])
    held = set(recorded)
    holds = tuple(
        Holding(element, tuple(found) or ("recorded, not declared",), element in held)
        for element, found in sorted(roles.items())
    )
    truths = tuple(e for e in registry.merged_elements if e.system_of_record == name)
    found = read_findings(store, filters=Filters(systems=(name,)), limit=FINDINGS_SHOWN)
    return SystemView(
        name, declared, holds, truths, incoming, outgoing, tuple(found.findings), found.total
    )


@dataclass(frozen=True, slots=True)
class CarryTraffic:
    """What was recorded of one element on an integration: its hops by current status.

    ``declared``: the integration carries the element (else the hops travelled on it with an
    element it does not declare). ``lost``: hops still ``sent`` past the integration's timeout
    at the store's clock; ``in_flight`` the ones still within it. ``flows``: how often the
    integration's OpenLineage jobs reported the element flowing into its target.
    """

    element: str
    declared: bool
    hops: int = 0
    last_at: int | None = None
    delivered: int = 0
    failed: int = 0
    in_flight: int = 0
    lost: int = 0
    flows: int = 0

    @property
    def observed(self) -> bool:
        """Recorded at all: hops, or OpenLineage flows."""
        return bool(self.hops or self.flows)


@dataclass(frozen=True, slots=True)
class JobRecord:
    """An OpenLineage job the registry maps to the integration, and what it was seen doing.

    ``reads``/``writes``: the datasets (``namespace/name``) its events named; ``outside``:
    what of it lies outside what the integration declares, in the words of the
    ``undeclared-integration`` finding (:func:`lineage.detect.observed_flows.outside_declarations`).
    """

    job: str
    runs: int
    last_run: str | None
    last_state: str | None
    last_at: int | None
    reads: tuple[str, ...]
    writes: tuple[str, ...]
    outside: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class IntegrationView:
    """One integration as declared and as observed, with its open findings (as for
    :class:`SystemView`).

    ``traffic``: each declared carry (in declaration order), then each element hops carried
    on it undeclared; ``jobs``: the OpenLineage jobs mapped to it; ``as_of``: the store's
    clock the lost hops are judged at (None: an empty store); ``timeout``: its delivery
    timeout as every answer words it (:func:`lineage.rules.duration_text`: ``1d``, never
    Python's ``1 day, 0:00:00``).
    """

    declared: Integration
    source: System | None
    target: System | None
    elements: tuple[Element | None, ...]
    findings: tuple[Finding, ...]
    findings_total: int
    traffic: tuple[CarryTraffic, ...] = ()
    jobs: tuple[JobRecord, ...] = ()
    as_of: int | None = None
    timeout: str = ""

    @property
    def hops(self) -> int:
        return sum(t.hops for t in self.traffic)

    @property
    def last_hop(self) -> int | None:
        return max((t.last_at for t in self.traffic if t.last_at is not None), default=None)


def integration_view(store: Store, name: str) -> IntegrationView:
    """An integration's declaration (carries, transforms, owner, timeout), what was observed
    of it (hops per element by status, its OpenLineage jobs' runs and datasets) and its open
    findings.

    Every count is an indexed statement (:func:`lineage.store.explore.integration_hops`, the
    OpenLineage summaries): none reads the event table whole.

    Raises:
        NotFoundError: the registry declares no integration of that name.
    """
    registry = store.registry()
    declared = registry.integration(name)
    if declared is None:
        raise NotFoundError(
            f"the registry declares no integration {name!r}: check the name (the system map "
            "lists every integration)"
        )
    found = read_findings(store, filters=Filters(integrations=(name,)), limit=FINDINGS_SHOWN)
    with read_connection(store) as conn:
        as_of = clock(conn)
        jobs, flows = _jobs_seen(conn, registry, declared)
        traffic = _traffic(conn, registry, declared, as_of, flows)
    return IntegrationView(
        declared,
        registry.system(declared.source),
        registry.system(declared.target),
        tuple(registry.element(c.element) for c in declared.carries),
        tuple(found.findings),
        found.total,
        traffic,
        jobs,
        as_of,
        duration_text(timeout_us(registry, name)),
    )


def _traffic(
    conn: Connection,
    registry: Registry,
    integ: Integration,
    as_of: int | None,
    flows: dict[str, int],
) -> tuple[CarryTraffic, ...]:
    timeout = timeout_us(registry, integ.name)
    lost_before = lost_before_us(timeout, as_of) if as_of is not None else -(2**62)
    counts: dict[str, dict[str, int]] = {}
    last: dict[str, int] = {}

    def add(element: str, status: str | None, hops: int, at: int, sent_before: int) -> None:
        seen = counts.setdefault(element, {})
        if status == SENT:
            seen["lost"] = seen.get("lost", 0) + sent_before
            seen["in_flight"] = seen.get("in_flight", 0) + hops - sent_before
        elif status in (DELIVERED, FAILED):
            seen[status] = seen.get(status, 0) + hops
        seen["hops"] = seen.get("hops", 0) + hops
        last[element] = max(last.get(element, at), at)

    groups, updated = integration_hops(conn, integ.name, lost_before)
    for group in groups:
        add(group.element, group.status, group.hops, group.last_at, group.sent_before)
    for hop in updated:
        now = current_status(hop.history)
        add(hop.element, now[0] if now else None, 1, hop.at, int(hop.at < lost_before))
    carried = [c.element for c in integ.carries]
    names = [*carried, *sorted(set(counts) - set(carried))]
    return tuple(
        CarryTraffic(
            element,
            element in carried,
            hops=counts.get(element, {}).get("hops", 0),
            last_at=last.get(element),
            delivered=counts.get(element, {}).get(DELIVERED, 0),
            failed=counts.get(element, {}).get(FAILED, 0),
            in_flight=counts.get(element, {}).get("in_flight", 0),
            lost=counts.get(element, {}).get("lost", 0),
            flows=flows.get(element, 0),
        )
        for element in names
    )


def _jobs_seen(
    conn: Connection, registry: Registry, integ: Integration
) -> tuple[tuple[JobRecord, ...], dict[str, int]]:
    """The integration's OpenLineage jobs (exact names looked up by key; patterns matched
    against the jobs summary), and how many column-lineage edges they reported into each
    element the integration carries to its target (element -> edges)."""
    if not integ.openlineage_jobs:
        return (), {}
    names = {p.pattern for p in integ.openlineage_jobs if p.exact}
    if any(not p.exact for p in integ.openlineage_jobs):
        for job in job_rows(conn):
            full = f"{job.namespace}/{job.name}"
            if any(p.matches(full) for p in integ.openlineage_jobs):
                names.add(full)
    keys = {f"{j.namespace}/{j.name}": (j.namespace, j.name) for j in jobs_named(conn, names)}
    seen = observe(conn, jobs=names).jobs
    latest = latest_runs(conn, keys.values())
    carried = {c.element for c in integ.carries}
    flows: dict[str, int] = {}
    found: list[JobRecord] = []
    for name in sorted(seen):
        job_seen = seen[name]
        for flow in job_seen.flows:
            if registry.system_of_namespace(flow.target_namespace) != integ.target:
                continue
            element = registry.element_at(integ.target, flow.target_dataset, flow.target_field)
            if element in carried:
                flows[element] = flows.get(element, 0) + 1
        run = latest.get(keys[name]) if name in keys else None
        found.append(
            JobRecord(
                name,
                job_seen.runs,
                run.run_id if run else None,
                (run.ended_state or run.state) if run else None,
                run.last if run else None,
                tuple(sorted(f"{n}/{d}" for n, d in job_seen.inputs)),
                tuple(sorted(f"{n}/{d}" for n, d in job_seen.outputs)),
                tuple(outside_declarations(registry, job_seen, [integ])),
            )
        )
    return tuple(found), flows


Verdict = Literal["truth", "agrees", "stale", "divergent", "unknown", "no system of record"]


@dataclass(frozen=True, slots=True)
class RecordRow:
    """One record key of a records page: its current value and its verdict."""

    record: str
    value: str | None
    at: int | None
    verdict: Verdict
    reason: str | None


@dataclass(frozen=True, slots=True)
class RecordsPage:
    """A page of the records holding one element in one system.

    ``after`` is the key this page starts after (None: the first page); ``next_after`` the key
    to ask for the next page with (None: this is the last).
    """

    system: str
    element: str
    after: str | None
    rows: tuple[RecordRow, ...]
    next_after: str | None


def records_page(
    store: Store,
    system: str,
    element: str,
    *,
    after: str | None = None,
    limit: int = PAGE_SIZE,
    as_of: dt.datetime | int | None = None,
) -> RecordsPage:
    """The record keys holding ``element`` in ``system`` after ``after``, ``limit`` of them,
    each with its value and its verdict against the golden record.

    The verdict is the golden record's (:meth:`lineage.golden.Judge.judge_place`): ``truth``
    in the element's system of record, else ``agrees``, ``stale``, ``divergent`` or
    ``unknown``; ``no system of record`` when the element declares none.
    """
    registry = store.registry()
    moment = as_micros(as_of)
    declared = registry.element(element)
    sor = declared.system_of_record if declared else None
    with read_connection(store) as conn:
        keys = record_keys_after(conn, system, element, after, limit + 1)
        shown = keys[:limit]
        events = [current_event(conn, system, element, key, moment) for key in shown]
        judge = Judge(conn, registry, moment)
        present = [e for e in events if e is not None]
        if sor is not None and system != sor:
            judge.prepare(present)
        rows: list[RecordRow] = []
        for key, event in zip(shown, events, strict=True):
            if event is None:
                rows.append(RecordRow(key, None, None, "unknown", "nothing recorded by then"))
                continue
            verdict: Verdict
            reason: str | None = None
            if sor is None:
                verdict = "no system of record"
            elif system == sor:
                verdict = "truth"
            else:
                judged = judge.judge_place(event)
                verdict = judged.status if judged else "unknown"
                reason = judged.reason if judged else None
            rows.append(RecordRow(key, event.value, event.at, verdict, reason))
    next_after = shown[-1] if len(keys) > limit else None
    return RecordsPage(system, element, after, tuple(rows), next_after)


HitKind = Literal["system", "element", "integration", "owner", "record"]


@dataclass(frozen=True, slots=True)
class Hit:
    """One search result: what it is and the names that locate its page.

    ``label`` is the matched name (a record key for a record); ``detail`` says where it is,
    for people; ``system``/``element``/``record`` place a record key.
    """

    kind: HitKind
    label: str
    detail: str
    system: str | None = None
    element: str | None = None
    record: str | None = None
    score: int = field(default=0, compare=False)


def _rank(name: str, text: str) -> int | None:
    """0 an exact match, 1 a prefix, 2 a word prefix, 3 contains; None no match (any case)."""
    lowered, wanted = name.lower(), text.lower()
    if lowered == wanted:
        return 0
    if lowered.startswith(wanted):
        return 1
    for separator in (".", "-", "_", " ", "@"):
        if any(part.startswith(wanted) for part in lowered.split(separator)[1:]):
            return 2
    return 3 if wanted in lowered else None


def _registry_hits(registry: Registry, text: str) -> list[Hit]:
    hits: list[Hit] = []
    for system in registry.systems:
        rank = _rank(system.name, text)
        if rank is not None:
            hits.append(Hit("system", system.name, system.owner or "system", score=rank))
    for element in registry.merged_elements:
        rank = _rank(element.name, text)
        if rank is not None:
            where = (
                f"system of record {element.system_of_record}" if element.system_of_record else ""
            )
            hits.append(Hit("element", element.name, where or "element", score=rank))
    for integration in registry.integrations:
        rank = _rank(integration.name, text)
        if rank is not None:
            route = f"{integration.source} → {integration.target}"
            hits.append(Hit("integration", integration.name, route, score=rank))
    owners: dict[str, int] = {}
    named: list[System | Element | Integration] = [
        *registry.systems,
        *registry.elements,
        *registry.integrations,
    ]
    for who in (item.owner for item in named):
        if who:
            owners[who] = owners.get(who, 0) + 1
    for owner, count in owners.items():
        rank = _rank(owner, text)
        if rank is not None:
            hits.append(Hit("owner", owner, f"owns {count}", score=rank))
    return hits


def search(store: Store, text: str, *, limit: int = 10) -> list[Hit]:
    """Registry names matching ``text`` (exact, prefix, word prefix, then contains; any case)
    and record keys starting with it (exact case) or containing it (any case), at most
    ``limit``, best first.

    Record keys are found by prefix in each system the registry declares (one index range
    each, :func:`lineage.store.explore.keys_by_prefix`), then, for a text of three characters
    or more, anywhere inside them through the store's trigram index
    (:func:`lineage.store.explore.keys_containing`; a store without one finds prefixes only).
    Each comes with the elements recorded for it, so that a hit places a value to trace.
    """
    text = text.strip()
    if not text:
        return []
    registry = store.registry()
    hits = sorted(_registry_hits(registry, text), key=lambda h: (h.score, h.kind, h.label))
    records: list[Hit] = []
    seen: set[tuple[str, str]] = set()
    with read_connection(store) as conn:

        def found(system: str, key: str, rank: int) -> None:
            seen.add((system, key))
            for element in elements_of_record(conn, system, key, limit=3):
                detail = f"{system} · {element}"
                records.append(Hit("record", key, detail, system, element, key, score=rank))

        for system in sorted(s.name for s in registry.systems):
            for key in keys_by_prefix(conn, system, text, limit):
                found(system, key, 0 if key == text else 1)
        if len(seen) < limit:
            inside = keys_containing(conn, text, limit + len(seen)) or []
            for system, key in sorted(inside, key=lambda pair: (len(pair[1]), pair)):
                if (system, key) not in seen and len(seen) < limit:
                    found(system, key, 3)
    records.sort(key=lambda h: (h.score, len(h.label), h.label, h.system or "", h.element or ""))
    exact = [h for h in records if h.score == 0]
    rest = [h for h in records if h.score != 0]
    merged = [*exact, *hits, *rest] if exact else [*hits, *rest]
    return merged[:limit]


G = TypeVar("G", bound=ValueGraph)


def _distances(graph: ValueGraph, limit: int | None = None) -> dict[str, int]:
    """Hops from the subject to each value, upstream in a trace, downstream in an impact
    (values further than ``limit`` left out)."""
    upstream = isinstance(graph, TraceResult)
    near: dict[str, list[str]] = {}
    for edge in graph.edges:
        here, there = (edge.target, edge.source) if upstream else (edge.source, edge.target)
        near.setdefault(here, []).append(there)
    distance = {graph.subject_id: 0}
    frontier = [graph.subject_id]
    while frontier:
        step: list[str] = []
        for node in frontier:
            if limit is not None and distance[node] >= limit:
                continue
            for other in near.get(node, ()):
                if other not in distance:
                    distance[other] = distance[node] + 1
                    step.append(other)
        frontier = step
    return distance


def within(graph: G, steps: int) -> tuple[G, int]:
    """``graph`` cut to the values at most ``steps`` hops from its subject, and how many
    values the cut hides.

    A trace is walked upstream (from each value to the inputs it was made from), an impact
    downstream: the steps that grow a diagram one at a time (the explorer's *expand*).

    Example:
        >>> shown, hidden = within(trace(store, "BI", "order.total", "R-17"), 1)  # doctest: +SKIP
    """
    distance = _distances(graph, steps)
    nodes = tuple(n for n in graph.nodes if n.id in distance)
    edges = tuple(e for e in graph.edges if e.source in distance and e.target in distance)
    cut = dataclasses.replace(graph, nodes=nodes, edges=edges)
    if isinstance(cut, TraceResult):
        cut = dataclasses.replace(cut, origin=tuple(o for o in cut.origin if o in distance))
    return cut, len(graph.nodes) - len(nodes)


def steps_to(graph: ValueGraph, node_id: str | None) -> int:
    """How many hops upstream of a trace's subject (downstream of an impact's) ``node_id``
    is; 0 for the subject, None or a value not in the graph."""
    return _distances(graph).get(node_id, 0) if node_id is not None else 0
