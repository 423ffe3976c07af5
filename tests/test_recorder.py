"""lineage.Recorder against a real store and a real HTTP server; faults never reach the caller."""

from __future__ import annotations

import logging
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from live_server import free_port, serving
from sqlalchemy import func, select

from lineage import Recorder
from lineage.errors import EventError
from lineage.store import open_store
from lineage.store.schema import events, hop_status
from webapp import create_app

AT = "2026-11-20T09:00:00Z"
ADDRESS = {
    "system": "CRM",
    "element": "customer.address",
    "record": "C-1042",
    "value": "12 Main St",
}


def stored(url: str) -> tuple[int, int]:
    """(rows, distinct ids) in the events table."""
    store = open_store(url)
    try:
        with store.engine.connect() as conn:
            row = conn.execute(select(func.count(), func.count(events.c.event_id.distinct()))).one()
            return int(row[0]), int(row[1])
    finally:
        store.close()


def record_some(rec: Recorder, n: int) -> set[str]:
    ids = set()
    for i in range(n):
        ids.add(
            rec.write(
                system="CRM", element="customer.name", record=f"C-{i}", value=f"name {i}", at=AT
            )
        )
    return ids


@pytest.fixture
def tracker_app(db_url: str) -> Iterator[Flask]:
    app = create_app({"DATABASE_URL": db_url, "API_TOKEN": "rec-token"})
    yield app
    app.extensions["lineage"].close()


def test_write_hop_and_snapshot_go_through_to_the_database(db_url: str, tmp_path: Path) -> None:
    # timeout=30 in the tests of what is stored: their first flush migrates a new store, which a
    # loaded machine can stretch past the default 2 s deadline (the deadline has its own tests)
    with Recorder(db_url, spool=tmp_path / "spool", timeout=30) as rec:
        rec.write(**ADDRESS, at=AT, actor="carol")
        hop = rec.hop(
            integration="crm-to-erp-customers",
            inputs=[ADDRESS],
            output={
                "system": "ERP",
                "element": "customer.address",
                "record": "40017",
                "value": "12 MAIN ST",
            },
            transform="upper",
            status="sent",
            at="2026-11-20T09:05:00Z",
        )
        rec.snapshot(
            system="ERP",
            element="customer.address",
            record="40017",
            value="12 MAIN ST",
            at="2026-11-21T00:00:00Z",
        )
    assert stored(db_url) == (3, 3)
    assert hop.startswith("h-")
    assert rec.spooled() == 0


def test_a_later_status_with_the_returned_id_updates_the_hop(db_url: str, tmp_path: Path) -> None:
    hop = {
        "integration": "crm-to-erp-customers",
        "inputs": [ADDRESS],
        "output": {**ADDRESS, "system": "ERP", "record": "40017"},
    }
    with Recorder(db_url, spool=tmp_path, timeout=30) as rec:
        hop_id = rec.hop(**hop, status="sent")
    with Recorder(db_url, spool=tmp_path, timeout=30) as rec:
        assert rec.hop(**hop, id=hop_id, status="delivered") == hop_id
    store = open_store(db_url)
    with store.engine.connect() as conn:
        statuses = conn.execute(select(hop_status.c.status)).scalars().all()
    store.close()
    assert statuses == ["delivered"]
    assert stored(db_url) == (1, 1)


def test_the_same_call_twice_is_recorded_once(db_url: str, tmp_path: Path) -> None:
    with Recorder(db_url, spool=tmp_path, timeout=30) as rec:
        first = rec.write(**ADDRESS, at=AT)
        second = rec.write(**ADDRESS, at=AT)
    assert first == second
    assert stored(db_url) == (1, 1)


def test_at_defaults_to_now(db_url: str, tmp_path: Path) -> None:
    before = time.time()
    with Recorder(db_url, spool=tmp_path, timeout=30) as rec:
        rec.write(**ADDRESS)
    store = open_store(db_url)
    with store.engine.connect() as conn:
        at = conn.execute(select(events.c.at)).scalar_one()
    store.close()
    assert before - 1 <= at / 1_000_000 <= time.time() + 1


