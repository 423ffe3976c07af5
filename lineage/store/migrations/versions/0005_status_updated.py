"""status_updated: a hop's later statuses are looked up only when it has some

A hop's status as of a moment is its latest ``hop_status`` row by then, else the status it was
recorded with. The steward's questions ask that of every hop on every step of a walk, and
almost no hop has a later status: probing ``hop_status`` for each cost a fifth of a
PostgreSQL trace. The writer now sets ``events.status_updated`` when it stores a hop's first
status update, and the questions probe only those hops. This migration sets it for the hops
that already have updates.

Revision ID: 0005_status_updated
Revises: 0004_place_index_seq
Create Date: 2026-12-01 13:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005_status_updated"
down_revision = "0004_place_index_seq"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("events", sa.Column("status_updated", sa.Boolean(), nullable=True))
    op.execute(
        "UPDATE events SET status_updated = TRUE "
        "WHERE event_id IN (SELECT event_id FROM hop_status)"
    )


def downgrade() -> None:
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.drop_column("status_updated")
