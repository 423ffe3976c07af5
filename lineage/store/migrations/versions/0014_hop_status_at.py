"""A hop's time is the earliest status time heard of; the status it arrived with keeps its own

A ``delivered`` at 09:20 that arrives before its ``sent`` at 09:10 used to leave the hop dated
09:20: as of 09:15 the store knew no hop at all, where the same statuses arriving in order say
it was in flight. ``events.at`` of a hop is now the earliest status time the store has heard
of, and ``events.status_at`` the time of the status the hop arrived with when an earlier one
came after it (NULL otherwise: ``at``); the queries' place and time indexes stay as they are.
``ix_events_status_at`` (partial: only those few hops) finds them when the store's clock
reaches their own status's time, and for health by day.

Hops recorded before, whose earlier final status arrived later (kept as history since
0013), are dated back to it here. A late ``sent`` was not kept before, so those stay as
they were.

Revision ID: 0014_hop_status_at
Revises: 0013_hop_status_order
Create Date: 2026-12-06 22:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014_hop_status_at"
down_revision = "0013_hop_status_order"
branch_labels = None
depends_on = None

_MOVED = sa.column("status_at").is_not(None)
_EARLIEST = "(SELECT MIN(hs.at) FROM hop_status hs WHERE hs.event_id = events.event_id)"


def upgrade() -> None:
    op.add_column("events", sa.Column("status_at", sa.BigInteger(), nullable=True))
    op.execute(
        f"UPDATE events SET status_at = at, at = {_EARLIEST} "  # noqa: S608 - constants only
        f"WHERE kind = 'hop' AND status_updated AND at > {_EARLIEST}"
    )
    op.create_index(
        "ix_events_status_at",
        "events",
        ["status_at"],
        unique=False,
        sqlite_where=_MOVED,
        postgresql_where=_MOVED,
    )


def downgrade() -> None:
    op.drop_index("ix_events_status_at", table_name="events")
    op.execute("UPDATE events SET at = status_at WHERE status_at IS NOT NULL")
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.drop_column("status_at")