def test_a_bad_call_raises_at_once_and_records_nothing(tmp_path: Path) -> None:
    rec = Recorder("http://127.0.0.1:9", spool=tmp_path)
    with pytest.raises(EventError, match="system"):
        rec.write(element="customer.address", record="C-1", value="x")
    with pytest.raises(EventError, match="inputs"):
        rec.hop(output=ADDRESS)
    with pytest.raises(EventError, match="at"):
        rec.snapshot(**ADDRESS, at="last tuesday")
    rec.flush()
    assert rec.spooled() == 0


def test_events_spool_while_the_tracker_is_down_and_arrive_once_when_it_is_back(
    tracker_app: Flask,
    db_url: str,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
) -> None:
    port = free_port()
    rec = Recorder(
        f"http://127.0.0.1:{port}", token="rec-token", spool=tmp_path / "spool", batch_size=40
    )
    with caplog.at_level(logging.WARNING, logger="lineage.recorder"):
        sent = record_some(rec, 100)  # two automatic flushes, both while down
        started = time.monotonic()
        rec.flush()
        assert time.monotonic() - started < 3
    assert rec.spooled() == 100
    assert "unavailable" in caplog.text
    assert capsys.readouterr() == ("", "")

    with serving(tracker_app, port=port):
        sent |= record_some(rec, 110) - sent  # 10 new events after 100 re-sent ones
        rec.flush()
        rec.flush()
    assert len(sent) == 110
    assert rec.spooled() == 0
    assert stored(db_url) == (110, 110)


def test_a_tracker_that_never_answers_holds_the_caller_about_two_seconds(tmp_path: Path) -> None:
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(16)  # connections complete, nobody ever answers
        rec = Recorder(f"http://127.0.0.1:{silent.getsockname()[1]}", spool=tmp_path)
        record_some(rec, 5)
        started = time.monotonic()
        rec.flush()
        assert time.monotonic() - started < 3
    assert rec.spooled() == 5


def test_a_failing_store_behind_the_tracker_spools_instead_of_raising(tmp_path: Path) -> None:
    broken = create_app({"DATABASE_URL": f"sqlite:///{tmp_path / 'missing' / 'x.db'}"})
    with serving(broken) as url:
        rec = Recorder(url, spool=tmp_path / "spool")
        record_some(rec, 3)
        rec.flush()
    assert rec.spooled() == 3


def test_a_wrong_token_keeps_the_events_for_later(
    tracker_app: Flask, db_url: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with serving(tracker_app) as url, caplog.at_level(logging.WARNING):
        wrong = Recorder(url, token="not-it", spool=tmp_path)
        record_some(wrong, 4)
        wrong.flush()
        assert wrong.spooled() == 4
        assert "401" in caplog.text
        right = Recorder(url, token="rec-token", spool=tmp_path)
        right.flush()
    assert right.spooled() == 0
    assert stored(db_url) == (4, 4)


def test_an_unreachable_database_spools_without_raising(tmp_path: Path) -> None:
    rec = Recorder("postgresql://postgres@127.0.0.1:1/none", spool=tmp_path)
    record_some(rec, 2)
    started = time.monotonic()
    rec.flush()
    assert time.monotonic() - started < 3
    assert rec.spooled() == 2


def test_spooled_events_for_a_database_are_written_when_it_is_back(
    db_url: str, tmp_path: Path
) -> None:
    spool = tmp_path / "spool"
    down = Recorder("postgresql://postgres@127.0.0.1:1/none", spool=spool)
    ids = record_some(down, 7)
    down.flush()
    with Recorder(db_url, spool=spool, timeout=30) as back:
        back.write(system="CRM", element="customer.name", record="C-new", value="x", at=AT)
    assert stored(db_url) == (len(ids) + 1, len(ids) + 1)
    assert back.spooled() == 0


def test_the_default_spool_is_one_folder_per_target(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path))
    one = Recorder("http://tracker-a.example:8000")
    other = Recorder("http://tracker-b.example:8000")
    assert one.spool != other.spool
    assert one.spool.is_relative_to(tmp_path / "lineage" / "spool")


def test_events_refused_for_good_are_logged_not_spooled(
    tracker_app: Flask, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with serving(tracker_app) as url, caplog.at_level(logging.WARNING):
        rec = Recorder(url, token="rec-token", spool=tmp_path)
        rec.write(**ADDRESS, at=AT, id="fixed")
        rec.flush()
        rec.write(**{**ADDRESS, "value": "13 Side St"}, at=AT, id="fixed")  # a conflict
        rec.flush()
    assert rec.spooled() == 0
    assert "different content" in caplog.text
