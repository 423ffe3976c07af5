"""What the detectors' statements share: the as-of view of hop statuses, the per-scan
temporary tables (failed hops, the scope's keys), look-ups of what a place held.

Two rules hold in every detector (the same as in :mod:`lineage.store.queries`):

- "Latest" means the greatest ``(at, seq)``: among events at the same moment the one recorded
  last wins. Events after the scan's ``as_of`` do not exist.
- A hop's status as of ``as_of`` is :func:`lineage.store.status.status_sql` (the rules'
  order: event time, then arrival). A hop whose status is ``failed`` never left its value
  anywhere: it explains nothing and is skipped when asking what a place held. This is the
  live-hop predicate of every detector: :data:`FAILED` holds the failed hops of the scan,
  and :func:`holds_value` is "a hop counts unless it failed by the moment judged".

A scoped judgement (:mod:`lineage.detect.scope`) puts the scope's keys in two more temporary
tables, :data:`SCOPE_PLACES` and :data:`SCOPE_EVENTS`, that the detectors' statements join
through the events' indexes: a scoped statement reads what the batch touched, not the store.
Its :data:`FAILED` holds only the failed hops among those its statements can ask about.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from sqlalchemy import (
    BigInteger,
    Column,
    ColumnElement,
    Connection,
    MetaData,
    Row,
    Select,
    Table,
    and_,
    bindparam,
    case,
    literal_column,
    not_,
    select,
    text,
    tuple_,
)
from sqlalchemy.schema import CreateTable, DropTable
from sqlalchemy.sql.expression import FromClause

from ..database import SQLITE_CACHE_KIB
from ..queries import UNCACHED, values_list
from ..schema import KEY, events, hop_inputs
from ..status import failed_sql, may_fail_sql, own_sql

STREAM_BATCH = 2000
"""Rows fetched at a time from a streamed query (a server-side cursor on PostgreSQL)."""

# Fixed literals (never user values) so that the partial indexes' predicates match the
# queries' terms exactly, bound parameters would not.
HOP: ColumnElement[str] = literal_column("'hop'")
WRITE: ColumnElement[str] = literal_column("'write'")
SNAPSHOT: ColumnElement[str] = literal_column("'snapshot'")

_temporary = MetaData()

FAILED_TABLE = Table(
    "lineage_scan_failed_hops",
    _temporary,
    Column("seq", BigInteger, primary_key=True, autoincrement=False),
    prefixes=["TEMPORARY"],
    postgresql_on_commit="DELETE ROWS",
)
"""A temporary table (one connection, one scan) of the hops failed as of the scan.

