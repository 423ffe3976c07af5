"""A hop's statuses in the rules' order: event time, then arrival

The live-hop predicate (``lineage.store.queries.LIVE``) takes a hop's latest status by event
time, then recording order (``lineage.rules.status_key``), not by recording order alone: a
final status older than the current one is kept as history now. ``ix_hop_status_event_at``
serves that order as one backward step per hop (without it SQLite sorted the hop's statuses
in a temporary B-tree on every step of a walk).

Revision ID: 0013_hop_status_order
Revises: 0012_marquez_job_recency
Create Date: 2026-12-06 21:15:00
"""

from __future__ import annotations

from alembic import op

revision = "0013_hop_status_order"
down_revision = "0012_marquez_job_recency"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_hop_status_event_at", "hop_status", ["event_id", "at", "seq"])


def downgrade() -> None:
    op.drop_index("ix_hop_status_event_at", table_name="hop_status")
