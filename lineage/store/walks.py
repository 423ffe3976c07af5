"""The steward's questions as one recursive statement each: the trace and the impact walks.

:func:`trace_steps` and :func:`impact_steps` run :data:`TRACE_SQL` / :data:`IMPACT_SQL` (per
dialect) straight on the driver's cursor and turn the rows into events and hop inputs; the
engine (:mod:`lineage.trace`, :mod:`lineage.impact`) judges them. The point lookups and the
row types they share are in :mod:`lineage.store.queries`.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, NamedTuple

from sqlalchemy import Connection

from .queries import (
    EVENT_ROW_COLUMNS,
    FOREVER,
    NULL_MARK,
    EventRow,
    InputRow,
    PlaceLike,
    bounded,
)
from .schema import CODE_POINT
from .status import live_sql

if TYPE_CHECKING:
    from .database import Store

_P = EVENT_ROW_COLUMNS
_COLUMNS_OF = {alias: ", ".join(f"{alias}.{c}" for c in _P) for alias in ("e", "p", "h")}
_WALK_P = ", ".join(f"p_{c}" for c in _P)
_REACH_H = ", ".join(f"h_{c}" for c in _P)


def _event(values: Sequence[Any]) -> EventRow:
    """An :class:`EventRow` from the 17 event columns in :data:`_P` order."""
    (seq, eid, kind, at, system, element, record, value, norm, integration, declared,
     transform, expected, verified, status, error, actor) = values  # fmt: skip
    return EventRow(
        seq, eid, kind, at, system, element, record, value, norm, integration,
        None if declared is None else bool(declared), transform, expected,
        None if verified is None else bool(verified), status, error, actor,
    )  # fmt: skip


#: The id of the newest registry version. The steward's questions read it in their own query
#: (one more column on every row, evaluated once), so that a question costs one statement and
#: still judges by the registry in force (see ``Store.registry_version``).
REGISTRY_VERSION = "(SELECT max(id) FROM registry_versions)"

# The trace, one recursive query. It starts from the event that leaves the value the place
# holds as of :horizon and steps back from each hop to the predecessor of every input (the
# latest event at the input's place at or before the hop's time) and from each snapshot to
# the latest write or hop at its place. Each row is one step: the consumer event, the input
# position (-1 for a snapshot's step), the input as the hop recorded it, and the producer's
# event columns (NULL when the input's place held nothing then). UNION keeps each step once,
# so an event reached along several paths is expanded once and cycles end. The last column is
# :data:`REGISTRY_VERSION`. The two dialects walk the same steps in different SQL:
#
# - SQLite carries the producer's columns through the walk, so it never joins back; its
#   correlated subquery finds the producer's seq (rowid) and the join fetches the row.
# - PostgreSQL finds the producer with a LATERAL subquery (one backward step on
#   ``ix_events_place_at``, no second probe by seq) and carries only the columns the walk
#   needs; the full rows are joined once at the end. Its recursive union hashes every row it
#   keeps, so narrow rows are cheaper there (1.11 ms, not 1.20, for a 20-hop chain measured
#   side by side).
_STEP_KEYS = ("seq", "event_id", "kind", "at", "system", "element", "record")
# the first row's input columns, none, in the collation of the columns that fill them
_NO_INPUT = {
    dialect: f"""CAST(NULL AS VARCHAR){c}, CAST(NULL AS INTEGER), CAST(NULL AS VARCHAR){c},
           CAST(NULL AS VARCHAR){c}, CAST(NULL AS VARCHAR){c}, CAST(NULL AS TEXT){c},
           CAST(NULL AS TEXT){c}"""
    for dialect, c in CODE_POINT.items()
}
_STEP_INPUT = """w.p_event_id, COALESCE(i.position, -1), i.system, i.element, i.record, i.value,
           i.value_norm"""
_STEP_FROM = """FROM walk w
    LEFT JOIN hop_inputs i ON w.p_kind = 'hop' AND i.event_id = w.p_event_id"""
_PREDECESSOR = f"""WHERE e.system = COALESCE(i.system, w.p_system)
          AND e.element = COALESCE(i.element, w.p_element)
          AND e.record = COALESCE(i.record, w.p_record)
          AND e.at <= w.p_at AND e.seq <> w.p_seq
          AND (w.p_kind = 'hop' OR e.kind <> 'snapshot')
          AND {live_sql("e")}
        ORDER BY e.at DESC, e.seq DESC LIMIT 1"""
_CURRENT = f"""WHERE s.system = :system AND s.element = :element AND s.record = :record
          AND s.at <= :horizon AND {live_sql("s")}
        ORDER BY s.at DESC, s.seq DESC LIMIT 1"""
_WALK_COLUMNS = "child, position, in_system, in_element, in_record, in_value, in_norm"

_TRACE_SQLITE = f"""
WITH RECURSIVE walk({_WALK_COLUMNS},
                    {_WALK_P}) AS (
    SELECT {_NO_INPUT["sqlite"]},
           {_COLUMNS_OF["e"]}
    FROM events e
    WHERE e.seq = (
        SELECT s.seq FROM events s
        {_CURRENT})
  UNION
    SELECT {_STEP_INPUT}, {_COLUMNS_OF["p"]}
    {_STEP_FROM}
    LEFT JOIN events p ON p.seq = (
        SELECT e.seq FROM events e
        {_PREDECESSOR})
    WHERE w.p_kind IN ('hop', 'snapshot')
)
SELECT walk.*, {REGISTRY_VERSION} AS registry_version FROM walk
"""  # noqa: S608

_KEYS_OF = {alias: ", ".join(f"{alias}.{c}" for c in _STEP_KEYS) for alias in ("e", "s")}
_TRACE_POSTGRESQL = f"""
WITH RECURSIVE walk({_WALK_COLUMNS},
                    {", ".join(f"p_{c}" for c in _STEP_KEYS)}) AS (
    SELECT {_NO_INPUT["postgresql"]},
           {_KEYS_OF["s"]}
    FROM (SELECT {_KEYS_OF["s"]} FROM events s
        {_CURRENT}) s
  UNION
    SELECT {_STEP_INPUT}, {_KEYS_OF["e"]}
    {_STEP_FROM}
    LEFT JOIN LATERAL (
        SELECT {_KEYS_OF["e"]} FROM events e
        {_PREDECESSOR}) e ON TRUE
    WHERE w.p_kind IN ('hop', 'snapshot')
)
SELECT w.{_WALK_COLUMNS.replace(", ", ", w.")},
       {_COLUMNS_OF["p"]}, {REGISTRY_VERSION} AS registry_version
