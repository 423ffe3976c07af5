"""The steward's first question: where did this value come from, and where did it go wrong?

:func:`trace` walks back from the value a place holds (its latest write, hop or snapshot as
of a moment) through every hop to the writes at its origin. The answer is a graph of value
versions, not a list: a hop with several inputs (an invoice total summed from order lines)
has one incoming edge per input.

How each step is judged:

- A **hop** is explained by its inputs. Each input is taken from what its source place held
  *when the hop ran* (the latest event there at or before the hop's time), so a record
  re-delivered many times contributes the version that fed this hop. The edge is
  ``verified`` when the hop's check at the point of entry passed (its output is what its
  transform makes of its inputs) and the input equals, by the element's type, what the source
  held at that moment.
- A **snapshot** is explained by the latest write or hop at its place before it, when the
  values are equal (an "observed" edge with no integration or transform). When they differ,
  or nothing was written, the system holds a value no event explains.
- A **write** ends the walk: it is an origin, and it should happen in the element's system of
  origin.

The root cause is the earliest (by time) problem on the graph where the *value* went wrong,
with the owner to talk to; when the values are all sound but a path is not (an undeclared
integration, a transform the tracker cannot re-run) that path problem is reported instead.
"""

from __future__ import annotations

import datetime as dt
from collections import deque
from dataclasses import dataclass, field, replace

from . import rules
from .detect.run import detect, scan_context
from .detect.scope import Scope
from .detect.undeclared_integration import undeclared_integration
from .errors import NotFoundError
from .interop.observed import dead_ends, feeds_into
from .model.events import Hop, PlacedValue
from .model.findings import Finding
from .model.registry import Registry
from .moment import judged_now
from .store.database import Store
from .store.detection.competing_origin import competing_writes
from .store.detection.scope import Watermark
from .store.queries import EventRow, InputRow, PlaceKey, bounded, untraced_reads
from .store.schema import as_micros, from_us, iso
from .store.walks import read_connection, trace_steps
from .transforms import rule_violations
from .valuegraph import GraphEdge, GraphNode, Problem, RootCause, Subject, TraceResult
from .verify import HopCheck, HopVerifier

__all__ = ["TraceResult", "trace"]

#: Codes where the value itself went wrong, in the order they win a tie on one event.
VALUE_CODES = (
    "untraced-value",
    "competing-origin",
    "unexplained-transformation",
    "broken-chain",
    "rule-violation",
)
#: Codes where the value is sound but the path it took is not.
PATH_CODES = ("undeclared-integration", "unknown-transform")


def not_found(system: str, element: str, record: str, as_of: int | None) -> NotFoundError:
    when = f" as of {iso(as_of)}" if as_of is not None else ""
    return NotFoundError(
        f"no value recorded for {system}/{element}/{record}{when}: check the system, the "
        "element and the record key (keys are per system), or ingest its events first"
    )


