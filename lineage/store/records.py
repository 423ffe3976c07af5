"""Indexed queries about business records: which keys are one record, what a key holds.

A hop tells the tracker that its input record and its output record are the same business
record (``C-1042`` in CRM is ``40017`` in ERP). :func:`record_links` walks those links
breadth-first, one indexed query per key and direction, and stops at edges that do not mean
"the same record":

- down a hop on a ``fan-out`` integration (one source record feeds many target records:
  an order's shipments are other records). Up such a hop, from a target to its one source,
  the link holds: a shipment's order is the shipment's business record too;
- a hop whose inputs come from several records (an invoice total summed from order lines);
- past :data:`MAX_LINKED_KEYS` keys, where the walk stops and says it is incomplete.

What a place *holds* at a moment follows :mod:`lineage.store.queries`: its latest event at or
before that moment, leaving out hops ``failed`` by then (a hop's status as of a moment is
:func:`lineage.store.status.status_sql`).

Every function takes an open connection and reads only; ``as_of`` is microseconds since the
epoch (None: everything recorded).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    Connection,
    and_,
    case,
    func,
    select,
    text,
)
from sqlalchemy.sql.elements import ColumnElement

from ..model.registry import Cardinality, Registry
from . import queries
from .queries import EVENT_ROW_COLUMNS, FOREVER, UNCACHED, EventRow
from .schema import CODE_POINT, events, hop_inputs, registry_versions
from .status import live_clause, live_sql, status_column

MAX_LINKED_KEYS = 500
"""The most keys one business record may have before :func:`record_links` stops walking."""

Key = tuple[str, str]
"""A record key in one system: ``(system, record)``."""


@dataclass(frozen=True, slots=True)
class RecordLinks:
    """The keys of one business record, each with its distance in hops from the start key.

    Attributes:
        start: the key the walk started from (distance 0).
        keys: every key found, in the order found (nearest first), with its distance.
        complete: False when the walk stopped at :data:`MAX_LINKED_KEYS`.
    """

    start: Key
    keys: Mapping[Key, int]
    complete: bool = True

    def __contains__(self, key: object) -> bool:
        return key in self.keys

    def in_system(self, system: str) -> list[Key]:
        """The record's keys in ``system``, nearest first."""
        return [key for key in self.keys if key[0] == system]


_EVENT_COLUMNS = tuple(events.c[column] for column in EVENT_ROW_COLUMNS)


def bound(as_of: int | None) -> int:
    """``as_of`` or, for None, a moment after everything recorded."""
    return FOREVER if as_of is None else as_of


def hop_status_at(as_of: int | None, table: Any = events) -> ColumnElement[Any]:
    """A hop's status at ``as_of`` (:func:`lineage.store.status.status_sql`), as a column."""
    return status_column(table, bound(as_of))


def held(as_of: int | None, *, table: Any = events) -> ColumnElement[bool]:
    """Events that left their value in their place by ``as_of``: all but failed hops
    (:func:`lineage.store.status.live_sql`; a ``sent`` hop counts: it is a finding of its
    own)."""
    return and_(table.c.at <= bound(as_of), live_clause(table, bound(as_of)))


# The per-question lookups below are plain SQL compiled once, every value a bound parameter
# (S608 is silenced for the module constants they are assembled from). They are called once
# per copy a scan judges, so they must cost an index probe and nothing more.

EVENT_SQL_COLUMNS = ", ".join(f"e.{column}" for column in EVENT_ROW_COLUMNS)

# Every input of hop {hop} comes from the one key ({system}, {record}).
SINGLE_RECORD_SQL = (
    "NOT EXISTS (SELECT 1 FROM hop_inputs o WHERE o.event_id = {hop} "
    "AND (o.system <> {system} OR o.record <> {record}))"
)

_VALUE_VERSIONS = text(
    f"SELECT {EVENT_SQL_COLUMNS} FROM events e "  # noqa: S608
    "WHERE e.system = :system AND e.element = :element AND e.record = :record "
    f"AND e.at <= :as_of AND {live_sql('e', ':as_of')} "
    "ORDER BY e.at DESC, e.seq DESC LIMIT :limit"
)

