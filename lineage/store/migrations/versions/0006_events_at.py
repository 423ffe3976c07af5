"""events by time: the store's clock and time windows are index steps

The store's clock is the time of the latest event recorded (docs/CONTRACT.md §8): every
time-relative judgement measures from it. Without an index led by ``at`` finding it read the
event table whole. Events arrive mostly in time order, so the index grows at its right edge
and costs little on ingest.

Revision ID: 0006_events_at
Revises: 0005_status_updated
Create Date: 2026-12-06 02:20:00
"""

from __future__ import annotations

from alembic import op

revision = "0006_events_at"
down_revision = "0005_status_updated"
branch_labels = None
depends_on = None

_NAME = "ix_events_at"


def upgrade() -> None:
    op.create_index(_NAME, "events", ["at"], unique=False)


def downgrade() -> None:
    op.drop_index(_NAME, table_name="events")
