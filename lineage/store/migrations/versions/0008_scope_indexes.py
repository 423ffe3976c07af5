"""scope indexes: statuses and OpenLineage events by time, for incremental detection

Incremental detection judges what changed since its watermark, including a hop status or an
OpenLineage event recorded earlier but dated after the store's clock then, which counts only
once the clock passes its time. Finding those is a range of time: without an index led by the
time, a read of the whole table on every judgement.

Revision ID: 0008_scope_indexes
Revises: 0007_findings_state
Create Date: 2026-12-06 05:50:00
"""

from __future__ import annotations

from alembic import op

revision = "0008_scope_indexes"
down_revision = "0007_findings_state"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_hop_status_at", "hop_status", ["at"], unique=False)
    op.create_index("ix_openlineage_events_time", "openlineage_events", ["event_time"])


def downgrade() -> None:
    op.drop_index("ix_openlineage_events_time", table_name="openlineage_events")
    op.drop_index("ix_hop_status_at", table_name="hop_status")
