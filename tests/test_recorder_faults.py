"""lineage.Recorder on a bad day: refused events, dripping servers, held locks, a full disk.

Real trackers (the web app on a local port), a real store on both backends, a tiny server on
127.0.0.1 that drips its answer, and a process whose files cannot grow past 20 kB.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import psycopg
import pytest
from flask import Flask
from live_server import free_port, serving
from sqlalchemy import func, select

from lineage import Recorder
from lineage.store import open_store
from lineage.store.bulk import WRITER_LOCK
from lineage.store.schema import events
from webapp import create_app

ROOT = Path(__file__).resolve().parent.parent
AT = "2026-11-20T09:00:00Z"


def stored(url: str) -> int:
    store = open_store(url)
    try:
        with store.engine.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(events)).scalar_one())
    finally:
        store.close()


def record(rec: Recorder, n: int, prefix: str = "C", **extra: Any) -> list[str]:
    return [
        rec.write(system="CRM", element="customer.name", record=f"{prefix}-{i}",
                  value=f"name {i}", at=AT, **extra)
        for i in range(n)
    ]  # fmt: skip


def dead_letters(rec: Recorder) -> list[dict[str, Any]]:
    if not rec.dead_letter.exists():
        return []
    return [json.loads(line) for line in rec.dead_letter.read_text().splitlines()]


@pytest.fixture
def tracker(db_url: str) -> Iterator[Flask]:
    app = create_app({"DATABASE_URL": db_url, "API_TOKEN": None})
    yield app
    app.extensions["lineage"].close()


# -- refused events: the dead-letter file ------------------------------------------------------


def test_an_event_the_tracker_refuses_is_dead_lettered_and_the_rest_delivered(
    tracker: Flask, db_url: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with serving(tracker) as url, caplog.at_level(logging.WARNING):
        rec = Recorder(url, spool=tmp_path / "spool")
        rec.write(system="CRM", element="customer.name", record="C-1", value="Ada", at=AT,
                  id="fixed")  # fmt: skip
        rec.flush()
        # the same id with other content can never be recorded: a poison event
        rec.write(system="CRM", element="customer.name", record="C-1", value="Bob", at=AT,
                  id="fixed")  # fmt: skip
        record(rec, 5, "before")
        rec.flush()
        record(rec, 5, "after")
        rec.flush()
    assert rec.spooled() == 0
    assert stored(db_url) == 11
    letters = dead_letters(rec)
    assert [letter["event"]["id"] for letter in letters] == ["fixed"]
    assert letters[0]["event"]["value"] == "Bob"
    assert "different content" in letters[0]["reason"] or "another" in letters[0]["reason"]
    assert str(rec.dead_letter) in caplog.text
    assert rec.dead_letter == tmp_path / "spool" / "dead-letter.jsonl"


def test_an_event_too_large_for_the_tracker_is_refused_alone(db_url: str, tmp_path: Path) -> None:
    app = create_app({"DATABASE_URL": db_url, "API_TOKEN": None, "MAX_CONTENT_LENGTH": 4000})
    try:
        with serving(app) as url:
            rec = Recorder(url, spool=tmp_path / "spool", dead_letter=tmp_path / "refused.jsonl")
            record(rec, 6, "small")
            big = rec.write(system="CRM", element="customer.name", record="big",
                            value="x" * 6000, at=AT)  # fmt: skip
            record(rec, 6, "later")
            rec.flush()
    finally:
        app.extensions["lineage"].close()
    assert rec.spooled() == 0
    assert stored(db_url) == 12
    letters = dead_letters(rec)
    assert [letter["event"]["id"] for letter in letters] == [big]
    assert "413" in letters[0]["reason"]


def test_a_database_target_dead_letters_what_the_store_refuses(db_url: str, tmp_path: Path) -> None:
    with Recorder(db_url, spool=tmp_path / "spool") as rec:
        rec.write(system="CRM", element="customer.name", record="C-1", value="Ada", at=AT,
                  id="fixed")  # fmt: skip
        rec.flush()
        rec.write(system="CRM", element="customer.name", record="C-1", value="Bob", at=AT,
                  id="fixed")  # fmt: skip
        record(rec, 3)
    assert rec.spooled() == 0
    assert stored(db_url) == 4
    assert [letter["event"]["value"] for letter in dead_letters(rec)] == ["Bob"]


# -- the timeout is a deadline -----------------------------------------------------------------


@contextmanager
def dripping_server() -> Iterator[str]:
    """A server that reads the request and answers one byte every half second."""
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.2)
    stop = threading.Event()

    def drip(conn: socket.socket) -> None:
        answer = b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n" + b"{" + b" " * 999
        with conn:
            conn.settimeout(1)
            try:
                conn.recv(1 << 20)
                for byte in answer:
                    if stop.is_set():
                        return
                    conn.sendall(bytes([byte]))
                    time.sleep(0.5)
            except OSError:
                return

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            threading.Thread(target=drip, args=(conn,), daemon=True).start()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    finally:
        stop.set()
        thread.join(5)
        listener.close()


def test_a_dripping_server_holds_a_flush_no_longer_than_its_timeout(tmp_path: Path) -> None:
    with dripping_server() as url:
        rec = Recorder(url, spool=tmp_path, timeout=2)
        record(rec, 5)
        started = time.monotonic()
        rec.flush()
        took = time.monotonic() - started
    assert took < 3.5, f"flush took {took:.1f} s with timeout=2"
    assert rec.spooled() == 5


def test_other_threads_keep_recording_while_a_flush_waits(tmp_path: Path) -> None:
    with dripping_server() as url:
        rec = Recorder(url, spool=tmp_path, timeout=3, batch_size=10)
        record(rec, 10, "first")  # the 10th call starts a flush that the server holds
        longest = 0.0

        def more() -> None:
            nonlocal longest
            for i in range(50):
                started = time.monotonic()
                rec.write(system="CRM", element="customer.name", record=f"other-{i}",
                          value="x", at=AT)  # fmt: skip
                longest = max(longest, time.monotonic() - started)

        flushing = threading.Thread(target=rec.flush)
        flushing.start()
        time.sleep(0.3)
        other = threading.Thread(target=more)
        other.start()
        other.join(10)
        flushing.join(10)
        rec.flush()
    assert longest < 0.5, f"a record() call waited {longest:.1f} s"
    assert rec.spooled() == 60


def _hold_lock(db_url: str) -> Any:
    if db_url.startswith("sqlite"):
        conn = sqlite3.connect(db_url.removeprefix("sqlite:///"), isolation_level=None)
        conn.execute("BEGIN IMMEDIATE")
        return conn
    pg = psycopg.connect(db_url)
    pg.execute("SELECT pg_advisory_xact_lock(%s)", (WRITER_LOCK,))
    return pg


def test_a_held_database_lock_is_waited_for_only_until_the_deadline(
    db_url: str, tmp_path: Path
) -> None:
    open_store(db_url).close()
    held = _hold_lock(db_url)
    try:
        rec = Recorder(db_url, spool=tmp_path, timeout=1.5)
        record(rec, 4)
        started = time.monotonic()
        rec.flush()
        took = time.monotonic() - started
        assert took < 3.5, f"flush took {took:.1f} s with timeout=1.5"
        assert rec.spooled() == 4
    finally:
        held.rollback()
        held.close()
    rec.close()
    assert rec.spooled() == 0
    assert stored(db_url) == 4


# -- the spool cannot be written: a bounded memory buffer --------------------------------------


def test_events_stay_in_memory_within_a_bound_when_the_spool_cannot_be_made(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    down = f"http://127.0.0.1:{free_port()}"
    with caplog.at_level(logging.WARNING):
        rec = Recorder(down, spool=blocker / "spool", max_memory=100, batch_size=50)
        record(rec, 250)
        rec.flush()
    assert rec.in_memory() == 100
    assert rec.dropped == 150
    assert "kept in memory" in caplog.text
    assert "150 in all" in caplog.text


FULL_DISK = """
import json, logging, resource, signal, sys
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails with EFBIG
logging.basicConfig(level=logging.WARNING)
from lineage import Recorder
_, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
rec = Recorder(sys.argv[1], spool=sys.argv[2], timeout=1)
resource.setrlimit(resource.RLIMIT_FSIZE, (20_000, hard))  # no file may grow past 20 kB
for i in range(10_000):
    rec.write(system="CRM", element="customer.name", record=f"C-{i}", value=f"n {i}",
              at="2026-11-20T09:00:00Z")
