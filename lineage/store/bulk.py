"""The fast path under the event writer: rows made once per event, written by the driver.

:class:`RowMaker` turns a validated event into the plain tuples the tables take (its id,
content digest, canonical values and the hop's check at entry); :class:`Sink` writes them
through the raw DB-API connection, with no per-row SQLAlchemy work:

- SQLite: ``executemany`` of ``INSERT ... ON CONFLICT (event_id) DO NOTHING`` in a
  ``BEGIN IMMEDIATE`` transaction (the write lock is taken before the known ids are read, so
  two writers never both see an id as new);
- PostgreSQL: ``COPY ... FROM STDIN`` (psycopg 3), in a transaction that first takes an
  advisory lock shared by every lineage writer; a unique violation on ``event_id`` (a writer
  that did not take the lock) rolls the batch back so the writer retries it as known ids.

A first load into an empty store may drop the secondary indexes of ``events`` and
``hop_inputs`` and build them again at the end, all in one transaction: a crash or an error
rolls the drop back with the rows, so the store never stays without its indexes.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Index, Table
from sqlalchemy.schema import CreateIndex

from ..errors import TransformError
from ..model.events import Hop, Snapshot, Write, event_id
from ..model.registry import ElementType, Registry
from ..transforms import TransformCall, normalize, parse_transform
from ..verify import HopVerifier
from .database import Store
from .schema import events, hop_inputs

AnyEvent = Write | Hop | Snapshot

EVENT_COLUMNS = (
    "event_id", "kind", "at", "system", "element", "record", "value", "value_norm",
    "integration", "declared", "transform", "expected_norm", "verified", "status", "error",
    "actor", "digest", "recorded_at",
)  # fmt: skip
INPUT_COLUMNS = ("event_id", "position", "system", "element", "record", "value", "value_norm")
STATUS_COLUMNS = ("event_id", "status", "error", "at", "recorded_at")

#: Key of the PostgreSQL advisory lock every lineage writer holds while it writes a batch.
WRITER_LOCK = 0x6C696E656167  # "lineag"

_STRING = ElementType.STRING
_LOOKUP_CHUNK = 500


class RaceLostError(Exception):
    """Another writer stored one of the batch's new ids first: retry the batch as known ids."""


def _place(value: Any) -> tuple[str, str, str, str | None]:
    return (value.system, value.element, value.record, value.value)


#: Model fields each kind's digest leaves out: the id is the key itself, and a hop's status,
#: error and time are its state, which may change under the same id.
DIGEST_EXCLUDES = {"write": {"id", "at"}, "snapshot": {"id", "at"},
                   "hop": {"id", "at", "status", "error"}}  # fmt: skip

_SEP = "\x1f"  # between fields
_NONE = "\x1e"  # a null field


def _digest(parts: list[str], nones: int) -> str:
    text = _SEP.join(parts)
    # Unambiguous when no field holds a separator and exactly the null fields hold _NONE;
    # otherwise (rare) spell the fields out with repr.
    if text.count(_SEP) != len(parts) - 1 or text.count(_NONE) != nones:
        text = "\x00" + repr(parts)
    return hashlib.blake2b(text.encode(), digest_size=16).hexdigest()


def content_digest(event: AnyEvent) -> str:
    """Hash of what makes an event itself, to tell a re-send from a conflicting reuse of an id.

    It covers every field but those in :data:`DIGEST_EXCLUDES` (the id, the time, and a hop's
    status and error), values exactly as sent.
    """
    none = _NONE
    if isinstance(event, Hop):
        out = event.output
        integration, transform, actor, value = (
            event.integration, event.transform, event.actor, out.value
        )  # fmt: skip
        inputs = event.inputs
        nones = (integration is None) + (transform is None) + (actor is None) + (value is None)
        parts = [
            "hop", none if integration is None else integration,
            none if transform is None else transform, none if actor is None else actor,
            out.system, out.element, out.record, none if value is None else value,
            str(len(inputs)),
        ]  # fmt: skip
        for source in inputs:
            value = source.value
            if value is None:
                nones += 1
                value = none
            parts += (source.system, source.element, source.record, value)
        return _digest(parts, nones)
    extra = event.actor if isinstance(event, Write) else event.source
    value = event.value
    parts = [
        event.kind, event.system, event.element, event.record,
        none if value is None else value, none if extra is None else extra,
    ]  # fmt: skip
    return _digest(parts, (value is None) + (extra is None))


_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
_MICROSECOND = dt.timedelta(microseconds=1)


def micros(moment: dt.datetime) -> int:
    """An aware datetime as integer microseconds since the epoch (as ``schema.to_us``)."""
    return (moment - _EPOCH) // _MICROSECOND


