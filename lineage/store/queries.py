"""Indexed lookups the steward's questions share: trace, impact and the golden record.

Every lookup is a range scan on ``ix_events_place_at`` (system, element, record, at, seq) or a
probe of ``ix_hop_inputs_place`` / ``ix_hop_inputs_event``; nothing here reads a table
whole. Times are integer microseconds (see :mod:`lineage.store.schema`); ``as_of`` and
``horizon`` are inclusive upper bounds.

Two rules hold everywhere:

- "Latest" means the greatest ``(at, seq)``: among events at the same moment the one
  recorded last wins.
- A hop whose status (as known at the horizon) is ``failed`` never left its value anywhere:
  it is skipped when asking what a place held. ``sent`` hops count: a hop that was never
  confirmed is a finding of its own (``lost-delivery``), not a reason to look past it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any, NamedTuple, Protocol

from sqlalchemy import Connection, bindparam, text

if TYPE_CHECKING:
    from .database import Store

#: An upper bound beyond any real time (year ~148,000): "no as-of given".
FOREVER = 2**62

#: Stands for NULL in null-safe comparisons of canonical values (never a canonical value).
_NULL = "\x1f<null>\x1f"

_EVENT_COLUMNS = (
    "e.seq, e.event_id, e.kind, e.at, e.system, e.element, e.record, e.value, e.value_norm, "
    "e.integration, e.declared, e.transform, e.expected_norm, e.verified, e.status, e.error, "
    "e.actor"
)

# The SQL below is assembled from module constants only (S608 is silenced for that reason);
# every value travels as a bound parameter.

# A hop counts unless its latest status known at :horizon is "failed". Its status updates are
# looked up only when it has some (``status_updated``): otherwise every step of a walk probed
# hop_status for nothing (a fifth of a PostgreSQL trace).
_LIVE = (
    "NOT ({e}.kind = 'hop' AND COALESCE(CASE WHEN {e}.status_updated THEN "
    "(SELECT hs.status FROM hop_status hs WHERE hs.event_id = {e}.event_id AND hs.at <= :horizon "
    "ORDER BY hs.seq DESC LIMIT 1) END, {e}.status, 'delivered') = 'failed')"
)


class PlaceLike(Protocol):
    """Anything naming a place: :class:`PlaceKey`, ``lineage.model.events.Place``, a row."""

    @property
    def system(self) -> str: ...

    @property
    def element(self) -> str: ...

    @property
    def record(self) -> str: ...


class PlaceKey(NamedTuple):
    """Where a value lives: one element of one record in one system."""

    system: str
    element: str
    record: str

    def __str__(self) -> str:
        return f"{self.system}/{self.element}/{self.record}"


class EventRow(NamedTuple):
    """One stored event (a write, a hop's output, or a snapshot) and its entry check.

    A named tuple rather than a frozen dataclass: a trace builds one per step, and a tuple is
    made five times faster (1 us, not 5).
    """

    seq: int
    event_id: str
    kind: str
    at: int
    system: str
    element: str
    record: str
    value: str | None
    value_norm: str | None
    integration: str | None = None
    declared: bool | None = None
    transform: str | None = None
    expected_norm: str | None = None
    verified: bool | None = None
    status: str | None = None
    error: str | None = None
    actor: str | None = None

    @property
    def place(self) -> PlaceKey:
        return PlaceKey(self.system, self.element, self.record)

    @classmethod
    def from_row(cls, row: Any) -> EventRow:
        declared = None if row.declared is None else bool(row.declared)
        verified = None if row.verified is None else bool(row.verified)
        return cls(
            seq=int(row.seq),
            event_id=row.event_id,
            kind=row.kind,
            at=int(row.at),
            system=row.system,
            element=row.element,
            record=row.record,
            value=row.value,
            value_norm=row.value_norm,
            integration=row.integration,
            declared=declared,
            transform=row.transform,
            expected_norm=row.expected_norm,
            verified=verified,
            status=row.status,
            error=row.error,
            actor=row.actor,
        )


class InputRow(NamedTuple):
    """One input of a hop: the place it was read from and the value the hop says it read."""

    event_id: str
    position: int
    system: str
    element: str
    record: str
    value: str | None
    value_norm: str | None

    @property
    def place(self) -> PlaceKey:
        return PlaceKey(self.system, self.element, self.record)


def _horizon(as_of: int | None) -> int:
    return FOREVER if as_of is None else as_of


_LATEST_AT_PLACE = text(
    f"SELECT {_EVENT_COLUMNS} FROM events e "  # noqa: S608
    "WHERE e.system = :system AND e.element = :element AND e.record = :record "
    "AND e.at <= :at AND e.seq <> :skip AND (:any_kind = 1 OR e.kind <> 'snapshot') "
    f"AND {_LIVE.format(e='e')} "
    "ORDER BY e.at DESC, e.seq DESC LIMIT 1"
)


def _latest(
    conn: Connection,
    place: PlaceLike,
    at: int,
    *,
    skip: int = -1,
    snapshots: bool = True,
    horizon: int | None = None,
) -> EventRow | None:
    row = conn.execute(
        _LATEST_AT_PLACE,
        {
            "system": place.system,
            "element": place.element,
            "record": place.record,
            "at": at,
            "skip": skip,
            "any_kind": 1 if snapshots else 0,
            "horizon": _horizon(horizon if horizon is not None else at),
        },
    ).first()
    return EventRow.from_row(row) if row is not None else None


def current_event(
    conn: Connection, system: str, element: str, record: str, as_of: int | None = None
) -> EventRow | None:
    """The event that leaves the value a place holds as of ``as_of`` (default: now).

    That is the latest write, delivered (or sent) hop output, or snapshot at the place with
    ``at <= as_of``; None when the store holds nothing for the place by then.

    Example:
        >>> row = current_event(conn, "ERP", "order.total", "40017")  # doctest: +SKIP
        >>> row.value, row.kind
        ('80.00', 'hop')
    """
    return _latest(conn, PlaceKey(system, element, record), _horizon(as_of))


def value_at(conn: Connection, place: PlaceLike, at: int) -> EventRow | None:
    """The event whose value ``place`` held at the moment ``at`` (inclusive); None if none.

    The value itself is ``.value`` (as sent) and ``.value_norm`` (canonical by the element's
    type); ``.event_id`` and ``.at`` say which version it is.
    """
    return _latest(conn, place, at)


def explaining_event(
    conn: Connection, snapshot: EventRow, *, horizon: int | None = None
) -> EventRow | None:
    """The latest write or hop at a snapshot's place at or before it: what it should show.

    ``horizon`` is the moment whose knowledge of hop statuses counts (default: everything).
    """
    return _latest(
        conn,
        snapshot.place,
        snapshot.at,
        skip=snapshot.seq,
        snapshots=False,
        horizon=_horizon(horizon),
    )


def input_source(
    conn: Connection, hop: EventRow, hop_input: PlaceLike, *, horizon: int | None = None
) -> EventRow | None:
    """What the input's place held when the hop ran: its predecessor as of the hop's time.

    A record re-delivered many times has many versions; this is the one that fed this hop
    (the latest at or before ``hop.at``, never the hop itself). ``horizon`` is the moment
    whose knowledge of hop statuses counts (default: everything known).
    """
    return _latest(conn, hop_input, hop.at, skip=hop.seq, horizon=_horizon(horizon))


def _chunks(items: Sequence[str], size: int = 500) -> Iterable[Sequence[str]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


_EVENTS_BY_ID = text(
    f"SELECT {_EVENT_COLUMNS} FROM events e WHERE e.event_id IN :ids"  # noqa: S608
).bindparams(bindparam("ids", expanding=True))
_INPUTS_OF = text(
    "SELECT event_id, position, system, element, record, value, value_norm "
    "FROM hop_inputs WHERE event_id IN :ids ORDER BY event_id, position"
).bindparams(bindparam("ids", expanding=True))


def events_by_id(conn: Connection, event_ids: Iterable[str]) -> dict[str, EventRow]:
    """The stored events with these ids (unknown ids are left out)."""
    found: dict[str, EventRow] = {}
    ids = sorted(set(event_ids))
    for chunk in _chunks(ids):
        rows = conn.execute(_EVENTS_BY_ID, {"ids": list(chunk)})
        for row in rows:
            found[row.event_id] = EventRow.from_row(row)
    return found


def inputs_of(conn: Connection, hop_ids: Iterable[str]) -> dict[str, list[InputRow]]:
    """Each hop's inputs in order, by hop event id."""
    found: dict[str, list[InputRow]] = {}
    ids = sorted(set(hop_ids))
    for chunk in _chunks(ids):
        rows = conn.execute(_INPUTS_OF, {"ids": list(chunk)})
        for row in rows:
            found.setdefault(row.event_id, []).append(
                InputRow(
                    row.event_id,
                    int(row.position),
                    row.system,
                    row.element,
                    row.record,
                    row.value,
                    row.value_norm,
                )
            )
    return found


_VERSION_BREAK_BEFORE = text(
    "SELECT e.at, e.seq FROM events e "  # noqa: S608
    "WHERE e.system = :system AND e.element = :element AND e.record = :record "
    "AND (e.at < :at OR (e.at = :at AND e.seq < :seq)) "
    "AND COALESCE(e.value_norm, :null) <> COALESCE(:norm, :null) "
    f"AND {_LIVE.format(e='e')} "
    "ORDER BY e.at DESC, e.seq DESC LIMIT 1"
)
_FIRST_AFTER = text(
    f"SELECT {_EVENT_COLUMNS} FROM events e "  # noqa: S608
    "WHERE e.system = :system AND e.element = :element AND e.record = :record "
    "AND (e.at > :at OR (e.at = :at AND e.seq > :seq)) "
    f"AND {_LIVE.format(e='e')} "
    "ORDER BY e.at, e.seq LIMIT 1"
)


def version_start(conn: Connection, row: EventRow, *, horizon: int | None = None) -> EventRow:
    """The first event of the unbroken run of equal values at ``row``'s place ending in ``row``.

    A value re-delivered or re-observed unchanged is one version; it began when the place
    last changed to it.
    """
    params = {
        "system": row.system,
        "element": row.element,
        "record": row.record,
        "at": row.at,
        "seq": row.seq,
        "norm": row.value_norm,
        "null": _NULL,
        "horizon": _horizon(horizon),
    }
    change = conn.execute(_VERSION_BREAK_BEFORE, params).first()
    if change is None:
        params.update(at=-FOREVER, seq=-1)
    else:
        params.update(at=int(change.at), seq=int(change.seq))
    first = conn.execute(_FIRST_AFTER, params).first()
    return EventRow.from_row(first) if first is not None else row


_P = (
    "seq", "event_id", "kind", "at", "system", "element", "record", "value", "value_norm",
    "integration", "declared", "transform", "expected_norm", "verified", "status", "error",
    "actor",
)  # fmt: skip
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
_NO_INPUT = """CAST(NULL AS VARCHAR), CAST(NULL AS INTEGER), CAST(NULL AS VARCHAR),
           CAST(NULL AS VARCHAR), CAST(NULL AS VARCHAR), CAST(NULL AS TEXT), CAST(NULL AS TEXT)"""
_STEP_INPUT = """w.p_event_id, COALESCE(i.position, -1), i.system, i.element, i.record, i.value,
           i.value_norm"""
_STEP_FROM = """FROM walk w
    LEFT JOIN hop_inputs i ON w.p_kind = 'hop' AND i.event_id = w.p_event_id"""
_PREDECESSOR = f"""WHERE e.system = COALESCE(i.system, w.p_system)
          AND e.element = COALESCE(i.element, w.p_element)
          AND e.record = COALESCE(i.record, w.p_record)
          AND e.at <= w.p_at AND e.seq <> w.p_seq
          AND (w.p_kind = 'hop' OR e.kind <> 'snapshot')
          AND {_LIVE.format(e="e")}
        ORDER BY e.at DESC, e.seq DESC LIMIT 1"""
_CURRENT = f"""WHERE s.system = :system AND s.element = :element AND s.record = :record
          AND s.at <= :horizon AND {_LIVE.format(e="s")}
        ORDER BY s.at DESC, s.seq DESC LIMIT 1"""
_WALK_COLUMNS = "child, position, in_system, in_element, in_record, in_value, in_norm"

_TRACE_SQLITE = f"""
WITH RECURSIVE walk({_WALK_COLUMNS},
                    {_WALK_P}) AS (
    SELECT {_NO_INPUT},
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
    SELECT {_NO_INPUT},
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
        "horizon": _horizon(horizon),
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
      AND c.at <= :horizon AND {_LIVE.format(e="c")}
    ORDER BY c.at DESC, c.seq DESC LIMIT 1
), brk AS (
    SELECT b.seq, b.at FROM events b, cur
    WHERE b.system = :system AND b.element = :element AND b.record = :record
      AND b.at <= cur.at AND (b.at < cur.at OR b.seq < cur.seq)
      AND COALESCE(b.value_norm, :null) <> COALESCE(cur.value_norm, :null)
      AND {_LIVE.format(e="b")}
    ORDER BY b.at DESC, b.seq DESC LIMIT 1
), start AS (
    SELECT f.seq FROM events f
    WHERE f.system = :system AND f.element = :element AND f.record = :record
      AND f.at >= COALESCE((SELECT at FROM brk), :never)
      AND (f.at > COALESCE((SELECT at FROM brk), :never) OR f.seq > (SELECT seq FROM brk))
      AND {_LIVE.format(e="f")}
    ORDER BY f.at, f.seq LIMIT 1
), reach(via, position, until, {_REACH_H}) AS (
    SELECT CAST(NULL AS VARCHAR), CAST(NULL AS INTEGER), CAST(:forever AS BIGINT),
           {_COLUMNS_OF["e"]}
    FROM events e WHERE e.seq = (SELECT seq FROM start)
  UNION
    SELECT r.h_event_id, i.position, COALESCE((
               SELECT MIN(e.at) FROM events e
               WHERE e.system = h.system AND e.element = h.element AND e.record = h.record
                 AND e.at > h.at
                 AND COALESCE(e.value_norm, :null) <> COALESCE(h.value_norm, :null)
                 AND {_LIVE.format(e="e")}), :forever),
           {_COLUMNS_OF["h"]}
    FROM reach r
    JOIN hop_inputs i
      ON i.system = r.h_system AND i.element = r.h_element AND i.record = r.h_record
    JOIN events h ON {{hop_join}}
    WHERE COALESCE(i.value_norm, :null) = COALESCE(r.h_value_norm, :null)
      AND h.at >= r.h_at AND h.at < r.until AND h.at <= :horizon
      AND {_LIVE.format(e="h")}
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
    dialect: _IMPACT_TEMPLATE.replace("{hop_join}", join) for dialect, join in _HOP_JOIN.items()
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
        "forever": FOREVER, "never": -FOREVER, "horizon": _horizon(horizon), "null": _NULL,
    }  # fmt: skip


_DOWNSTREAM = text(
    "SELECT i.position AS in_position, i.value AS in_value, i.value_norm AS in_norm, "  # noqa: S608
    f"{_EVENT_COLUMNS} FROM hop_inputs i JOIN events e ON e.event_id = i.event_id "
    "WHERE i.system = :system AND i.element = :element AND i.record = :record "
    "AND e.at >= :since AND e.at < :until AND e.at <= :horizon "
    f"AND {_LIVE.format(e='e')} ORDER BY e.at, e.seq, i.position"
)


def downstream_hops(
    conn: Connection,
    place: PlaceLike,
    *,
    since: int,
    until: int | None = None,
    horizon: int | None = None,
) -> list[tuple[InputRow, EventRow]]:
    """The hops that read ``place`` with ``since <= at < until`` (and ``at <= horizon``).

    Returns each matching input with the hop's event, oldest first; failed hops are left out.
    """
    rows = conn.execute(
        _DOWNSTREAM,
        {
            "system": place.system,
            "element": place.element,
            "record": place.record,
            "since": since,
            "until": FOREVER if until is None else until,
            "horizon": _horizon(horizon),
        },
    )
    found = []
    for row in rows:
        hop = EventRow.from_row(row)
        found.append(
            (
                InputRow(
                    hop.event_id,
                    int(row.in_position),
                    place.system,
                    place.element,
                    place.record,
                    row.in_value,
                    row.in_norm,
                ),
                hop,
            )
        )
    return found
