"""Indexed queries about business records: which keys are one record, what a key holds.

A hop tells the tracker that its input record and its output record are the same business
record (``C-1042`` in CRM is ``40017`` in ERP). :func:`record_links` walks those links
breadth-first, one indexed query per key and direction, and stops at edges that do not mean
"the same record":

- a hop on a ``fan-out`` integration (one source record feeds many target records: the
  targets are other records, such as an order's shipments);
- a hop whose inputs come from several records (an invoice total summed from order lines);
- past :data:`MAX_LINKED_KEYS` keys, where the walk stops and says it is incomplete.

What a place *holds* at a moment follows :mod:`lineage.store.queries`: its latest event at or
before that moment, leaving out hops ``failed`` by then (a hop's status is its latest
``hop_status`` row at or before the moment, else the status it was recorded with).

Every function takes an open connection and reads only; ``as_of`` is microseconds since the
epoch (None: everything recorded).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    Connection,
    String,
    and_,
    case,
    column,
    exists,
    func,
    or_,
    select,
    values,
)
from sqlalchemy.sql.elements import ColumnElement

from ..model.registry import Cardinality, Registry
from . import queries
from .queries import FOREVER, EventRow
from .schema import events, hop_inputs, hop_status, registry_versions

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


_EVENT_COLUMNS = (
    events.c.seq,
    events.c.event_id,
    events.c.kind,
    events.c.at,
    events.c.system,
    events.c.element,
    events.c.record,
    events.c.value,
    events.c.value_norm,
    events.c.integration,
    events.c.declared,
    events.c.transform,
    events.c.expected_norm,
    events.c.verified,
    events.c.status,
    events.c.error,
    events.c.actor,
)


def bound(as_of: int | None) -> int:
    """``as_of`` or, for None, a moment after everything recorded."""
    return FOREVER if as_of is None else as_of


def hop_status_at(as_of: int | None, table: Any = events) -> ColumnElement[Any]:
    """A hop's status at ``as_of``: its latest status update by then, else its first status."""
    later = (
        select(hop_status.c.status)
        .where(hop_status.c.event_id == table.c.event_id, hop_status.c.at <= bound(as_of))
        .order_by(hop_status.c.seq.desc())
        .limit(1)
        .scalar_subquery()
    )
    return func.coalesce(later, table.c.status, "delivered")


def status_updates_exist(conn: Connection, as_of: int | None) -> bool:
    """Whether any hop changed status by ``as_of`` (if not, first statuses are final)."""
    found = conn.execute(
        select(hop_status.c.seq).where(hop_status.c.at <= bound(as_of)).limit(1)
    ).first()
    return found is not None


def held(as_of: int | None, *, updates: bool = True, table: Any = events) -> ColumnElement[bool]:
    """Events that left their value in their place by ``as_of``: all but failed hops.

    The rule of :mod:`lineage.store.queries` (a ``sent`` hop counts; it is a finding of
    its own). ``updates=False`` skips the per-hop status lookup when no hop has changed
    status (see :func:`status_updates_exist`).
    """
    status = hop_status_at(as_of, table) if updates else func.coalesce(table.c.status, "delivered")
    return and_(table.c.at <= bound(as_of), or_(table.c.kind != "hop", status != "failed"))


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
        select(*_EVENT_COLUMNS)
        .where(
            events.c.system == system,
            events.c.element == element,
            events.c.record == record,
            held(as_of),
        )
        .order_by(events.c.at.desc(), events.c.seq.desc())
        .limit(limit)
    )
    return [EventRow.from_row(row) for row in rows]


def key_events(
    conn: Connection, system: str, record: str, *, as_of: int | None = None
) -> list[EventRow]:
    """What the key ``(system, record)`` holds: the current event of each element, by name."""
    ranked = (
        select(
            *_EVENT_COLUMNS,
            func.row_number()
            .over(partition_by=events.c.element, order_by=(events.c.at.desc(), events.c.seq.desc()))
            .label("rn"),
        )
        .where(events.c.system == system, events.c.record == record, held(as_of))
        .subquery()
    )
    rows = conn.execute(select(ranked).where(ranked.c.rn == 1).order_by(ranked.c.element))
    return [EventRow.from_row(row) for row in rows]


