"""Migration 0020's partial indexes of the hops that can be failed serve the statement that
asks for them: PostgreSQL uses a partial index only for a query whose terms imply its
predicate, and the migration spells that predicate apart from the one definition
(lineage.store.status.may_fail_sql), so a change to either would silently turn a batch's
failed-hops look-up back into a read of every event row at its places."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from scan_world import clean_chain, load, record

from lineage.store import open_store
from lineage.store.status import may_fail_sql


def test_the_failed_hops_lookups_can_use_the_partial_indexes(postgres_url: str) -> None:
    store = open_store(postgres_url)
    try:
        load(store)
        record(store, *clean_chain())
        every = f"SELECT e.seq FROM events e WHERE {may_fail_sql('e')}"
        with store.engine.connect() as conn, conn.begin():
            # a tiny store: only whether the planner may use the index is asked, not whether
            # it pays (with sequential and bitmap scans off, it takes the smallest index
            # whose predicate the query's terms imply)
            conn.execute(sa.text("SET LOCAL enable_seqscan = off"))
            conn.execute(sa.text("SET LOCAL enable_bitmapscan = off"))
            plan = "\n".join(conn.execute(sa.text(f"EXPLAIN {every}")).scalars())
        assert "ix_events_may_fail" in plan, plan
        with store.engine.connect() as conn:
            names = set(
                conn.execute(
                    sa.text("SELECT indexname FROM pg_indexes WHERE tablename = 'events'")
                ).scalars()
            )
        assert {"ix_events_may_fail_place", "ix_events_may_fail_id"} <= names
    finally:
        store.close()


def test_sqlite_stores_have_no_such_index(tmp_path: Path) -> None:
    store = open_store(f"sqlite:///{tmp_path}/store.db")
    try:
        with store.engine.connect() as conn:
            names = set(
                conn.execute(
                    sa.text("SELECT name FROM sqlite_master WHERE type = 'index'")
                ).scalars()
            )
        assert "ix_events_may_fail_place" not in names and "ix_events_place_at" in names
    finally:
        store.close()
