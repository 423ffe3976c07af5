"""Marquez's dashboard counts (``GET /api/v1/stats/lineage-events``, ``/stats/jobs``,
``/stats/datasets``, ``/stats/sources``), which its web UI's home page charts.

They are not in Marquez's ``spec/openapi.yml``; the shapes and intervals are its server's
(``api/src/main/java/marquez/db/StatsDao.java``): ``DAY`` is the last 24 hours, an interval an
hour (UTC), the current hour last; ``WEEK`` the last 7 days of the given time zone, an interval
a day from its local midnight (23 or 25 hours across a daylight-saving change), today last.
Lineage events are the OpenLineage run events received in each interval, by event time, of each
type Marquez counts; jobs, datasets and sources the number known by each interval's end, by when
each was first seen in an event. The registry's declared jobs and datasets (and the systems
holding them, as sources) are known throughout: they are counted in every interval.
Each answer is a few counts made by the database over index ranges, never rows read here.
"""

from __future__ import annotations

import datetime as dt
from typing import Literal
from zoneinfo import ZoneInfo

from ..model.registry import Registry
from ..store import Connection
from ..store import openlineage as summaries
from ..store.schema import iso, to_us
from .marquez import declared_graph
from .marquez_shapes import IntervalMetric, LineageMetric

Period = Literal["DAY", "WEEK"]
Asset = Literal["jobs", "datasets", "sources"]

_UTC = dt.UTC


def intervals(period: Period, zone: ZoneInfo, now: dt.datetime) -> list[int]:
    """The bounds (microseconds since the epoch) of the intervals ``period`` charts at ``now``:
    25 hour starts for DAY, 8 local midnights of ``zone`` for WEEK."""
    if period == "DAY":
        hour = now.astimezone(_UTC).replace(minute=0, second=0, microsecond=0)
        return [to_us(hour + dt.timedelta(hours=h)) for h in range(-23, 2)]
    today = now.astimezone(zone).date()
    days = [today + dt.timedelta(days=d) for d in range(-6, 2)]
    return [to_us(dt.datetime(d.year, d.month, d.day, tzinfo=zone)) for d in days]


def lineage_metrics(
    conn: Connection, period: Period, zone: ZoneInfo, now: dt.datetime
) -> list[LineageMetric]:
    """The run events of each type received in each interval (START, COMPLETE, FAIL, ABORT:
    RUNNING and OTHER are not charted by Marquez, nor job and dataset events)."""
    bounds = intervals(period, zone, now)
    counts = summaries.event_types_by_interval(conn, bounds)
    return [
        LineageMetric(
            start_interval=iso(bounds[i]),
            end_interval=iso(bounds[i + 1]),
            fail=counts.get((i, "FAIL"), 0),
            start=counts.get((i, "START"), 0),
            complete=counts.get((i, "COMPLETE"), 0),
            abort=counts.get((i, "ABORT"), 0),
        )
        for i in range(len(bounds) - 1)
    ]


def interval_metrics(
    conn: Connection,
    registry: Registry,
    asset: Asset,
    *,
    period: Period,
    zone: ZoneInfo,
    now: dt.datetime,
) -> list[IntervalMetric]:
    """How many jobs, datasets or sources were known by the end of each interval."""
    bounds = intervals(period, zone, now)
    known = summaries.known_by_interval(conn, asset, bounds)
    declared = _declared(conn, registry, asset)
    return [
        IntervalMetric(
            start_interval=iso(bounds[i]),
            end_interval=iso(bounds[i + 1]),
            count=known[i] + declared,
        )
        for i in range(len(bounds) - 1)
    ]


def _declared(conn: Connection, registry: Registry, asset: Asset) -> int:
    """How many the registry declares that no event made known already (registry-sized)."""
    graph = declared_graph(registry)
    if asset == "jobs":
        return len(graph.jobs)
    if asset == "datasets":
        return len(graph.datasets)
    holding = {d.namespace for d in graph.datasets.values()}
    return sum(
        1
        for name in holding
        if (row := summaries.namespace_row(conn, name)) is None or row.dataset_mentions == 0
    )
