"""The fast path under the event writer: rows written by the driver, not row by row.

:class:`Sink` writes the rows :class:`~lineage.store.rows.RowMaker` makes through the raw
DB-API connection, with no per-row SQLAlchemy work:

- SQLite: ``executemany`` of ``INSERT ... ON CONFLICT (event_id) DO NOTHING`` in a
  ``BEGIN IMMEDIATE`` transaction (the write lock is taken before the known ids are read, so
  two writers never both see an id as new);
- PostgreSQL: ``COPY ... FROM STDIN (FORMAT BINARY)`` (psycopg 3; the column types read from
  the schema), in a transaction that first takes an
  advisory lock shared by every lineage writer; a unique violation on ``event_id`` (a writer
  that did not take the lock) rolls the batch back so the writer retries it as known ids.

A first load into an empty store may drop the secondary indexes of ``events`` and
``hop_inputs`` and the trigram index of record keys, and build them again at the end, all in
one transaction: a crash or an error rolls the drop back with the rows, so the store never
stays without its indexes (:func:`load_plan`). Kept up row by row, the trigram index cost
more than everything else a load writes: SQLite's FTS5 trigger took 11-14 s of a
105,000-event load whose rows took 2 s, where rebuilding the index at the end takes 0.5 s
(since migration 0015 SQLite's is caught up a tail at a time by every write,
:mod:`lineage.store.search`, and rebuilt after a first load). On
PostgreSQL that transaction also ends with ``ANALYZE`` of the tables it filled: the
judgement that follows the load would otherwise be planned for empty tables (a 20,000-event
load's judgement took 32 s instead of 0.3 s).
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import BigInteger, Boolean, Dialect, Index, Integer, String, Table
from sqlalchemy.schema import CreateIndex

from ..rules import recorded_status, status_key
from . import search
from .database import Store, milliseconds
from .rows import EVENT_COLUMNS
from .schema import events, hop_inputs, metadata

#: Key of the PostgreSQL advisory lock every lineage writer holds while it writes a batch.
WRITER_LOCK = 0x6C696E656167  # "lineag"
#: Bound the wait for that lock and the idle time in the transaction, then take the lock.
WRITER_LOCKED = """
SELECT set_config('lock_timeout', %s, true),
       set_config('idle_in_transaction_session_timeout', %s, true),
       pg_advisory_xact_lock(%s)
"""


class RaceLostError(Exception):
    """Another writer stored one of the batch's new ids first: retry the batch as known ids."""


@dataclass(slots=True)
class Known:
    """An event id already stored: its content, and for a hop every (status, time) recorded."""

    digest: str
    at: int
    kind: str
    status: str | None
    history: set[tuple[str, int]] = field(default_factory=set)


class SeenIds:
    """Which event ids a bulk load into an empty store has written: a Bloom filter.

    "Not seen" is certain, so those ids need no lookup in the database; "maybe seen" (the
    ids the load really wrote, plus about one in a thousand others up to a few million ids)
    are looked up. Eight megabytes, whatever the size of the load.
    """

    BITS = 1 << 26

    def __init__(self) -> None:
        self._bits = bytearray(self.BITS >> 3)

    def admit(self, ids: Iterable[str]) -> list[str]:
        """The ids among ``ids`` that may have been added before; the others are added.

        One pass over the ids: an id that may have been seen has its bits set already, and
        every other one is added now (in a load, an id not stored yet is stored by the batch
        that asks, or the load is rolled back with the filter).
        """
        bits = self._bits
        mask = self.BITS - 1
        found = []
        for eid in ids:
            code = hash(eid)
            low = code & mask
            high = (code >> 32) & mask
            low_byte, low_bit = low >> 3, 1 << (low & 7)
            high_byte, high_bit = high >> 3, 1 << (high & 7)
            if bits[low_byte] & low_bit and bits[high_byte] & high_bit:
                found.append(eid)
            else:
                bits[low_byte] |= low_bit
                bits[high_byte] |= high_bit
        return found


#: The tables a load fills, whose planner statistics :meth:`Sink.analyze` refreshes.
LOADED_TABLES = ("events", "hop_inputs", "hop_status")


def secondary_indexes() -> list[Index]:
    """The non-unique indexes of ``events`` and ``hop_inputs``, as the schema declares them."""
    tables: tuple[Table, ...] = (events, hop_inputs)
    found = [ix for table in tables for ix in table.indexes if not ix.unique]
    return sorted(found, key=lambda ix: str(ix.name))


