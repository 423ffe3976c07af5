"""A full scan in two lanes (lineage.detect.run.run_detectors) finds exactly what one lane
finds, and on PostgreSQL both lanes read one snapshot."""

from __future__ import annotations

import threading

import pytest
import sqlalchemy as sa
from scan_world import clean_chain, load, record, us, write
from test_detect_run import defects

from lineage.detect import run as detect_run
from lineage.detect.run import (
    APART,
    LANES_VARIABLE,
    SCOPED_APART,
    SCOPED_LANES_FROM,
    run_detectors,
    scan_report,
)
from lineage.findings import judge
from lineage.report import finding_json
from lineage.store import Store, open_store
from lineage.store.detection.common import prepare
from lineage.store.snapshot import export_snapshot, import_snapshot


def _report(store: Store) -> list[str]:
    return [str(finding_json(f)) for f in scan_report(store, as_of=us(24 * 60)).findings]


def test_two_lanes_find_what_one_lane_finds(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    load(store)
    record(store, *clean_chain(), *defects())
    lanes: list[str] = []
    real = detect_run._lane

    def watched(*args: object, **kwargs: object) -> object:
        lanes.append(threading.current_thread().name)
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(detect_run, "_lane", watched)
    assert _report(store) and not lanes  # a small store: one lane
    monkeypatch.setenv(LANES_VARIABLE, "2")
    both = _report(store)
    assert lanes and lanes[0].startswith("lineage-scan")  # the second lane ran, in a thread
    monkeypatch.setenv(LANES_VARIABLE, "1")
    one = _report(store)
    assert len(lanes) == 1  # ... and not with lanes off
    assert both == one
    monkeypatch.setenv(LANES_VARIABLE, "2")
    codes = {f.code for f in run_detectors(store, us(24 * 60)).findings}
    assert "conflicting-truth" in codes and len(codes) > 3  # both lanes' findings are there
    assert sorted(APART) == ["conflicting_truth"]
    assert APART < SCOPED_APART


def test_a_commit_between_the_two_lanes_first_reads_changes_no_finding(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A live scan in two lanes reads one state even when a writer commits between the
    lanes' first reads. PostgreSQL's second lane imports the first one's snapshot; SQLite's
    connections each read the state of their own first read, so the second lane checks the
    watermark and, finding a newer one, leaves its detectors to the first lane. Before, the
    second lane judged the new write (a stale copy in BI) while the first did not see it."""
    load(store)
    record(store, *clean_chain(), *defects())
    monkeypatch.setenv(LANES_VARIABLE, "2")
    before = _report(store)
    real = detect_run._lane
    ran: list[object] = []

    def after_a_commit(*args: object, **kwargs: object) -> object:
        # the golden order total changes: the BI copy of 40017 becomes a conflicting truth
        record(store, write("ERP", "order.total", "40017", "55.00", 100, actor="erp-user"))
        found = real(*args, **kwargs)  # type: ignore[arg-type]
        ran.append(found)
        return found

    monkeypatch.setattr(detect_run, "_lane", after_a_commit)
    assert _report(store) == before  # the scan read the state of its first read throughout
    assert ran and (ran[0] is None) is (store.dialect == "sqlite")
    monkeypatch.setattr(detect_run, "_lane", real)
    after = _report(store)
    stale = [f for f in after if "conflicting-truth" in f and "R-9" in f]
    assert stale and after != before  # the write mattered: the next scan reports it


def test_a_scoped_judgement_in_two_lanes_keeps_the_state_a_full_scan_would(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Batch after batch, judged with conflicting-truth in a lane of its own (PostgreSQL; on
    SQLite a scoped judgement keeps one lane: its lanes could read two states), and the full
    judgement then has nothing to add, change or resolve."""
    load(store)
    scopes: list[object] = []
    real = detect_run._lane

    def watched(*args: object, **kwargs: object) -> object:
        scopes.append(args[4])  # store, as_of, snapshot, detectors, scope, ...
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(detect_run, "_lane", watched)
    monkeypatch.setenv(LANES_VARIABLE, "2")
    events = [*clean_chain(), *defects()]
    third = len(events) // 3
    record(store, *events[:third])
    assert judge(store, webhook=False).full  # the first judgement judges everything
    scopes.clear()
    for part in (events[third : 2 * third], events[2 * third :]):
        record(store, *part)
        assert not judge(store, webhook=False).full
    assert (scopes != []) is (store.dialect == "postgresql")
    assert all(scope is not None for scope in scopes)  # the lanes of scoped judgements
    full = judge(store, full=True, webhook=False)
    assert full.as_dict() == {"added": 0, "changed": 0, "resolved": 0}
    assert {f.code for f in run_detectors(store).findings} >= {"conflicting-truth"}


def test_a_small_scope_is_judged_in_one_lane(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    load(store)
    record(store, *clean_chain())
    judge(store, webhook=False)
    lanes: list[object] = []
    monkeypatch.setattr(detect_run, "_lane", lambda *args: lanes.append(args) or [])
    monkeypatch.delenv(LANES_VARIABLE, raising=False)
    record(store, *defects())
    assert len(defects()) < SCOPED_LANES_FROM
    assert not judge(store, webhook=False).full
    assert lanes == []


def test_an_in_memory_store_scans_in_one_lane(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(LANES_VARIABLE, "2")
    store = open_store("sqlite://")
    try:
        load(store)
        record(store, *clean_chain(), *defects())
        assert any(f.code == "conflicting-truth" for f in scan_report(store).findings)
    finally:
        store.close()


def test_the_second_lane_reads_the_first_lanes_snapshot(postgres_url: str) -> None:
    store = open_store(postgres_url)
    try:
        load(store)
        record(store, *clean_chain())
        with store.engine.connect() as conn:
            first = conn.execution_options(isolation_level="REPEATABLE READ")
            with first.begin():
                count = sa.text("SELECT count(*) FROM events")
                seen = first.execute(count).scalar()
                snapshot = export_snapshot(first)
                assert snapshot is not None
                record(store, write("ERP", "order.total", "40099", "1.00", 90))  # commits now
                with store.engine.connect() as other:
                    second = other.execution_options(isolation_level="REPEATABLE READ")
                    with second.begin():
                        import_snapshot(second, snapshot)
                        assert second.execute(count).scalar() == seen  # not the new event
                with store.engine.connect() as third:
                    assert third.execute(count).scalar() == seen + 1
        with pytest.raises(ValueError, match="not a snapshot"), store.engine.connect() as conn:
            import_snapshot(conn, "1'; DROP TABLE events; --")
    finally:
        store.close()


def test_postgresql_judgements_make_no_tables_after_the_first(postgres_url: str) -> None:
    """A server judging batch after batch leaves no dead rows in PostgreSQL's catalogs: the
    scan's temporary tables are each connection's own, made by its first scan and emptied at
    every commit, not made and dropped again by every judgement; a scan that fails halfway
    (rolled back) leaves the next one as right."""
    store = open_store(postgres_url)
    tables = sa.text(
        "SELECT n.nspname, c.relname, c.oid FROM pg_class c "
        "JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE c.relkind = 'r' AND c.relname LIKE 'lineage\\_scan\\_%'"
    )
    made: dict[tuple[str, str], int] = {}

    def look() -> None:
        with store.engine.connect() as conn:
            for namespace, name, oid in conn.execute(tables):
                # a connection's table (its namespace's) is never made again
                assert made.setdefault((namespace, name), oid) == oid, name

    try:
        load(store)
        events = [*clean_chain(), *defects()]
        half = len(events) // 2
        record(store, *events[:half])
        judge(store, webhook=False)
        look()
        assert made  # kept by the connections that judged
        for event in events[half:]:
            record(store, event)
            assert not judge(store, webhook=False).full
            look()
        pool = store.engine.pool
        assert isinstance(pool, sa.pool.QueuePool)
        assert len(made) <= 3 * pool.size()  # three a pooled connection at most
        with store.engine.connect() as conn, conn.begin() as failed:
            prepare(conn, us(24 * 60), places=[("ERP", "x", "1")], event_ids=["e"])
            failed.rollback()
        full = judge(store, full=True, webhook=False)
        assert full.as_dict() == {"added": 0, "changed": 0, "resolved": 0}
        assert any(f.code == "conflicting-truth" for f in run_detectors(store).findings)
        look()
    finally:
        store.close()
