"""``unexplained-transformation``'s statement: live hops whose output is not what their
transform makes of their inputs, through the partial index on unverified hops (in a scoped
judgement: the scope's events, through the unique index on event ids)."""

from __future__ import annotations

from collections.abc import Iterator
from functools import cache
from typing import Any

from sqlalchemy import Connection, Row, Select, select

from ..schema import UNVERIFIED, events
from .common import AS_OF, FAILED, HOP, in_scope_events, stream


def unverified_hops(conn: Connection, as_of: int, *, scoped: bool) -> Iterator[Row[Any]]:
    """Rows ``event_id, at, integration, transform, system, element, record, value,
    expected_norm`` of the live hops that failed their transform's check."""
    return stream(conn, _statement(scoped), {"as_of": as_of})


@cache
def _statement(scoped: bool) -> Select[Any]:
    query = select(
        events.c.event_id,
        events.c.at,
        events.c.integration,
        events.c.transform,
        events.c.system,
        events.c.element,
        events.c.record,
        events.c.value,
        events.c.expected_norm,
    ).where(
        UNVERIFIED,
        events.c.kind == HOP,
        events.c.at <= AS_OF,
        events.c.seq.not_in(FAILED),
    )
    if scoped:
        query = query.where(in_scope_events(events.c.event_id))
    return query