class TraceJudge:
    """Judges value versions against one registry: rules, origins, hop checks, owners."""

    def __init__(self, registry: Registry) -> None:
        self.registry = registry
        self.verifier = HopVerifier(registry)

    def element_owner(self, element: str, system: str | None = None) -> str | None:
        """Who answers for a value (:func:`lineage.rules.value_owner`)."""
        return rules.value_owner(self.registry, element, system)

    def hop_owner(self, hop: EventRow, integration_name: str | None = None) -> str | None:
        """Who answers for a hop (:func:`lineage.rules.hop_owner`): its integration (as
        checked, else as recorded), else its element, else the system it reached."""
        name = integration_name or hop.integration
        return rules.hop_owner(self.registry, name, hop.element, hop.system)

    def owner_of(self, row: EventRow) -> str | None:
        """Whom to talk to about an event: a hop's owner for a hop, else its value's."""
        return (
            self.hop_owner(row)
            if row.kind == "hop"
            else self.element_owner(row.element, row.system)
        )

    def same(self, element: str, a: str | None, b: str | None) -> bool:
        """Equal by the element's declared type (:func:`lineage.rules.same_value`)."""
        return rules.same_value(self.verifier.element_type(element), a, b)

    def check_hop(self, hop: EventRow, inputs: list[InputRow]) -> HopCheck:
        """The hop's check as recorded at the point of entry.

        A hop that did not check out as declared then (its integration was not declared yet,
        or its check could not run), or whose route the registry in force no longer declares,
        is checked again against the registry in force now.
        """
        if hop.verified is not None and hop.declared:
            if self._still_declared(hop, inputs):
                return HopCheck(hop.integration, True, hop.transform, hop.expected_norm,
                                hop.verified)  # fmt: skip
            if not inputs:
                return HopCheck(hop.integration, False, hop.transform, hop.expected_norm,
                                hop.verified)  # fmt: skip
        rebuilt = Hop(
            kind="hop",
            id=hop.event_id,
            at=from_us(hop.at),
            integration=hop.integration,
            inputs=tuple(
                PlacedValue(system=i.system, element=i.element, record=i.record, value=i.value)
                for i in inputs
            ),
            output=PlacedValue(
                system=hop.system, element=hop.element, record=hop.record, value=hop.value
            ),
            transform=hop.transform,
        )
        return self.verifier.check(rebuilt)

    def _still_declared(self, hop: EventRow, inputs: list[InputRow]) -> bool:
        """Whether the registry in force still declares the route of a hop declared on arrival
        (without its inputs at hand: its integration still runs into its system carrying its
        element)."""
        if not inputs:
            named = self.registry.integration(hop.integration) if hop.integration else None
            return (
                named is not None
                and named.target == hop.system
                and named.carry(hop.element) is not None
            )
        route = rules.declared_route(
            self.registry,
            hop.integration,
            sources=[i.system for i in inputs],
            target=hop.system,
            element=hop.element,
            input_elements=[i.element for i in inputs],
        )
        return route is not None

    def value_problems(self, row: EventRow) -> list[Problem]:
        """Rule violations of the value an event left (and competing origin for a write)."""
        found: list[Problem] = []
        element = self.registry.element(row.element)
        if element is None:
            return found
        if (
            row.kind == "write"
            and element.system_of_origin
            and row.system != element.system_of_origin
        ):
            found.append(
                Problem(
                    code="competing-origin",
                    event=row.event_id,
                    owner=self.element_owner(row.element, row.system),
                    # one write until the trace counts them (:func:`_count_competing`)
                    message=rules.competing_origin_message(
                        row.element, row.system, 1, element.system_of_origin
                    ),
                )
            )
        broken = rule_violations(row.value, element.rules, element.type)
        if broken:
            found.append(
                Problem(
                    code="rule-violation",
                    event=row.event_id,
                    owner=self.element_owner(row.element, row.system),
                    message=rules.rule_violation_message(
                        row.system, row.element, row.record, row.value, broken
                    ),
                )
            )
        return found


@dataclass(slots=True)
class _Build:
    """Nodes and edges as they are found, keyed by event id (or hop id and input position)."""

    order: list[str] = field(default_factory=list)
    rows: dict[str, EventRow] = field(default_factory=dict)
    untraced: dict[str, tuple[InputRow, EventRow]] = field(default_factory=dict)
    problems: dict[str, list[Problem]] = field(default_factory=dict)
    # as found, with the keys of their ends as source and target (node ids come at the end)
    edges: list[GraphEdge] = field(default_factory=list)
    producers: dict[tuple[str, int], str | None] = field(default_factory=dict)
    queue: deque[str] = field(default_factory=deque)

    def add(self, key: str) -> None:
        if key not in self.problems:
            self.order.append(key)
            self.problems[key] = []

    def visit(self, key: str) -> None:
        """Add an event's node and walk on from it (once)."""
        if key not in self.problems:
            self.add(key)
            self.queue.append(key)


