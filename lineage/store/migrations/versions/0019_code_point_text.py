"""PostgreSQL: the text of events, hop_inputs, hop_status and findings in the "C" collation

Every text column of the four tables a judgement probes compares by code point, whatever the
database's default collation (:data:`lineage.store.schema.KEY`, ``BODY``), as SQLite's
``BINARY`` and Python's ``str`` always did:

- **one order everywhere.** Under a database created with a language's collation (a libc
  ``en_US.UTF-8``, an ICU ``en-US``: what many servers are set up with), ``ORDER BY record``
  sorted ``a-2`` before ``A-1`` and ignored punctuation, while SQLite and the engine's
  Python sorted by code point: a page of keys came in another order on each backend, and a
  prefix range of an index (the explorer's search by prefix) could miss keys;
- **cheaper probes.** A B-tree probe of a key column compared each pair of strings through
  the locale (``strcoll``); in "C" it compares bytes. At 1,000,000 events on a ``C.UTF-8``
  database (the cheapest locale), a 1,007-event batch's judgement took a tenth less time and
  the unique index of event ids builds in half the time; on an ICU ``en-US`` database the
  judgement took a tenth to three tenths less and the batch's ingest a third less
  (CHANGELOG.md, 2026-12-07, 12:50-14:40 UTC).

Equality is unchanged (every collation here is deterministic). The one case-insensitive
question, record search (``ILIKE`` over the trigram index of record keys, migration 0011),
keeps the database's own case folding: the trigram index is built again on
``record COLLATE "default"``, and the search asks in that collation
(:mod:`lineage.store.explore`).

Changing a column's collation rewrites no table, only the indexes on it (at 1,000,000
events, about as long as building them: 15 s here), and drops the column's statistics, so
the tables are analyzed again. SQLite is not touched.

Revision ID: 0019_code_point_text
Revises: 0018_findings_open_places
Create Date: 2026-12-07 13:30:00
"""

from __future__ import annotations

from alembic import op
from sqlalchemy import text

revision = "0019_code_point_text"
down_revision = "0018_findings_open_places"
branch_labels = None
depends_on = None

_TABLES = ("events", "hop_inputs", "hop_status", "findings")

_TEXT_COLUMNS = text(
    "SELECT column_name, data_type FROM information_schema.columns "
    "WHERE table_schema = current_schema() AND table_name = :table "
    "AND data_type IN ('character varying', 'text') ORDER BY ordinal_position"
)
_TRIGRAMS = text(
    "SELECT 1 FROM pg_indexes WHERE schemaname = current_schema() "
    "AND tablename = 'events' AND indexname = 'ix_events_record_trigrams'"
)


def _collate(collation: str) -> None:
    """Every text column of the four tables in ``collation``; the trigram index of record
    keys (if the store has one) built again in the database's own collation."""
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    trigrams = bind.execute(_TRIGRAMS).first() is not None
    if trigrams:  # dropped first: the column's change would build it once for nothing
        op.execute("DROP INDEX ix_events_record_trigrams")
    for table in _TABLES:
        columns = bind.execute(_TEXT_COLUMNS, {"table": table}).all()
        changes = ", ".join(
            f"ALTER COLUMN {name} TYPE {'varchar' if kind == 'character varying' else 'text'} "
            f'COLLATE "{collation}"'
            for name, kind in columns
        )
        op.execute(f"ALTER TABLE {table} {changes}")
    if trigrams:
        op.execute(
            "CREATE INDEX ix_events_record_trigrams ON events "
            'USING gin (record COLLATE "default" gin_trgm_ops)'
        )
    # a column's new type drops its statistics: without them the planner took the events
    # table for unknown and hash-joined all of it to find a batch's hop inputs (minutes).
    # An empty table (a new store) is left unanalyzed, as it was: statistics of no rows
    # would make the planner read the first events by scans instead of their indexes
    filled = [
        t
        for t in _TABLES  # fixed names, never input
        if bind.execute(text(f"SELECT EXISTS (SELECT 1 FROM {t})")).scalar()  # noqa: S608
    ]
    if filled:
        op.execute(f"ANALYZE {', '.join(filled)}")


def upgrade() -> None:
    _collate("C")


def downgrade() -> None:
    _collate("default")
