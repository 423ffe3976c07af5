"""detection indexes: partial indexes on the hops the runtime detectors look for

Unverified, undeclared and undelivered hops are few; partial indexes on them let
``lineage scan`` find them without reading the event table whole, and cost nothing on ingest
for the hops that are fine.

Revision ID: 0003_detection_indexes
Revises: 0002_record_links
Create Date: 2026-11-22 07:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003_detection_indexes"
down_revision = "0002_record_links"
branch_labels = None
depends_on = None

_PREDICATES = {
    "ix_events_unverified": sa.column("verified") == sa.false(),
    "ix_events_undeclared": sa.column("declared") == sa.false(),
    "ix_events_undelivered": sa.column("status") != sa.literal_column("'delivered'"),
}


def upgrade() -> None:
    with op.batch_alter_table("events", schema=None) as batch_op:
        for name, predicate in _PREDICATES.items():
            batch_op.create_index(
                name, ["at"], unique=False, sqlite_where=predicate, postgresql_where=predicate
            )


def downgrade() -> None:
    with op.batch_alter_table("events", schema=None) as batch_op:
        for name in _PREDICATES:
            batch_op.drop_index(name)