def trace(
    store: Store,
    system: str,
    element: str,
    record: str,
    *,
    as_of: dt.datetime | int | None = None,
) -> TraceResult:
    """Trace the value ``system`` holds for ``element`` of ``record`` back to its origin.

    Args:
        store: the store to read.
        system, element, record: the place (the record key as known in that system).
        as_of: trace the value the place held at that moment (events after it are ignored);
            a datetime, or integer microseconds since the epoch. Default: now.

    Returns:
        The graph of value versions with each step verified and the root cause named.

    Raises:
        NotFoundError: the store holds no event for the place (by ``as_of``).

    Example:
        >>> result = trace(store, "BI", "order.total", "R-9")  # doctest: +SKIP
        >>> result.root_cause.code, result.root_cause.owner
        ('unexplained-transformation', 'bi@example.com')
    """
    horizon = as_micros(as_of)
    with read_connection(store) as conn:
        steps, version = trace_steps(conn, PlaceKey(system, element, record), horizon=horizon)
        registry = store.registry_version(conn, version) if steps else None
        moment = judged_now(conn, horizon)
    build = _Build()
    rows, producers = build.rows, build.producers
    hop_inputs: dict[str, list[InputRow]] = {}
    current = None
    for consumer, position, hop_input, producer in steps:
        if producer is not None:
            rows[producer.event_id] = producer
        if consumer is None:
            current = producer
            continue
        producers[consumer, position] = producer.event_id if producer is not None else None
        if hop_input is not None:
            hop_inputs.setdefault(consumer, []).append(hop_input)
    if current is None or registry is None:
        raise not_found(system, element, record, horizon)
    for inputs in hop_inputs.values():
        if len(inputs) > 1:
            inputs.sort(key=lambda i: i.position)
    judge = TraceJudge(registry)
    build.visit(current.event_id)
    while build.queue:
        key = build.queue.popleft()
        row = build.rows[key]
        build.problems[key].extend(judge.value_problems(row))
        if row.kind == "hop":
            _explain_hop(judge, build, row, hop_inputs.get(key, []))
        elif row.kind == "snapshot":
            _explain_snapshot(judge, build, row)
    if any(p.code == "competing-origin" for found in build.problems.values() for p in found):
        _count_competing(store, registry, build, horizon)
    if build.untraced:
        _count_untraced(store, build, horizon)
    if any(p.code == "undeclared-integration" for found in build.problems.values() for p in found):
        _count_undeclared(store, build, hop_inputs, horizon)
    result = replace(_result(build, current, horizon), judged=moment)
    if registry.maps_openlineage:  # a registry that maps nothing costs a trace nothing
        result = _observed(store, registry, result)
    return result


def _count_competing(store: Store, registry: Registry, build: _Build, horizon: int | None) -> None:
    """Word each ``competing-origin`` as ``lineage scan`` does: with how many writes of the
    element its system holds (by the trace's moment), one count per system and element."""
    counts: dict[tuple[str, str], int] = {}
    with read_connection(store) as conn:
        for key, found in build.problems.items():
            row = build.rows.get(key)
            element = registry.element(row.element) if row is not None else None
            if row is None or element is None or not element.system_of_origin:
                continue
            origin = element.system_of_origin
            for n, problem in enumerate(found):
                if problem.code != "competing-origin":
                    continue
                pair = (row.system, row.element)
                if pair not in counts:
                    groups = competing_writes(
                        conn, row.element, origin, bounded(horizon), samples=0,
                        systems={row.system},
                    )  # fmt: skip
                    counts[pair] = sum(group.writes for group in groups) or 1
                text = rules.competing_origin_message(row.element, row.system, counts[pair], origin)
                found[n] = problem._replace(message=text)


def _count_untraced(store: Store, build: _Build, horizon: int | None) -> None:
    """Word each untraced hop input as ``lineage scan`` does: one finding per place read,
    named by the first hop that read it there and counting every such hop (a trace may show
    only a later one), one statement per place."""
    said: dict[PlaceKey, str] = {}
    with read_connection(store) as conn:
        for key, (hop_input, _) in build.untraced.items():
            place = PlaceKey(hop_input.system, hop_input.element, hop_input.record)
            if place not in said:
                reads = untraced_reads(conn, place, horizon)
                if reads is None:  # the walk saw a read the statement does not: keep its words
                    continue
                said[place] = rules.untraced_input_message(
                    reads.event_id, hop_input.place, reads.value, hops=reads.hops
                )
            found = build.problems[key]
            for n, problem in enumerate(found):
                if problem.code == "untraced-value":
                    found[n] = problem._replace(message=said[place])