# the key's events through ix_events_system_record (both columns given): asked with the
# window directly, SQLite (with no statistics) walks ix_events_place_at, already ordered by
# element, through every record of the system (5 ms a key at 1,000,000 events, 21 keys a
# golden record)
# what keys hold, many in one statement: {keys} is a VALUES list of numbered keys
# (n, system, record) as bound parameters, read through the (system, record) index
_KEYS_EVENTS = (
    "WITH keys(n, system, record) AS (VALUES {keys}) "  # noqa: S608
    "SELECT * FROM ("
    f"SELECT k.n AS key_n, {EVENT_SQL_COLUMNS}, ROW_NUMBER() OVER (PARTITION BY k.n, e.element "
    "ORDER BY e.at DESC, e.seq DESC) AS rn FROM keys k "
    "JOIN events e ON e.system = k.system AND e.record = k.record "
    f"WHERE e.at <= :as_of AND {live_sql('e', ':as_of')}) ranked "
    "WHERE rn = 1 ORDER BY key_n, element"
)

#: Keys per VALUES list of :func:`key_events_many` (well under every limit on parameters).
KEYS_BATCH = 400

_KEY_WRITTEN = text(
    "SELECT 1 FROM events WHERE system = :system AND record = :record AND at <= :as_of LIMIT 1"
)
_KEY_READ = text(
    "SELECT 1 FROM hop_inputs i JOIN events e ON e.event_id = i.event_id "
    "WHERE i.system = :system AND i.record = :record AND e.at <= :as_of LIMIT 1"
)

# The keys a key's data came from, walking hops upstream (fan-out hops included: a
# shipment's data comes from its one order), with the distance in hops.
_UPSTREAM_WALK_SQL = (
    "WITH RECURSIVE up(system, record, depth) AS ("  # noqa: S608
    " SELECT CAST(:system AS VARCHAR){code_point}, CAST(:record AS VARCHAR){code_point}, 0"
    " UNION"
    " SELECT i.system, i.record, up.depth + 1 FROM up"
    " JOIN events e ON e.system = up.system AND e.record = up.record"
    " JOIN hop_inputs i ON i.event_id = e.event_id"
    " WHERE e.kind = 'hop' AND e.at <= :as_of AND up.depth < :max_depth"
    f" AND {SINGLE_RECORD_SQL.format(hop='e.event_id', system='i.system', record='i.record')}"
    ") SELECT record, MIN(depth) AS depth FROM up WHERE system = :target"
    " GROUP BY record ORDER BY MIN(depth), record"
)
_UPSTREAM_WALK = {
    dialect: text(_UPSTREAM_WALK_SQL.replace("{code_point}", collate))
    for dialect, collate in CODE_POINT.items()
}

# Hops that read a place and whose output is still the current value of their own place.
_CONSUMERS = text(
    f"SELECT DISTINCT {EVENT_SQL_COLUMNS} FROM hop_inputs i "  # noqa: S608
    "JOIN events e ON e.event_id = i.event_id "
    "WHERE i.system = :system AND i.element = :element AND i.record = :record "
    f"AND e.at <= :as_of AND {live_sql('e', ':as_of')} "
    "AND NOT EXISTS (SELECT 1 FROM events n WHERE n.system = e.system "
    "AND n.element = e.element AND n.record = e.record AND n.at <= :as_of "
    "AND (n.at > e.at OR (n.at = e.at AND n.seq > e.seq)) "
    f"AND {live_sql('n', ':as_of')}) "
    "ORDER BY e.system, e.element, e.record"
)


def current_event(
    conn: Connection, system: str, element: str, record: str, *, as_of: int | None = None
) -> EventRow | None:
    """The event whose value ``system`` held for ``element`` of ``record`` at ``as_of``."""
    return queries.current_event(conn, system, element, record, as_of)


def value_versions(
    conn: Connection,
    system: str,
    element: str,
    record: str,
    *,
    as_of: int | None = None,
    limit: int = 20,
) -> list[EventRow]:
    """The values a place held, newest first (at most ``limit``; indexed by place and time)."""
    rows = conn.execute(
        _VALUE_VERSIONS,
        {
            "system": system,
            "element": element,
            "record": record,
            "as_of": bound(as_of),
            "limit": limit,
        },
    )
    return [EventRow.from_row(row) for row in rows]


def key_events_many(
    conn: Connection, keys: Sequence[tuple[str, str]], *, as_of: int | None = None
) -> list[list[EventRow]]:
    """What each key ``(system, record)`` of ``keys`` holds (the current event of each
    element, by name), in their order: one statement per :data:`KEYS_BATCH` keys."""
    found: list[list[EventRow]] = [[] for _ in keys]
    for start in range(0, len(keys), KEYS_BATCH):
        params: dict[str, Any] = {"as_of": bound(as_of)}
        listed = queries.values_list(keys[start : start + KEYS_BATCH], params)
        query = text(_KEYS_EVENTS.format(keys=listed))
        for row in conn.execute(query, params):
            found[start + int(row.key_n)].append(EventRow.from_row(row))
    return found


