"""``rule-violation``'s statements: the distinct values recorded of the ruled elements, the
events still current at their place holding one of a few values (``ix_events_place_at``),
and, in a scoped judgement, the current event of each of the scope's places."""

from __future__ import annotations

from collections.abc import Collection, Iterator
from functools import lru_cache
from typing import Any

from sqlalchemy import Connection, Row, Select, and_, exists, not_, or_, select

from ..schema import events
from .common import AS_OF, SCOPE_PLACES, holds_value, stream

_CURRENT_COLUMNS = (
    events.c.event_id,
    events.c.kind,
    events.c.at,
    events.c.system,
    events.c.element,
    events.c.record,
    events.c.value,
)


def distinct_values(conn: Connection, elements: Collection[str], as_of: int) -> Iterator[Row[Any]]:
    """Rows ``element, value``: every distinct value recorded of ``elements`` by ``as_of``."""
    values = (
        select(events.c.element, events.c.value)
        .where(events.c.element.in_(sorted(elements)), events.c.at <= as_of)
        .distinct()
    )
    return stream(conn, values)


def current_holding(
    conn: Connection, element: str, values: list[str | None], as_of: int
) -> Iterator[Row[Any]]:
    """Rows ``event_id, kind, at, system, element, record, value`` of the events of
    ``element`` holding one of ``values`` that are still current at their place."""
    return stream(conn, _current_with(element, values, as_of))


def current_at_scope_places(
    conn: Connection, elements: Collection[str], as_of: int
) -> Iterator[Row[Any]]:
    """The current event (same columns as :func:`current_holding`) of every scope place of
    one of ``elements``: its latest write, snapshot or live hop by ``as_of``."""
    return stream(conn, _current_at_scope_places(tuple(sorted(elements))), {"as_of": as_of})


@lru_cache(maxsize=16)
def _current_at_scope_places(elements: tuple[str, ...]) -> Select[Any]:
    latest = (
        select(events.c.seq)
        .where(
            events.c.system == SCOPE_PLACES.c.system,
            events.c.element == SCOPE_PLACES.c.element,
            events.c.record == SCOPE_PLACES.c.record,
            events.c.at <= AS_OF,
            holds_value(events),
        )
        .order_by(events.c.at.desc(), events.c.seq.desc())
        .limit(1)
        .correlate(SCOPE_PLACES)
        .scalar_subquery()
    )
    picked = (
        select(latest.label("seq")).where(SCOPE_PLACES.c.element.in_(elements)).subquery("picked")
    )
    return select(*_CURRENT_COLUMNS).select_from(picked.join(events, events.c.seq == picked.c.seq))


def _current_with(element: str, values: list[str | None], as_of: int) -> Select[Any]:
    """Events of ``element`` holding one of ``values`` that are still current at their place."""
    later = events.alias("later")
    texts = [v for v in values if v is not None]
    matches = []
    if texts:
        matches.append(events.c.value.in_(texts))
    if len(texts) < len(values):
        matches.append(events.c.value.is_(None))
    superseded = exists().where(
        later.c.system == events.c.system,
        later.c.element == events.c.element,
        later.c.record == events.c.record,
        later.c.at <= as_of,
        or_(later.c.at > events.c.at, and_(later.c.at == events.c.at, later.c.seq > events.c.seq)),
        holds_value(later),
    )
    return select(*_CURRENT_COLUMNS).where(
        events.c.element == element,
        events.c.at <= as_of,
        or_(*matches),
        holds_value(events),
        not_(superseded),
    )
