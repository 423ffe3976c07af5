"""findings state: findings kept with their history, a webhook outbox, a detection watermark

Findings were recomputed by a full scan for every question. From this revision they are
state: each finding (a code and a subject) is stored when it is first judged true, seen
again by later judgements, and resolved when later events make it untrue; reopening is a
new occurrence of the same fingerprint. Times are the store's clock (microseconds).

- ``findings``: one row per occurrence. At most one open occurrence per fingerprint
  (a unique partial index), so two concurrent writers can never double an open finding.
- ``findings_outbox``: each opened or resolved finding to tell ``LINEAGE_WEBHOOK_URL``,
  written in the same transaction as the change, delivered later with retries.
- ``detection_state``: one row, the watermark of what incremental detection has judged
  (the last event, hop status and OpenLineage sequence numbers, the clock, the registry).

Revision ID: 0007_findings_state
Revises: 0006_events_at
Create Date: 2026-12-06 05:10:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007_findings_state"
down_revision = "0006_events_at"
branch_labels = None
depends_on = None

_OPEN = sa.text("resolved_at IS NULL")
_PENDING = sa.text("delivered_at IS NULL")


def _pk() -> sa.Column[int]:
    return sa.Column(
        "id",
        sa.BigInteger().with_variant(sa.Integer, "sqlite"),
        primary_key=True,
        autoincrement=True,
    )


def upgrade() -> None:
    op.create_table(
        "findings",
        _pk(),
        sa.Column("fingerprint", sa.String(), nullable=False),
        sa.Column("occurrence", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(), nullable=False),
        sa.Column("severity", sa.String(), nullable=False),
        sa.Column("system", sa.String()),
        sa.Column("element", sa.String()),
        sa.Column("record", sa.String()),
        sa.Column("integration", sa.String()),
        sa.Column("event", sa.String()),
        sa.Column("owner", sa.String()),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("evidence", sa.Text(), nullable=False),
        sa.Column("first_seen_at", sa.BigInteger(), nullable=False),
        sa.Column("first_seen_event", sa.String()),
        sa.Column("last_seen_at", sa.BigInteger(), nullable=False),
        sa.Column("last_seen_event", sa.String()),
        sa.Column("resolved_at", sa.BigInteger()),
        sa.Column("resolved_by", sa.String()),
        sa.Column("registry_version", sa.Integer()),
    )
    op.create_index(
        "ux_findings_fingerprint_occurrence", "findings", ["fingerprint", "occurrence"], unique=True
    )
    op.create_index(
        "ux_findings_open",
        "findings",
        ["fingerprint"],
        unique=True,
        sqlite_where=_OPEN,
        postgresql_where=_OPEN,
    )
    op.create_index("ix_findings_code", "findings", ["code", "resolved_at"])
    op.create_index("ix_findings_owner", "findings", ["owner", "resolved_at"])
    op.create_index("ix_findings_place", "findings", ["system", "element", "record"])
    op.create_index("ix_findings_integration", "findings", ["integration"])
    op.create_index("ix_findings_event", "findings", ["event"])
    op.create_index("ix_findings_first_seen", "findings", ["first_seen_at"])
    op.create_index("ix_findings_resolved", "findings", ["resolved_at"])

    op.create_table(
        "findings_outbox",
        sa.Column(
            "seq",
            sa.BigInteger().with_variant(sa.Integer, "sqlite"),
            primary_key=True,
            autoincrement=True,
        ),
        sa.Column("finding_id", sa.BigInteger(), nullable=False),
        sa.Column("event", sa.String(), nullable=False),  # opened | resolved
        sa.Column("payload", sa.Text(), nullable=False),  # the JSON to POST
        sa.Column("created_at", sa.BigInteger(), nullable=False),  # wall clock
        sa.Column("attempts", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("next_attempt_at", sa.BigInteger(), nullable=False),
        sa.Column("delivered_at", sa.BigInteger()),
        sa.Column("last_error", sa.Text()),
    )
    op.create_index(
        "ix_findings_outbox_pending",
        "findings_outbox",
        ["next_attempt_at"],
        sqlite_where=_PENDING,
        postgresql_where=_PENDING,
    )

    op.create_table(
        "detection_state",
        sa.Column("id", sa.Integer(), primary_key=True),  # always 1
        sa.Column("events_seq", sa.BigInteger(), nullable=False),
        sa.Column("status_seq", sa.BigInteger(), nullable=False),
        sa.Column("openlineage_seq", sa.BigInteger(), nullable=False),
        sa.Column("clock", sa.BigInteger()),
        sa.Column("registry_version", sa.Integer()),
        sa.Column("judged_at", sa.BigInteger(), nullable=False),  # wall clock
    )


def downgrade() -> None:
    op.drop_table("detection_state")
    op.drop_index("ix_findings_outbox_pending", table_name="findings_outbox")
    op.drop_table("findings_outbox")
    for name in (
        "ix_findings_resolved",
        "ix_findings_first_seen",
        "ix_findings_event",
        "ix_findings_integration",
        "ix_findings_place",
        "ix_findings_owner",
        "ix_findings_code",
        "ux_findings_open",
        "ux_findings_fingerprint_occurrence",
    ):
        op.drop_index(name, table_name="findings")
    op.drop_table("findings")