def key_recorded(conn: Connection, system: str, record: str, *, as_of: int | None = None) -> bool:
    """Whether anything at all was recorded at or read from the key by ``as_of``."""
    params = {"system": system, "record": record, "as_of": bound(as_of)}
    return (
        conn.execute(_KEY_WRITTEN, params).first() is not None
        or conn.execute(_KEY_READ, params).first() is not None
    )


def latest_registry(conn: Connection) -> Registry:
    """The registry last loaded into the store (empty before any load)."""
    document = conn.execute(
        select(registry_versions.c.document).order_by(registry_versions.c.id.desc()).limit(1)
    ).scalar()
    return Registry() if document is None else Registry.model_validate_json(document)


def record_links(
    conn: Connection,
    system: str,
    record: str,
    *,
    registry: Registry | None = None,
    as_of: int | None = None,
    limit: int = MAX_LINKED_KEYS,
) -> RecordLinks:
    """The keys of the business record known in ``system`` as ``record``, nearest first.

    Walks hops breadth-first in both directions (indexed by ``(system, record)``). A hop on
    a fan-out integration is followed only from its output back to its input (a shipment
    belongs to its one order; the order does not become its many shipments); a hop with
    inputs from several records is never followed; the walk stops after ``limit`` keys.

    Args:
        conn: an open connection.
        system: the system the record is known in.
        record: its key there.
        registry: the declarations (to know fan-out integrations); default the store's latest.
        as_of: ignore hops recorded after this moment (microseconds since the epoch).
        limit: the most keys to collect.

    Example:
        >>> links = record_links(conn, "CRM", "C-1042")  # doctest: +SKIP
        >>> dict(links.keys)  # doctest: +SKIP
        {('CRM', 'C-1042'): 0, ('ERP', '40017'): 1, ('BI', 'R-9'): 2}
    """
    (links,) = record_links_many(
        conn, [(system, record)], registry=registry, as_of=as_of, limit=limit
    )
    return links


# Keys one hop away from each key of a VALUES list: the outputs of hops that read the key
# (a fan-out hop's too: the walk leaves those out), the inputs of hops into it.
_NEIGHBOUR_KEYS = (
    "WITH keys(n, system, record) AS (VALUES {keys}) "  # noqa: S608
    "SELECT DISTINCT k.n AS key_n, e.system, e.record, e.integration, 1 AS down "
    "FROM keys k JOIN hop_inputs i ON i.system = k.system AND i.record = k.record "
    "JOIN events e ON e.event_id = i.event_id WHERE e.at <= :as_of "
    f"AND {SINGLE_RECORD_SQL.format(hop='i.event_id', system='i.system', record='i.record')} "
    "UNION "
    "SELECT DISTINCT k.n AS key_n, i.system, i.record, e.integration, 0 AS down "
    "FROM keys k JOIN events e ON e.system = k.system AND e.record = k.record "
    "JOIN hop_inputs i ON i.event_id = e.event_id WHERE e.kind = 'hop' AND e.at <= :as_of "
    f"AND {SINGLE_RECORD_SQL.format(hop='e.event_id', system='i.system', record='i.record')}"
)


def record_links_many(
    conn: Connection,
    starts: Sequence[Key],
    *,
    registry: Registry | None = None,
    as_of: int | None = None,
    limit: int = MAX_LINKED_KEYS,
) -> list[RecordLinks]:
    """:func:`record_links` of each key of ``starts``, in their order, walked side by side.

    The same breadth-first walks, level by level: the keys one hop away from every key
    any walk reaches next are looked up together (one statement per :data:`KEYS_BATCH`
    keys), so judging thousands of copies costs a few statements per level, not a few
    per copy.
    """
    declared = registry if registry is not None else latest_registry(conn)
    fan_out = {i.name for i in declared.integrations if i.cardinality == Cardinality.FAN_OUT}
    moment = bound(as_of)
    neighbours: dict[Key, set[Key]] = {}
    walks = [_Walk(start) for start in starts]
    while True:
        wanted = list(
            dict.fromkeys(key for walk in walks for key in walk.queue if key not in neighbours)
        )
        if not wanted:
            break
        for start in range(0, len(wanted), KEYS_BATCH):
            chunk = wanted[start : start + KEYS_BATCH]
            params: dict[str, Any] = {"as_of": moment}
            query = text(_NEIGHBOUR_KEYS.format(keys=queries.values_list(chunk, params)))
            found: list[set[Key]] = [set() for _ in chunk]
            # a statement per VALUES list: not worth a cache key, nor a cache entry
            for row in conn.execute(query, params, execution_options=UNCACHED):
                if not row.down or row.integration not in fan_out:
                    found[int(row.key_n)].add((row.system, row.record))
            neighbours.update(zip(chunk, found, strict=True))
        for walk in walks:
            walk.advance(neighbours, limit)
    return [RecordLinks(walk.start, walk.keys, complete=walk.complete) for walk in walks]