#: The trigram index of record keys (migration 0011), as each backend keeps it: what to look
#: for, how to drop it, and how to build it again from what the lookup found.
_POSTGRESQL_TRIGRAM_INDEX = (
    "SELECT indexdef FROM pg_indexes WHERE tablename = 'events' "
    "AND indexname = 'ix_events_record_trigrams' AND schemaname = current_schema()"
)


def load_plan(
    dialect: Dialect, query: Callable[[str], Sequence[Any]]
) -> tuple[list[str], list[str]]:
    """What a bulk load into an empty store drops first and builds at the end: (drop
    statements, build statements), in order.

    The secondary indexes of ``events`` and ``hop_inputs`` as the schema declares them, and
    the trigram index of record keys when the store has one (``query`` runs a statement on
    the load's connection and returns its rows): on SQLite the FTS5 table stays, and FTS5's
    ``rebuild`` fills it from ``events`` at the end (its mark moved to the last event: see
    :mod:`lineage.store.search`), on PostgreSQL the GIN index goes and is built again from
    its own definition.
    """
    indexes = secondary_indexes()
    drops = [f"DROP INDEX IF EXISTS {index.name}" for index in indexes]
    builds = [str(CreateIndex(index).compile(dialect=dialect)) for index in indexes]
    if dialect.name == "sqlite":
        if query(search.HAS_INDEX):
            builds += search.REBUILD
    elif dialect.name == "postgresql":
        found = query(_POSTGRESQL_TRIGRAM_INDEX)
        if found:
            drops.append("DROP INDEX ix_events_record_trigrams")
            builds.append(str(found[0][0]))
    return drops, builds


@functools.cache
def binary_copy_types(table: str, columns: tuple[str, ...]) -> tuple[str, ...]:
    """The PostgreSQL type of each of ``columns`` of ``table``, as a binary ``COPY`` sends
    it (a binary row carries no type: each value must be sent as its column's own)."""
    found = []
    for name in columns:
        kind = metadata.tables[table].c[name].type
        if isinstance(kind, Boolean):
            found.append("bool")
        elif isinstance(kind, BigInteger):  # before Integer, which it is a kind of
            found.append("int8")
        elif isinstance(kind, Integer):
            found.append("int4")
        elif isinstance(kind, String):  # and Text
            found.append("text")
        else:
            raise TypeError(f"no binary COPY type for {table}.{name} ({kind!r})")
    return tuple(found)


def _placeholders(count: int, mark: str) -> str:
    return ", ".join([mark] * count)


