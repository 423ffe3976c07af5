"""The explorer's indexes: record keys found by any part of them, hops read by integration

- **Record keys by contains.** Search found record keys by prefix only (a range of
  ``ix_events_system_record``); a part from the middle of a key (``5008`` of ``W-5008-2``)
  needs a trigram index. SQLite: an FTS5 table with the ``trigram`` tokenizer over the events'
  ``system`` and ``record`` (external content: the text stays in ``events``, the table holds
  the index), filled by a trigger on every new event. PostgreSQL: a GIN index of
  ``pg_trgm``'s ``gin_trgm_ops`` on ``events.record``. When the database cannot (an SQLite
  built without FTS5 or older than 3.34, a PostgreSQL where ``CREATE EXTENSION pg_trgm`` is
  refused) the upgrade leaves it out and search finds record keys by prefix only
  (:func:`lineage.store.explore.keys_containing` says which).
- **Hops by integration.** An integration's page counts its hops per element and status and
  dates its last one: ``ix_events_integration`` (integration, element, status,
  status_updated, at) answers that from the index alone.

Revision ID: 0011_explorer_indexes
Revises: 0010_marquez_stats_indexes
Create Date: 2026-12-06 20:10:00
"""

from __future__ import annotations

from alembic import op
from sqlalchemy.exc import DBAPIError

revision = "0011_explorer_indexes"
down_revision = "0010_marquez_stats_indexes"
branch_labels = None
depends_on = None

INTEGRATION_COLUMNS = ["integration", "element", "status", "status_updated", "at"]


def upgrade() -> None:
    op.create_index("ix_events_integration", "events", INTEGRATION_COLUMNS)
    conn = op.get_bind()
    if conn.dialect.name == "sqlite":
        _sqlite_trigrams()
    elif conn.dialect.name == "postgresql":
        _postgresql_trigrams()


def _sqlite_trigrams() -> None:
    conn = op.get_bind()
    try:
        with conn.begin_nested():
            conn.exec_driver_sql(
                "CREATE VIRTUAL TABLE events_record_trigrams USING fts5("
                "system UNINDEXED, record, content='events', content_rowid='seq', "
                "tokenize='trigram')"
            )
    except DBAPIError:
        return  # no FTS5, or no trigram tokenizer (SQLite before 3.34): prefix search only
    conn.exec_driver_sql(
        "CREATE TRIGGER events_record_trigrams_insert AFTER INSERT ON events BEGIN"
        " INSERT INTO events_record_trigrams (rowid, system, record)"
        " VALUES (new.seq, new.system, new.record);"
        " END"
    )
    conn.exec_driver_sql(
        "INSERT INTO events_record_trigrams (events_record_trigrams) VALUES ('rebuild')"
    )


def _postgresql_trigrams() -> None:
    conn = op.get_bind()
    try:
        with conn.begin_nested():
            conn.exec_driver_sql("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    except DBAPIError:
        return  # not installed, or this role may not create it: prefix search only
    conn.exec_driver_sql(
        "CREATE INDEX ix_events_record_trigrams ON events USING gin (record gin_trgm_ops)"
    )


def downgrade() -> None:
    conn = op.get_bind()
    if conn.dialect.name == "sqlite":
        conn.exec_driver_sql("DROP TRIGGER IF EXISTS events_record_trigrams_insert")
        conn.exec_driver_sql("DROP TABLE IF EXISTS events_record_trigrams")
    elif conn.dialect.name == "postgresql":
        conn.exec_driver_sql("DROP INDEX IF EXISTS ix_events_record_trigrams")
    op.drop_index("ix_events_integration", table_name="events")