class _Walk:
    """One walk of :func:`record_links_many`: :func:`record_links`'s queue and keys."""

    __slots__ = ("complete", "keys", "queue", "start")

    def __init__(self, start: Key) -> None:
        self.start = start
        self.keys: dict[Key, int] = {start: 0}
        self.queue: deque[Key] = deque([start])
        self.complete = True

    def advance(self, neighbours: Mapping[Key, set[Key]], limit: int) -> None:
        """Take every queued key whose neighbours are known, as record_links would."""
        while self.queue and self.queue[0] in neighbours:
            key = self.queue.popleft()
            distance = self.keys[key]
            for other in sorted(neighbours[key] - self.keys.keys()):
                if len(self.keys) >= limit:
                    self.complete = False
                    self.queue.clear()
                    return
                self.keys[other] = distance + 1
                self.queue.append(other)


def linked_records(
    conn: Connection,
    system: str,
    record: str,
    *,
    registry: Registry | None = None,
    as_of: int | None = None,
) -> set[Key]:
    """The business record's keys in every system, ``(system, record)`` pairs, start included.

    See :func:`record_links` for how keys are linked and where the walk stops.
    """
    return set(record_links(conn, system, record, registry=registry, as_of=as_of).keys)


def upstream_keys(
    conn: Connection,
    system: str,
    record: str,
    target: str,
    *,
    as_of: int | None = None,
    max_depth: int = 64,
) -> list[tuple[str, int]]:
    """The keys in ``target`` that the key's data came from, nearest first: (record, hops).

    One recursive query up the hops into the key (single-record hops only, fan-out ones
    included), at most ``max_depth`` hops.
    """
    rows = conn.execute(
        _UPSTREAM_WALK[conn.dialect.name],
        {
            "system": system,
            "record": record,
            "target": target,
            "as_of": bound(as_of),
            "max_depth": max_depth,
        },
    )
    return [(row.record, int(row.depth)) for row in rows]


def consumers(
    conn: Connection, system: str, element: str, record: str, *, as_of: int | None = None
) -> list[EventRow]:
    """Places whose current value came through a hop that read ``(system, element, record)``.

    Each answer is the current event (a hop) of such a place; one indexed query.
    """
    rows = conn.execute(
        _CONSUMERS,
        {"system": system, "element": element, "record": record, "as_of": bound(as_of)},
    )
    return [EventRow.from_row(row) for row in rows]


@dataclass(frozen=True, slots=True)
class StoredEvent:
    """One event with what an export needs around it (see :func:`stored_events`).

    Attributes:
        row: the event.
        status: a hop's latest status (None for writes and snapshots).
        inputs: a hop's inputs, each with the event whose value its place held when the hop
            ran (None: the place held nothing then).
        observed: for a snapshot, the event whose value it shows (None when the place was
            given no such value).
    """

    row: EventRow
    status: str | None
    inputs: tuple[tuple[queries.InputRow, str | None], ...]
    observed: str | None


