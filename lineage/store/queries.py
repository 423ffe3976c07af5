"""Indexed lookups the steward's questions share: trace, impact and the golden record.

Every lookup is a range scan on ``ix_events_place_at`` (system, element, record, at) or a
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

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple, Protocol

from sqlalchemy import Connection, bindparam, text

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

# A hop counts unless its latest status known at :horizon is "failed".
_LIVE = (
    "NOT ({e}.kind = 'hop' AND COALESCE("
    "(SELECT s.status FROM hop_status s WHERE s.event_id = {e}.event_id AND s.at <= :horizon "
    "ORDER BY s.seq DESC LIMIT 1), {e}.status, 'delivered') = 'failed')"
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


@dataclass(frozen=True, slots=True)
class EventRow:
    """One stored event (a write, a hop's output, or a snapshot) and its entry check."""

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


@dataclass(frozen=True, slots=True)
class InputRow:
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


# The trace walk, one recursive query: from the start event back through every hop input's
# predecessor as of the hop's time (and from a snapshot to the write or hop it should show).
# Rows are edges (consumer event, input position or -1 for a snapshot, producer event or NULL
# when the input's place holds nothing then). UNION keeps each edge once, so an event reached
# along several paths is expanded once and cycles end.
TRACE_WALK_SQL = f"""
WITH RECURSIVE walk(child, position, parent) AS (
    SELECT CAST(NULL AS VARCHAR), CAST(NULL AS INTEGER), CAST(:start AS VARCHAR)
  UNION
    SELECT ev.event_id, COALESCE(i.position, -1), (
        SELECT e.event_id FROM events e
        WHERE e.system = COALESCE(i.system, ev.system)
          AND e.element = COALESCE(i.element, ev.element)
          AND e.record = COALESCE(i.record, ev.record)
          AND e.at <= ev.at AND e.seq <> ev.seq
          AND (ev.kind = 'hop' OR e.kind <> 'snapshot')
          AND {_LIVE.format(e="e")}
        ORDER BY e.at DESC, e.seq DESC LIMIT 1)
    FROM walk w
    JOIN events ev ON ev.event_id = w.parent
    LEFT JOIN hop_inputs i ON ev.kind = 'hop' AND i.event_id = ev.event_id
    WHERE ev.kind IN ('hop', 'snapshot')
)
SELECT child, position, parent FROM walk WHERE child IS NOT NULL
"""  # noqa: S608
_TRACE_WALK = text(TRACE_WALK_SQL)


class WalkEdge(NamedTuple):
    """One step of a walk: ``consumer`` read input ``position`` from ``producer``."""

    consumer: str
    position: int
    producer: str | None


def trace_walk(conn: Connection, start: str, *, horizon: int | None = None) -> list[WalkEdge]:
    """Every step back from event ``start`` to the writes (or gaps) at its origins.

    ``position`` is -1 for the step from a snapshot to the write or hop it should show.
    """
    rows = conn.execute(_TRACE_WALK, {"start": start, "horizon": _horizon(horizon)})
    return [WalkEdge(r.child, int(r.position), r.parent) for r in rows]


# The impact walk: from a value version (a place, its canonical value, and the window in
# which the place held it) forward to every hop that read that value from that place within
# the window, then on from each hop's output for as long as its place keeps that output.
IMPACT_WALK_SQL = f"""
WITH RECURSIVE reach(node, via, position, system, element, record, norm, since, until) AS (
    SELECT CAST(:start AS VARCHAR), CAST(NULL AS VARCHAR), CAST(NULL AS INTEGER),
           CAST(:system AS VARCHAR), CAST(:element AS VARCHAR), CAST(:record AS VARCHAR),
           CAST(:norm AS TEXT), CAST(:since AS BIGINT), CAST(:until AS BIGINT)
  UNION
    SELECT h.event_id, r.node, i.position, h.system, h.element, h.record, h.value_norm,
           h.at, COALESCE((
               SELECT MIN(e.at) FROM events e
               WHERE e.system = h.system AND e.element = h.element AND e.record = h.record
                 AND e.at > h.at
                 AND COALESCE(e.value_norm, :null) <> COALESCE(h.value_norm, :null)
                 AND {_LIVE.format(e="e")}), :forever)
    FROM reach r
    JOIN hop_inputs i ON i.system = r.system AND i.element = r.element AND i.record = r.record
    JOIN events h ON h.event_id = i.event_id
    WHERE COALESCE(i.value_norm, :null) = COALESCE(r.norm, :null)
      AND h.at >= r.since AND h.at < r.until AND h.at <= :horizon
      AND {_LIVE.format(e="h")}
)
SELECT node AS consumer, position, via AS producer FROM reach WHERE via IS NOT NULL
"""  # noqa: S608
_IMPACT_WALK = text(IMPACT_WALK_SQL)


def impact_walk(conn: Connection, start: EventRow, *, horizon: int | None = None) -> list[WalkEdge]:
    """Every hop downstream of the value version that ``start`` began (see :func:`version_start`).

    A hop is downstream when it read the place while it still held that version (from
    ``start.at`` until the place next changed value, and no later than ``horizon``) and the
    value it read equals it; its own output is followed the same way.
    """
    rows = conn.execute(
        _IMPACT_WALK,
        {
            "start": start.event_id,
            "system": start.system,
            "element": start.element,
            "record": start.record,
            "norm": start.value_norm,
            "since": start.at,
            "until": FOREVER,
            "forever": FOREVER,
            "horizon": _horizon(horizon),
            "null": _NULL,
        },
    )
    return [WalkEdge(r.consumer, int(r.position), r.producer) for r in rows]


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