def key_recorded(conn: Connection, system: str, record: str, *, as_of: int | None = None) -> bool:
    """Whether anything at all was recorded at or read from the key by ``as_of``."""
    at_key = select(events.c.seq).where(
        events.c.system == system, events.c.record == record, events.c.at <= bound(as_of)
    )
    read = (
        select(hop_inputs.c.event_id)
        .join(events, events.c.event_id == hop_inputs.c.event_id)
        .where(
            hop_inputs.c.system == system,
            hop_inputs.c.record == record,
            events.c.at <= bound(as_of),
        )
    )
    return (
        conn.execute(at_key.limit(1)).first() is not None
        or conn.execute(read.limit(1)).first() is not None
    )


def latest_registry(conn: Connection) -> Registry:
    """The registry last loaded into the store (empty before any load)."""
    document = conn.execute(
        select(registry_versions.c.document).order_by(registry_versions.c.id.desc()).limit(1)
    ).scalar()
    return Registry() if document is None else Registry.model_validate_json(document)


def _single_record_hop(hop_id: ColumnElement[Any], system: Any, record: Any) -> ColumnElement[bool]:
    """True when every input of the hop comes from the one key ``(system, record)``."""
    other = hop_inputs.alias("other")
    return ~exists(
        select(other.c.position).where(
            other.c.event_id == hop_id,
            or_(other.c.system != system, other.c.record != record),
        )
    )


def _neighbours(conn: Connection, key: Key, as_of: int) -> set[tuple[str, str, str | None]]:
    """Keys one hop away from ``key`` (either direction), with the integration of the hop."""
    system, record = key
    found: set[tuple[str, str, str | None]] = set()
    downstream = (
        select(events.c.system, events.c.record, events.c.integration)
        .distinct()
        .select_from(hop_inputs.join(events, events.c.event_id == hop_inputs.c.event_id))
        .where(
            hop_inputs.c.system == system,
            hop_inputs.c.record == record,
            events.c.at <= as_of,
            _single_record_hop(hop_inputs.c.event_id, hop_inputs.c.system, hop_inputs.c.record),
        )
    )
    upstream = (
        select(hop_inputs.c.system, hop_inputs.c.record, events.c.integration)
        .distinct()
        .select_from(events.join(hop_inputs, hop_inputs.c.event_id == events.c.event_id))
        .where(
            events.c.system == system,
            events.c.record == record,
            events.c.kind == "hop",
            events.c.at <= as_of,
            _single_record_hop(events.c.event_id, hop_inputs.c.system, hop_inputs.c.record),
        )
    )
    for query in (downstream, upstream):
        for row in conn.execute(query):
            found.add((row[0], row[1], row[2]))
    return found


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

    Walks hops breadth-first in both directions (indexed by ``(system, record)``), never
    across a fan-out integration or a hop with inputs from several records (see the module
    docstring), and stops after ``limit`` keys.

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
    declared = registry if registry is not None else latest_registry(conn)
    fan_out = {i.name for i in declared.integrations if i.cardinality == Cardinality.FAN_OUT}
    start: Key = (system, record)
    keys: dict[Key, int] = {start: 0}
    queue: deque[Key] = deque([start])
    moment = bound(as_of)
    while queue:
        key = queue.popleft()
        distance = keys[key]
        for other_system, other_record, integration in sorted(
            _neighbours(conn, key, moment), key=lambda n: (n[0], n[1], n[2] or "")
        ):
            if integration in fan_out:
                continue
            other = (other_system, other_record)
            if other in keys:
                continue
            if len(keys) >= limit:
                return RecordLinks(start, keys, complete=False)
            keys[other] = distance + 1
            queue.append(other)
    return RecordLinks(start, keys)


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


def consumers(
    conn: Connection, system: str, element: str, record: str, *, as_of: int | None = None
) -> list[EventRow]:
    """Places whose current value came through a hop that read ``(system, element, record)``.

    Each answer is the current event of such a place (indexed: the hops that read the place,
    then each output place's current event).
    """
    readers = conn.execute(
        select(events.c.event_id, events.c.system, events.c.element, events.c.record)
        .distinct()
        .select_from(hop_inputs.join(events, events.c.event_id == hop_inputs.c.event_id))
        .where(
            hop_inputs.c.system == system,
            hop_inputs.c.element == element,
            hop_inputs.c.record == record,
            events.c.at <= bound(as_of),
        )
    ).all()
    outputs: dict[tuple[str, str, str], set[str]] = {}
    for row in readers:
        outputs.setdefault((row.system, row.element, row.record), set()).add(row.event_id)
    found: list[EventRow] = []
    for (out_system, out_element, out_record), hop_ids in sorted(outputs.items()):
        current = current_event(conn, out_system, out_element, out_record, as_of=as_of)
        if current is not None and current.event_id in hop_ids:
            found.append(current)
    return found


