"""The open findings a batch can change, found by key: no pass over every open finding

A scoped judgement (incremental detection after a batch) reads again the open findings the
batch may have changed (:func:`lineage.store.findings.open_rows_touching`). For
``conflicting-truth`` those are the findings on a key the batch touched (the copy's system
and record, any element) and the findings whose golden value lives at such a key (the
evidence's ``system_of_record`` and ``golden_record``). Neither had an index: each
judgement read every open ``conflicting-truth`` finding, its evidence parsed, and kept the
few it named (10,663 of them on a store of 1,000,000 events: 0.16 s of a 0.5 s judgement of
a 1,000-event batch, growing with the store).

- ``ix_findings_open_record``: the open findings by code, then (system, record);
- ``ix_findings_open_golden``: the open findings by code, then the evidence's
  (system_of_record, golden_record), an index on expressions that each backend spells its
  own way (SQLite's ``json_extract``, PostgreSQL's ``->>`` on the evidence as ``jsonb``), so
  it is not part of :data:`lineage.store.schema.metadata`
  (:data:`lineage.store.schema.BACKEND_OBJECTS`). The lookups use the same expressions:
  :data:`lineage.store.findings.GOLDEN_KEY`.

The code leads: whatever the statistics say (none, on a store whose findings were all just
stored), a planner sees these match every equality the lookup has and ``ix_findings_code``
only one of them.

Revision ID: 0017_findings_open_keys
Revises: 0016_findings_page_order
Create Date: 2026-12-07 04:10:00
"""

from __future__ import annotations

from alembic import op

revision = "0017_findings_open_keys"
down_revision = "0016_findings_page_order"
branch_labels = None
depends_on = None

# the expressions of lineage.store.findings.GOLDEN_KEY (a migration does not import the
# engine's modules: it must build the same index whatever they become later)
_GOLDEN = {
    "postgresql": "(CAST(evidence AS jsonb) ->> 'system_of_record'), "
    "(CAST(evidence AS jsonb) ->> 'golden_record')",
    "sqlite": "json_extract(evidence, '$.system_of_record'), "
    "json_extract(evidence, '$.golden_record')",
}


def upgrade() -> None:
    op.execute(
        "CREATE INDEX ix_findings_open_record ON findings (code, system, record) "
        "WHERE resolved_at IS NULL"
    )
    golden = _GOLDEN[op.get_bind().dialect.name]
    op.execute(
        f"CREATE INDEX ix_findings_open_golden ON findings (code, {golden}) "
        "WHERE resolved_at IS NULL"
    )


def downgrade() -> None:
    op.execute("DROP INDEX IF EXISTS ix_findings_open_golden")
    op.execute("DROP INDEX IF EXISTS ix_findings_open_record")
