"""The delivery detectors' statements: hops whose status as of the scan is ``failed`` or
``sent`` (the partial index on undelivered hops plus the small ``hop_status`` table), and the
source places a one-to-one integration delivered to several target records. In a scoped
judgement: the scope's hops (unique index on event ids), and the scope's source places
(``ix_hop_inputs_place``)."""

from __future__ import annotations

from collections.abc import Collection, Iterator
from functools import lru_cache
from typing import Any

from sqlalchemy import Connection, Row, Select, and_, func, not_, select, text

from ..schema import events, hop_inputs
from ..status import deciding_seq_sql, own_sql, own_status_sql, own_time_sql
from .common import AS_OF, FAILED, HOP, STREAM_BATCH, in_scope_places, stream

# The hops whose status as of the scan (the store's one rule, lineage.store.status) is
# failed or sent, with that status's error and time: those that arrived undelivered, through
# the partial index on them (its predicate word for word), and those that arrived delivered
# with a later status by then, through the (small) hop_status table. The later status that
# decides a hop, if one does, gives its error and time; before the status a hop arrived with
# is dated, it is sent since its own time.
_HOP_COLUMNS = (
    "e.event_id, e.at, e.integration, e.system, e.element, e.record, e.value, e.status, "
    f"e.status_at, e.error, {deciding_seq_sql('e')} AS decided"
)
_UNFINISHED = (
    "SELECT c.event_id, c.at, c.integration, c.system, c.element, c.record, c.value, "  # noqa: S608
    f"COALESCE(hs.status, {own_status_sql('c')}) AS current, "
    "CASE WHEN hs.seq IS NOT NULL THEN hs.error WHEN c.status_at > :horizon THEN NULL "
    "ELSE c.error END AS error, "
    f"COALESCE(hs.at, CASE WHEN c.status_at > :horizon THEN c.at ELSE {own_time_sql('c')} END) "
    "AS status_at FROM ("
    f"SELECT {_HOP_COLUMNS} FROM events e WHERE e.status != 'delivered' AND e.kind = 'hop' "
    "AND e.at <= :horizon{scope} "
    f"UNION ALL SELECT {_HOP_COLUMNS} FROM events e WHERE {{updated}} "
    f"AND {own_sql('e')} = 'delivered' AND e.kind = 'hop' "
    "AND e.at <= :horizon"
    ") c LEFT JOIN hop_status hs ON hs.seq = c.decided "
    f"WHERE COALESCE(hs.status, {own_status_sql('c')}) IN ('failed', 'sent')"
)
_IN_SCOPE = "e.event_id IN (SELECT event_id FROM lineage_scan_scope_events)"
# The hops with a later status by then: over the whole store, the statuses list them; in a
# scope, its hops are each asked (listing every status of the store first cost a scoped
# judgement 30 ms at 1,000,000 events, growing with the store)
_UPDATED = "e.event_id IN (SELECT hs.event_id FROM hop_status hs WHERE hs.at <= :horizon)"
_UPDATED_IN_SCOPE = (
    f"{_IN_SCOPE} AND EXISTS (SELECT 1 FROM hop_status hs "  # noqa: S608 - constants
    "WHERE hs.event_id = e.event_id AND hs.at <= :horizon)"
)
_UNFINISHED_SQL = {
    False: text(_UNFINISHED.format(scope="", updated=_UPDATED)),
    True: text(_UNFINISHED.format(scope=f" AND {_IN_SCOPE}", updated=_UPDATED_IN_SCOPE)),
}


def unfinished_hops(conn: Connection, as_of: int, *, scoped: bool) -> Iterator[Row[Any]]:
    """Rows ``event_id, at, integration, system, element, record, value, current, error,
    status_at`` of the hops whose status as of ``as_of`` is ``failed`` or ``sent``."""
    statement = _UNFINISHED_SQL[scoped].execution_options(yield_per=STREAM_BATCH)
    result = conn.execute(statement, {"horizon": as_of})
    try:
        yield from result
    finally:
        result.close()


def duplicated_sources(
    conn: Connection, as_of: int, one_to_one: Collection[str], *, scoped: bool
) -> Iterator[Row[Any]]:
    """Per (integration, source place, target system, element) that a one-to-one integration
    delivered to two target records or more, every live hop of it, in group order then by
    time: rows ``k0..k5`` (the group), ``event_id, at, record``."""
    return stream(conn, _duplicated(tuple(sorted(one_to_one)), scoped), {"as_of": as_of})


@lru_cache(maxsize=16)
def _duplicated(one_to_one: tuple[str, ...], scoped: bool) -> Select[Any]:
    """:func:`duplicated_sources`'s statement, built once per registry's one-to-one
    integrations."""
    # Only a source place read by two hops or more can be duplicated: found on the covering
    # index ix_hop_inputs_place alone, before any hop is joined.
    read_twice = select(hop_inputs.c.system, hop_inputs.c.element, hop_inputs.c.record)
    if scoped:
        read_twice = read_twice.where(in_scope_places(hop_inputs))
    shared = (
        read_twice.group_by(hop_inputs.c.system, hop_inputs.c.element, hop_inputs.c.record)
        .having(func.count() > 1)
        .subquery("shared")
    )
    read = hop_inputs.alias("read")
    joined = shared.join(
        read,
        and_(
            read.c.system == shared.c.system,
            read.c.element == shared.c.element,
            read.c.record == shared.c.record,
        ),
    ).join(events, events.c.event_id == read.c.event_id)
    key = (
        events.c.integration,
        read.c.system,
        read.c.element,
        read.c.record,
        events.c.system,
        events.c.element,
    )
    live = (
        events.c.kind == HOP,
        events.c.integration.in_(one_to_one),
        events.c.at <= AS_OF,
        not_(events.c.seq.in_(FAILED)),
    )
    groups = (
        select(*(c.label(f"k{n}") for n, c in enumerate(key)))
        .select_from(joined)
        .where(*live)
        .group_by(*key)
        .having(func.min(events.c.record) != func.max(events.c.record))
        .subquery("duplicated")
    )
    again = hop_inputs.alias("again")
    detail = (
        select(
            *(groups.c[f"k{n}"] for n in range(len(key))),
            events.c.event_id,
            events.c.at,
            events.c.record,
        )
        .select_from(
            groups.join(
                again,
                and_(
                    again.c.system == groups.c.k1,
                    again.c.element == groups.c.k2,
                    again.c.record == groups.c.k3,
                ),
            ).join(events, events.c.event_id == again.c.event_id)
        )
        .where(
            *live,
            events.c.integration == groups.c.k0,
            events.c.system == groups.c.k4,
            events.c.element == groups.c.k5,
        )
        .order_by(*(groups.c[f"k{n}"] for n in range(len(key))), events.c.at, events.c.seq)
    )
    return detail