Sequence numbers rather than ids, because ``seq`` is in every index of ``events`` (SQLite's
rowid): checking a candidate against this set needs no look-up in the table. A subquery in
its place would be evaluated again inside every correlated look-up on PostgreSQL.
"""

SCOPE_PLACES = Table(
    "lineage_scan_scope_places",
    _temporary,
    Column("system", KEY, primary_key=True),  # compared as the events' keys (migration 0019)
    Column("element", KEY, primary_key=True),
    Column("record", KEY, primary_key=True),
    prefixes=["TEMPORARY"],
    postgresql_on_commit="DELETE ROWS",
)
"""The places a scoped scan judges (:attr:`lineage.detect.scope.Scope.places`)."""

SCOPE_EVENTS = Table(
    "lineage_scan_scope_events",
    _temporary,
    Column("event_id", KEY, primary_key=True),
    prefixes=["TEMPORARY"],
    postgresql_on_commit="DELETE ROWS",
)
"""The events a scoped scan judges (:attr:`lineage.detect.scope.Scope.events`)."""

FAILED: Select[Any] = select(FAILED_TABLE.c.seq)
"""The ``seq`` of every hop failed as of the scan (after :func:`prepare`)."""

_TABLES = (FAILED_TABLE, SCOPE_PLACES, SCOPE_EVENTS)


def prepare(
    conn: Connection,
    as_of: int,
    *,
    places: Iterable[tuple[str, str, str]] | None = None,
    event_ids: Iterable[str] | None = None,
) -> None:
    """Fill this scan's temporary tables: the failed hops, and the scope's keys when given.

    Run first thing on a fresh connection (plain cursors run DDL). On SQLite the tables are
    made here and :func:`release` drops them. On PostgreSQL they are the connection's own,
    made by its first scan and emptied by every commit (``ON COMMIT DELETE ROWS``): made
    and dropped by every judgement, they cost about 3 ms of a 1,000-event batch's, left dead
    rows in the system catalogs under a stream of judgements, and their ``DROP`` cleared
    psycopg's prepared statements.
    """
    scoped = places is not None and event_ids is not None
    if conn.dialect.name == "postgresql":
        conn.execute(_PROBE_SETTINGS if scoped else _CUSTOM_PLANS)
        if conn.execute(_MISSING).scalar_one():  # once a connection (or after a rollback)
            for table in _TABLES:
                conn.execute(CreateTable(table, if_not_exists=True))
    else:
        for table in _TABLES:
            conn.execute(DropTable(table, if_exists=True))
        conn.execute(CreateTable(FAILED_TABLE))
    if places is None or event_ids is None:
        conn.execute(_FAILED_HOPS, {"horizon": as_of})
        return
    if conn.dialect.name != "postgresql":
        conn.execute(CreateTable(SCOPE_PLACES))
        conn.execute(CreateTable(SCOPE_EVENTS))
    keys, ids = sorted(places), sorted(event_ids)
    dialect = "postgresql" if conn.dialect.name == "postgresql" else "sqlite"
    conn.execute(_FILL_SCOPE[dialect, "places"], {"keys": json.dumps(keys)})
    conn.execute(_FILL_SCOPE[dialect, "events"], {"ids": json.dumps(ids)})
    if conn.dialect.name == "postgresql":  # sizes for the planner: drive from the scope
        conn.execute(_ANALYZE_SCOPE)
    conn.execute(_SCOPED_FAILED, {"horizon": as_of})
    if conn.dialect.name == "postgresql":
        # and the failed hops' (a few): unanalyzed, the planner priced the probe of every
        # hop by id as dear as a scan and read every event for the scope's hops (broken-chain
        # at 1M events: 0.30 s of a 1,000-event batch's judgement, now a few ms)
        conn.execute(_ANALYZE_FAILED)


# whether any of the connection's scan tables is missing (PostgreSQL), in one round trip
_MISSING = text(
    "SELECT " + " OR ".join(f"to_regclass('pg_temp.{table.name}') IS NULL" for table in _TABLES)
)

# The scope's keys go in as one JSON parameter, one statement a table: row by row, the
# driver sent a statement a key (a 5,000-event scope on PostgreSQL: about 0.3 s); as text
# arrays, psycopg quoted each string apart (10 batches of 1,007 events: 0.2 s of the
# judgement's 2 s), where json.dumps and the server's JSON parser do it in C.
_FILL_SCOPE = {
    ("postgresql", "places"): text(
        "INSERT INTO lineage_scan_scope_places (system, element, record) "
        "SELECT v ->> 0, v ->> 1, v ->> 2 FROM jsonb_array_elements(CAST(:keys AS jsonb)) AS v"
    ),
    ("postgresql", "events"): text(
        "INSERT INTO lineage_scan_scope_events (event_id) "
        "SELECT jsonb_array_elements_text(CAST(:ids AS jsonb))"
    ),
    ("sqlite", "places"): text(
        "INSERT INTO lineage_scan_scope_places (system, element, record) "
        "SELECT value ->> 0, value ->> 1, value ->> 2 FROM json_each(:keys)"
    ),
    ("sqlite", "events"): text(
        "INSERT INTO lineage_scan_scope_events (event_id) SELECT value FROM json_each(:ids)"
    ),
}

_ANALYZE_SCOPE = text("ANALYZE lineage_scan_scope_places, lineage_scan_scope_events")
_ANALYZE_FAILED = text("ANALYZE lineage_scan_failed_hops")

# A scoped scan's planner settings (probe_planner), for its transaction only, in one round trip:
#
# - no JIT: its statements are index probes from a batch's keys, but the planner costs its
#   recursive walks high enough to compile them (jit_above_cost): compiling took longer than
#   running (the walk linking a 1,000-event batch's keys at 1M events: 0.49-0.76 s with JIT,
#   0.08-0.11 s without). A full scan keeps the setting.
# - no bitmap scans, so never the trigram index of record keys (ix_events_record_trigrams, a
#   GIN index that record search reads): pg_trgm answers a record's equality too, and the
#   planner prices that probe as cheap as a B-tree's, but every key of the store shares its
#   trigrams, so each probe read thousands of pages (the failed hops of a 5,000-event scope
#   at 1M events: 74 s, and as long for untraced-value; 0.06 s through
#   ix_events_system_record). A GIN index is read only by bitmap scans: without them, the
#   scope's statements probe the B-tree indexes row by row, as they are written to.
# - a probe of a cached index page priced about as a page read in order: at the default
#   random_page_cost (4, a spinning disk's) the planner read the whole events table three
#   times by hash joins for a 20,000-event scope (the failed hops: 2.2 s at 1M events, 0.33 s
#   by index probes).
# - custom plans (_CUSTOM_PLANS, which every scan sets).
_PROBE_SETTINGS = text(
    "SELECT set_config('jit', 'off', true), set_config('enable_bitmapscan', 'off', true), "
    "set_config('random_page_cost', '1.1', true), "
    "set_config('plan_cache_mode', 'force_custom_plan', true)"
)

# psycopg prepares a statement a connection has run five times, and PostgreSQL may then plan
# it once for any parameters (a generic plan, which guesses a third of the events are before
# the moment judged): a scan's statements are planned for the moment and keys they are given,
# as they were when every scan's DROP TABLE cleared psycopg's prepared statements.
_CUSTOM_PLANS = text("SELECT set_config('plan_cache_mode', 'force_custom_plan', true)")

# the setting before, read (in the CTE, first) as bitmap scans are allowed: one round trip
_ALLOW_BITMAP = text(
    "WITH w AS MATERIALIZED (SELECT current_setting('enable_bitmapscan') AS was) "
    "SELECT w.was, set_config('enable_bitmapscan', 'on', true) FROM w"
)
_SET_BITMAP = text("SELECT set_config('enable_bitmapscan', :on, true)")


@contextmanager
def bitmap_scans(conn: Connection) -> Iterator[None]:
    """Bitmap scans allowed again (PostgreSQL) for a statement that counts a whole index range
    rather than probing the scope's keys: without them, the planner read an element's writes
    in every system by a parallel scan of the table (competing-origin, 0.19 s an element at 1M
    events, against 0.3 ms through ix_events_element_system)."""
    if conn.dialect.name != "postgresql":
        yield
        return
    was = conn.execute(_ALLOW_BITMAP).scalar_one()
    try:
        yield
    finally:
        conn.execute(_SET_BITMAP, {"on": was})


# The failed hops a scoped judgement can ask about: the hops that left a value at one of the
# scope's places, those that read one, and the scope's own; each judged by the store's one
# status rule (status.failed_sql). The scope's places include every place its hops read, so
# this is every hop whose liveness a scoped statement looks up, found through the place and
# id indexes, never the whole store. Each scope table is an IN list: both planners drive the
# index look-ups from it (joined, SQLite read the events table whole and probed the scope).
# (each branch keeps only the hops that can be failed at all, from their own row, before the
# union: the rest, nearly every hop of a batch, were deduplicated and judged for nothing)
_SCOPED_FAILED = text(
    "INSERT INTO lineage_scan_failed_hops (seq) "  # noqa: S608 - module constants only
    "SELECT c.seq FROM ("
    "SELECT e.seq, e.event_id, e.kind, e.at, e.status, e.status_at, e.status_updated "
    "FROM events e WHERE (e.system, e.element, e.record) IN "
    "(SELECT system, element, record FROM lineage_scan_scope_places) "
    f"AND e.kind = 'hop' AND e.at <= :horizon AND {may_fail_sql('e')} "
    "UNION SELECT e.seq, e.event_id, e.kind, e.at, e.status, e.status_at, e.status_updated "
    "FROM events e WHERE e.event_id IN (SELECT i.event_id FROM hop_inputs i "
    "WHERE (i.system, i.element, i.record) IN "
    "(SELECT system, element, record FROM lineage_scan_scope_places)) AND e.at <= :horizon "
    f"AND {may_fail_sql('e')} "
    "UNION SELECT e.seq, e.event_id, e.kind, e.at, e.status, e.status_at, e.status_updated "
    "FROM events e WHERE e.event_id IN (SELECT event_id FROM lineage_scan_scope_events) "
    f"AND e.kind = 'hop' AND e.at <= :horizon AND {may_fail_sql('e')}"
    f") c WHERE c.kind = 'hop' AND {failed_sql('c')}"
)

# Hops failed as of a full scan: those that arrived undelivered, through the partial index on
# them (its predicate word for word), and those that arrived delivered and have a later
# status by then, through the (small) hop_status table; never the whole event table.
_FAILED_HOPS = text(
    "INSERT INTO lineage_scan_failed_hops (seq) "  # noqa: S608 - module constants only
    "SELECT e.seq FROM events e WHERE e.status != 'delivered' AND e.kind = 'hop' "
    f"AND e.at <= :horizon AND {failed_sql('e')} "
    "UNION ALL SELECT e.seq FROM events e "
    "WHERE e.event_id IN (SELECT hs.event_id FROM hop_status hs WHERE hs.at <= :horizon) "
    f"AND {own_sql('e')} = 'delivered' AND e.kind = 'hop' "
    f"AND e.at <= :horizon AND {failed_sql('e')}"
)


def probe_planner(conn: Connection) -> None:
    """PostgreSQL: a scoped scan's planner settings, for its transaction only (no JIT, no
    bitmap scans, index probes priced as cached, every statement planned for its parameters):
    its statements probe from a batch's keys."""
    if conn.dialect.name == "postgresql":
        conn.execute(_PROBE_SETTINGS)


