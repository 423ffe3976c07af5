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

_SEP = "\x1f"
_NULL = "\x00"


def _hash(fields: list[str | None]) -> str:
    text = _SEP.join([_NULL if f is None else f for f in fields])
    if text.count(_SEP) != len(fields) - 1 or text.count(_NULL) > fields.count(None):
        # A field holds a separator: spell the fields unambiguously instead (rare, slower).
        text = _NULL + repr(fields)
    return hashlib.blake2b(text.encode(), digest_size=16).hexdigest()


def content_digest(event: AnyEvent) -> str:
    """Hash of what makes an event itself, to tell a re-send from a conflicting reuse of an id.

    It covers every field but those in :data:`DIGEST_EXCLUDES` (the id, the time, and a hop's
    status and error), values exactly as sent.
    """
    if isinstance(event, Hop):
        out = event.output
        fields: list[str | None] = ["hop", event.integration, event.transform, event.actor,
                                    out.system, out.element, out.record, out.value]  # fmt: skip
        for source in event.inputs:
            fields += (source.system, source.element, source.record, source.value)
        return _hash(fields)
    extra = event.actor if isinstance(event, Write) else event.source
    return _hash([event.kind, event.system, event.element, event.record, event.value, extra])


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

    def astuple(self) -> tuple[Any, ...]:
        """The fields in order (``Prepared(*t)`` makes it again)."""
        return (self.event_id, self.kind, self.digest, self.at, self.status, self.error,
                self.row, self.inputs, self.source, self.line)  # fmt: skip


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
        self._canonical: dict[tuple[ElementType, str], str | None] = {}

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
        if kind is _STRING:
            return value
        key = (kind, value)
        canonical: str | None = self._canonical.get(key, _MISSING)
        if canonical is _MISSING:
            if len(self._canonical) >= _CACHE_LIMIT:
                self._canonical.clear()
            canonical = self._canonical[key] = normalize(value, kind)
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

    def check(
        self, hop: Hop, out_norm: str | None = None
    ) -> tuple[str | None, bool, str | None, str | None, bool | None]:
        """(integration, declared, transform, expected canonical value, verified) of a hop.

        The same answer as :meth:`HopVerifier.check`; ``out_norm`` is the output's canonical
        value when the caller has it already.
        """
        out = hop.output
        inputs = hop.inputs
        if len(inputs) == 1:
            first = inputs[0]
            shape: tuple[Any, ...] = (first.system, first.element)
        else:
            shape = tuple((i.system, i.element) for i in inputs)
        key = (hop.integration, out.system, out.element, hop.transform, shape)
        route = self._routes.get(key)
        if route is None:
            route = self._route(hop, key)
        call = route.call
        if call is None:
            if route.transform is None:
                return route.integration, route.declared, None, None, None
            return route.integration, route.declared, route.transform, None, None
        kind = route.out_kind
        try:
            result = call.apply([i.value for i in inputs], out_type=kind, lookups=self._lookups)
        except TransformError:
            return route.integration, route.declared, route.transform, None, False
        # apply() gives the canonical text of a typed output already (and normalize is
        # idempotent), so only the output needs bringing to canonical form.
        if out_norm is None and out.value is not None:
            out_norm = out.value if kind is _STRING else normalize(out.value, kind)
        return route.integration, route.declared, route.transform, result, result == out_norm

    def prepare(
        self, event: AnyEvent, now: int, source: str = "<input>", line: int | None = None
    ) -> Prepared:
        """The rows of one event (``now`` is the time it is recorded, in microseconds)."""
        eid = event.id
        if eid is None:
            eid = event_id(event)
        digest = content_digest(event)
        at = (event.at - _EPOCH) // _MICROSECOND
        norm = self.normalize
        if isinstance(event, Hop):
            out = event.output
            out_norm = norm(out.element, out.value)
            integration, declared, transform, expected, verified = self.check(event, out_norm)
            status = event.status.value
            error = event.error
            row: tuple[Any, ...] = (
                eid, "hop", at, out.system, out.element, out.record, out.value, out_norm,
                integration, declared, transform, expected, verified, status, error,
                event.actor, digest, now,
            )  # fmt: skip
            inputs = [
                (eid, position, i.system, i.element, i.record, i.value, norm(i.element, i.value))
                for position, i in enumerate(event.inputs)
            ]
            return Prepared(eid, "hop", digest, at, status, error, row, inputs, source, line)
        actor = event.actor if isinstance(event, Write) else None
        row = (
            eid, event.kind, at, event.system, event.element, event.record, event.value,
            norm(event.element, event.value), None, None, None, None, None, None, None, actor,
            digest, now,
        )  # fmt: skip
        return Prepared(eid, event.kind, digest, at, None, None, row, [], source, line)


_MISSING: Any = object()


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
        for index in self._dropped:
            self._execute(str(CreateIndex(index).compile(dialect=dialect)))
        self._dropped = []

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
