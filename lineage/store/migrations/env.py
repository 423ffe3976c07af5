"""Alembic environment: runs on the connection the store hands it (no ini file needed)."""

from __future__ import annotations

from alembic import context

from lineage.store.schema import metadata

connection = context.config.attributes.get("connection")
if connection is None:  # pragma: no cover - only when someone runs `alembic` by hand
    raise RuntimeError("run migrations through lineage.store.open_store(url)")

context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
