"""place index ends with seq: "the latest event at a place" is one index step

Every question asks for the latest event at a place as of a moment: the greatest
``(at, seq)`` there. With ``seq`` as the index's last column PostgreSQL reads that one entry
backwards and stops; without it, it read every version of the place up to the moment and
sorted them, once per step of a trace (a record re-delivered daily for years made that
thousands of rows a step). SQLite's indexes already end with the rowid, which is ``seq``; it
gets the same index so that both stores have one schema.

Revision ID: 0004_place_index_seq
Revises: 0003_detection_indexes
Create Date: 2026-12-01 12:00:00
"""

from __future__ import annotations

from alembic import op

revision = "0004_place_index_seq"
down_revision = "0003_detection_indexes"
branch_labels = None
depends_on = None

_NAME = "ix_events_place_at"


def upgrade() -> None:
    op.drop_index(_NAME, table_name="events")
    op.create_index(_NAME, "events", ["system", "element", "record", "at", "seq"], unique=False)


def downgrade() -> None:
    op.drop_index(_NAME, table_name="events")
    op.create_index(_NAME, "events", ["system", "element", "record", "at"], unique=False)
