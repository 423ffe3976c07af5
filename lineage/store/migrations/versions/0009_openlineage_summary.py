"""OpenLineage summaries: namespaces, jobs, datasets, runs, their datasets, versions, edges

Every OpenLineage answer (observed-flow findings, the unmapped list, Marquez's read API)
read every stored OpenLineage event on every request. From this revision the store keeps a
summary of them, updated in the transaction that stores each batch of events
(``lineage/store/openlineage.py``), and the answers are indexed queries of it. The upgrade
builds the summaries from the events already stored, in recording order, in batches.

Revision ID: 0009_openlineage_summary
Revises: 0008_scope_indexes
Create Date: 2026-12-06 05:10:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009_openlineage_summary"
down_revision = "0008_scope_indexes"
branch_labels = None
depends_on = None

_TABLES = (
    "ol_field_edges",
    "ol_run_io",
    "ol_runs",
    "ol_job_io",
    "ol_dataset_versions",
    "ol_datasets",
    "ol_jobs",
    "ol_namespaces",
)


def _key(name: str) -> sa.Column[str]:
    return sa.Column(name, sa.String(), primary_key=True)


def upgrade() -> None:
    op.create_table(
        "ol_namespaces",
        _key("name"),
        sa.Column("first_at", sa.BigInteger()),
        sa.Column("last_at", sa.BigInteger()),
        sa.Column("dataset_mentions", sa.BigInteger(), nullable=False),
        sa.Column("job_events", sa.BigInteger(), nullable=False),
    )
    op.create_table(
        "ol_jobs",
        _key("namespace"),
        _key("name"),
        sa.Column("first_at", sa.BigInteger(), nullable=False),
        sa.Column("last_at", sa.BigInteger(), nullable=False),
        sa.Column("events", sa.BigInteger(), nullable=False),
        sa.Column("runs", sa.BigInteger(), nullable=False),
        sa.Column("description", sa.Text()),
        sa.Column("parent", sa.String()),
        sa.Column("facets", sa.Text(), nullable=False),
    )
    op.create_table(
        "ol_datasets",
        _key("namespace"),
        _key("name"),
        sa.Column("first_at", sa.BigInteger()),
        sa.Column("last_at", sa.BigInteger()),
        sa.Column("mentions", sa.BigInteger(), nullable=False),
        sa.Column("description", sa.Text()),
        sa.Column("facets", sa.Text(), nullable=False),
        sa.Column("fields", sa.Text(), nullable=False),
        sa.Column("current_version", sa.String()),
        sa.Column("last_modified_at", sa.BigInteger()),
    )
    op.create_table(
        "ol_dataset_versions",
        _key("namespace"),
        _key("name"),
        _key("version"),
        sa.Column("at", sa.BigInteger(), nullable=False),
        sa.Column("run_id", sa.String()),
    )
    op.create_index("ix_ol_dataset_versions_at", "ol_dataset_versions", ["namespace", "name", "at"])
    op.create_table(
        "ol_job_io",
        _key("job_namespace"),
        _key("job_name"),
        _key("io"),
        _key("namespace"),
        _key("name"),
    )
    op.create_index("ix_ol_job_io_dataset", "ol_job_io", ["namespace", "name"])
    op.create_table(
        "ol_runs",
        _key("job_namespace"),
        _key("job_name"),
        _key("run_id"),
        sa.Column("first_at", sa.BigInteger(), nullable=False),
        sa.Column("last_at", sa.BigInteger(), nullable=False),
        sa.Column("last_seq", sa.BigInteger(), nullable=False),
        sa.Column("state", sa.String()),
        sa.Column("ended_state", sa.String()),
        sa.Column("ended_at", sa.BigInteger()),
        sa.Column("ended_seq", sa.BigInteger()),
        sa.Column("started_at", sa.BigInteger()),
        sa.Column("error", sa.Text()),
        sa.Column("language", sa.String()),
        sa.Column("facets", sa.Text(), nullable=False),
        sa.Column("events", sa.BigInteger(), nullable=False),
    )
    op.create_index("ix_ol_runs_job", "ol_runs", ["job_namespace", "job_name", "last_at"])
    op.create_index("ix_ol_runs_state", "ol_runs", ["state", "job_namespace", "job_name"])
    op.create_index("ix_ol_runs_id", "ol_runs", ["run_id"])
    op.create_table(
        "ol_run_io",
        _key("run_id"),
        _key("io"),
        _key("namespace"),
        _key("name"),
    )
    op.create_table(
        "ol_field_edges",
        _key("key"),
        sa.Column("job", sa.String(), nullable=False),
        sa.Column("output", sa.Boolean(), nullable=False),
        sa.Column("source_namespace", sa.String(), nullable=False),
        sa.Column("source_dataset", sa.String(), nullable=False),
        sa.Column("source_field", sa.String(), nullable=False),
        sa.Column("target_namespace", sa.String(), nullable=False),
        sa.Column("target_dataset", sa.String(), nullable=False),
        sa.Column("target_field", sa.String(), nullable=False),
        sa.Column("description", sa.Text()),
        sa.Column("kind", sa.String()),
    )
    op.create_index(
        "ix_ol_field_edges_target",
        "ol_field_edges",
        ["target_namespace", "target_dataset", "target_field"],
    )
    op.create_index(
        "ix_ol_field_edges_source",
        "ol_field_edges",
        ["source_namespace", "source_dataset", "source_field"],
    )
    op.create_index("ix_ol_field_edges_job", "ol_field_edges", ["job"])
    # the events already stored, summed up by the same code that sums up new ones
    from lineage.interop.openlineage import rebuild_summaries  # noqa: PLC0415 - after the tables

    rebuild_summaries(op.get_bind())


def downgrade() -> None:
    for table in _TABLES:
        op.drop_table(table)