@dataclass(slots=True)
class Prepared:
    """One event made into rows, with what the writer needs to tell new from known."""

    event_id: str
    kind: str
    digest: str
    at: int
    status: str | None
    error: str | None
    row: tuple[Any, ...]
    inputs: list[tuple[Any, ...]]
    source: str
    line: int | None


@dataclass(slots=True)
class Known:
    """An event id already stored: its content, and for a hop every (status, time) recorded."""

    digest: str
    at: int
    kind: str
    status: str | None
    history: set[tuple[str, int]] = field(default_factory=set)


@dataclass(frozen=True, slots=True)
class _Route:
    """What checking a hop depends on besides its values, worked out once per route."""

    integration: str | None
    declared: bool
    transform: str | None
    call: TransformCall | None  # None: no transform, or one the catalogue cannot parse
    out_kind: ElementType


_CACHE_LIMIT = 65_536


class RowMaker:
    """Makes table rows from validated events, checking hops with a :class:`HopVerifier`.

    What depends only on a hop's route (its integration, the systems and elements it joins
    and its transform) is worked out once per route by :meth:`HopVerifier.check`; after that
    each hop costs one run of its transform and the comparison, exactly as
    :meth:`HopVerifier.rerun` does it.
    """

    def __init__(self, registry: Registry) -> None:
        self.verifier = HopVerifier(registry)
        self._lookups = registry.lookups
        self._kinds: dict[str, ElementType] = {}
        self._routes: dict[tuple[Any, ...], _Route] = {}
        self._canon: dict[ElementType, dict[str, str]] = {}

    def kind_of(self, element: str) -> ElementType:
        kind = self._kinds.get(element)
        if kind is None:
            kind = self._kinds[element] = self.verifier.element_type(element)
        return kind

    def normalize(self, element: str, value: str | None) -> str | None:
        """``value`` in the canonical form of ``element``'s declared type."""
        if value is None:
            return None
        kind = self.kind_of(element)
        return value if kind is _STRING else self._canonical(kind, value)

    def _canonical(self, kind: ElementType, value: str) -> str:
        cache = self._canon.get(kind)
        if cache is None:
            cache = self._canon[kind] = {}
        canonical = cache.get(value)
        if canonical is None:
            if len(cache) >= _CACHE_LIMIT:
                cache.clear()
            canonical = cache[value] = normalize(value, kind) or ""
        return canonical

    def _route(self, hop: Hop, key: tuple[Any, ...]) -> _Route:
        check = self.verifier.check(hop)
        call: TransformCall | None = None
        if check.transform is not None:
            try:
                call = parse_transform(check.transform)
            except TransformError:
                call = None
        route = _Route(check.integration, check.declared, check.transform, call,
                       self.kind_of(hop.output.element))  # fmt: skip
        if len(self._routes) >= _CACHE_LIMIT:
            self._routes.clear()
        self._routes[key] = route
        return route

    def _route_of(self, hop: Hop) -> _Route:
        out = hop.output
        inputs = hop.inputs
        if len(inputs) == 1:
            first = inputs[0]
            key: tuple[Any, ...] = (
                hop.integration, out.system, out.element, hop.transform, first.system,
                first.element,
            )  # fmt: skip
        else:
            key = (hop.integration, out.system, out.element, hop.transform,
                   *[(i.system, i.element) for i in inputs])  # fmt: skip
        route = self._routes.get(key)
        return route if route is not None else self._route(hop, key)

    def _expect(
        self, route: _Route, hop: Hop, out_norm: str | None
    ) -> tuple[str | None, bool | None]:
        """What the route's transform makes of the inputs, and whether the output is that."""
        call = route.call
        if call is None:
            return None, None
        try:
            result = call.apply(
                [i.value for i in hop.inputs], out_type=route.out_kind, lookups=self._lookups
            )
        except TransformError:
            return None, False
        # apply() gives the canonical text of a typed output already (normalize is
        # idempotent), so only the output needs bringing to canonical form.
        return result, result == out_norm

    def check(
        self, hop: Hop, out_norm: str | None = None
    ) -> tuple[str | None, bool, str | None, str | None, bool | None]:
        """(integration, declared, transform, expected canonical value, verified) of a hop.

        The same answer as :meth:`HopVerifier.check`; ``out_norm`` is the output's canonical
        value when the caller has it already.
        """
        route = self._route_of(hop)
        if out_norm is None:
            out_norm = self.normalize(hop.output.element, hop.output.value)
        expected, verified = self._expect(route, hop, out_norm)
        return route.integration, route.declared, route.transform, expected, verified

    def prepare(
        self, event: AnyEvent, now: int, source: str = "<input>", line: int | None = None
    ) -> Prepared:
        """The rows of one event (``now`` is the time it is recorded, in microseconds)."""
        return Prepared(*self.prepare_fields(event, now, source, line))

    def prepare_fields(
        self, event: AnyEvent, now: int, source: str = "<input>", line: int | None = None
    ) -> tuple[Any, ...]:
        """:meth:`prepare` as a plain tuple of :class:`Prepared`'s fields (cheap to send).

        Runs once per event of a bulk load, so it is written for speed: the digest
        (:func:`content_digest`) and the check (:meth:`check`) are inlined here.
        """
        if not isinstance(event, Hop):
            return self._placed_fields(event, now, source, line)
        eid = event.id
        if eid is None:
            eid = event_id(event)
        out = event.output
        inputs = event.inputs
        integration_sent, transform_sent, actor = event.integration, event.transform, event.actor
        system, element, record, value = out.system, out.element, out.record, out.value
        route = self._route_of(event)
        kind = route.out_kind
        if value is None:
            out_norm = None
        else:
            out_norm = value if kind is _STRING else self._canonical(kind, value)
        expected, verified = self._expect(route, event, out_norm)
        none = _NONE
        nones = (
            (integration_sent is None) + (transform_sent is None) + (actor is None)
            + (value is None)
        )  # fmt: skip
        parts = [
            "hop", none if integration_sent is None else integration_sent,
            none if transform_sent is None else transform_sent,
            none if actor is None else actor, system, element, record,
            none if value is None else value, str(len(inputs)),
        ]  # fmt: skip
        input_rows = []
        kinds = self._kinds
        for position, source_value in enumerate(inputs):
            in_element, in_value = source_value.element, source_value.value
            if in_value is None:
                nones += 1
                parts += (source_value.system, in_element, source_value.record, none)
                in_norm = None
            else:
                parts += (source_value.system, in_element, source_value.record, in_value)
                in_kind = kinds.get(in_element) or self.kind_of(in_element)
                in_norm = in_value if in_kind is _STRING else self._canonical(in_kind, in_value)
            input_rows.append((eid, position, source_value.system, in_element,
                               source_value.record, in_value, in_norm))  # fmt: skip
        digest = _digest(parts, nones)
        at = (event.at - _EPOCH) // _MICROSECOND
        status = event.status.value
        error = event.error
        row = (
            eid, "hop", at, system, element, record, value, out_norm, route.integration,
            route.declared, route.transform, expected, verified, status, error, actor, digest,
            now,
        )  # fmt: skip
        return (eid, "hop", digest, at, status, error, row, input_rows, source, line)

    def _placed_fields(
        self, event: Write | Snapshot, now: int, source: str, line: int | None
    ) -> tuple[Any, ...]:
        eid = event.id
        if eid is None:
            eid = event_id(event)
        digest = content_digest(event)
        at = (event.at - _EPOCH) // _MICROSECOND
        actor = event.actor if isinstance(event, Write) else None
        row = (
            eid, event.kind, at, event.system, event.element, event.record, event.value,
            self.normalize(event.element, event.value), None, None, None, None, None, None,
            None, actor, digest, now,
        )  # fmt: skip
        return (eid, event.kind, digest, at, None, None, row, [], source, line)


