"""On an SQLite file, a scoped judgement reads beside the writers (lineage.findings.state).

Judgements are serialized by a file lock beside the database (``lineage.db-judge.lock``), not
by SQLite's one write lock: what changed and the detectors are read in read transactions
(each detector run in one, so all see one state), and only storing the verdict takes the
write lock. So an ingest commits while a batch is judged, instead of waiting for it.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text
from steward_scenarios import order_chain, record, write

from lineage.detect.run import scan_context
from lineage.findings import judge, read_findings
from lineage.findings.state import up_to_date
from lineage.store import Store, open_store
from lineage.store.database import file_lock


@pytest.fixture
def sqlite_store(tmp_path: Path) -> Iterator[Store]:
    opened = open_store(f"sqlite:///{tmp_path / 'lineage.db'}", busy_timeout=20)
    try:
        yield opened
    finally:
        opened.close()


def test_an_ingest_commits_while_another_judgement_holds_the_judgement_lock(
    sqlite_store: Store, tmp_path: Path
) -> None:
    store = sqlite_store
    record(store, *order_chain(bi_value="61.00"))
    path = store.judgement_lock_path()
    assert path == str(tmp_path / "lineage.db") + "-judge.lock"
    judged: list[object] = []
    with file_lock(path, 5):  # another process judging
        waiting = threading.Thread(target=lambda: judged.append(judge(store)))
        waiting.start()
        started = time.monotonic()
        record(store, write("w-2", "ERP", "order.total", "40018", "70.00", 30))
        assert time.monotonic() - started < 5  # not behind the judgement
        time.sleep(0.2)
        assert waiting.is_alive() and not judged  # it waits for the judgement lock
    waiting.join(30)
    assert judged
    judge(store)
    assert up_to_date(store)
    assert "conflicting-truth" in [f.code for f in read_findings(store).findings]
    assert judge(store, full=True).as_dict() == {"added": 0, "changed": 0, "resolved": 0}


def test_the_detectors_read_one_state_whatever_commits_meanwhile(sqlite_store: Store) -> None:
    store = sqlite_store
    record(store, *order_chain())
    with scan_context(store) as ctx:
        count = text("SELECT COUNT(*) FROM events")
        before = ctx.conn.execute(count).scalar_one()
        record(store, write("w-2", "ERP", "order.total", "40018", "70.00", 30))
        assert ctx.conn.execute(count).scalar_one() == before
    with store.engine.connect() as conn:
        assert conn.execute(count).scalar_one() == before + 1
