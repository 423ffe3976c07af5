"""Indexed lookups the steward's questions share: trace, impact and the golden record.

The one-statement walks of trace and impact are in :mod:`lineage.store.walks`; the row types
and the point lookups are here.

Every lookup is a range scan on ``ix_events_place_at`` (system, element, record, at, seq) or a
probe of ``ix_hop_inputs_place`` / ``ix_hop_inputs_event``; nothing here reads a table
whole. Times are integer microseconds (see :mod:`lineage.store.schema`); ``as_of`` and
``horizon`` are inclusive upper bounds.

Two rules hold everywhere:

- "Latest" means the greatest ``(at, seq)``: among events at the same moment the one
  recorded last wins.
- A hop whose status (as known at the horizon) is ``failed`` never left its value anywhere:
  it is skipped when asking what a place held. ``sent`` hops count: a hop that was never
  confirmed is a finding of its own (``lost-delivery``), not a reason to look past it. The
  predicate is :func:`lineage.store.status.live_sql`, the store's one definition of it.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import Any, NamedTuple, Protocol

from sqlalchemy import Connection, bindparam, text

from ..rules import own_statuses
from .status import live_sql, own_sql, own_time_sql

#: An upper bound beyond any real time (year ~148,000): "no as-of given".
FOREVER = 2**62

#: Stands for NULL in null-safe comparisons of canonical values (never a canonical value).
NULL_MARK = "\x1f<null>\x1f"


# The SQL below is assembled from module constants only (S608 is silenced for that reason);
# every value travels as a bound parameter.

# The store's clock: the latest time of anything recorded: a tracker event, a hop's later
# status (a status update is an event too: the same hop id with a new status), the status a
# hop dated back arrived with (events.status_at), an OpenLineage event's eventTime. One step
# at the right edge of ix_events_at, ix_events_status_at, ix_hop_status_at and
# ix_openlineage_events_time. So the clock never moves back, and nothing recorded is dated
# after it: the latest state (no moment given) is the state as of the clock.
CLOCK = (
    "(SELECT MAX(t) FROM (SELECT MAX(at) AS t FROM events "
    "UNION ALL SELECT MAX(status_at) AS t FROM events WHERE status_at IS NOT NULL "
    "UNION ALL SELECT MAX(at) AS t FROM hop_status "
    "UNION ALL SELECT MAX(event_time) AS t FROM openlineage_events) AS clocks)"
)


def clock(conn: Connection) -> int | None:
    """The store's clock: the time of the latest event recorded, a tracker event (a hop's
    later status included) or an OpenLineage one (None for an empty store).

    Every time-relative judgement (delivery timeouts, audit windows) is measured from it
    unless a moment is given (docs/CONTRACT.md §8): a store that holds only OpenLineage
    events is judged as of its latest one, not the wall clock.
    """
    found = conn.execute(text(f"SELECT {CLOCK}")).scalar()
    return int(found) if found is not None else None


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


EVENT_ROW_COLUMNS: tuple[str, ...] = EventRow._fields
"""The columns of ``events`` every question reads, once, in :class:`EventRow` order."""

_EVENT_COLUMNS = ", ".join(f"e.{column}" for column in EVENT_ROW_COLUMNS)


def bounded(as_of: int | None) -> int:
    """``as_of``, or for None (now) a moment after everything recorded."""
    return FOREVER if as_of is None else as_of


_LATEST_AT_PLACE = text(
    f"SELECT {_EVENT_COLUMNS} FROM events e "  # noqa: S608
    "WHERE e.system = :system AND e.element = :element AND e.record = :record "
    "AND e.at <= :at AND e.seq <> :skip AND (:any_kind = 1 OR e.kind <> 'snapshot') "
    f"AND {live_sql('e')} "
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
            "horizon": bounded(horizon if horizon is not None else at),
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
    return _latest(conn, PlaceKey(system, element, record), bounded(as_of))


class SeenSnapshot(NamedTuple):
    """A snapshot at a place and what explained the place then: the latest write or live hop
    at or before it (``held_*`` None when there was none)."""

    event_id: str
    at: int
    value: str | None
    value_norm: str | None
    held_id: str | None
    held_at: int | None
    held_value: str | None
    held_norm: str | None

    @property
    def explained(self) -> bool:
        """What explained the place then left the value the snapshot saw (canonically)."""
        return self.held_id is not None and self.held_norm == self.value_norm


class UntracedReads(NamedTuple):
    """The live hops that read a place before anything was recorded there: the first (its id,
    time and the value it read) and how many."""

    event_id: str
    at: int
    value: str | None
    hops: int


# the first live hop that read one place when no write, live hop or snapshot was recorded
# there at or before it (the hop itself aside), and how many did, as lineage scan's
# untraced-value counts them: ix_hop_inputs_place, then one probe of ix_events_place_at a read
_UNTRACED_READS = text(
    "SELECT e.event_id, e.at, i.value, COUNT(*) OVER () AS reads FROM hop_inputs i "  # noqa: S608
    "JOIN events e ON e.event_id = i.event_id "
    "WHERE i.system = :system AND i.element = :element AND i.record = :record "
    f"AND e.kind = 'hop' AND e.at <= :horizon AND {live_sql('e')} "
    "AND NOT EXISTS (SELECT 1 FROM events x WHERE x.system = i.system "
    "AND x.element = i.element AND x.record = i.record AND x.at <= e.at AND x.seq <> e.seq "
    f"AND {live_sql('x')}) "
    "ORDER BY e.at, e.event_id LIMIT 1"
)


def untraced_reads(conn: Connection, place: PlaceLike, horizon: int | None) -> UntracedReads | None:
    """The live hops by ``horizon`` that read ``place`` where nothing was recorded before
    them (None: none did): what one ``untraced-value`` finding of ``lineage scan`` counts."""
    params = {
        "system": place.system,
        "element": place.element,
        "record": place.record,
        "horizon": bounded(horizon),
    }
    row = conn.execute(_UNTRACED_READS, params).first()
    if row is None:
        return None
    return UntracedReads(row.event_id, int(row.at), row.value, int(row.reads))


# the same for many places in one statement: {places} is a VALUES list of numbered places
# (n, system, element, record) as bound parameters (see _places_values)
_SNAPSHOTS_AT_PLACES = (
    "WITH places(n, system, element, record) AS (VALUES {places}) "  # noqa: S608
    "SELECT p.n AS place_n, s.event_id, s.at, s.value, s.value_norm, "
    "h.event_id AS held_id, h.at AS held_at, h.value AS held_value, h.value_norm AS held_norm "
    "FROM places p JOIN events s ON s.system = p.system AND s.element = p.element "
    "AND s.record = p.record LEFT JOIN events h ON h.seq = ("
    "SELECT x.seq FROM events x WHERE x.system = s.system AND x.element = s.element "
    "AND x.record = s.record AND x.at <= s.at AND x.kind <> 'snapshot' "
    f"AND {live_sql('x')} ORDER BY x.at DESC, x.seq DESC LIMIT 1) "
    "WHERE s.kind = 'snapshot' AND s.at <= :horizon ORDER BY p.n, s.at, s.seq"
)

#: Places per VALUES list (well under every backend's limit on bound parameters).
PLACES_BATCH = 300


UNCACHED: dict[str, Any] = {"compiled_cache": None}
"""Execution options for a statement built around one :func:`values_list` (pass them to
``Connection.execute``): SQLAlchemy neither keys it nor keeps it in its statement cache,
where it would never be found again (keying a 500-row list cost as much as compiling it)."""


def values_list(
    rows: Sequence[tuple[Any, ...]], params: dict[str, Any], *, cast: bool = False
) -> str:
    """A ``VALUES`` list of numbered rows ``(n, col1, col2, ...)`` as bound parameters.

    ``cast`` types the values as VARCHAR (a recursive query needs its columns typed alike on
    PostgreSQL); otherwise they stay untyped, which lets SQLite drive the join from the list
    into the indexes (a CAST makes its planner scan the table instead).
    """
    parts = []
    for number, row in enumerate(rows):
        cells = [f"{number}"]
        for column, value in enumerate(row):
            name = f"v{number}_{column}"
            params[name] = value
            cells.append(f"CAST(:{name} AS VARCHAR)" if cast else f":{name}")
        parts.append(f"({', '.join(cells)})")
    return ", ".join(parts)


def _places_values(places: Sequence[PlaceLike], params: dict[str, Any]) -> str:
    """A ``VALUES`` list of numbered places ``(n, system, element, record)``."""
    return values_list([(p.system, p.element, p.record) for p in places], params)


def _rows_by_place(
    conn: Connection, template: str, places: Sequence[PlaceLike], horizon: int | None
) -> Iterator[tuple[int, Any]]:
    """Each row of ``template`` (a statement over ``{places}``, a VALUES list of numbered
    places, and ``:horizon``) with the position in ``places`` of the place it is about (its
    ``place_n``): one statement per :data:`PLACES_BATCH` places."""
    for start in range(0, len(places), PLACES_BATCH):
        params: dict[str, Any] = {"horizon": bounded(horizon)}
        query = template.format(places=_places_values(places[start : start + PLACES_BATCH], params))
        for row in conn.execute(text(query), params, execution_options=UNCACHED):
            yield start + int(row.place_n), row


def snapshots_at_many(
    conn: Connection, places: Sequence[PlaceLike], horizon: int | None
) -> list[list[SeenSnapshot]]:
    """Every snapshot at each of ``places`` (in their order) by ``horizon`` (default: all),
    oldest first, each with what explained the place at its moment (the latest write or live
    hop, as ``lineage scan``'s untraced-value has it): one statement per :data:`PLACES_BATCH`
    places, whatever their history."""
    seen: list[list[SeenSnapshot]] = [[] for _ in places]
    for n, row in _rows_by_place(conn, _SNAPSHOTS_AT_PLACES, places, horizon):
        held_at = None if row.held_at is None else int(row.held_at)
        held = (row.held_id, held_at, row.held_value, row.held_norm)
        seen[n].append(SeenSnapshot(row.event_id, int(row.at), row.value, row.value_norm, *held))
    return seen


class HopStatus(NamedTuple):
    """One status a hop into a place was given: on arrival (``seq`` -1) or reported since."""

    event_id: str
    integration: str | None
    sent_at: int
    status: str
    at: int
    seq: int
    error: str | None


# the hops into one place that failed on arrival or were given a status since, with every
# status by the moment: whether each failed is the rules' call (lineage.rules.current_status)
_UNSETTLED_INTO_PLACE = text(
    f"SELECT e.event_id, e.integration, e.at AS sent_at, {own_sql('e')} AS status, "  # noqa: S608
    f"{own_time_sql('e')} AS at, -1 AS seq, e.error FROM events e "
    "WHERE e.system = :system AND e.element = :element AND e.record = :record "
    "AND e.kind = 'hop' AND e.at <= :horizon AND (e.status = 'failed' OR e.status_updated) "
    "UNION ALL "
    "SELECT e.event_id, e.integration, e.at, hs.status, hs.at, hs.seq, hs.error FROM events e "
    "JOIN hop_status hs ON hs.event_id = e.event_id "
    "WHERE e.system = :system AND e.element = :element AND e.record = :record "
    "AND e.kind = 'hop' AND e.at <= :horizon AND e.status_updated AND hs.at <= :horizon"
)


def statuses_into(conn: Connection, place: PlaceLike, horizon: int | None) -> list[HopStatus]:
    """Every status of the hops into ``place`` by ``horizon`` that failed on arrival or were
    given a status since (the few that may have failed): one statement."""
    params = {
        "system": place.system,
        "element": place.element,
        "record": place.record,
        "horizon": bounded(horizon),
    }
    return [
        HopStatus(
            row.event_id,
            row.integration,
            int(row.sent_at),
            row.status,
            int(row.at),
            int(row.seq),
            row.error,
        )
        for row in conn.execute(_UNSETTLED_INTO_PLACE, params)
    ]


# the same for many places in one statement ({places} as in _SNAPSHOTS_AT_PLACES)
_UNSETTLED_INTO_PLACES = (
    "WITH places(n, system, element, record) AS (VALUES {places}) "  # noqa: S608
    "SELECT p.n AS place_n, e.event_id, e.integration, e.at AS sent_at, "
    f"{own_sql('e')} AS status, {own_time_sql('e')} AS at, -1 AS seq, e.error "
    "FROM places p JOIN events e ON e.system = p.system AND e.element = p.element "
    "AND e.record = p.record "
    "WHERE e.kind = 'hop' AND e.at <= :horizon AND (e.status = 'failed' OR e.status_updated) "
    "UNION ALL "
    "SELECT p.n, e.event_id, e.integration, e.at, hs.status, hs.at, hs.seq, hs.error "
    "FROM places p JOIN events e ON e.system = p.system AND e.element = p.element "
    "AND e.record = p.record JOIN hop_status hs ON hs.event_id = e.event_id "
    "WHERE e.kind = 'hop' AND e.at <= :horizon AND e.status_updated AND hs.at <= :horizon"
)


def statuses_into_many(
    conn: Connection, places: Sequence[PlaceLike], horizon: int | None
) -> list[list[HopStatus]]:
    """:func:`statuses_into` of each of ``places`` (in their order), one statement per
    :data:`PLACES_BATCH` places."""
    found: list[list[HopStatus]] = [[] for _ in places]
    for n, row in _rows_by_place(conn, _UNSETTLED_INTO_PLACES, places, horizon):
        found[n].append(
            HopStatus(row.event_id, row.integration, int(row.sent_at), row.status, int(row.at),
                      int(row.seq), row.error)
        )  # fmt: skip
    return found


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
        horizon=bounded(horizon),
    )


def input_source(
    conn: Connection, hop: EventRow, hop_input: PlaceLike, *, horizon: int | None = None
) -> EventRow | None:
    """What the input's place held when the hop ran: its predecessor as of the hop's time.

    A record re-delivered many times has many versions; this is the one that fed this hop
    (the latest at or before ``hop.at``, never the hop itself). ``horizon`` is the moment
    whose knowledge of hop statuses counts (default: everything known).
    """
    return _latest(conn, hop_input, hop.at, skip=hop.seq, horizon=bounded(horizon))


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
    f"AND {live_sql('e')} "
    "ORDER BY e.at DESC, e.seq DESC LIMIT 1"
)
_FIRST_AFTER = text(
    f"SELECT {_EVENT_COLUMNS} FROM events e "  # noqa: S608
    "WHERE e.system = :system AND e.element = :element AND e.record = :record "
    "AND (e.at > :at OR (e.at = :at AND e.seq > :seq)) "
    f"AND {live_sql('e')} "
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
        "null": NULL_MARK,
        "horizon": bounded(horizon),
    }
    change = conn.execute(_VERSION_BREAK_BEFORE, params).first()
    if change is None:
        params.update(at=-FOREVER, seq=-1)
    else:
        params.update(at=int(change.at), seq=int(change.seq))
    first = conn.execute(_FIRST_AFTER, params).first()
    return EventRow.from_row(first) if first is not None else row


_DOWNSTREAM = text(
    "SELECT i.position AS in_position, i.value AS in_value, i.value_norm AS in_norm, "  # noqa: S608
    f"{_EVENT_COLUMNS} FROM hop_inputs i JOIN events e ON e.event_id = i.event_id "
    "WHERE i.system = :system AND i.element = :element AND i.record = :record "
    "AND e.at >= :since AND e.at < :until AND e.at <= :horizon "
    f"AND {live_sql('e')} ORDER BY e.at, e.seq, i.position"
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
            "horizon": bounded(horizon),
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


class Delivery(NamedTuple):
    """A live hop that read a shown hop's input place on the same integration into the same
    system and element (the shown hop itself included): what a duplicate delivery is judged
    from, in the order ``lineage scan`` lists the targets (by time, then recording order)."""

    event: str
    record: str
    at: int
    seq: int


class HopFacts(NamedTuple):
    """What a shown hop's open findings are judged from: its statuses and its siblings."""

    #: hop id -> (status, at, seq) of every status recorded for it (the first is the hop's own)
    statuses: dict[str, list[tuple[str, int, int]]]
    #: hop id -> per input place it read that another live hop of its integration read too,
    #: every such hop that delivered its element to its system, itself included, oldest first
    siblings: dict[str, dict[PlaceKey, list[Delivery]]]
    #: hop id -> those input places (the source records), in input order
    sources: dict[str, list[PlaceKey]]
    #: hop id -> the integration it travelled on, as recorded (for a hop no edge of the
    #: answer leads into: the start of an impact)
    integrations: dict[str, str | None]


_HOP_ROWS = text(
    "SELECT e.event_id, e.status, e.at, e.status_at, e.integration FROM events e "
    "WHERE e.kind = 'hop' AND e.event_id IN :ids"
).bindparams(bindparam("ids", expanding=True))

_HOP_STATUS_ROWS = text(
    "SELECT hs.event_id, hs.status, hs.at, hs.seq FROM hop_status hs "
    "WHERE hs.event_id IN :ids AND hs.at <= :horizon ORDER BY hs.seq"
).bindparams(bindparam("ids", expanding=True))

# every live hop out of a shown hop's input places (the source records) by the same
# integration into the same system and element, the shown hop among them when it is live;
# failed ones (as recorded on arrival or since) excluded
_SIBLINGS = text(
    "SELECT mine.event_id AS hop, mine.position, mine.system, mine.element, mine.record, "  # noqa: S608
    "oe.event_id, oe.record, oe.at, oe.seq FROM hop_inputs mine "
    "JOIN events me ON me.event_id = mine.event_id "
    "JOIN hop_inputs other ON other.system = mine.system AND other.element = mine.element "
    "AND other.record = mine.record "
    "JOIN events oe ON oe.event_id = other.event_id "
    "WHERE mine.event_id IN :ids AND oe.kind = 'hop' AND oe.integration = me.integration "
    "AND oe.system = me.system AND oe.element = me.element "
    f"AND oe.at <= :horizon AND {live_sql('oe')} "
    "ORDER BY mine.event_id, mine.position, oe.at, oe.seq"
).bindparams(bindparam("ids", expanding=True))


def hop_facts(conn: Connection, hop_ids: Sequence[str], horizon: int | None) -> HopFacts:
    """The statuses and delivery siblings of the hops an answer shows, in three indexed
    statements whatever their number (never one per step)."""
    if not hop_ids:
        return HopFacts({}, {}, {}, {})
    ids = list(dict.fromkeys(hop_ids))
    bound = bounded(horizon)
    statuses: dict[str, list[tuple[str, int, int]]] = {}
    integrations: dict[str, str | None] = {}
    for event_id, status, at, status_at, integration in conn.execute(_HOP_ROWS, {"ids": ids}):
        own_at = None if status_at is None else int(status_at)
        statuses[event_id] = own_statuses(status, int(at), own_at)
        integrations[event_id] = integration
    for event_id, status, at, seq in conn.execute(_HOP_STATUS_ROWS, {"ids": ids, "horizon": bound}):
        statuses.setdefault(event_id, []).append((status, int(at), int(seq)))
    siblings: dict[str, dict[PlaceKey, list[Delivery]]] = {}
    sources: dict[str, list[PlaceKey]] = {}
    rows = conn.execute(_SIBLINGS, {"ids": ids, "horizon": bound})
    for hop, _position, system, element, record, event_id, target, at, seq in rows:
        source = PlaceKey(system, element, record)
        found = siblings.setdefault(hop, {}).setdefault(source, [])
        if not found:
            sources.setdefault(hop, []).append(source)
        if all(event_id != known.event for known in found):
            found.append(Delivery(event_id, target, int(at), int(seq)))
    return HopFacts(statuses, siblings, sources, integrations)
