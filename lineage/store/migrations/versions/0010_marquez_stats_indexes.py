"""Marquez's dashboard counts: OpenLineage jobs and datasets by when they were first seen

Marquez's web UI charts how many jobs and datasets were known at each of the last 24 hours or
7 days (``GET /api/v1/stats/jobs``, ``/stats/datasets``). Each is a count before the first
interval and one per interval, a range of ``first_at``: without an index led by it, a read of
the whole summary table on every chart.

Revision ID: 0010_marquez_stats_indexes
Revises: 0009_openlineage_summary
Create Date: 2026-12-06 16:40:00
"""

from __future__ import annotations

from alembic import op

revision = "0010_marquez_stats_indexes"
down_revision = "0009_openlineage_summary"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_ol_jobs_first", "ol_jobs", ["first_at"])
    op.create_index("ix_ol_datasets_first", "ol_datasets", ["first_at"])


def downgrade() -> None:
    op.drop_index("ix_ol_datasets_first", table_name="ol_datasets")
    op.drop_index("ix_ol_jobs_first", table_name="ol_jobs")