def release(conn: Connection, *, shrink: bool = False) -> None:
    """Drop what :func:`prepare` created (PostgreSQL drops them at commit itself).

    Args:
        shrink: SQLite: also give back the memory of the connection's page cache. A full
            scan fills it (:data:`~lineage.store.database.SQLITE_CACHE_KIB`) and the
            judgement's reconcile came on top of it: at 1,000,000 events and 64 MiB, 40 MB
            of the judgement's peak. A scoped judgement keeps its cache warm for the next one.
    """
    if conn.dialect.name != "postgresql":
        for table in _TABLES:
            conn.execute(DropTable(table, if_exists=True))
        if shrink:
            conn.exec_driver_sql("PRAGMA shrink_memory")


LANE_CACHE_KIB = 4096
"""The page cache of a full scan's second lane on SQLite (:func:`lane_cache`), in KiB."""


@contextmanager
def lane_cache(conn: Connection) -> Iterator[None]:
    """A small page cache on ``conn`` (SQLite) while a full scan's second lane reads on it.

    Each SQLite connection keeps its own cache (:data:`~lineage.store.database.SQLITE_CACHE_KIB`)
    beside the one the operating system keeps of the file; the second lane's conflicting-truth
    reads the store once through a window and probes places whose index pages a few MiB
    hold, and at 1,000,000 events its full cache was 25 MB of the judgement's peak memory.
    """
    if conn.dialect.name != "sqlite":
        yield
        return
    conn.exec_driver_sql(f"PRAGMA cache_size=-{LANE_CACHE_KIB:d}")
    try:
        yield
    finally:
        conn.exec_driver_sql(f"PRAGMA cache_size=-{SQLITE_CACHE_KIB:d}")


