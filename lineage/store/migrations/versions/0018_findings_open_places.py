"""The open findings a batch can change, found by the place their evidence names

A scoped judgement reads again the open findings the batch may have changed
(:func:`lineage.store.findings.open_rows_touching`). For ``broken-chain`` those include the
findings whose hop read a place the batch touched (the evidence's ``input``: a late event
there changes what it held), for ``duplicate-delivery`` those whose value came from such a
place (the evidence's ``source``). Neither had an index: each judgement read every open
finding of the two codes, its evidence parsed, and kept the few it named (475 of them on
a store of 1,000,000 events: 2 ms a code, whatever the batch's size, growing with the open
findings). With these, a small batch probes its places instead
(:data:`lineage.store.findings.PROBED_PLACES`: the Recorder's, a single POST's); a large one
still reads them, which is cheaper there.

- ``ix_findings_open_input``: the open findings by code, then the evidence's
  ``input`` (system, element, record);
- ``ix_findings_open_source``: the same for the evidence's ``source``.

Indexes on expressions that each backend spells its own way (SQLite's ``json_extract``,
PostgreSQL's ``->`` and ``->>`` on the evidence as ``jsonb``), so they are not part of
:data:`lineage.store.schema.metadata` (:data:`lineage.store.schema.BACKEND_OBJECTS`). The
lookups use the same expressions: :data:`lineage.store.findings.EVIDENCE_PLACE`. The code
leads, as in migration 0017.

Revision ID: 0018_findings_open_places
Revises: 0017_findings_open_keys
Create Date: 2026-12-07 12:00:00
"""

from __future__ import annotations

from alembic import op

revision = "0018_findings_open_places"
down_revision = "0017_findings_open_keys"
branch_labels = None
depends_on = None

_PARTS = ("system", "element", "record")


def _place(dialect: str, key: str) -> str:
    """The expressions of lineage.store.findings.EVIDENCE_PLACE (a migration does not import
    the engine's modules: it must build the same index whatever they become later)."""
    if dialect == "postgresql":
        return ", ".join(f"(CAST(evidence AS jsonb) -> '{key}' ->> '{p}')" for p in _PARTS)
    return ", ".join(f"json_extract(evidence, '$.{key}.{p}')" for p in _PARTS)


def upgrade() -> None:
    dialect = op.get_bind().dialect.name
    for key in ("input", "source"):
        op.execute(
            f"CREATE INDEX ix_findings_open_{key} ON findings "
            f"(code, {_place(dialect, key)}) WHERE resolved_at IS NULL"
        )


def downgrade() -> None:
    op.execute("DROP INDEX IF EXISTS ix_findings_open_source")
    op.execute("DROP INDEX IF EXISTS ix_findings_open_input")
