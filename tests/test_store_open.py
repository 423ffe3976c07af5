from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from steward_scenarios import order_chain, record, sent_then_failed

from lineage.errors import StoreError
from lineage.model import Registry, System
from lineage.store import Store, open_store
from lineage.store.database import _alembic_config, _head_revision, newest_revision
from lineage.store.schema import events, in_metadata, metadata
from lineage.trace import trace

COMPARED = {"include_name": in_metadata}
"""The declared schema, without the trigram index a database builds only when it can."""


def test_migrations_create_exactly_the_declared_schema(store: Store) -> None:
    with store.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn, opts=COMPARED), metadata)
    assert diff == []


def test_reopening_a_migrated_store_keeps_its_registry(db_url: str) -> None:
    first = open_store(db_url)
    first.save_registry(Registry(systems=(System(name="CRM", owner="a@example.com"),)))
    first.close()
    again = open_store(db_url)
    assert again.registry().system("CRM") is not None
    again.close()


def test_saving_an_unchanged_registry_adds_no_version(store: Store) -> None:
    registry = Registry(systems=(System(name="CRM", owner="a@example.com"),))
    assert store.save_registry(registry) is True
    assert store.save_registry(registry) is False
    changed = Registry(systems=(System(name="CRM", owner="b@example.com"),))
    assert store.save_registry(changed) is True
    assert store.registry_versions() == 2
    assert store.registry().system("CRM").owner == "b@example.com"  # type: ignore[union-attr]


def test_sqlite_store_uses_write_ahead_logging(tmp_path: Path) -> None:
    opened = open_store(f"sqlite:///{tmp_path / 'x.db'}")
    with opened.engine.connect() as conn:
        assert conn.execute(sa.text("PRAGMA journal_mode")).scalar() == "wal"
    opened.close()


def test_missing_folder_is_a_clear_store_error(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="does not exist"):
        open_store(f"sqlite:///{tmp_path / 'nope' / 'x.db'}")


def test_unreachable_postgres_is_a_clear_store_error() -> None:
    with pytest.raises(StoreError, match="cannot open database"):
        open_store("postgresql://postgres@127.0.0.1:1/none")


def test_upgrading_flags_the_hops_that_already_have_status_updates(db_url: str) -> None:
    # a store written before migration 0005 holds a hop reported failed later, unflagged
    sent, failed = sent_then_failed()
    store = open_store(db_url)
    record(store, *order_chain(), sent)
    record(store, failed)
    with store.engine.begin() as conn:
        cfg = _alembic_config()
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0004_place_index_seq")
    store.close()
    upgraded = open_store(db_url)
    try:
        # the failed hop never left its value, so BI still holds what the first hop brought
        assert trace(upgraded, "BI", "order.total", "R-9").subject.value == "60.00"
        with upgraded.engine.connect() as conn:
            flagged = conn.execute(sa.select(events.c.event_id).where(events.c.status_updated))
            assert flagged.scalars().all() == ["h-bi-2"]
    finally:
        upgraded.close()


def test_the_newest_revision_read_from_the_files_is_alembics_head() -> None:
    assert newest_revision() == _head_revision(_alembic_config())
    assert newest_revision() is not None


def test_opening_a_store_at_the_newest_revision_does_not_import_alembic(db_url: str) -> None:
    # every command opens the store: Alembic costs 0.1-0.3 s to import, needed only to migrate
    open_store(db_url).close()
    code = (
        "import sys; from lineage.store import open_store; "
        f"open_store({db_url!r}).close(); print('alembic' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