def holds_value(table: FromClause) -> ColumnElement[bool]:
    """Rows of ``table`` (an events alias) that leave a value: writes, snapshots, live hops
    (a hop counts unless it failed by the moment judged)."""
    return not_(table.c.seq.in_(FAILED))


def explains_value(table: FromClause) -> ColumnElement[bool]:
    """Rows that explain a value (writes and live hops; a snapshot only observes)."""
    return and_(table.c.kind != SNAPSHOT, holds_value(table))


def in_scope_places(table: FromClause) -> ColumnElement[bool]:
    """Rows of ``table`` (anything with system, element, record) at a place of the scope.

    A row-value ``IN`` of the (small, analyzed) scope table: both planners drive it from the
    scope's places into the place index of ``table``.
    """
    place = tuple_(table.c.system, table.c.element, table.c.record)
    return place.in_(select(SCOPE_PLACES.c.system, SCOPE_PLACES.c.element, SCOPE_PLACES.c.record))


def in_scope_events(column: ColumnElement[Any]) -> ColumnElement[bool]:
    """``column`` (an event id) is one of the scope's events."""
    return column.in_(select(SCOPE_EVENTS.c.event_id))


AS_OF = bindparam("as_of", type_=BigInteger)
"""The moment judged, as a parameter: a statement built on it once (:func:`built_once`) is
run for every scan with ``{"as_of": moment}``."""


def stream(
    conn: Connection, stmt: Select[Any], params: dict[str, Any] | None = None
) -> Iterator[Row[Any]]:
    """Run ``stmt`` (with ``params``) and yield its rows a batch at a time, never the whole
    result at once."""
    result = conn.execute(stmt.execution_options(yield_per=STREAM_BATCH), params)
    try:
        yield from result
    finally:
        result.close()


