"""``competing-origin``'s statements: writes of an element outside its system of origin,
grouped per system. Each element is one indexed range scan of ``ix_events_element_system``
(restricted to the scope's systems in a scoped judgement)."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from functools import cache
from typing import Any

from sqlalchemy import Connection, Select, bindparam, func, select

from ..schema import events
from .common import AS_OF, WRITE, bitmap_scans


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
    params: dict[str, Any] = {"element": element, "origin": origin, "as_of": as_of}
    if systems is not None:
        if not systems:
            return []
        params["systems"] = sorted(systems)
    with bitmap_scans(conn):
        groups = conn.execute(_groups(systems is not None), params).all()
    found: list[WriteGroup] = []
    for group in groups:
        rows = conn.execute(
            _EARLIEST,
            {"element": element, "system": group.system, "as_of": as_of, "samples": samples},
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


@cache
def _groups(among: bool) -> Select[Any]:
    """Per system, the writes of ``:element`` outside ``:origin`` (``among``: only in
    ``:systems``), built once (the values are parameters)."""
    where = [
        events.c.element == bindparam("element"),
        events.c.system != bindparam("origin"),
        events.c.kind == WRITE,
        events.c.at <= AS_OF,
    ]
    if among:
        where.append(events.c.system.in_(bindparam("systems", expanding=True)))
    return (
        select(
            events.c.system,
            func.count().label("writes"),
            func.min(events.c.at).label("first_at"),
            func.max(events.c.at).label("last_at"),
        )
        .where(*where)
        .group_by(events.c.system)
        .order_by(events.c.system)
    )


# A group's writes first (OFFSET 0 fences them), then the earliest: ordered and limited at
# once, PostgreSQL walks ix_events_at from the first event of the store
_GROUP_ROWS = (
    select(events.c.event_id, events.c.record, events.c.actor, events.c.at, events.c.seq)
    .where(
        events.c.element == bindparam("element"),
        events.c.system == bindparam("system"),
        events.c.kind == WRITE,
        events.c.at <= AS_OF,
    )
    .offset(0)
    .subquery("group_rows")
)
_EARLIEST = (
    select(_GROUP_ROWS.c.event_id, _GROUP_ROWS.c.record, _GROUP_ROWS.c.actor)
    .order_by(_GROUP_ROWS.c.at, _GROUP_ROWS.c.seq)
    .limit(bindparam("samples"))
)
