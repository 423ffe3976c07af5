"""SQLite's trigram index of record keys, kept up a tail at a time (migration 0015).

The FTS5 table ``events_record_trigrams`` (migration 0011) indexes the record key of every
event up to the ``events.seq`` held in ``events_record_trigrams_mark``; the events past it
are the *tail*. A write catches the index up in its own transaction once the tail reaches
:data:`SEARCH_TAIL` events (:data:`CATCH_UP`): one ``INSERT ... SELECT``, so FTS5 writes
one segment for many events instead of merging after every small batch (kept up row by row
by a trigger, a 1,007-event batch into a 1,000,000-event store took 0.17 to 1.9 s to insert,
0.11 to 0.16 s without it). A search reads the index and the tail (at most about
:data:`SEARCH_TAIL` events, a range of the primary key), so it never misses a key.

PostgreSQL's ``pg_trgm`` GIN index needs none of this: its pending list batches the same way.
"""

from __future__ import annotations

SEARCH_TAIL = 20_000
"""Events past the mark that a write leaves to the search's tail scan before catching up."""

MARK_TABLE = "events_record_trigrams_mark"

HAS_INDEX = f"SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = '{MARK_TABLE}'"  # noqa: S608
"""One row when the store keeps the index (not on SQLite without FTS5's trigram tokenizer)."""

MARK = f"SELECT seq FROM {MARK_TABLE} WHERE id = 1"  # noqa: S608 - constants only
"""The last event the index covers."""

_LAST = "(SELECT COALESCE(MAX(seq), 0) FROM events)"

TAIL_LENGTH = f"SELECT {_LAST} - seq FROM {MARK_TABLE} WHERE id = 1"  # noqa: S608
"""How many events the index lacks."""


_INDEX_TAIL = (
    "INSERT INTO events_record_trigrams (rowid, system, record)"  # noqa: S608 - constants
    f" SELECT seq, system, record FROM events WHERE seq > ({MARK})"
)
_MOVE_MARK = f"UPDATE {MARK_TABLE} SET seq = {_LAST} WHERE id = 1"  # noqa: S608 - constants

CATCH_UP = (_INDEX_TAIL, _MOVE_MARK)
"""The statements that index the tail and move the mark to the last event (in order)."""

REBUILD = (
    "INSERT INTO events_record_trigrams (events_record_trigrams) VALUES ('rebuild')",
    _MOVE_MARK,
)
"""The statements that rebuild the whole index and move the mark to the last event."""
