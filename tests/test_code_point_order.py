"""Record keys compare by code point on both backends, whatever PostgreSQL's collation.

Migration 0019 puts the text of events, hop_inputs, hop_status and findings in PostgreSQL's
"C" collation, as SQLite's BINARY and Python's ``str`` compare. On a database created with a
language's collation (ICU ``en-US`` here, what many servers use), the records browser listed
keys in that language's order (``a-2`` next to ``A-1``, punctuation ignored) and a search by
prefix, a range of the index, could miss keys; the search by contains still folds case
beyond ASCII, in the database's own collation.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import psycopg
import pytest
from steward_scenarios import record, write

from lineage.store import Store, open_store
from lineage.store.explore import keys_by_prefix, keys_containing, record_keys_after

KEYS = ["a-2", "A-1", "a_1", "ab", "aB", "a b", "a~", "b", "B", "Ärger-1", "ärger-2", "aé", "a"]

_TABLES = ("events", "hop_inputs", "hop_status", "findings")


def _stored(store: Store) -> None:
    record(
        store,
        *(write(f"w-{n}", "ERP", "order.total", key, "1.00", n) for n, key in enumerate(KEYS)),
    )


def _answers(store: Store) -> tuple[list[str], list[str], list[str], list[str]]:
    with store.engine.connect() as conn:
        browsed = record_keys_after(conn, "ERP", "order.total", None, 100)
        second_page = record_keys_after(conn, "ERP", "order.total", browsed[3], 100)
        prefixed = keys_by_prefix(conn, "ERP", "a", 100)
        found = keys_containing(conn, "ärg", 10)
    assert found is not None
    return browsed, second_page, prefixed, sorted(key for _, key in found)


def _assert_code_point_order(store: Store) -> None:
    _stored(store)
    browsed, second_page, prefixed, containing = _answers(store)
    assert browsed == sorted(KEYS)  # Python's order: 'A-1', 'B', 'a', 'a b', 'a-2', ...
    assert second_page == sorted(KEYS)[4:]
    assert prefixed == sorted(key for key in KEYS if key.startswith("a"))
    assert containing == ["Ärger-1", "ärger-2"]  # any case, beyond ASCII


def test_the_records_browser_and_key_search_answer_in_code_point_order(store: Store) -> None:
    _assert_code_point_order(store)


@pytest.fixture
def icu_store(postgres_server: str) -> Iterator[Store]:
    """A store in a PostgreSQL database whose default collation is ICU's ``en-US``."""
    name = f"lineage_test_icu_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(postgres_server, autocommit=True) as conn:
        if conn.execute("SELECT 1 FROM pg_collation WHERE collprovider = 'i'").fetchone() is None:
            pytest.skip("this PostgreSQL server is built without ICU")
        conn.execute(
            f"CREATE DATABASE \"{name}\" TEMPLATE template0 LOCALE_PROVIDER icu ICU_LOCALE 'en-US'"
        )
    opened = open_store(f"{postgres_server.rsplit('/', 1)[0]}/{name}")
    try:
        yield opened
    finally:
        opened.close()
        with psycopg.connect(postgres_server, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.mark.postgres
def test_a_database_with_a_language_collation_answers_as_sqlite_does(icu_store: Store) -> None:
    _assert_code_point_order(icu_store)


@pytest.mark.postgres
def test_every_text_column_a_judgement_probes_is_in_the_c_collation(icu_store: Store) -> None:
    with icu_store.engine.connect() as conn:
        rows = conn.exec_driver_sql(
            "SELECT table_name, column_name, collation_name FROM information_schema.columns "
            "WHERE table_schema = current_schema() AND table_name = ANY(%(tables)s) "
            "AND data_type IN ('character varying', 'text')",
            {"tables": list(_TABLES)},
        ).all()
    assert {table for table, _, _ in rows} == set(_TABLES)
    assert [(table, column) for table, column, collation in rows if collation != "C"] == []