def conflict_candidates(
    conn: Connection,
    systems_of_record: Mapping[str, str],
    *,
    as_of: int | None = None,
    batch: int = 1000,
) -> Iterator[EventRow]:
    """Copies whose current value may disagree with the golden value, streamed (one query).

    A copy is a place of an element outside the element's system of record. It is a
    candidate when its current value (the newest held event, found with ``ROW_NUMBER()``
    over the place) is:

    - a write (a copy edited in place),
    - a snapshot that differs from the value held before it (or has none before it),
    - a hop that did not verify, or travelled on no declared path, or whose input is no
      longer the value its source place holds.

    Copies that are current and came from an unchanged source through a verified, declared
    hop are left out: they agree unless their source is itself out of date, which
    :func:`consumers` finds from the candidates downstream.

    Args:
        conn: an open connection (results are streamed from a server-side cursor).
        systems_of_record: each element's system of record; other elements are skipped.
        as_of: judge the store as it was at this moment.
        batch: rows fetched per round trip.
    """
    if not systems_of_record:
        return
    moment = bound(as_of)
    updates = status_updates_exist(conn, as_of)
    e = events.alias("e")
    place = (e.c.system, e.c.element, e.c.record)
    order = (e.c.at.desc(), e.c.seq.desc())
    ranked = (
        select(
            *(e.c[c.name] for c in _EVENT_COLUMNS),
            func.row_number().over(partition_by=place, order_by=order).label("rn"),
            func.lead(e.c.value_norm).over(partition_by=place, order_by=order).label("before"),
            func.count().over(partition_by=place).label("versions"),
        )
        .where(held(as_of, updates=updates, table=e))
        .subquery("ranked")
    )
    sor = (
        values(column("element", String), column("system", String), name="sor")
        .data(sorted(systems_of_record.items()))
        .cte("sor")
    )
    source = events.alias("source")
    source_now = (
        select(source.c.value_norm)
        .where(
            source.c.system == hop_inputs.c.system,
            source.c.element == hop_inputs.c.element,
            source.c.record == hop_inputs.c.record,
            source.c.at <= moment,
            held(as_of, updates=updates, table=source),
        )
        .order_by(source.c.at.desc(), source.c.seq.desc())
        .limit(1)
        .scalar_subquery()
    )
    input_moved = exists(
        select(hop_inputs.c.position).where(
            hop_inputs.c.event_id == ranked.c.event_id,
            source_now.is_distinct_from(hop_inputs.c.value_norm),
        )
    )
    suspicious = or_(
        ranked.c.kind == "write",
        and_(
            ranked.c.kind == "snapshot",
            or_(ranked.c.versions == 1, ranked.c.before.is_distinct_from(ranked.c.value_norm)),
        ),
        and_(
            ranked.c.kind == "hop",
            or_(
                ranked.c.verified.is_not(True),
                ranked.c.declared.is_not(True),
                input_moved,
            ),
        ),
    )
    query = (
        select(ranked)
        .join(sor, and_(sor.c.element == ranked.c.element, sor.c.system != ranked.c.system))
        .where(ranked.c.rn == 1, suspicious)
        .order_by(ranked.c.element, ranked.c.system, ranked.c.record)
    )
    result = conn.execution_options(stream_results=True, yield_per=batch).execute(query)
    try:
        for row in result:
            yield EventRow.from_row(row)
    finally:
        result.close()


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


def stored_events(conn: Connection, *, batch: int = 1000) -> Iterator[StoredEvent]:
    """Every event in recording order with its inputs' sources, streamed (one query).

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
            held(None, table=src),
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
                held(None, table=obs),
            )
            .order_by(obs.c.at.desc(), obs.c.seq.desc())
            .limit(1)
            .scalar_subquery()
        )

    snapshot = e.c.kind == "snapshot"
    query = (
        select(
            *(e.c[c.name] for c in _EVENT_COLUMNS),
            case((e.c.kind == "hop", hop_status_at(None, e)), else_=None).label("status_now"),
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
        .order_by(e.c.seq, i.c.position)
    )
    result = conn.execution_options(stream_results=True, yield_per=batch).execute(query)
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


__all__ = [
    "FOREVER",
    "MAX_LINKED_KEYS",
    "EventRow",
    "Key",
    "RecordLinks",
    "StoredEvent",
    "bound",
    "conflict_candidates",
    "consumers",
    "current_event",
    "held",
    "hop_status_at",
    "key_events",
    "key_recorded",
    "latest_registry",
    "linked_records",
    "record_links",
    "status_updates_exist",
    "stored_events",
    "value_versions",
]
