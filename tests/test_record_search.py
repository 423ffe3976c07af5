"""SQLite's trigram index of record keys, caught up a tail at a time (migration 0015).

The index covers the events up to its mark; a search reads the index and the events past
it, so a key is found the moment it is written, whether or not the index has caught up.
(PostgreSQL's GIN index keeps itself up: tests/test_explore.py searches on both stores.)
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic import command
from steward_scenarios import record, write

from lineage.store import Store, open_store, search
from lineage.store.database import _alembic_config
from lineage.store.explore import keys_containing
from lineage.store.writer import ingest_lines, numbered_lines


@pytest.fixture
def sqlite_store(tmp_path: Path) -> Iterator[Store]:
    opened = open_store(f"sqlite:///{tmp_path / 'lineage.db'}")
    try:
        yield opened
    finally:
        opened.close()


def _found(store: Store, part: str) -> list[tuple[str, str]]:
    with store.engine.connect() as conn:
        found = keys_containing(conn, part, 10)
    assert found is not None
    return sorted(found)


def _mark_and_last(store: Store) -> tuple[int, int]:
    with store.engine.connect() as conn:
        mark = conn.exec_driver_sql(search.MARK).scalar_one()
        last = conn.exec_driver_sql("SELECT COALESCE(MAX(seq), 0) FROM events").scalar_one()
    return int(mark), int(last)


def _indexed(store: Store, part: str) -> list[str]:
    """The keys the FTS5 table itself finds (not the tail)."""
    with store.engine.connect() as conn:
        rows = conn.exec_driver_sql(
            "SELECT record FROM events_record_trigrams WHERE events_record_trigrams MATCH ?",
            (f'record : "{part}"',),
        )
        return sorted(str(row[0]) for row in rows)


def test_a_key_is_found_inside_the_moment_it_is_written_before_the_index_catches_up(
    sqlite_store: Store,
) -> None:
    record(sqlite_store, write("w-1", "ERP", "order.total", "INV-2026-0042", "1.00", 1))
    record(sqlite_store, write("w-2", "ERP", "order.total", "ÄRGER-7", "2.00", 2))
    assert _mark_and_last(sqlite_store) == (0, 2)  # nothing indexed yet: a short tail
    assert _indexed(sqlite_store, "026-00") == []
    assert _found(sqlite_store, "026-00") == [("ERP", "INV-2026-0042")]
    assert _found(sqlite_store, "inv-2026") == [("ERP", "INV-2026-0042")]  # any case
    assert _found(sqlite_store, "ärg") == [("ERP", "ÄRGER-7")]  # any case, beyond ASCII
    assert _found(sqlite_store, "0%_") == []  # LIKE's wildcards are plain characters


def test_a_write_that_makes_the_tail_long_enough_indexes_it_in_its_transaction(
    sqlite_store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(search, "SEARCH_TAIL", 3)
    record(
        sqlite_store,
        *(write(f"w-{n}", "ERP", "order.total", f"INV-{n:04}", "1.00", n) for n in range(3)),
    )
    assert _mark_and_last(sqlite_store) == (3, 3)
    assert _indexed(sqlite_store, "INV-000") == ["INV-0000", "INV-0001", "INV-0002"]
    # the same key again, past the mark: found once
    record(sqlite_store, write("w-again", "ERP", "order.total", "INV-0001", "2.00", 9))
    assert _mark_and_last(sqlite_store) == (3, 4)
    assert _found(sqlite_store, "nv-000") == [
        ("ERP", "INV-0000"),
        ("ERP", "INV-0001"),
        ("ERP", "INV-0002"),
    ]


def test_a_first_load_leaves_the_index_caught_up_with_every_event(
    sqlite_store: Store, tmp_path: Path
) -> None:
    lines = "".join(
        f'{{"kind": "write", "system": "CRM", "element": "customer.name", "record": "C-{n:05}",'
        f' "value": "x", "at": "2026-11-20T09:00:{n % 60:02}Z"}}\n'
        for n in range(500)
    )
    path = tmp_path / "events.jsonl"
    path.write_text(lines)
    with path.open("rb") as stream:
        result = ingest_lines(sqlite_store, numbered_lines(str(path), stream), workers=0)
    assert result.accepted == 500
    assert _mark_and_last(sqlite_store) == (500, 500)
    assert _indexed(sqlite_store, "C-0049") == [f"C-0049{n}" for n in range(10)]


def test_upgrading_a_store_kept_up_by_the_old_trigger_keeps_every_key_found(
    sqlite_store: Store,
) -> None:
    store = sqlite_store
    record(store, write("w-1", "ERP", "order.total", "INV-2026-0042", "1.00", 1))
    with store.engine.begin() as conn:
        cfg = _alembic_config()
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0014_hop_status_at")
    # before 0015 a trigger indexed every event as it was inserted
    with store.engine.begin() as conn:
        conn.exec_driver_sql(
            "INSERT INTO events (event_id, kind, at, system, element, record, digest,"
            " recorded_at) VALUES ('w-2', 'write', 2, 'BI', 'order.total', 'LATE-99-X', 'd', 2)"
        )
    assert _indexed(store, "E-99") == ["LATE-99-X"]
    with store.engine.begin() as conn:
        cfg = _alembic_config()
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")
        triggers = conn.exec_driver_sql(
            "SELECT name FROM sqlite_master WHERE type = 'trigger'"
        ).all()
    assert triggers == []
    assert _mark_and_last(store) == (2, 2)
    assert _found(store, "026-00") == [("ERP", "INV-2026-0042")]
    assert _found(store, "e-99") == [("BI", "LATE-99-X")]
