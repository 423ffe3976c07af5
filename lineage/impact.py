"""The steward's second question: what has this value already reached?

:func:`impact` starts from the value a place holds (as of a moment) and follows it forward,
across systems and elements, to every copy that still derives from that value version.

How far "downstream" goes:

- The **version** is the unbroken run of equal values at the place that ends in the value
  held now: re-deliveries and snapshots of the same value do not start a new one, a different
  value does. Its node in the graph is the event that began the run.
- A hop is downstream when it read the place **while it held that version** (at or after the
  run began and before the place next changed value) and the value it read equals it. A hop
  that read the place after it changed carries a different version and is left out, and so is
  a hop that claims a value the place did not hold (a ``broken-chain``, which ``trace`` shows).
- From each such hop the walk goes on from the hop's output, for as long as the output's place
  keeps that output. A hop with several inputs (a total summed from lines) carries the impact
  onward when any one of its inputs is impacted.
- With ``as_of``, only hops at or before that moment count: what the value had reached then.

``counts`` gives, per system, how many distinct places (record and element) the value reached,
the subject's own place left out.
"""

from __future__ import annotations

import datetime as dt

from .moment import judged_now
from .store.database import Store
from .store.queries import EventRow, PlaceKey, inputs_of
from .store.schema import as_micros, iso
from .store.walks import impact_steps, read_connection
from .trace import TraceJudge, not_found
from .valuegraph import GraphEdge, GraphNode, ImpactResult, Subject

__all__ = ["ImpactResult", "impact"]


def impact(
    store: Store,
    system: str,
    element: str,
    record: str,
    *,
    as_of: dt.datetime | int | None = None,
) -> ImpactResult:
    """Everything downstream of the value ``system`` holds for ``element`` of ``record``.

    Args:
        store: the store to read.
        system, element, record: the place (the record key as known in that system).
        as_of: start from the value held at that moment, and count only the hops up to it.

    Raises:
        NotFoundError: the store holds no event for the place (by ``as_of``).

    Example:
        >>> result = impact(store, "ERP", "order.total", "40017")  # doctest: +SKIP
        >>> result.counts
        {'BI': 1, 'Portal': 2}
    """
    horizon = as_micros(as_of)
    with read_connection(store) as conn:
        found, version = impact_steps(conn, PlaceKey(system, element, record), horizon=horizon)
        current = next((s.consumer for s in found if s.position == -2), None)
        start = next((s.consumer for s in found if s.producer is None and s.position == -1), None)
        if current is None or start is None:
            raise not_found(system, element, record, horizon)
        judge = TraceJudge(store.registry_version(conn, version))
        moment = judged_now(conn, horizon)
        steps = [s for s in found if s.producer is not None and s.consumer.seq != start.seq]
        rows = {s.consumer.event_id: s.consumer for s in steps}
        # a hop that did not check out as declared at entry is checked again now
        recheck = [k for k, r in rows.items() if r.verified is None or not r.declared]
        unchecked = inputs_of(conn, recheck)
    hops = sorted(rows.values(), key=lambda r: (r.at, r.seq))
    ids = {start.event_id: "n0"} | {row.event_id: f"n{n}" for n, row in enumerate(hops, 1)}
    nodes = [_node(ids[start.event_id], start)] + [_node(ids[h.event_id], h) for h in hops]
    checks = {h.event_id: judge.check_hop(h, unchecked.get(h.event_id, [])) for h in hops}
    edges = sorted(
        (
            GraphEdge(
                source=ids[step.producer or start.event_id],
                target=ids[step.consumer.event_id],
                event=step.consumer.event_id,
                integration=checks[step.consumer.event_id].integration,
                transform=checks[step.consumer.event_id].transform,
                verified=checks[step.consumer.event_id].verified is True,
                owner=judge.hop_owner(step.consumer, checks[step.consumer.event_id].integration),
                kind="hop",
                position=step.position,
            )
            for step in steps
        ),
        key=lambda e: (int(e.target[1:]), e.position, int(e.source[1:])),
    )
    places: dict[str, set[tuple[str, str]]] = {}
    for hop in hops:
        if hop.place != start.place:
            places.setdefault(hop.system, set()).add((hop.element, hop.record))
    return ImpactResult(
        subject=Subject(
            system=current.system,
            element=current.element,
            record=current.record,
            value=current.value,
        ),
        nodes=tuple(nodes),
        edges=tuple(edges),
        subject_id="n0",
        counts={name: len(places[name]) for name in sorted(places)},
        as_of=iso(horizon) if horizon is not None else None,
        judged=moment,
    )


def _node(node_id: str, row: EventRow) -> GraphNode:
    return GraphNode(
        id=node_id,
        kind=row.kind,
        event=row.event_id,
        system=row.system,
        element=row.element,
        record=row.record,
        value=row.value,
        at_us=row.at,
    )
