"""SQLite's trigram index of record keys is kept up a tail at a time, not row by row

Migration 0011 kept the FTS5 table ``events_record_trigrams`` up with a trigger on every
event inserted. On a big store that made every small ingest pay for FTS5's segment merges:
at 1,000,000 events a 1,007-event batch took 0.17 to 1.9 s to insert with the trigger and
0.11 to 0.16 s without. The trigger goes; ``events_record_trigrams_mark`` holds the last
``events.seq`` the index covers, a write catches the index up once the events past it reach
:data:`lineage.store.explore.SEARCH_TAIL` (one ``INSERT ... SELECT`` of the tail, in the
writer's transaction), and a search reads the index and the short tail past the mark
(:func:`lineage.store.explore.keys_containing`). Only SQLite stores that have the FTS5 table
change; PostgreSQL's GIN index keeps itself up (its pending list does the same batching).

Revision ID: 0015_record_search_tail
Revises: 0014_hop_status_at
Create Date: 2026-12-07 01:40:00
"""

from __future__ import annotations

from alembic import op

revision = "0015_record_search_tail"
down_revision = "0014_hop_status_at"
branch_labels = None
depends_on = None


def _has_index() -> bool:
    conn = op.get_bind()
    if conn.dialect.name != "sqlite":
        return False
    found = conn.exec_driver_sql(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'events_record_trigrams'"
    )
    return found.first() is not None


def upgrade() -> None:
    if not _has_index():
        return  # PostgreSQL, or SQLite without FTS5's trigram tokenizer (prefix search only)
    conn = op.get_bind()
    conn.exec_driver_sql("DROP TRIGGER IF EXISTS events_record_trigrams_insert")
    conn.exec_driver_sql(
        "CREATE TABLE events_record_trigrams_mark (id INTEGER PRIMARY KEY, seq INTEGER NOT NULL)"
    )
    # the trigger kept the index up to every event stored so far
    conn.exec_driver_sql(
        "INSERT INTO events_record_trigrams_mark (id, seq) "
        "SELECT 1, COALESCE(MAX(seq), 0) FROM events"
    )


def downgrade() -> None:
    if not _has_index():
        return
    conn = op.get_bind()
    conn.exec_driver_sql("DROP TABLE IF EXISTS events_record_trigrams_mark")
    conn.exec_driver_sql(
        "INSERT INTO events_record_trigrams (events_record_trigrams) VALUES ('rebuild')"
    )
    conn.exec_driver_sql(
        "CREATE TRIGGER events_record_trigrams_insert AFTER INSERT ON events BEGIN"
        " INSERT INTO events_record_trigrams (rowid, system, record)"
        " VALUES (new.seq, new.system, new.record);"
        " END"
    )
