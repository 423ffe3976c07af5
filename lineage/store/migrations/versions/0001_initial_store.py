"""initial store

Revision ID: 0001
Revises:
Create Date: 2026-11-22 05:01:43.032828
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "events",
        sa.Column(
            "seq",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("event_id", sa.String(), nullable=False),
        sa.Column("kind", sa.String(), nullable=False),
        sa.Column("at", sa.BigInteger(), nullable=False),
        sa.Column("system", sa.String(), nullable=False),
        sa.Column("element", sa.String(), nullable=False),
        sa.Column("record", sa.String(), nullable=False),
        sa.Column("value", sa.Text(), nullable=True),
        sa.Column("value_norm", sa.Text(), nullable=True),
        sa.Column("integration", sa.String(), nullable=True),
        sa.Column("declared", sa.Boolean(), nullable=True),
        sa.Column("transform", sa.String(), nullable=True),
        sa.Column("expected_norm", sa.Text(), nullable=True),
        sa.Column("verified", sa.Boolean(), nullable=True),
        sa.Column("status", sa.String(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("actor", sa.String(), nullable=True),
        sa.Column("digest", sa.String(), nullable=False),
        sa.Column("recorded_at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("seq"),
    )
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.create_index(
            "ix_events_element_system", ["element", "system", "kind"], unique=False
        )
        batch_op.create_index("ix_events_event_id", ["event_id"], unique=True)
        batch_op.create_index(
            "ix_events_place_at", ["system", "element", "record", "at"], unique=False
        )

    op.create_table(
        "hop_inputs",
        sa.Column("event_id", sa.String(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("system", sa.String(), nullable=False),
        sa.Column("element", sa.String(), nullable=False),
        sa.Column("record", sa.String(), nullable=False),
        sa.Column("value", sa.Text(), nullable=True),
        sa.Column("value_norm", sa.Text(), nullable=True),
    )
    with op.batch_alter_table("hop_inputs", schema=None) as batch_op:
        batch_op.create_index("ix_hop_inputs_event", ["event_id", "position"], unique=False)
        batch_op.create_index("ix_hop_inputs_place", ["system", "element", "record"], unique=False)

    op.create_table(
        "hop_status",
        sa.Column(
            "seq",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("event_id", sa.String(), nullable=False),
        sa.Column("status", sa.String(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("at", sa.BigInteger(), nullable=False),
        sa.Column("recorded_at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("seq"),
    )
    with op.batch_alter_table("hop_status", schema=None) as batch_op:
        batch_op.create_index("ix_hop_status_event", ["event_id", "seq"], unique=False)

    op.create_table(
        "observed_flows",
        sa.Column(
            "seq",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("ol_seq", sa.BigInteger(), nullable=False),
        sa.Column("job", sa.String(), nullable=False),
        sa.Column("source_system", sa.String(), nullable=False),
        sa.Column("source_element", sa.String(), nullable=False),
        sa.Column("target_system", sa.String(), nullable=False),
        sa.Column("target_element", sa.String(), nullable=False),
        sa.Column("transformation", sa.Text(), nullable=True),
        sa.Column("at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("seq"),
    )
    with op.batch_alter_table("observed_flows", schema=None) as batch_op:
        batch_op.create_index(
            "ix_observed_flows_source", ["source_system", "source_element"], unique=False
        )
        batch_op.create_index(
            "ix_observed_flows_target", ["target_system", "target_element"], unique=False
        )

    op.create_table(
        "openlineage_events",
        sa.Column(
            "seq",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("digest", sa.String(), nullable=False),
        sa.Column("event_type", sa.String(), nullable=True),
        sa.Column("event_time", sa.BigInteger(), nullable=False),
        sa.Column("run_id", sa.String(), nullable=False),
        sa.Column("job_namespace", sa.String(), nullable=False),
        sa.Column("job_name", sa.String(), nullable=False),
        sa.Column("producer", sa.Text(), nullable=True),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("recorded_at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("seq"),
    )
    with op.batch_alter_table("openlineage_events", schema=None) as batch_op:
        batch_op.create_index("ix_openlineage_events_digest", ["digest"], unique=True)

    op.create_table(
        "registry_versions",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("loaded_at", sa.BigInteger(), nullable=False),
        sa.Column("digest", sa.String(), nullable=False),
        sa.Column("sources", sa.Text(), nullable=False),
        sa.Column("document", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )


def downgrade() -> None:
    op.drop_table("registry_versions")
    with op.batch_alter_table("openlineage_events", schema=None) as batch_op:
        batch_op.drop_index("ix_openlineage_events_digest")

    op.drop_table("openlineage_events")
    with op.batch_alter_table("observed_flows", schema=None) as batch_op:
        batch_op.drop_index("ix_observed_flows_target")
        batch_op.drop_index("ix_observed_flows_source")

    op.drop_table("observed_flows")
    with op.batch_alter_table("hop_status", schema=None) as batch_op:
        batch_op.drop_index("ix_hop_status_event")

    op.drop_table("hop_status")
    with op.batch_alter_table("hop_inputs", schema=None) as batch_op:
        batch_op.drop_index("ix_hop_inputs_place")
        batch_op.drop_index("ix_hop_inputs_event")

    op.drop_table("hop_inputs")
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.drop_index("ix_events_place_at")
        batch_op.drop_index("ix_events_event_id")
        batch_op.drop_index("ix_events_element_system")

    op.drop_table("events")