rec.flush()
print(json.dumps({"memory": rec.in_memory(), "spooled": rec.spooled(), "dropped": rec.dropped}),
      flush=True)
sys.stdin.readline()  # the tracker is up now
resource.setrlimit(resource.RLIMIT_FSIZE, (hard, hard))
rec.timeout = 60  # time enough to send all 10,000 on this busy machine
rec.flush()
print(json.dumps({"memory": rec.in_memory(), "spooled": rec.spooled()}), flush=True)
"""


@pytest.mark.slow
def test_a_full_spool_disk_loses_no_event_and_leaves_no_part_file(
    tracker: Flask, db_url: str, tmp_path: Path
) -> None:
    port = free_port()
    spool = tmp_path / "spool"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    job = subprocess.Popen(
        [sys.executable, "-c", FULL_DISK, f"http://127.0.0.1:{port}", str(spool)],
        env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    assert job.stdout is not None and job.stdin is not None
    try:
        first = json.loads(job.stdout.readline() or "{}")
        assert first, job.stderr.read() if job.stderr else ""
        assert first["memory"] + first["spooled"] == 10_000
        assert first["memory"] > 0
        assert first["dropped"] == 0
        assert not list(spool.glob("*.part"))
        with serving(tracker, port):
            job.stdin.write("go\n")
            job.stdin.flush()
            second = json.loads(job.stdout.readline() or "{}")
        _, err = job.communicate(timeout=60)
    finally:
        if job.poll() is None:
            job.send_signal(signal.SIGKILL)
            job.wait()
    assert second == {"memory": 0, "spooled": 0}
    assert stored(db_url) == 10_000
    assert "kept in memory" in err
    assert str(spool) in err
