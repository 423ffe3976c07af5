"""The open findings on what an answer shows: no answer says "every step checks out" while a
finding is open on a place, hop or record it shows.

:func:`with_findings` takes a trace or impact graph and returns it with ``findings``: the
problems the walk already judged on each node (untraced value, competing origin,
unexplained transformation, broken chain, rule violation, undeclared integration), plus
what the walk alone cannot see, judged by :mod:`lineage.rules` from a constant number of
indexed statements whatever the graph's size (never one per step):

- a shown hop still ``sent`` past its integration's timeout (``lost-delivery``), judged as of
  the store's clock unless a moment is given;
- a shown hop whose input place a one-to-one integration also delivered to another record
  (``duplicate-delivery``);
- a shown place in a system or of an element the registry in force does not declare
  (``unknown-system``, ``unknown-element``);
- the place asked about, and every place where the answer shows a snapshot nothing explained
  (a hop may read a place whose latest event was a snapshot): every snapshot there nothing
  explained (``untraced-value``, worded as ``lineage scan`` words it: the first, counting them
  all);
- the place asked about: every hop into it that failed (``failed-delivery``: a failed hop
  left no value, so the walk from the value held there does not show it);
- the subject's value against its golden value (``conflicting-truth``: stale or divergent),
  judged by :class:`lineage.golden.Judge`, the judge ``lineage scan`` uses.

Every finding has the shape ``lineage scan`` reports (docs/CONTRACT.md §3-4), its owner from
:func:`lineage.rules.owner`.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any, TypeVar

from . import rules
from .detect.conflicting_truth import finding as truth_finding
from .errors import NotFoundError
from .golden import GoldenRecord, Judge
from .model.findings import Finding
from .model.registry import Cardinality, Registry
from .moment import judged_now
from .store.conflicts import versions_many
from .store.database import Store
from .store.detection import Connection
from .store.queries import (
    EventRow,
    HopFacts,
    HopStatus,
    PlaceKey,
    SeenSnapshot,
    current_event,
    hop_facts,
    snapshots_at_many,
    statuses_into,
    statuses_into_many,
)
from .store.schema import as_micros, iso
from .store.walks import read_connection
from .trace import trace
from .valuegraph import GraphNode, ImpactResult, ValueGraph

__all__ = [
    "MAX_GOLDEN_PLACES",
    "findings_on",
    "golden_findings",
    "golden_unchecked",
    "unchecked_text",
    "with_findings",
]

MAX_GOLDEN_PLACES = 50
"""Places of one golden record whose open findings are looked up (nearest first)."""

G = TypeVar("G", bound=ValueGraph)


def with_findings(store: Store, graph: G, *, as_of: dt.datetime | int | None = None) -> G:
    """``graph`` with the open findings on what it shows (see the module docstring)."""
    return dataclasses.replace(graph, findings=findings_on(store, graph, as_of=as_of))


def findings_on(
    store: Store,
    graph: ValueGraph,
    *,
    as_of: dt.datetime | int | None = None,
    truth: bool = True,
) -> tuple[Finding, ...]:
    """The open findings on the places and hops ``graph`` shows, most severe first.

    Args:
        truth: judge the subject's value against its golden value too.
    """
    horizon = as_micros(as_of)
    subject = graph.subject
    here = PlaceKey(subject.system, subject.element, subject.record)
    with read_connection(store) as conn:
        registry = store.registry(conn)
        # the moment the answer judged as of (the one it says), else judged here alike
        moment = (graph.judged or judged_now(conn, horizon)).at
        facts = hop_facts(conn, _hop_events(graph), horizon)
        places = _snapshot_places(graph)
        seen = dict(zip(places, snapshots_at_many(conn, places, horizon), strict=True))
        statuses = statuses_into(conn, here, horizon)
        truths = _truths(conn, registry, graph, horizon) if truth else []
    return _findings(registry, graph, facts, moment, seen, statuses, truths)


def _hop_events(graph: ValueGraph) -> list[str]:
    return [n.event for n in graph.nodes if n.kind == "hop" and n.event]


def _snapshot_places(graph: ValueGraph) -> list[PlaceKey]:
    """The place asked about, then every other place where ``graph`` shows an unexplained
    snapshot: the places whose snapshots are judged as ``lineage scan`` judges them."""
    subject = graph.subject
    places = [PlaceKey(subject.system, subject.element, subject.record)]
    for node in graph.nodes:
        untraced = any(p.code == "untraced-value" for p in node.problems)
        if node.kind == "snapshot" and untraced and node.place not in places:
            places.append(node.place)
    return places


def _truths(
    conn: Connection, registry: Registry, graph: ValueGraph, horizon: int | None
) -> list[Finding]:
    """``conflicting-truth`` of the subject (an impact: of every place it shows)."""
    subject = graph.subject
    if isinstance(graph, ImpactResult):
        currents = _currents(conn, graph, horizon)
    else:
        now = current_event(conn, subject.system, subject.element, subject.record, horizon)
        currents = [now] if now is not None else []
    judge = Judge(conn, registry, horizon)
    if len(currents) > 1:
        judge.prepare(currents)
    found = []
    for current in currents:
        copy = judge.judge_place(current)
        element = registry.element(current.element)
        if copy is not None and copy.status in ("stale", "divergent") and element:
            found.append(truth_finding(copy, element.system_of_record or ""))
    return found


def _findings(  # noqa: PLR0917 - the facts one answer's findings are judged from
    registry: Registry,
    graph: ValueGraph,
    facts: HopFacts,
    moment: int,
    seen: dict[PlaceKey, list[SeenSnapshot]],
    statuses: list[HopStatus],
    truths: list[Finding],
) -> tuple[Finding, ...]:
    """The open findings on what ``graph`` shows, judged from facts already read (no I/O);
    ``seen``: the snapshots of each place :func:`_snapshot_places` names."""
    subject = graph.subject
    here = PlaceKey(subject.system, subject.element, subject.record)
    hops = [n for n in graph.nodes if n.kind == "hop" and n.event is not None]
    untraced = {
        place: finding
        for place, snapshots in seen.items()
        if (finding := _untraced_snapshots(registry, place, snapshots)) is not None
    }
    stands: list[Finding] = list(untraced.values())
    stands += _failed_into(registry, here, statuses, moment)
    stands += truths
    found: dict[tuple[str, str | None, str, str, str], Finding] = {}
    said: set[tuple[str, str, str, str, str]] = set()

    def keep(finding: Finding) -> None:
        s = finding.subject
        key = (finding.code, s.event, s.system or "", s.element or "", s.record or "")
        # one entry per problem: a snapshot that saw the value a write left breaks the same
        # rule in the same words; the earlier event (nodes come oldest first) stands for both
        words = (finding.code, s.system or "", s.element or "", s.record or "", finding.message)
        if words not in said:
            said.add(words)
            found.setdefault(key, finding)

    integrations = {e.target: e.integration for e in graph.edges if e.kind == "hop"}
    for node in hops:  # a hop no edge of the answer leads into (an impact's start): its own
        if node.id not in integrations:
            integrations[node.id] = facts.integrations.get(node.event or "")
    for node in graph.nodes:
        for problem in node.problems:
            if problem.code == "untraced-value" and node.place in untraced:
                continue  # said once, as lineage scan says it: every snapshot of the place
            keep(_on(node, problem.code, problem.message, problem.owner,
                     integrations.get(node.id), problem.event))  # fmt: skip
        for finding in _unknown(registry, node, integrations.get(node.id)):
            keep(finding)
    for node in hops:
        for finding in _deliveries(registry, node, integrations.get(node.id), facts, moment):
            keep(finding)
    for finding in stands:
        keep(finding)
    return tuple(sorted(found.values(), key=lambda f: (f.severity.rank, f.code, f.message)))


def _untraced_snapshots(
    registry: Registry, place: PlaceKey, seen: list[SeenSnapshot]
) -> Finding | None:
    """``untraced-value`` of the subject's place as ``lineage scan`` words it: every snapshot
    there that nothing explained, named by the first (an earlier one stays open after a later
    write explains the value held now: no all-clear over it)."""
    unexplained = [snap for snap in seen if not snap.explained]
    if not unexplained:
        return None
    first = unexplained[0]
    held = None
    if first.held_id is not None:
        held = (first.held_id, iso(first.held_at) if first.held_at is not None else None,
                first.held_value)  # fmt: skip
    text = rules.untraced_snapshot_message(
        place, first.value, snapshots=len(unexplained), held=held
    )
    return Finding.of(
        "untraced-value",
        text,
        owner=rules.value_owner(registry, place.element, place.system),
        evidence={
            "value": first.value,
            "observed_at": iso(first.at),
            "expected": first.held_value if first.held_id is not None else None,
            "explained_by": first.held_id,
            "snapshots": len(unexplained),
            "events": [snap.event_id for snap in unexplained[:5]],
        },
        system=place.system,
        element=place.element,
        record=place.record,
        event=first.event_id,
    )


def _failed_into(
    registry: Registry, place: PlaceKey, statuses: list[HopStatus], moment: int
) -> list[Finding]:
    """``failed-delivery`` of the hops into the place asked about whose status at ``moment``
    is failed, as ``lineage scan`` words them: a failed hop left no value, so the trace of
    what the place holds does not show it, but the place is where it should have arrived."""
    history: dict[str, list[HopStatus]] = {}
    for status in statuses:
        history.setdefault(status.event_id, []).append(status)
    found = []
    for hop, given in history.items():
        known = [s for s in given if s.at <= moment]
        if not known:
            continue
        last = max(known, key=lambda s: rules.status_key(s.status, s.at, s.seq))
        if last.status != "failed":
            continue
        text = rules.message("failed-delivery", event=hop,
                             via=last.integration or "no declared integration",
                             element=place.element, system=place.system, record=place.record,
                             reason=last.error or "no reason given")  # fmt: skip
        found.append(
            Finding.of(
                "failed-delivery",
                text,
                owner=rules.hop_owner(registry, last.integration, place.element, place.system),
                evidence={
                    "hop": hop,
                    "sent_at": iso(last.sent_at),
                    "failed_at": iso(last.at),
                    "error": last.error,
                },
                system=place.system,
                element=place.element,
                record=place.record,
                integration=last.integration,
                event=hop,
            )
        )
    return found


def _currents(conn: Connection, graph: ValueGraph, horizon: int | None) -> list[EventRow]:
    """The current event of every place an impact shows, in one batched lookup: an impact
    shows where the value went, and a copy there may disagree with its golden value."""
    places = list(
        dict.fromkeys((n.system, n.element, n.record) for n in graph.nodes if n.kind != "untraced")
    )
    return [found[0] for found in versions_many(conn, places, as_of=horizon, limit=1) if found]


def _unknown(registry: Registry, node: GraphNode, integration: str | None) -> list[Finding]:
    found = []
    event = node.event or "?"
    kind = node.kind if node.kind != "untraced" else "hop input"
    via = f" (on {integration})" if integration else ""
    who = rules.owner(registry, integration=integration, element=node.element, system=node.system)
    if registry.systems and registry.system(node.system) is None:
        text = rules.message("unknown-system", kind=kind, event=event, system=node.system, via=via)
        found.append(_on(node, "unknown-system", text, who, integration, node.event))
    if registry.elements and registry.element(node.element) is None:
        text = rules.message(
            "unknown-element", kind=kind, event=event, element=node.element, via=via
        )
        found.append(_on(node, "unknown-element", text, who, integration, node.event))
    return found


def _deliveries(
    registry: Registry, node: GraphNode, integration: str | None, facts: HopFacts, moment: int
) -> list[Finding]:
    found = []
    hop = node.event or ""
    who = rules.hop_owner(registry, integration, node.element, node.system)
    via = integration or "no declared integration"
    now = rules.current_status(facts.statuses.get(hop, []), as_of=moment)
    if now is not None and node.at_us is not None:
        timeout = rules.timeout_us(registry, integration)
        overdue = rules.overdue_us(now[0], node.at_us, timeout, moment)
        if overdue > 0:
            text = rules.message("lost-delivery", event=hop, via=via, sent_at=node.at,
                                 element=node.element, system=node.system, record=node.record,
                                 timeout=rules.duration_text(timeout))  # fmt: skip
            evidence: dict[str, Any] = {"hop": hop, "sent_at": node.at, "as_of": iso(moment)}
            found.append(_on(node, "lost-delivery", text, who, integration, hop, evidence))
    declared = registry.integration(integration) if integration else None
    if declared is None or declared.cardinality != Cardinality.ONE_TO_ONE:
        return found
    for source in facts.sources.get(hop, []):
        # the targets as lineage scan lists them: each record once, by its first delivery
        deliveries = facts.siblings[hop][source]
        targets: dict[str, str] = {}
        for delivery in deliveries:
            targets.setdefault(delivery.record, delivery.event)
        if len(targets) < 2:
            continue
        text = rules.duplicate_delivery_message(declared.name, source, node.system, targets)
        evidence = {
            "source": source._asdict(),
            "targets": [{"record": r, "event": e} for r, e in targets.items()],
            "hops": len(deliveries),
            "events": [d.event for d in deliveries],
        }
        found.append(_on(node, "duplicate-delivery", text, who, integration, hop, evidence))
    return found


def _on(  # noqa: PLR0917 - the parts of one finding, in the order of the contract
    node: GraphNode,
    code: str,
    text: str,
    who: str | None,
    integration: str | None,
    event: str | None,
    evidence: dict[str, Any] | None = None,
) -> Finding:
    """A finding on the place ``node`` shows."""
    return Finding.of(code, text, owner=who, evidence=evidence, system=node.system,
                      element=node.element, record=node.record, integration=integration,
                      event=event)  # fmt: skip


def golden_findings(
    store: Store, record: GoldenRecord, *, as_of: dt.datetime | int | None = None
) -> tuple[Finding, ...]:
    """The open findings on the places a golden record shows: each stale or divergent copy
    (``conflicting-truth``, as ``lineage scan`` reports it), and whatever is open on the
    golden values' and the copies' places (a duplicate or lost delivery into them, a rule
    violation, an unknown name), found as their traces find them."""
    found: dict[tuple[str, str | None, str, str, str], Finding] = {}
    for element in record.elements:
        for copy in element.copies:
            if copy.status in ("stale", "divergent") and element.system_of_record:
                finding = truth_finding(copy, element.system_of_record)
                found[_key(finding)] = finding
    places = _golden_places(record)
    shown = set(places)
    graphs: list[ValueGraph] = []
    for place in places[:MAX_GOLDEN_PLACES]:
        try:
            graphs.append(trace(store, *place, as_of=as_of))
        except NotFoundError:
            continue
    for finding in _findings_many(store, graphs, as_of):
        s = finding.subject
        if (s.system, s.element, s.record) in shown:
            found.setdefault(_key(finding), finding)
    return tuple(sorted(found.values(), key=lambda f: (f.severity.rank, f.code, f.message)))


def _findings_many(
    store: Store, graphs: list[ValueGraph], as_of: dt.datetime | int | None
) -> list[Finding]:
    """:func:`findings_on` (without the golden judgement) of each of ``graphs``, in their
    order, from one statement per kind of fact for all of them (never one per graph)."""
    if not graphs:
        return []
    horizon = as_micros(as_of)
    heres = [PlaceKey(g.subject.system, g.subject.element, g.subject.record) for g in graphs]
    with read_connection(store) as conn:
        registry = store.registry(conn)
        now = judged_now(conn, horizon)
        facts = hop_facts(conn, [hop for g in graphs for hop in _hop_events(g)], horizon)
        wanted = [_snapshot_places(g) for g in graphs]
        places = list(dict.fromkeys(place for named in wanted for place in named))
        snapshots = dict(zip(places, snapshots_at_many(conn, places, horizon), strict=True))
        statuses = statuses_into_many(conn, heres, horizon)
    found: list[Finding] = []
    for n, graph in enumerate(graphs):
        # the moment the answer judged as of (the one it says), else judged here alike
        moment = (graph.judged or now).at
        seen = {place: snapshots[place] for place in wanted[n]}
        found += _findings(registry, graph, facts, moment, seen, statuses[n], [])
    return found


def _golden_places(record: GoldenRecord) -> list[tuple[str, str, str]]:
    """The places a golden record shows, each once, nearest first."""
    places: list[tuple[str, str, str]] = []
    for element in record.elements:
        if element.system_of_record and element.record is not None:
            places.append((element.system_of_record, element.element, element.record))
        places += [(copy.system, element.element, copy.record) for copy in element.copies]
    return list(dict.fromkeys(places))


def golden_unchecked(record: GoldenRecord) -> int:
    """How many places a golden record shows beyond the :data:`MAX_GOLDEN_PLACES` nearest,
    whose deliveries and rules :func:`golden_findings` did not look up (their stale or
    divergent copies are still shown): an answer with some must say so, never an all-clear."""
    return max(0, len(_golden_places(record)) - MAX_GOLDEN_PLACES)


def unchecked_text(unchecked: int) -> list[str]:
    """The line an answer adds when it left ``unchecked`` places unlooked-up (none: none)."""
    if not unchecked:
        return []
    return [
        f"? {unchecked} more place{'s' if unchecked != 1 else ''} shown not checked for open "
        f"findings (the nearest {MAX_GOLDEN_PLACES} were): lineage scan lists them all"
    ]


def _key(finding: Finding) -> tuple[str, str | None, str, str, str]:
    s = finding.subject
    return (finding.code, s.event, s.system or "", s.element or "", s.record or "")