FROM walk w LEFT JOIN events p ON p.seq = w.p_seq
"""  # noqa: S608

#: The trace query per dialect name (``conn.dialect.name``): the same steps, the same columns.
TRACE_SQL = {"sqlite": _TRACE_SQLITE, "postgresql": _TRACE_POSTGRESQL}


class TraceStep(NamedTuple):
    """One row of the trace query.

    ``consumer`` read input ``position`` (-1: a snapshot's step to what it should show),
    recorded as ``hop_input``, from ``producer`` (None: nothing was there). The first row has
    no consumer: its producer is the event that leaves the value the place holds.
    """

    consumer: str | None
    position: int
    hop_input: InputRow | None
    producer: EventRow | None


_PYFORMAT: dict[str, str] = {}


def read_connection(store: Store) -> Connection:
    """A connection for a question answered by one or two reads.

    On PostgreSQL it reads without a transaction (autocommit, from ``store.reader``), which
    saves the BEGIN and ROLLBACK round trips; on SQLite, where autocommit costs a lock per
    statement, it is a plain connection. Use as a context manager:
    ``with read_connection(store) as conn: ...``.
    """
    return store.reader.connect()


def run_driver(conn: Connection, sql: str, params: dict[str, Any]) -> list[Sequence[Any]]:
    """Run ``sql`` (with ``:name`` parameters) on the driver's own cursor; all rows.

    The steward's questions answer in about a millisecond, and SQLAlchemy's per-row result
    machinery costs as much as the query itself, so their one recursive query goes straight
    to ``sqlite3`` / ``psycopg`` (values still travel as bound parameters only). PostgreSQL
    sends the rows in binary: the same values, a fifth less time for a 20-hop trace than
    printing and parsing every number as text.
    """
    driver: Any = conn.connection.driver_connection
    if conn.dialect.name == "postgresql":
        if sql not in _PYFORMAT:
            _PYFORMAT[sql] = re.sub(r"(?<![:\w]):(\w+)", r"%(\1)s", sql.replace("%", "%%"))
        with driver.cursor() as cursor:
            cursor.execute(_PYFORMAT[sql], params, prepare=True, binary=True)
            return list(cursor.fetchall())
    return list(driver.execute(sql, params).fetchall())


def trace_steps(
    conn: Connection, place: PlaceLike, *, horizon: int | None = None
) -> tuple[list[TraceStep], int | None]:
    """Every step back from the value ``place`` holds (as of ``horizon``) to its origins.

    Returns the steps (empty when the store holds nothing for the place by then) and the id of
    the newest registry version (None with no steps, or before any registry was loaded). One
    query (:data:`TRACE_SQL`).
    """
    rows = run_driver(conn, TRACE_SQL[conn.dialect.name], trace_parameters(place, horizon))
    steps = []
    end = 7 + len(_P)
    # psycopg's binary rows carry the event's own types (booleans included); SQLite's 0/1 do not
    event = EventRow._make if conn.dialect.name == "postgresql" else _event
    for row in rows:
        consumer, position = row[0], row[1]
        if position is None:
            position = -1
        hop_input = None
        if row[2] is not None:
            hop_input = InputRow(consumer, position, row[2], row[3], row[4], row[5], row[6])
        producer = event(row[7:end]) if row[8] is not None else None
        steps.append(TraceStep(consumer, position, hop_input, producer))
    return steps, _registry_version(rows)


def _registry_version(rows: Sequence[Sequence[Any]]) -> int | None:
    """The :data:`REGISTRY_VERSION` column (the last) of a question's rows."""
    return None if not rows or rows[0][-1] is None else int(rows[0][-1])


def trace_parameters(place: PlaceLike, horizon: int | None = None) -> dict[str, Any]:
    """The parameters of :data:`TRACE_SQL` for the value ``place`` holds as of ``horizon``."""
    return {
        "system": place.system, "element": place.element, "record": place.record,
        "horizon": bounded(horizon),
    }  # fmt: skip


# The impact, one query. ``cur`` is the event that leaves the value the place holds as of
# :horizon, ``brk`` the last event before it with another value, ``start`` the first event
# after that: the version began there. ``reach`` walks forward from it to every hop that read
# that value from that place while the place kept it (at or after the version began, before
# the place next changed value, no later than :horizon), then on from each hop's output for as
# long as its place keeps that output. Rows carry the consumer hop's event columns; the start
# row has no ``via``, and one extra row (position -2) is the current event itself. The last
# column is :data:`REGISTRY_VERSION`.
_IMPACT_TEMPLATE = f"""
WITH RECURSIVE cur AS (
    SELECT c.seq, c.at, c.value_norm FROM events c
    WHERE c.system = :system AND c.element = :element AND c.record = :record
      AND c.at <= :horizon AND {live_sql("c")}
    ORDER BY c.at DESC, c.seq DESC LIMIT 1
), brk AS (
    SELECT b.seq, b.at FROM events b, cur
    WHERE b.system = :system AND b.element = :element AND b.record = :record
      AND b.at <= cur.at AND (b.at < cur.at OR b.seq < cur.seq)
      AND COALESCE(b.value_norm, :null) <> COALESCE(cur.value_norm, :null)
      AND {live_sql("b")}
    ORDER BY b.at DESC, b.seq DESC LIMIT 1
), start AS (
    SELECT f.seq FROM events f
    WHERE f.system = :system AND f.element = :element AND f.record = :record
      AND f.at >= COALESCE((SELECT at FROM brk), :never)
      AND (f.at > COALESCE((SELECT at FROM brk), :never) OR f.seq > (SELECT seq FROM brk))
      AND {live_sql("f")}
    ORDER BY f.at, f.seq LIMIT 1
), reach(via, position, until, {_REACH_H}) AS (
    SELECT CAST(NULL AS VARCHAR){{code_point}}, CAST(NULL AS INTEGER),
           CAST(:forever AS BIGINT),
           {_COLUMNS_OF["e"]}
    FROM events e WHERE e.seq = (SELECT seq FROM start)
  UNION
    SELECT r.h_event_id, i.position, COALESCE((
               SELECT MIN(e.at) FROM events e
               WHERE e.system = h.system AND e.element = h.element AND e.record = h.record
                 AND e.at > h.at
                 AND COALESCE(e.value_norm, :null) <> COALESCE(h.value_norm, :null)
                 AND {live_sql("e")}), :forever),
           {_COLUMNS_OF["h"]}
    FROM reach r
    JOIN hop_inputs i
      ON i.system = r.h_system AND i.element = r.h_element AND i.record = r.h_record
    JOIN events h ON {{hop_join}}
    WHERE COALESCE(i.value_norm, :null) = COALESCE(r.h_value_norm, :null)
      -- '+h.at': the time bounds filter the one hop found by event_id; they must not
      -- steer SQLite to a range scan of ix_events_at (the store's clock index) instead
      AND +h.at >= r.h_at AND +h.at < r.until AND +h.at <= :horizon
      AND {live_sql("h")}
)
SELECT reach.*, {REGISTRY_VERSION} AS registry_version FROM reach
UNION ALL
SELECT CAST(NULL AS VARCHAR), -2, CAST(NULL AS BIGINT), {_COLUMNS_OF["e"]}, {REGISTRY_VERSION}
FROM events e WHERE e.seq = (SELECT seq FROM cur)
"""  # noqa: S608

# How a reached input joins the hop that read it, per dialect. Both find the one event by its
# unique event_id index; they differ because the planners do. SQLite, once ANALYZE has given
# it statistics, plans '=' here with a Bloom filter built over every event on each recursive
# step while the store holds fewer than about a million events (milliseconds a step instead of
# microseconds); a range on the same column is no COLUMN_EQ term, so it never does. PostgreSQL
# estimates that range as wide and hash-joins every event (seconds), so it keeps '='.
_HOP_JOIN = {
    "sqlite": "h.event_id >= i.event_id AND h.event_id <= i.event_id",
    "postgresql": "h.event_id = i.event_id",
}

#: The impact query per dialect name (``conn.dialect.name``); see :data:`_HOP_JOIN`.
IMPACT_SQL = {
    dialect: _IMPACT_TEMPLATE.replace("{hop_join}", join).replace(
        "{code_point}", CODE_POINT[dialect]
    )
    for dialect, join in _HOP_JOIN.items()
}


class ImpactStep(NamedTuple):
    """One row of the impact query: hop ``consumer`` read input ``position`` from ``producer``.

    The version's first event comes with ``producer`` None and ``position`` -1, the current
    event (the value the place holds) with ``producer`` None and ``position`` -2.
    """

    producer: str | None
    position: int
    consumer: EventRow


def impact_steps(
    conn: Connection, place: PlaceLike, *, horizon: int | None = None
) -> tuple[list[ImpactStep], int | None]:
    """Every hop downstream of the value ``place`` holds as of ``horizon``.

    The value's version began with the first event of the unbroken run of equal values at the
    place that ends in the current one (see :func:`version_start`). A hop is downstream when
    it read the place while it still held that version (from then until the place next changed
    value, and no later than ``horizon``) and the value it read equals it; its own output is
    followed the same way. Returns the steps (empty when the place holds nothing) and the id of
    the newest registry version (as :func:`trace_steps`). One query (:data:`IMPACT_SQL`, in
    the connection's dialect).
    """
    rows = run_driver(conn, IMPACT_SQL[conn.dialect.name], impact_parameters(place, horizon))
    steps = [
        ImpactStep(row[0], -1 if row[1] is None else int(row[1]), _event(row[3 : 3 + len(_P)]))
        for row in rows
    ]
    return steps, _registry_version(rows)


def impact_parameters(place: PlaceLike, horizon: int | None = None) -> dict[str, Any]:
    """The parameters of :data:`IMPACT_SQL` for the value ``place`` holds as of ``horizon``."""
    return {
        "system": place.system, "element": place.element, "record": place.record,
        "forever": FOREVER, "never": -FOREVER, "horizon": bounded(horizon), "null": NULL_MARK,
    }  # fmt: skip
