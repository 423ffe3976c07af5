"""The delivery detectors' statements: hops whose status as of the scan is ``failed`` or
``sent`` (the partial index on undelivered hops plus the small ``hop_status`` table), and the
source places a one-to-one integration delivered to several target records. In a scoped
judgement: the scope's hops (unique index on event ids), and the scope's source places
(``ix_hop_inputs_place``)."""

from __future__ import annotations

from collections.abc import Collection, Iterator
from typing import Any

from sqlalchemy import Connection, Row, Select, and_, case, func, not_, select, union_all

from ..schema import UNDELIVERED, events, hop_inputs
from .common import (
    FAILED,
    FAILED_STATUS,
    HOP,
    SENT_STATUS,
    in_scope_events,
    in_scope_places,
    latest_status,
    stream,
)


def unfinished_hops(conn: Connection, as_of: int, *, scoped: bool) -> Iterator[Row[Any]]:
    """Rows ``event_id, at, integration, system, element, record, value, current, error,
    status_at`` of the hops whose status as of ``as_of`` is ``failed`` or ``sent``."""
    return stream(conn, _current(as_of, scoped=scoped))


def _current(as_of: int, *, scoped: bool) -> Select[Any]:
    later = latest_status(as_of, scoped=scoped)
    columns = (
        events.c.event_id,
        events.c.at,
        events.c.integration,
        events.c.system,
        events.c.element,
        events.c.record,
        events.c.value,
    )
    sent_undelivered = (
        select(
            *columns,
            func.coalesce(later.c.status, events.c.status).label("current"),
            case((later.c.status.is_(None), events.c.error), else_=later.c.error).label("error"),
            func.coalesce(later.c.at, events.c.at).label("status_at"),
        )
        .select_from(events.outerjoin(later, later.c.event_id == events.c.event_id))
        .where(UNDELIVERED, events.c.kind == HOP, events.c.at <= as_of)
    )
    sent_delivered = (
        select(
            *columns,
            later.c.status.label("current"),
            later.c.error.label("error"),
            later.c.at.label("status_at"),
        )
        .select_from(later.join(events, events.c.event_id == later.c.event_id))
        .where(not_(UNDELIVERED), events.c.at <= as_of)
    )
    if scoped:
        sent_undelivered = sent_undelivered.where(in_scope_events(events.c.event_id))
        sent_delivered = sent_delivered.where(in_scope_events(events.c.event_id))
    both = union_all(sent_undelivered, sent_delivered).subquery("current")
    return select(both).where(both.c.current.in_([FAILED_STATUS, SENT_STATUS]))


def duplicated_sources(
    conn: Connection, as_of: int, one_to_one: Collection[str], *, scoped: bool
) -> Iterator[Row[Any]]:
    """Per (integration, source place, target system, element) that a one-to-one integration
    delivered to two target records or more, every live hop of it, in group order then by
    time: rows ``k0..k5`` (the group), ``event_id, at, record``."""
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
        events.c.integration.in_(sorted(one_to_one)),
        events.c.at <= as_of,
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
    return stream(conn, detail)