def _count_undeclared(
    store: Store, build: _Build, hop_inputs: dict[str, list[InputRow]], horizon: int | None
) -> None:
    """Word each ``undeclared-integration`` as ``lineage scan`` does: its whole group (every
    hop on that integration, or on that route when it named none), counted and routed by
    scan's own detector judging only the group (a trace may show one hop of many)."""
    shown = {
        key: build.rows[key]
        for key, found in build.problems.items()
        if any(p.code == "undeclared-integration" for p in found)
    }
    routes = {
        (i.system, row.system, row.element)
        for key, row in shown.items()
        for i in hop_inputs.get(key, [])
    } | {(None, row.system, row.element) for key, row in shown.items()}
    scope = Scope(
        since=Watermark(),
        until=Watermark(),
        places=frozenset((r.system, r.element, r.record) for r in shown.values()),
        events=frozenset(r.event_id for r in shown.values()),
        integrations=frozenset(r.integration for r in shown.values() if r.integration),
        routes=frozenset(routes),
    )
    with scan_context(store, horizon, scope=scope) as ctx:
        groups = list(detect(ctx, [undeclared_integration]))
    for key, row in shown.items():
        sources = {i.system for i in hop_inputs.get(key, [])} or {"?"}
        said = next((f.message for f in groups if _in_group(f, row, sources)), None)
        if said is None:  # scan does not judge it undeclared (a later registry): keep its words
            continue
        found = build.problems[key]
        for n, problem in enumerate(found):
            if problem.code == "undeclared-integration":
                found[n] = problem._replace(message=said)


def _in_group(finding: Finding, hop: EventRow, sources: set[str]) -> bool:
    """Whether scan's ``undeclared-integration`` group ``finding`` holds ``hop``."""
    subject = finding.subject
    if hop.integration:
        return subject.integration == hop.integration
    return (
        subject.integration is None
        and subject.system == hop.system
        and subject.element == hop.element
        and bool(sources & set(finding.evidence.get("sources", [])))
    )


def _observed(store: Store, registry: Registry, result: TraceResult) -> TraceResult:
    """The trace with the OpenLineage jobs that feed its dead ends (it stops at no job)."""
    targets = {edge.target for edge in result.edges}
    ends = dead_ends(((n.id, n.kind, n.system, n.element) for n in result.nodes), targets)
    with store.engine.connect() as conn:
        feeds = feeds_into(conn, registry, ends)
    return replace(result, observed=feeds) if feeds else result


def _explain_hop(
    judge: TraceJudge,
    build: _Build,
    hop: EventRow,
    inputs: list[InputRow],
) -> None:
    check = judge.check_hop(hop, inputs)
    verified = check.verified
    problems = build.problems[hop.event_id]
    owner = judge.hop_owner(hop, check.integration)
    if verified is not True or not check.declared:
        problems.extend(_hop_problems(judge, hop, check, inputs, owner))
    for hop_input in inputs:
        producer = build.producers.get((hop.event_id, hop_input.position))
        held = build.rows.get(producer) if producer else None
        if held is None:
            key = f"{hop.event_id}#{hop_input.position}"
            build.untraced[key] = (hop_input, hop)
            build.add(key)
            # on the place read, answered for by its value's owner, as lineage scan has it
            build.problems[key].append(
                Problem(
                    code="untraced-value",
                    event=hop.event_id,
                    owner=judge.element_owner(hop_input.element, hop_input.system),
                    message=rules.untraced_input_message(
                        hop.event_id, hop_input.place, hop_input.value, hops=1
                    ),
                )
            )
            matches = False
        else:
            key = held.event_id
            matches = hop_input.value_norm == held.value_norm or judge.same(
                hop_input.element, hop_input.value, held.value
            )
            if not matches:
                problems.append(
                    Problem(
                        code="broken-chain",
                        event=hop.event_id,
                        owner=owner,
                        message=rules.broken_chain_message(
                            hop.event_id,
                            check.integration,
                            hop_input.place,
                            hop_input.value,
                            (held.event_id, iso(held.at), held.value),
                        ),
                    )
                )
            build.visit(key)
        build.edges.append(GraphEdge(key, hop.event_id, hop.event_id, check.integration,
                                     check.transform, bool(verified) and matches, owner, "hop",
                                     hop_input.position, hop_input.value))  # fmt: skip


def _hop_problems(
    judge: TraceJudge, hop: EventRow, check: HopCheck, inputs: list[InputRow], owner: str | None
) -> list[Problem]:
    """What is wrong with a hop itself: its output, its integration or its transform, in the
    words of :mod:`lineage.rules` (a scan of this one hop would say the same)."""
    if check.verified is False:
        text = rules.unexplained_transformation_message(
            hop.event_id,
            check.integration,
            hop.place,
            hop.value,
            transform=check.transform,
            inputs=(i.value for i in inputs),
            expected=check.expected_norm,
        )
        return [Problem(code="unexplained-transformation", event=hop.event_id, owner=owner,
                        message=text, expected=check.expected_norm)]  # fmt: skip
    if not check.declared:
        name = check.integration
        route = rules.undeclared_route(
            [i.system for i in inputs] or ["?"], [hop.system], [hop.element]
        )
        declared = name is not None and judge.registry.integration(name) is not None
        text = rules.undeclared_hops_message(1, name, declared, route)
        return [Problem(code="undeclared-integration", event=hop.event_id, owner=owner,
                        message=text)]  # fmt: skip
    text = rules.unknown_transform_message(hop.event_id, check.integration, check.transform)
    return [Problem(code="unknown-transform", event=hop.event_id, owner=owner, message=text)]


