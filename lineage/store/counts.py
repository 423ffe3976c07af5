"""Grouped counts over the store: events and OpenLineage events by kind (``lineage stats``)
and hops by integration over a window (``lineage audit``)."""

from __future__ import annotations

from collections.abc import Collection
from typing import NamedTuple

from sqlalchemy import Connection, case, func, select

from .schema import events, observed_flows, openlineage_events

_OL_KIND = case(
    (openlineage_events.c.job_name == "", "DatasetEvent"),
    (openlineage_events.c.run_id == "", "JobEvent"),
    else_="RunEvent",
).label("kind")
"""A stored OpenLineage event's kind: a DatasetEvent has no job, a JobEvent no run."""


def event_kinds(conn: Connection) -> dict[str, int]:
    """Events by kind (every event id is stored once, so rows are distinct ids)."""
    rows = conn.execute(select(events.c.kind, func.count()).group_by(events.c.kind))
    return {str(kind): int(count) for kind, count in rows}


def events_recorded_about(conn: Connection) -> int:
    """About how many events the store holds (the greatest ``seq``: one step at the right
    edge of the primary key; deleted rows would count, and none ever are)."""
    return int(conn.execute(select(func.max(events.c.seq))).scalar() or 0)


def openlineage_kinds(conn: Connection) -> dict[str, int]:
    """Stored OpenLineage events by kind (RunEvent, JobEvent, DatasetEvent)."""
    rows = conn.execute(select(_OL_KIND, func.count()).group_by(_OL_KIND))
    return {str(kind): int(count) for kind, count in rows}


def observed_flow_count(conn: Connection) -> int:
    """How many flows OpenLineage events were seen to make."""
    return int(conn.execute(select(func.count()).select_from(observed_flows)).scalar_one())


class HopCount(NamedTuple):
    """Hops of one element on one integration in a window."""

    integration: str
    element: str
    hops: int


def hops_by_integration(
    conn: Connection, integrations: Collection[str], *, after: int, until: int
) -> list[HopCount]:
    """Hops recorded on each of ``integrations`` in ``(after, until]`` (microseconds since
    the epoch), by integration and element."""
    rows = conn.execute(
        select(events.c.integration, events.c.element, func.count().label("hops"))
        .where(
            events.c.kind == "hop",
            events.c.integration.in_(sorted(integrations)),
            events.c.at > after,
            events.c.at <= until,
        )
        .group_by(events.c.integration, events.c.element)
    )
    return [HopCount(str(r.integration), str(r.element), int(r.hops)) for r in rows]


__all__ = [
    "HopCount",
    "event_kinds",
    "hops_by_integration",
    "observed_flow_count",
    "openlineage_kinds",
]
