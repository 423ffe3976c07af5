"""Marquez's job lists, most recently updated first

Marquez lists jobs (``GET /api/v1/jobs``, ``/namespaces/{ns}/jobs``) newest ``updated_at``
first, and its web UI's dashboard shows the first ten of them as the jobs that ran last. A
page of them is a range of ``last_at``, descending: ``ix_ol_jobs_recent`` for every job,
``ix_ol_jobs_namespace_recent`` for one namespace's.

Revision ID: 0012_marquez_job_recency
Revises: 0011_explorer_indexes
Create Date: 2026-12-06 20:45:00
"""

from __future__ import annotations

from alembic import op

revision = "0012_marquez_job_recency"
down_revision = "0011_explorer_indexes"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_ol_jobs_recent", "ol_jobs", ["last_at"])
    op.create_index("ix_ol_jobs_namespace_recent", "ol_jobs", ["namespace", "last_at"])


def downgrade() -> None:
    op.drop_index("ix_ol_jobs_namespace_recent", table_name="ol_jobs")
    op.drop_index("ix_ol_jobs_recent", table_name="ol_jobs")