def _explain_snapshot(
    judge: TraceJudge,
    build: _Build,
    snapshot: EventRow,
) -> None:
    producer = build.producers.get((snapshot.event_id, -1))
    held = build.rows.get(producer) if producer else None
    owner = judge.element_owner(snapshot.element, snapshot.system)
    if held is not None and (
        held.value_norm == snapshot.value_norm
        or judge.same(snapshot.element, snapshot.value, held.value)
    ):
        build.visit(held.event_id)
        build.edges.append(GraphEdge(held.event_id, snapshot.event_id, snapshot.event_id, None,
                                     None, True, owner, "observed", -1))  # fmt: skip
        return
    said = None if held is None else (held.event_id, iso(held.at), held.value)
    build.problems[snapshot.event_id].append(
        Problem(
            code="untraced-value",
            event=snapshot.event_id,
            owner=owner,
            message=rules.untraced_snapshot_message(
                snapshot.place, snapshot.value, snapshots=1, held=said
            ),
        )
    )


def _sort_time(build: _Build, key: str) -> tuple[int, int]:
    if key in build.untraced:
        _, hop = build.untraced[key]
        return hop.at, -1
    return build.rows[key].at, build.rows[key].seq


def _root_cause(
    build: _Build, when: dict[str, tuple[int, int]]
) -> tuple[str | None, RootCause | None]:
    best: tuple[tuple[int, int, int, int], str, Problem] | None = None
    for key, problems in build.problems.items():
        if not problems:
            continue
        at, seq = when[key]
        for problem in problems:
            group = 0 if problem.code in VALUE_CODES else 1
            codes = VALUE_CODES if group == 0 else PATH_CODES
            rank = (group, at, seq, codes.index(problem.code))
            if best is None or rank < best[0]:
                best = (rank, key, problem)
    if best is None:
        return None, None
    _, key, problem = best
    return key, RootCause(
        event=problem.event, code=problem.code, owner=problem.owner, message=problem.message
    )


def _result(build: _Build, current: EventRow, horizon: int | None) -> TraceResult:
    rows = build.rows
    when = {key: (rows[key].at, rows[key].seq) if key in rows else _sort_time(build, key)
            for key in build.order}  # fmt: skip
    culprit_key, root = _root_cause(build, when)
    keys = sorted(build.order, key=when.__getitem__)
    number = {key: n for n, key in enumerate(keys)}
    ids = [f"n{n}" for n in range(len(keys))]
    nodes = []
    for key in keys:
        problems = tuple(build.problems[key])
        row = build.rows.get(key)
        if row is None:  # an input whose place held nothing then
            hop_input, _ = build.untraced[key]
            nodes.append(GraphNode(ids[number[key]], "untraced", None, hop_input.system,
                                   hop_input.element, hop_input.record, hop_input.value, None,
                                   problems))  # fmt: skip
            continue
        nodes.append(GraphNode(ids[number[key]], row.kind, row.event_id, row.system, row.element,
                               row.record, row.value, row.at, problems))  # fmt: skip
    # edges by target, then input position, then source
    ends = sorted((number[e.target], e.position, number[e.source], e) for e in build.edges)
    edges = tuple(
        GraphEdge(ids[source], ids[target], *edge[2:]) for target, _, source, edge in ends
    )
    origin = tuple(
        ids[number[k]] for k in keys if k in build.rows and build.rows[k].kind == "write"
    )
    return TraceResult(
        subject=Subject(current.system, current.element, current.record, current.value),
        nodes=tuple(nodes),
        edges=edges,
        origin=origin,
        root_cause=root,
        subject_id=ids[number[current.event_id]],
        culprit_id=ids[number[culprit_key]] if culprit_key is not None else None,
        as_of=iso(horizon) if horizon is not None else None,
    )
