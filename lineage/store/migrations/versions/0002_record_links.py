"""record links: find a business record's keys by (system, record)

The golden record walks hops between record keys (``lineage.store.records.record_links``):
from a key to the hops it fed (``hop_inputs``) and to the hops that delivered into it
(``events``). Both need the key without the element.

Revision ID: 0002_record_links
Revises: 0001
Create Date: 2026-11-22 06:00:00
"""

from __future__ import annotations

from alembic import op

revision = "0002_record_links"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.create_index("ix_events_system_record", ["system", "record"], unique=False)
    with op.batch_alter_table("hop_inputs", schema=None) as batch_op:
        batch_op.create_index("ix_hop_inputs_system_record", ["system", "record"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("hop_inputs", schema=None) as batch_op:
        batch_op.drop_index("ix_hop_inputs_system_record")
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.drop_index("ix_events_system_record")
