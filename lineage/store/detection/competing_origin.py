"""``competing-origin``'s statements: writes of an element outside its system of origin,
grouped per system. Each element is one indexed range scan of ``ix_events_element_system``
(restricted to the scope's systems in a scoped judgement)."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

from sqlalchemy import Connection, func, select

from ..schema import events
from .common import WRITE, bitmap_scans


@dataclass(frozen=True, slots=True)
class WriteGroup:
    """The writes of one element in one system: how many, when, and the earliest few."""

    system: str
    writes: int
    first_at: int
    last_at: int
    events: list[str]
    records: list[str]
    actors: list[str | None]


def competing_writes(
    conn: Connection,
    element: str,
    origin: str,
    as_of: int,
    *,
    samples: int,
    systems: Collection[str] | None = None,
) -> list[WriteGroup]:
    """Per system other than ``origin`` (only ``systems`` when given), the writes of
    ``element`` at or before ``as_of``, by system name."""
    where = [
        events.c.element == element,
        events.c.system != origin,
        events.c.kind == WRITE,
        events.c.at <= as_of,
    ]
    if systems is not None:
        if not systems:
            return []
        where.append(events.c.system.in_(sorted(systems)))
    with bitmap_scans(conn):
        groups = conn.execute(
            select(
                events.c.system,
                func.count().label("writes"),
                func.min(events.c.at).label("first_at"),
                func.max(events.c.at).label("last_at"),
            )
            .where(*where)
            .group_by(events.c.system)
            .order_by(events.c.system)
        ).all()
    found: list[WriteGroup] = []
    for group in groups:
        # the group's writes first (OFFSET 0 fences them), then the earliest: ordered and
        # limited at once, PostgreSQL walks ix_events_at from the first event of the store
        group_rows = (
            select(events.c.event_id, events.c.record, events.c.actor, events.c.at, events.c.seq)
            .where(
                events.c.element == element,
                events.c.system == group.system,
                events.c.kind == WRITE,
                events.c.at <= as_of,
            )
            .offset(0)
            .subquery("group_rows")
        )
        rows = conn.execute(
            select(group_rows.c.event_id, group_rows.c.record, group_rows.c.actor)
            .order_by(group_rows.c.at, group_rows.c.seq)
            .limit(samples)
        ).all()
        found.append(
            WriteGroup(
                system=group.system,
                writes=int(group.writes),
                first_at=int(group.first_at),
                last_at=int(group.last_at),
                events=[r.event_id for r in rows],
                records=[r.record for r in rows],
                actors=[r.actor for r in rows],
            )
        )
    return found
