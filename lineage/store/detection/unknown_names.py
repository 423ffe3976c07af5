"""``unknown-system`` and ``unknown-element``'s statements: the (system, element) pairs
recorded, read from the indexes ``ix_events_element_system`` / ``ix_events_place_at`` and
``ix_hop_inputs_place`` (in a scoped judgement: only the pairs naming the scope's unknown
names), and for an unknown name the count and the earliest events naming it."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, func, select, text

from ..schema import events, hop_inputs

Pair = tuple[str, str]
"""``(system, element)``."""


# The distinct (system, element) pairs of {table} on PostgreSQL, skipping through its index
# on (system, element, ...) from one pair to the next (a "loose index scan"): one probe per
# pair, where grouping reads every row (100,000 events, under load: 0.5 s grouped, 25 ms
# so). SQLite groups: correlated, its row-value comparison ranges on the system alone (1.5 s
# so), and grouping reads the covering index ix_events_element_system in order anyway.
_NEXT = (
    "(SELECT t.{column} FROM {table} t WHERE (t.system, t.element) > (p.system, p.element) "
    "ORDER BY t.system, t.element LIMIT 1)"
)
_SKIP_SCAN = (
    "WITH RECURSIVE p(system, element) AS ("
    "SELECT * FROM (SELECT system, element FROM {table} ORDER BY system, element LIMIT 1) f "
    "UNION ALL SELECT {next_system}, {next_element} FROM p WHERE {next_system} IS NOT NULL) "
    "SELECT system, element FROM p"
)


def named_pairs(conn: Connection) -> tuple[list[Pair], list[Pair]]:
    """Every (system, element) pair events leave values in, and every one hops read from."""
    found: list[list[Pair]] = []
    for table in (events, hop_inputs):
        if conn.dialect.name == "postgresql":
            named: Any = text(
                _SKIP_SCAN.format(
                    table=table.name,
                    next_system=_NEXT.format(column="system", table=table.name),
                    next_element=_NEXT.format(column="element", table=table.name),
                )
            )
        else:
            named = select(table.c.system, table.c.element).group_by(
                table.c.system, table.c.element
            )
        found.append([(row.system, row.element) for row in conn.execute(named)])
    return found[0], found[1]


def pairs_naming(
    conn: Connection, *, system: str | None = None, element: str | None = None
) -> tuple[list[Pair], list[Pair]]:
    """The pairs of :func:`named_pairs` with this ``system`` (or this ``element``)."""
    found: list[list[Pair]] = []
    for table in (events, hop_inputs):
        named = select(table.c.system, table.c.element)
        if system is not None:
            named = named.where(table.c.system == system)
        if element is not None:
            named = named.where(table.c.element == element)
        named = named.group_by(table.c.system, table.c.element)
        found.append([(row.system, row.element) for row in conn.execute(named)])
    return found[0], found[1]


_SOURCE = (
    select(func.min(hop_inputs.c.system))
    .where(hop_inputs.c.event_id == events.c.event_id)
    .correlate(events)
    .scalar_subquery()
)
_COLUMNS = (
    events.c.at,
    events.c.seq,
    events.c.event_id,
    events.c.kind,
    events.c.system,
    events.c.element,
    events.c.record,
    events.c.integration,
)


def naming_at(
    conn: Connection, system: str, element: str, as_of: int, samples: int
) -> tuple[int, list[Any]]:
    """How many events by ``as_of`` leave a value at (system, element), and the earliest
    ``samples`` of them (``at, seq, event_id, kind, system, element, record, integration,
    source``)."""
    where = (events.c.system == system, events.c.element == element, events.c.at <= as_of)
    count = conn.execute(select(func.count()).where(*where)).scalar_one()
    # fenced (OFFSET 0) so that PostgreSQL reads the pair's events through its index rather
    # than walking ix_events_at in time order from the store's first event
    fenced = select(*_COLUMNS, _SOURCE.label("source")).where(*where).offset(0).subquery("named")
    rows = conn.execute(select(fenced).order_by(fenced.c.at, fenced.c.seq).limit(samples)).all()
    return int(count), list(rows)


def reading_from(
    conn: Connection, system: str, element: str, as_of: int, samples: int
) -> tuple[int, list[Any]]:
    """How many hops by ``as_of`` read from (system, element), and the earliest ``samples``
    of them (columns of :func:`naming_at`, ``source`` the system read)."""
    joined = hop_inputs.join(events, events.c.event_id == hop_inputs.c.event_id)
    where = (
        hop_inputs.c.system == system,
        hop_inputs.c.element == element,
        events.c.at <= as_of,
    )
    count = conn.execute(select(func.count()).select_from(joined).where(*where)).scalar_one()
    fenced = (
        select(*_COLUMNS, hop_inputs.c.system.label("source"))
        .select_from(joined)
        .where(*where)
        .offset(0)
        .subquery("reading")
    )
    rows = conn.execute(select(fenced).order_by(fenced.c.at, fenced.c.seq).limit(samples)).all()
    return int(count), list(rows)