_MISSING: Any = object()


class SeenIds:
    """Which event ids a bulk load into an empty store has written: a Bloom filter.

    "Not seen" is certain, so those ids need no lookup in the database; "maybe seen" (the
    ids the load really wrote, plus about one in a thousand others up to a few million ids)
    are looked up. Eight megabytes, whatever the size of the load.
    """

    BITS = 1 << 26

    def __init__(self) -> None:
        self._bits = bytearray(self.BITS >> 3)

    def maybe(self, ids: Iterable[str]) -> list[str]:
        """The ids among ``ids`` that may have been added before."""
        bits = self._bits
        mask = self.BITS - 1
        found = []
        for eid in ids:
            code = hash(eid)
            low = code & mask
            high = (code >> 32) & mask
            if bits[low >> 3] & (1 << (low & 7)) and bits[high >> 3] & (1 << (high & 7)):
                found.append(eid)
        return found

    def add(self, ids: Iterable[str]) -> None:
        bits = self._bits
        mask = self.BITS - 1
        for eid in ids:
            code = hash(eid)
            low = code & mask
            high = (code >> 32) & mask
            bits[low >> 3] |= 1 << (low & 7)
            bits[high >> 3] |= 1 << (high & 7)


def secondary_indexes() -> list[Index]:
    """The non-unique indexes of ``events`` and ``hop_inputs``, as the schema declares them."""
    tables: tuple[Table, ...] = (events, hop_inputs)
    found = [ix for table in tables for ix in table.indexes if not ix.unique]
    return sorted(found, key=lambda ix: str(ix.name))


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
        self._dropped: list[Index] = []

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
        """Drop the secondary indexes for a bulk load; :meth:`restore_indexes` builds them."""
        for index in secondary_indexes():
            self._execute(f"DROP INDEX IF EXISTS {index.name}")
            self._dropped.append(index)

    def restore_indexes(self) -> None:
        """Build the indexes :meth:`drop_secondary_indexes` dropped (same transaction)."""
        dialect = self.store.engine.dialect
        if self._dropped:
            self._prepare_index_build()
        for index in self._dropped:
            self._execute(str(CreateIndex(index).compile(dialect=dialect)))
        self._dropped = []

    def _prepare_index_build(self) -> None:
        """Backend settings for building indexes on a whole table."""

    def _id_rows(self, ids: Sequence[str]) -> tuple[list[Any], list[Any]]:
        raise NotImplementedError

    def known(self, ids: Iterable[str]) -> dict[str, Known]:
        """The ids among ``ids`` already stored, each with its content and status history."""
        wanted = list(ids)
        if not wanted:
            return {}
        event_rows, status_rows = self._id_rows(wanted)
        known: dict[str, Known] = {}
        for eid, digest, at, kind, status in event_rows:
            entry = known[eid] = Known(digest, int(at), kind, status)
            if status is not None:
                entry.history.add((status, int(at)))
        for eid, status, at in status_rows:  # in recording order: the last one is current
            entry = known[eid]
            entry.status = status
            entry.history.add((status, int(at)))
        return known

    def insert_events(self, rows: Sequence[tuple[Any, ...]]) -> None:
        """Insert new events; :class:`RaceLostError` when one of their ids is stored already."""
        raise NotImplementedError

    def insert_rows(self, table: str, columns: Sequence[str], rows: Sequence[Any]) -> None:
        raise NotImplementedError