def inputs_of(conn: Connection, event_ids: Sequence[str]) -> dict[str, list[dict[str, Any]]]:
    """The inputs of a few hops, by hop id, in position order (for evidence)."""
    found: dict[str, list[dict[str, Any]]] = {}
    for start in range(0, len(event_ids), 500):
        chunk = list(event_ids[start : start + 500])
        rows = conn.execute(
            select(
                hop_inputs.c.event_id,
                hop_inputs.c.system,
                hop_inputs.c.element,
                hop_inputs.c.record,
                hop_inputs.c.value,
            )
            .where(hop_inputs.c.event_id.in_(chunk))
            .order_by(hop_inputs.c.event_id, hop_inputs.c.position)
        )
        for row in rows:
            found.setdefault(row.event_id, []).append(
                {
                    "system": row.system,
                    "element": row.element,
                    "record": row.record,
                    "value": row.value,
                }
            )
    return found


def _holder_terms(
    src: FromClause,
    place: tuple[Any, Any, Any],
    at: Any,
    *,
    explaining: bool,
    exclude_seq: Any = None,
) -> list[ColumnElement[bool]]:
    system, element, record = place
    terms = [
        src.c.system == system,
        src.c.element == element,
        src.c.record == record,
        src.c.at <= at,
        explains_value(src) if explaining else holds_value(src),
    ]
    if exclude_seq is not None:
        terms.append(src.c.seq != exclude_seq)
    return terms


def agrees_with_holder(
    place: tuple[Any, Any, Any],
    at: Any,
    value_norm: Any,
    *,
    explaining: bool = False,
    exclude_seq: Any = None,
    correlate: Sequence[FromClause] = (),
) -> Any:
    """A correlated look-up: 1 when the latest event holding a value at ``place`` at or
    before ``at`` holds ``value_norm``, 0 when it holds another, NULL when there is none.

    One index probe of ``ix_events_place_at`` per row, answered from the index alone on
    SQLite. Returning the verdict rather than the event keeps the look-up to one mention
    (a join back to the event would make PostgreSQL hash the whole table, and SQLite repeat
    the look-up for every mention of a flattened column); the few rows that do not agree
    are detailed afterwards with :func:`holders`.

    Args:
        explaining: consider only writes and live hops (a snapshot only observes).
    """
    src = events.alias("src")
    agrees = case((src.c.value_norm.is_not_distinct_from(value_norm), 1), else_=0)
    return (
        select(agrees)
        .where(*_holder_terms(src, place, at, explaining=explaining, exclude_seq=exclude_seq))
        .order_by(src.c.at.desc(), src.c.seq.desc())
        .limit(1)
        .correlate(*correlate)
        .scalar_subquery()
    )


# The latest event holding a value at each place of a VALUES list at or before its moment,
# the event asking aside (holds_value: not a hop failed as of the scan; {explaining}: not a
# snapshot either): one probe of ix_events_place_at per row.
_HOLDERS = (
    "WITH want(n, system, element, record, at, skip) AS (VALUES {rows}) "
    "SELECT w.n, e.seq, e.event_id, e.kind, e.at, e.value FROM want w "
    "JOIN events e ON e.seq = (SELECT s.seq FROM events s WHERE s.system = w.system "
    "AND s.element = w.element AND s.record = w.record AND s.at <= w.at AND s.seq <> w.skip "
    "AND s.seq NOT IN (SELECT f.seq FROM lineage_scan_failed_hops f){explaining} "
    "ORDER BY s.at DESC, s.seq DESC LIMIT 1)"
)

HOLDERS_BATCH = 500
"""Rows per VALUES list of :func:`holders` (well under every limit on bound parameters)."""


def holders(
    conn: Connection,
    asked: Sequence[tuple[tuple[str, str, str], int, int]],
    *,
    explaining: bool = False,
) -> list[Any]:
    """The latest event holding a value at each ``place`` at or before ``at`` (see
    :func:`agrees_with_holder`), the event ``exclude_seq`` aside: rows ``n, seq, event_id,
    kind, at, value`` in the order of ``asked``, None where nothing held a value. One
    statement per :data:`HOLDERS_BATCH` rows, not one per row.

    Args:
        explaining: consider only writes and live hops (a snapshot only observes).
    """
    only = " AND s.kind <> 'snapshot'" if explaining else ""
    found: list[Any] = [None] * len(asked)
    for start in range(0, len(asked), HOLDERS_BATCH):
        chunk = asked[start : start + HOLDERS_BATCH]
        params: dict[str, Any] = {}
        listed = values_list([(*place, at, skip) for place, at, skip in chunk], params)
        # each VALUES list is a statement of its own: not worth a cache key, nor a cache entry
        query = text(_HOLDERS.format(rows=listed, explaining=only))
        for row in conn.execute(query, params, execution_options=UNCACHED):
            found[start + int(row.n)] = row
    return found
