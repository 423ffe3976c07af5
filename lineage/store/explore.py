"""What the explorer's pages and search read: each question a few steps of one index.

- The elements recorded in a system and the record keys of one element there are walked as a
  *loose index scan* of ``ix_events_place_at`` (system, element, record, ...): each next key is
  one ``MIN(...)`` seek past the previous one, so a page of 25 keys costs 25 seeks whatever
  the number of events behind each key.
- Record keys by prefix are a range of ``ix_events_system_record`` (system, record) per
  system, walked the same way. The range assumes the database orders text by code point
  (SQLite always; PostgreSQL under the ``C`` or ``C.UTF-8`` collation): under another
  collation the keys found are still filtered by the prefix, but some may be missed.
"""

from __future__ import annotations

from sqlalchemy import Connection, text

__all__ = [
    "elements_of_record",
    "elements_recorded",
    "keys_by_prefix",
    "record_keys_after",
]

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


_ELEMENTS_OF_RECORD = text(
    "SELECT DISTINCT element FROM events WHERE system = :system AND record = :record "
    "ORDER BY element LIMIT :limit"
)


def elements_of_record(conn: Connection, system: str, record: str, limit: int = 20) -> list[str]:
    """The elements recorded for one record key of ``system``, sorted."""
    params = {"system": system, "record": record, "limit": limit}
    return [str(row[0]) for row in conn.execute(_ELEMENTS_OF_RECORD, params)]
