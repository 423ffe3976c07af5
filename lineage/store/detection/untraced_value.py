"""``untraced-value`` (snapshots)'s statement: snapshots whose value the latest write or live
hop at their place at or before them does not explain (one correlated probe of
``ix_events_place_at`` per snapshot; in a scoped judgement only the scope's places are read,
through the same index)."""

from __future__ import annotations

from collections.abc import Iterator
from functools import cache
from typing import Any

from sqlalchemy import Connection, Row, Select, select

from ..schema import events
from .common import AS_OF, SNAPSHOT, agrees_with_holder, in_scope_places, stream


def unexplained_snapshots(conn: Connection, as_of: int, *, scoped: bool) -> Iterator[Row[Any]]:
    """Rows ``seq, event_id, at, system, element, record, value`` of the snapshots at or
    before ``as_of`` that nothing explains (at the scope's places when ``scoped``)."""
    return stream(conn, _statement(scoped), {"as_of": as_of})


@cache
def _statement(scoped: bool) -> Select[Any]:
    snap = events.alias("snap")
    place = (snap.c.system, snap.c.element, snap.c.record)
    agrees = agrees_with_holder(
        place, snap.c.at, snap.c.value_norm, explaining=True, correlate=(snap,)
    )
    query = select(
        snap.c.seq,
        snap.c.event_id,
        snap.c.at,
        snap.c.system,
        snap.c.element,
        snap.c.record,
        snap.c.value,
    ).where(snap.c.kind == SNAPSHOT, snap.c.at <= AS_OF, agrees.is_distinct_from(1))
    if scoped:
        query = query.where(in_scope_places(snap))
    return query