def stored_events(
    conn: Connection, *, as_of: int | None = None, batch: int = 1000
) -> Iterator[StoredEvent]:
    """Every event (up to ``as_of``) in recording order with its inputs' sources, streamed.

    Each input's source follows the trace's rule (:mod:`lineage.store.queries`): the latest
    event at the input's place at or before the hop, not failed; a snapshot's explanation is
    the latest write or hop at its place before it, kept when it holds the same value.
    """
    e = events.alias("e")
    i = hop_inputs.alias("i")
    src = events.alias("src")
    obs = events.alias("obs")
    source_id = (
        select(src.c.event_id)
        .where(
            src.c.system == i.c.system,
            src.c.element == i.c.element,
            src.c.record == i.c.record,
            src.c.at <= e.c.at,
            src.c.seq != e.c.seq,
            held(as_of, table=src),
        )
        .order_by(src.c.at.desc(), src.c.seq.desc())
        .limit(1)
        .scalar_subquery()
    )

    def explaining(col: Any) -> Any:
        return (
            select(col)
            .where(
                obs.c.system == e.c.system,
                obs.c.element == e.c.element,
                obs.c.record == e.c.record,
                obs.c.at <= e.c.at,
                obs.c.seq != e.c.seq,
                obs.c.kind != "snapshot",
                held(as_of, table=obs),
            )
            .order_by(obs.c.at.desc(), obs.c.seq.desc())
            .limit(1)
            .scalar_subquery()
        )

    snapshot = e.c.kind == "snapshot"
    query = (
        select(
            *(e.c[c.name] for c in _EVENT_COLUMNS),
            case((e.c.kind == "hop", hop_status_at(as_of, e)), else_=None).label("status_now"),
            case((snapshot, explaining(obs.c.event_id)), else_=None).label("observed_id"),
            case((snapshot, explaining(obs.c.value_norm)), else_=None).label("observed_norm"),
            i.c.position.label("in_position"),
            i.c.system.label("in_system"),
            i.c.element.label("in_element"),
            i.c.record.label("in_record"),
            i.c.value.label("in_value"),
            i.c.value_norm.label("in_norm"),
            case((i.c.position.is_not(None), source_id), else_=None).label("in_source"),
        )
        .select_from(e.outerjoin(i, i.c.event_id == e.c.event_id))
        .where(e.c.at <= bound(as_of))
        .order_by(e.c.seq, i.c.position)
    )
    result = conn.execute(query.execution_options(stream_results=True, yield_per=batch))
    current: Any = None
    inputs: list[tuple[queries.InputRow, str | None]] = []

    def done() -> StoredEvent:
        row = EventRow.from_row(current)
        observed = current.observed_id
        if observed is not None and current.observed_norm != row.value_norm:
            observed = None
        return StoredEvent(row, current.status_now, tuple(inputs), observed)

    try:
        for item in result:
            if current is not None and item.seq != current.seq:
                yield done()
                inputs = []
            current = item
            if item.in_position is not None:
                inputs.append(
                    (
                        queries.InputRow(
                            item.event_id,
                            int(item.in_position),
                            item.in_system,
                            item.in_element,
                            item.in_record,
                            item.in_value,
                            item.in_norm,
                        ),
                        item.in_source,
                    )
                )
        if current is not None:
            yield done()
    finally:
        result.close()


def hop_statuses_at(
    conn: Connection, hop_ids: Sequence[str], as_of: int | None
) -> dict[str, str | None]:
    """Each hop's status as known at ``as_of`` (None: latest), by hop id, 500 ids a statement."""
    statuses: dict[str, str | None] = {}
    for start in range(0, len(hop_ids), 500):
        chunk = list(hop_ids[start : start + 500])
        rows = conn.execute(
            select(events.c.event_id, hop_status_at(as_of).label("status")).where(
                events.c.event_id.in_(chunk)
            )
        )
        statuses.update({row.event_id: row.status for row in rows})
    return statuses


@dataclass(frozen=True, slots=True)
class FlowCount:
    """The hops recorded on one route: from a source system into an element of a target
    system, on an integration (None: none named), and how many of them failed verification."""

    source: str
    target: str
    integration: str | None
    element: str
    hops: int
    unverified: int


def flow_counts(conn: Connection) -> list[FlowCount]:
    """Every route hops were recorded on, in the whole store: one aggregate query grouped by
    source system, target system, integration and element (its size follows the routes, not
    the hops)."""
    unverified = func.sum(case((events.c.verified.is_(False), 1), else_=0))
    rows = conn.execute(
        select(
            hop_inputs.c.system.label("source"),
            events.c.system.label("target"),
            events.c.integration,
            events.c.element,
            func.count().label("hops"),
            unverified.label("unverified"),
        )
        .select_from(events.join(hop_inputs, hop_inputs.c.event_id == events.c.event_id))
        .where(events.c.kind == "hop")
        .group_by(hop_inputs.c.system, events.c.system, events.c.integration, events.c.element)
        .order_by(hop_inputs.c.system, events.c.system, events.c.integration, events.c.element)
    ).all()
    return [
        FlowCount(r.source, r.target, r.integration, r.element, int(r.hops), int(r.unverified or 0))
        for r in rows
    ]


__all__ = [
    "FOREVER",
    "MAX_LINKED_KEYS",
    "EventRow",
    "FlowCount",
    "Key",
    "RecordLinks",
    "StoredEvent",
    "bound",
    "consumers",
    "current_event",
    "flow_counts",
    "held",
    "hop_status_at",
    "hop_statuses_at",
    "key_events_many",
    "key_recorded",
    "latest_registry",
    "linked_records",
    "record_links",
    "record_links_many",
    "stored_events",
    "upstream_keys",
    "value_versions",
]
