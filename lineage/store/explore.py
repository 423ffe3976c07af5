"""What the explorer's pages and search read: each question a few steps of one index.

- The elements recorded in a system and the record keys of one element there are walked as a
  *loose index scan* of ``ix_events_place_at`` (system, element, record, ...): each next key is
  one ``MIN(...)`` seek past the previous one, so a page of 25 keys costs 25 seeks whatever
  the number of events behind each key.
- Record keys by prefix are a range of ``ix_events_system_record`` (system, record) per
  system, walked the same way: the key columns compare by code point on both backends
  (SQLite's ``BINARY``; PostgreSQL's ``C`` whatever the database's default, migration
  0019), so the keys starting with a prefix are one range of the index.
- Record keys by contains (any case, at least :data:`TRIGRAM` characters) are a trigram
  index (migration 0011_explorer_indexes): SQLite's FTS5 table ``events_record_trigrams``
  (``trigram`` tokenizer) matched as a phrase, with the short tail of events it does not
  cover yet scanned beside it (:mod:`lineage.store.search`), PostgreSQL's ``pg_trgm`` GIN index on
  ``events.record`` with ``ILIKE`` (both in the database's own collation, whose case folding
  knows more than ASCII letters). A database that has neither finds keys by prefix only
  (:func:`keys_containing` answers None).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, NamedTuple

from sqlalchemy import Connection, text

from ..rules import own_statuses
from . import search

__all__ = [
    "HopsSeen",
    "UpdatedHop",
    "elements_of_record",
    "elements_recorded",
    "integration_hops",
    "keys_by_prefix",
    "keys_containing",
    "record_keys_after",
]

TRIGRAM = 3
"""The shortest text a trigram index finds inside record keys (a shorter one: prefix only)."""

_TOP = "\U0010ffff"
"""The greatest code point: every key starting with a prefix sorts before prefix + it."""


_ELEMENTS_RECORDED = text(
    "WITH RECURSIVE found(element, n) AS ("
    " SELECT (SELECT MIN(element) FROM events WHERE system = :system), 1"
    " UNION ALL"
    " SELECT (SELECT MIN(e.element) FROM events e"
    "         WHERE e.system = :system AND e.element > found.element), found.n + 1"
    " FROM found WHERE found.element IS NOT NULL AND found.n < :limit"
    ") SELECT element FROM found WHERE element IS NOT NULL"
)


def elements_recorded(conn: Connection, system: str, limit: int = 500) -> list[str]:
    """The elements with at least one event in ``system``, sorted (at most ``limit``)."""
    rows = conn.execute(_ELEMENTS_RECORDED, {"system": system, "limit": limit})
    return [str(row[0]) for row in rows]


_KEYS_AFTER = text(
    "WITH RECURSIVE found(record, n) AS ("
    " SELECT (SELECT MIN(record) FROM events"
    "         WHERE system = :system AND element = :element AND record > :after), 1"
    " UNION ALL"
    " SELECT (SELECT MIN(e.record) FROM events e"
    "         WHERE e.system = :system AND e.element = :element AND e.record > found.record),"
    "        found.n + 1"
    " FROM found WHERE found.record IS NOT NULL AND found.n < :limit"
    ") SELECT record FROM found WHERE record IS NOT NULL"
)


def record_keys_after(
    conn: Connection, system: str, element: str, after: str | None, limit: int
) -> list[str]:
    """The record keys holding ``element`` in ``system`` that sort after ``after`` (None:
    from the first), sorted, at most ``limit``: one page of the records browser."""
    params = {"system": system, "element": element, "after": after or "", "limit": limit}
    return [str(row[0]) for row in conn.execute(_KEYS_AFTER, params)]


_KEYS_BY_PREFIX = text(
    "WITH RECURSIVE found(record, n) AS ("
    " SELECT (SELECT MIN(record) FROM events"
    "         WHERE system = :system AND record >= :prefix AND record < :upper), 1"
    " UNION ALL"
    " SELECT (SELECT MIN(e.record) FROM events e"
    "         WHERE e.system = :system AND e.record > found.record AND e.record < :upper),"
    "        found.n + 1"
    " FROM found WHERE found.record IS NOT NULL AND found.n < :limit"
    ") SELECT record FROM found WHERE record IS NOT NULL"
)


def keys_by_prefix(conn: Connection, system: str, prefix: str, limit: int) -> list[str]:
    """The record keys of ``system`` starting with ``prefix``, sorted, at most ``limit``."""
    params = {"system": system, "prefix": prefix, "upper": prefix + _TOP, "limit": limit}
    return [
        str(row[0]) for row in conn.execute(_KEYS_BY_PREFIX, params) if row[0].startswith(prefix)
    ]


# the key's events found through ix_events_system_record (both columns given), then their
# elements: asked directly, SQLite (with no statistics) walks ix_events_place_at, which
# covers the element, through every record of the system
_ELEMENTS_OF_RECORD = text(
    "SELECT element FROM events WHERE seq IN ("
    " SELECT seq FROM events WHERE system = :system AND record = :record LIMIT :events)"
)
_EVENTS_OF_RECORD = 1000


def elements_of_record(conn: Connection, system: str, record: str, limit: int = 20) -> list[str]:
    """The elements recorded for one record key of ``system``, sorted (those of its first
    1,000 events)."""
    params = {"system": system, "record": record, "events": _EVENTS_OF_RECORD}
    return sorted({str(row[0]) for row in conn.execute(_ELEMENTS_OF_RECORD, params)})[:limit]


_HAS_FTS = text(search.HAS_INDEX)
_MARK = text(search.MARK)
_HAS_TRGM = text(
    "SELECT 1 FROM pg_indexes WHERE tablename = 'events' "
    "AND indexname = 'ix_events_record_trigrams' AND schemaname = current_schema()"
)

# FTS5's trigram tokenizer matches a quoted phrase anywhere inside the key, any case;
# DISTINCT stops reading the index once ``limit`` keys are found
_CONTAINING_SQLITE = text(
    "SELECT DISTINCT system, record FROM events_record_trigrams"
    " WHERE events_record_trigrams MATCH :phrase LIMIT :limit"
)
# the events the index does not cover yet (at most about search.SEARCH_TAIL): a range of the
# primary key (with DISTINCT, SQLite would scan a covering index of every event instead; the
# keys are made distinct below); LIKE folds ASCII letters only, so a key is matched by any
# case in Python below
_TAIL_LIKE = text(
    "SELECT system, record FROM events WHERE seq > :mark AND record LIKE :pattern ESCAPE '\\'"
)
_TAIL = text("SELECT system, record FROM events WHERE seq > :mark")
# ILIKE with a pattern of three or more characters is a bitmap scan of the GIN index; both
# in the database's own collation (migration 0019), whose case folding knows more than ASCII
_CONTAINING_POSTGRESQL = text(
    "SELECT DISTINCT system, record FROM events"
    " WHERE record COLLATE \"default\" ILIKE :pattern ESCAPE '\\' LIMIT :limit"
)


def keys_containing(conn: Connection, part: str, limit: int) -> list[tuple[str, str]] | None:
    """(system, record key) pairs whose key holds ``part`` anywhere, any case, at most
    ``limit`` (in no particular order).

    None when the store has no trigram index (see the module's notes) or ``part`` is shorter
    than :data:`TRIGRAM` characters: the caller finds keys by prefix only.
    """
    if len(part) < TRIGRAM:
        return None
    dialect = conn.dialect.name
    escaped = part.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    rows: list[Any]
    if dialect == "sqlite":
        if conn.execute(_HAS_FTS).first() is None:
            return None
        phrase = 'record : "' + part.replace('"', '""') + '"'
        rows = list(conn.execute(_CONTAINING_SQLITE, {"phrase": phrase, "limit": limit}))
        mark = conn.execute(_MARK).scalar_one()
        if part.isascii():
            rows += conn.execute(_TAIL_LIKE, {"mark": mark, "pattern": f"%{escaped}%"})
        else:
            rows += conn.execute(_TAIL, {"mark": mark})
    elif dialect == "postgresql":
        if conn.execute(_HAS_TRGM).first() is None:
            return None
        rows = list(
            conn.execute(_CONTAINING_POSTGRESQL, {"pattern": f"%{escaped}%", "limit": limit})
        )
    else:
        return None
    lowered = part.casefold()
    found = dict.fromkeys(
        (str(system), str(record)) for system, record in rows if lowered in str(record).casefold()
    )
    return list(found)[:limit]


# An integration's hops by element and by the status each was recorded with, with the last
# one and how many were sent before ``lost_before``: ix_events_integration alone
_INTEGRATION_HOPS = text(
    "SELECT element, status, status_updated, COUNT(*), MAX(at),"
    " SUM(CASE WHEN at < :lost_before THEN 1 ELSE 0 END)"
    " FROM events WHERE integration = :integration"
    " GROUP BY element, status, status_updated"
)
# the few of them whose status changed later: every status recorded for each, in hop order
_INTEGRATION_UPDATED = text(
    "SELECT e.event_id, e.element, e.at, e.status, e.status_at, hs.status, hs.at, hs.seq"
    " FROM events e JOIN hop_status hs ON hs.event_id = e.event_id"
    " WHERE e.integration = :integration AND e.status_updated = :updated"
    " ORDER BY e.event_id, hs.seq"
)


class HopsSeen(NamedTuple):
    """Hops of one element on one integration with one recorded status (a statement's row)."""

    element: str
    status: str | None
    hops: int
    last_at: int
    sent_before: int  # of them, how many were sent before the ``lost_before`` asked


class UpdatedHop(NamedTuple):
    """A hop whose status changed after it was sent, with every status recorded for it."""

    element: str
    at: int
    history: list[tuple[str, int, int]]  # (status, at, seq); the hop's own first (seq < 0)


def integration_hops(
    conn: Connection, integration: str, lost_before: int
) -> tuple[list[HopsSeen], Iterator[UpdatedHop]]:
    """The hops recorded on ``integration``: grouped by element and the status each was
    recorded with (those whose status never changed), and one by one those whose status
    changed later (whose current status the caller decides from their history).

    The groups are one count read from ``ix_events_integration`` alone; the changed hops
    (few: a hop first ``sent`` then confirmed) one join on ``ix_hop_status_event``.
    """
    params = {"integration": integration, "lost_before": lost_before}
    groups = [
        HopsSeen(str(element), status, int(hops), int(last), int(sent_before or 0))
        for element, status, updated, hops, last, sent_before in conn.execute(
            _INTEGRATION_HOPS, params
        )
        if not updated
    ]
    return groups, _updated_hops(conn, integration)


def _updated_hops(conn: Connection, integration: str) -> Iterator[UpdatedHop]:
    rows = conn.execute(_INTEGRATION_UPDATED, {"integration": integration, "updated": True})
    current: tuple[str, UpdatedHop] | None = None
    for event_id, element, at, status, status_at, later, later_at, seq in rows:
        if current is None or current[0] != event_id:
            if current is not None:
                yield current[1]
            own_at = None if status_at is None else int(status_at)
            history = own_statuses(status, int(at), own_at)
            current = (event_id, UpdatedHop(str(element), int(at), history))
        current[1].history.append((str(later), int(later_at), int(seq)))
    if current is not None:
        yield current[1]