class Sink:
    """Writes prepared rows through one raw DB-API connection, one transaction at a time.

    Use :func:`open_sink`; call :meth:`begin`, then the lookups and inserts, then
    :meth:`commit` or :meth:`rollback`, and :meth:`close` at the end.
    """

    def __init__(self, store: Store) -> None:
        self.store = store
        self.dialect = store.dialect
        self._conn: Any = store.engine.raw_connection()
        self._dropped: list[str] = []  # what restore_indexes builds

    @property
    def driver(self) -> Any:
        """The driver's own connection (sqlite3 or psycopg)."""
        return self._conn.driver_connection

    def begin(self) -> None:
        raise NotImplementedError

    def commit(self) -> None:
        self._dropped = []
        self._conn.commit()

    def rollback(self) -> None:
        self._dropped = []
        self._conn.rollback()

    def close(self) -> None:
        self._conn.close()

    def _query(self, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        cursor = self._conn.cursor()
        try:
            cursor.execute(sql, params)
            return list(cursor.fetchall())
        finally:
            cursor.close()

    def _execute(self, sql: str) -> None:
        cursor = self._conn.cursor()
        try:
            cursor.execute(sql)
        finally:
            cursor.close()

    def is_empty(self) -> bool:
        """True when the store holds no event yet."""
        return not self._query("SELECT 1 FROM events LIMIT 1")

    def drop_secondary_indexes(self) -> None:
        """Drop the secondary indexes for a bulk load (:func:`load_plan`);
        :meth:`restore_indexes` builds them."""
        drops, builds = load_plan(self.store.engine.dialect, self._query)
        for statement in drops:
            self._execute(statement)
        self._dropped = builds

    def restore_indexes(self) -> None:
        """Build the indexes :meth:`drop_secondary_indexes` dropped (same transaction)."""
        if self._dropped:
            self._prepare_index_build()
        for statement in self._dropped:
            self._execute(statement)
        self._dropped = []

    def _prepare_index_build(self) -> None:
        """Backend settings for building indexes on a whole table."""

    def analyze(self) -> None:
        """Refresh the planner's statistics of :data:`LOADED_TABLES` after a first load.

        Nothing on SQLite: its planner does without them here (the judgement after a
        100,000-event load took as long with ``ANALYZE`` as without).
        """

    def _id_rows(self, ids: Sequence[str]) -> tuple[list[Any], list[Any]]:
        raise NotImplementedError

    def known(self, ids: Iterable[str]) -> dict[str, Known]:
        """The ids among ``ids`` already stored, each with its content and status history."""
        wanted = list(ids)
        if not wanted:
            return {}
        event_rows, status_rows = self._id_rows(wanted)
        known: dict[str, Known] = {}
        own: dict[str, int] = {}  # the time of the status each hop arrived with
        for eid, digest, at, kind, status, status_at in event_rows:
            entry = known[eid] = Known(digest, int(at), kind, status)
            own[eid] = int(at if status_at is None else status_at)
            if kind == "hop":
                entry.history.add((recorded_status(status), own[eid]))
        best: dict[str, tuple[int, int, int]] = {}
        for order, (eid, status, at) in enumerate(status_rows):  # in recording order
            entry = known[eid]
            entry.history.add((status, int(at)))
            # current: the greatest in the rules' order (lineage.rules.status_key), the
            # status the hop arrived with first
            if eid not in best:
                best[eid] = status_key(recorded_status(entry.status), own[eid], -1)
            key = status_key(status, int(at), order)
            if key > best[eid]:
                entry.status = status
                best[eid] = key
        return known

    def insert_events(self, rows: Sequence[tuple[Any, ...]]) -> None:
        """Insert new events; :class:`RaceLostError` when one of their ids is stored already."""
        raise NotImplementedError

    def insert_rows(self, table: str, columns: Sequence[str], rows: Sequence[Any]) -> None:
        raise NotImplementedError

    def mark_status_updated(self, event_ids: Collection[str]) -> None:
        """Flag the hops ``event_ids`` as having rows in ``hop_status`` (``status_updated``)."""
        raise NotImplementedError

    def move_hop_times(self, moved: Mapping[str, int]) -> None:
        """Date hops back to a status that arrived late but happened earlier (hop id -> its
        time): ``at`` becomes it, and ``status_at`` keeps the time of the status each hop
        arrived with (set once: the first move keeps the arrival's time)."""
        if moved:
            cursor = self._conn.cursor()
            try:
                cursor.executemany(self._MOVE, [(at, eid, at) for eid, at in sorted(moved.items())])
            finally:
                cursor.close()

    _MOVE = ""


class SQLiteSink(Sink):
    """SQLite through :mod:`sqlite3`: ``executemany``, in ``BEGIN IMMEDIATE`` transactions."""

    def begin(self) -> None:
        # IMMEDIATE takes the write lock now (waiting up to busy_timeout for another writer),
        # so what the known-id lookup reads cannot change before the insert.
        self._execute("BEGIN IMMEDIATE")

    def commit(self) -> None:
        # the trigram index of record keys catches up with a long enough tail, in the
        # transaction that made it long (lineage.store.search)
        if self._query(search.HAS_INDEX) and (
            self._query(search.TAIL_LENGTH)[0][0] >= search.SEARCH_TAIL
        ):
            for statement in search.CATCH_UP:
                self._execute(statement)
        super().commit()

    _MOVE = (
        "UPDATE events SET status_at = COALESCE(status_at, at), at = ? "
        "WHERE event_id = ? AND at > ?"
    )

    def _id_rows(self, ids: Sequence[str]) -> tuple[list[Any], list[Any]]:
        document = json.dumps(ids)
        event_rows = self._query(
            "SELECT event_id, digest, at, kind, status, status_at FROM events "
            "WHERE event_id IN (SELECT value FROM json_each(?))",
            (document,),
        )
        status_rows: list[Any] = []
        hops = [row[0] for row in event_rows if row[3] == "hop"]
        if hops:
            status_rows = self._query(
                "SELECT event_id, status, at FROM hop_status "
                "WHERE event_id IN (SELECT value FROM json_each(?)) ORDER BY seq",
                (json.dumps(hops),),
            )
        return event_rows, status_rows

    def insert_events(self, rows: Sequence[tuple[Any, ...]]) -> None:
        if not rows:
            return
        # the rows this statement inserted: rowcount leaves out what triggers write (the
        # record keys' trigram index, migration 0011), total_changes would count it
        inserted = self.driver.executemany(
            f"INSERT INTO events ({', '.join(EVENT_COLUMNS)}) "  # noqa: S608 - constant columns
            f"VALUES ({_placeholders(len(EVENT_COLUMNS), '?')}) "
            "ON CONFLICT (event_id) DO NOTHING",
            rows,
        ).rowcount
        if inserted != len(rows):
            raise RaceLostError

    def insert_rows(self, table: str, columns: Sequence[str], rows: Sequence[Any]) -> None:
        if rows:
            self.driver.executemany(
                f"INSERT INTO {table} ({', '.join(columns)}) "  # noqa: S608 - constant names
                f"VALUES ({_placeholders(len(columns), '?')})",
                rows,
            )

    def mark_status_updated(self, event_ids: Collection[str]) -> None:
        if event_ids:
            self._query(
                "UPDATE events SET status_updated = 1 WHERE status_updated IS NOT 1 "
                "AND event_id IN (SELECT value FROM json_each(?))",
                (json.dumps(sorted(event_ids)),),
            )


class PostgresSink(Sink):
    """PostgreSQL through psycopg 3: ``COPY ... FROM STDIN`` under the writers' advisory lock."""

    def begin(self) -> None:
        # Every lineage writer holds this lock while it writes, so the known-id lookup and the
        # inserts of one batch see no other writer's rows appear in between. It waits at most
        # the busy timeout, and the server ends the transaction if it idles that long (its
        # writer was killed but the connection lingers): no lock outlives its writer.
        wait = f"{milliseconds(self.store.busy_timeout)}ms"
        self._query(WRITER_LOCKED, (wait, wait, WRITER_LOCK))

    def _prepare_index_build(self) -> None:
        # Sorting a million keys in memory rather than in temporary files; for this
        # transaction only.
        self._execute("SET LOCAL maintenance_work_mem = '256MB'")

    def analyze(self) -> None:
        # In the load's own transaction, which ANALYZE samples: the statistics are committed
        # with the rows. Without them the planner takes the filled tables for empty ones and
        # picks nested loops over them for the judgement that follows the load.
        self._execute(f"ANALYZE {', '.join(LOADED_TABLES)}")

    _MOVE = (
        "UPDATE events SET status_at = COALESCE(status_at, at), at = %s "
        "WHERE event_id = %s AND at > %s"
    )

    def _id_rows(self, ids: Sequence[str]) -> tuple[list[Any], list[Any]]:
        event_rows = self._query(
            "SELECT event_id, digest, at, kind, status, status_at FROM events "
            "WHERE event_id = ANY(%s)",
            (list(ids),),
        )
        status_rows: list[Any] = []
        hops = [row[0] for row in event_rows if row[3] == "hop"]
        if hops:
            status_rows = self._query(
                "SELECT event_id, status, at FROM hop_status WHERE event_id = ANY(%s) ORDER BY seq",
                (hops,),
            )
        return event_rows, status_rows

    def insert_events(self, rows: Sequence[tuple[Any, ...]]) -> None:
        import psycopg.errors  # noqa: PLC0415 - psycopg is needed for PostgreSQL only

        try:
            self.insert_rows("events", EVENT_COLUMNS, rows)
        except psycopg.errors.UniqueViolation as exc:
            raise RaceLostError from exc

    def insert_rows(self, table: str, columns: Sequence[str], rows: Sequence[Any]) -> None:
        if not rows:
            return
        # Binary: the client sends each value as it is, the server parses no text (half the
        # client's CPU of a text COPY of the events)
        types = binary_copy_types(table, tuple(columns))
        statement = f"COPY {table} ({', '.join(columns)}) FROM STDIN (FORMAT BINARY)"
        with self.driver.cursor() as cursor, cursor.copy(statement) as copy:
            copy.set_types(types)
            write = copy.write_row
            for row in rows:
                write(row)

    def mark_status_updated(self, event_ids: Collection[str]) -> None:
        if event_ids:
            with self.driver.cursor() as cursor:
                cursor.execute(
                    "UPDATE events SET status_updated = TRUE "
                    "WHERE event_id = ANY(%s) AND status_updated IS NOT TRUE",
                    (sorted(event_ids),),
                )


def open_sink(store: Store) -> Sink:
    """A sink for ``store``'s backend (SQLite or PostgreSQL)."""
    if store.dialect == "postgresql":
        return PostgresSink(store)
    return SQLiteSink(store)
