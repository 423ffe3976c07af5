"""``unexplained-transformation``'s statement: live hops whose output is not what their
transform makes of their inputs, through the partial index on unverified hops (in a scoped
judgement: the scope's events, through the unique index on event ids)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from sqlalchemy import Connection, Row, select

from ..schema import UNVERIFIED, events
from .common import FAILED, HOP, in_scope_events, stream


def unverified_hops(conn: Connection, as_of: int, *, scoped: bool) -> Iterator[Row[Any]]:
    """Rows ``event_id, at, integration, transform, system, element, record, value,
    expected_norm`` of the live hops that failed their transform's check."""
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
        events.c.at <= as_of,
        events.c.seq.not_in(FAILED),
    )
    if scoped:
        query = query.where(in_scope_events(events.c.event_id))
    return stream(conn, query)