class SQLiteSink(Sink):
    """SQLite through :mod:`sqlite3`: ``executemany``, in ``BEGIN IMMEDIATE`` transactions."""

    def begin(self) -> None:
        # IMMEDIATE takes the write lock now (waiting up to busy_timeout for another writer),
        # so what the known-id lookup reads cannot change before the insert.
        self._execute("BEGIN IMMEDIATE")

    def _id_rows(self, ids: Sequence[str]) -> tuple[list[Any], list[Any]]:
        document = json.dumps(ids)
        event_rows = self._query(
            "SELECT event_id, digest, at, kind, status FROM events "
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
        db = self.driver
        before = db.total_changes
        db.executemany(
            f"INSERT INTO events ({', '.join(EVENT_COLUMNS)}) "  # noqa: S608 - constant columns
            f"VALUES ({_placeholders(len(EVENT_COLUMNS), '?')}) "
            "ON CONFLICT (event_id) DO NOTHING",
            rows,
        )
        if db.total_changes - before != len(rows):
            raise RaceLostError

    def insert_rows(self, table: str, columns: Sequence[str], rows: Sequence[Any]) -> None:
        if rows:
            self.driver.executemany(
                f"INSERT INTO {table} ({', '.join(columns)}) "  # noqa: S608 - constant names
                f"VALUES ({_placeholders(len(columns), '?')})",
                rows,
            )


class PostgresSink(Sink):
    """PostgreSQL through psycopg 3: ``COPY ... FROM STDIN`` under the writers' advisory lock."""

    def begin(self) -> None:
        # Every lineage writer holds this lock while it writes, so the known-id lookup and the
        # inserts of one batch see no other writer's rows appear in between.
        self._query("SELECT pg_advisory_xact_lock(%s)", (WRITER_LOCK,))

    def _prepare_index_build(self) -> None:
        # Sorting a million keys in memory rather than in temporary files; for this
        # transaction only.
        self._execute("SET LOCAL maintenance_work_mem = '256MB'")

    def _id_rows(self, ids: Sequence[str]) -> tuple[list[Any], list[Any]]:
        event_rows = self._query(
            "SELECT event_id, digest, at, kind, status FROM events WHERE event_id = ANY(%s)",
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
        with (
            self.driver.cursor() as cursor,
            cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy,
        ):
            write = copy.write_row
            for row in rows:
                write(row)


def open_sink(store: Store) -> Sink:
    """A sink for ``store``'s backend (SQLite or PostgreSQL)."""
    if store.dialect == "postgresql":
        return PostgresSink(store)
    return SQLiteSink(store)
