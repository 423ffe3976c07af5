"""Real processes on one store: killed ingests, concurrent first opens and loads, busy writers.

Each test starts ``python -m lineage`` (or a few lines of Python) as separate processes, kills
or races them, and checks what the next user of the store meets.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import psycopg
import pytest
from recording import jsonl, write_event, write_registry

from lineage.store import open_store
from lineage.store.bulk import WRITER_LOCK

ROOT = Path(__file__).resolve().parent.parent
DEMO_REGISTRY = ROOT / "lineage" / "fixtures" / "demo" / "registry"


def lineage(*args: str) -> list[str]:
    return [sys.executable, "-m", "lineage", *args]


def environment(**extra: str) -> dict[str, str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT), **extra}
    env.pop("LINEAGE_DATABASE_URL", None)
    return env


def children(pid: int) -> list[int]:
    """The processes whose parent is ``pid`` (Linux /proc)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # "pid (comm) state ppid ...": comm may hold spaces, so split after the last ")"
        if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
            found.append(int(entry.name))
    return found


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def big_file(folder: Path, count: int) -> Path:
    path = folder / "big.jsonl"
    with path.open("w", encoding="utf-8") as out:
        for number in range(count):
            out.write(json.dumps(write_event(record=f"R-{number}", value=f"{number}.00")) + "\n")
    return path


def wait_until(condition: object, seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():  # type: ignore[operator]
            return
        time.sleep(0.05)
    pytest.fail(f"{what} within {seconds} s")


@pytest.mark.slow
@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGTERM], ids=["SIGKILL", "SIGTERM"])
def test_a_killed_ingest_leaves_no_worker_and_blocks_no_later_writer(
    db_url: str, tmp_path: Path, sig: signal.Signals
) -> None:
    open_store(db_url).close()
    source = big_file(tmp_path, 300_000)
    env = environment()
    ingest = subprocess.Popen(
        lineage("ingest", str(source), "--db", db_url),
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    workers: list[int] = []
    try:
        # Workers are forked once the first batch is in the bulk load's open transaction
        # (on PostgreSQL: under the writers' lock).
        wait_until(lambda: children(ingest.pid), 60, "the ingest forked no worker")
        workers = children(ingest.pid)
        ingest.send_signal(sig)
        ingest.wait(10)
        wait_until(lambda: not any(alive(w) for w in workers), 5, "a worker outlived its ingest")
    finally:
        for pid in [ingest.pid, *workers]:
            if alive(pid):
                os.kill(pid, signal.SIGKILL)
        ingest.wait()

    small = tmp_path / "small.jsonl"
    small.write_text(jsonl(write_event(record="after-the-kill")), encoding="utf-8")
    started = time.monotonic()
    later = subprocess.run(  # noqa: PLW1510 - the exit code is the answer
        lineage("ingest", str(small), "--db", db_url),
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    took = time.monotonic() - started
    assert later.returncode == 0, later.stderr
    assert "1 accepted" in later.stdout
    assert took < 10, f"the next writer waited {took:.1f} s"


@pytest.mark.parametrize("table", ["hop_inputs", "registry_versions"])
def test_a_first_open_killed_while_migrating_leaves_a_store_that_opens(
    db_url: str, table: str
) -> None:
    # The process kills itself the moment the migration creates `table` (after `events`).
    script = textwrap.dedent(f"""
        import os, signal, sys
        from sqlalchemy import Engine, event
        from lineage.store import open_store

        @event.listens_for(Engine, "before_cursor_execute")
        def die(conn, cursor, statement, *args):
            if statement.lstrip().upper().startswith("CREATE TABLE {table.upper()}"):
                os.kill(os.getpid(), signal.SIGKILL)

        open_store(sys.argv[1])
    """)
    killed = subprocess.run(  # noqa: PLW1510 - the exit code is the answer
        [sys.executable, "-c", script, db_url], env=environment(), capture_output=True, timeout=60
    )
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    reopened = subprocess.run(  # noqa: PLW1510 - the exit code is the answer
        lineage("load", str(DEMO_REGISTRY), "--db", db_url),
        env=environment(),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert reopened.returncode == 0, reopened.stderr
    assert "already exists" not in reopened.stderr


def _at_once(
    commands: list[list[str]], env: dict[str, str]
) -> list[subprocess.CompletedProcess[str]]:
    processes = [
        subprocess.Popen(c, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for c in commands
    ]
    done = []
    for process, command in zip(processes, commands, strict=True):
        out, err = process.communicate(timeout=120)
        done.append(subprocess.CompletedProcess(command, process.returncode, out, err))
    return done


# Imported first (which takes seconds on a busy machine), then released at one moment, so
# that the work itself overlaps; the statement that writes (argv[3]) is made to take a
# second, as on a slow disk, so that the processes' transactions really meet.
SLOW = """
import sys, time
from sqlalchemy import Engine, event

@event.listens_for(Engine, "before_cursor_execute")
def slow(conn, cursor, statement, *args):
    if statement.lstrip().upper().startswith(sys.argv[3]):
        time.sleep(1)

def released():
    while time.time() < float(sys.argv[2]):
        time.sleep(0.001)
"""
OPEN_AT = (
    SLOW
    + """
from lineage.store import open_store
released()
open_store(sys.argv[1]).close()
"""
)
LOAD_AT = (
    SLOW
    + """
from lineage.cli import main
released()
main(["load", sys.argv[4], "--db", sys.argv[1]])
"""
)


def test_concurrent_first_opens_of_a_new_store_all_succeed(db_url: str) -> None:
    start = str(time.time() + 10)
    opened = _at_once(
        [[sys.executable, "-c", OPEN_AT, db_url, start, "CREATE TABLE EVENTS"] for _ in range(4)],
        environment(),
    )
    assert [p.returncode for p in opened] == [0, 0, 0, 0], [p.stderr for p in opened]
    store = open_store(db_url)
    try:
        assert store.registry_versions() == 0
    finally:
        store.close()


def test_identical_concurrent_loads_store_one_registry_version(db_url: str) -> None:
    open_store(db_url).close()
    start = str(time.time() + 10)
    loads = _at_once(
        [
            [
                sys.executable,
                "-c",
                LOAD_AT,
                db_url,
                start,
                "INSERT INTO REGISTRY_VERSIONS",
                str(DEMO_REGISTRY),
            ]
            for _ in range(4)
        ],
        environment(),
    )
    assert [p.returncode for p in loads] == [0, 0, 0, 0], [p.stderr for p in loads]
    store = open_store(db_url)
    try:
        assert store.registry_versions() == 1
    finally:
        store.close()


def _loaded_store(db_url: str, folder: Path) -> None:
    """The store with the small test registry loaded (so an ingest has nothing to warn of)."""
    loaded = subprocess.run(
        lineage("load", str(write_registry(folder)), "--db", db_url),
        env=environment(),
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert loaded.returncode == 0


def _hold_write_lock(db_url: str) -> tuple[object, object]:
    """Take the store's write lock from outside lineage: SQLite's, or the writers' lock."""
    if db_url.startswith("sqlite"):
        conn: object = sqlite3.connect(
            db_url.removeprefix("sqlite:///"), isolation_level=None, check_same_thread=False
        )
        conn.execute("BEGIN IMMEDIATE")  # type: ignore[attr-defined]
        return conn, conn.execute  # type: ignore[attr-defined]
    pg = psycopg.connect(db_url)
    pg.execute("SELECT pg_advisory_xact_lock(%s)", (WRITER_LOCK,))
    return pg, pg.execute


def _release(conn: object) -> None:
    if isinstance(conn, sqlite3.Connection):
        conn.execute("ROLLBACK")
    else:
        conn.rollback()  # type: ignore[attr-defined]
    conn.close()  # type: ignore[attr-defined]


def test_a_writer_waits_for_a_held_write_lock_instead_of_failing(
    db_url: str, tmp_path: Path
) -> None:
    _loaded_store(db_url, tmp_path)
    events = tmp_path / "events.jsonl"
    events.write_text(jsonl(write_event(record="waited")), encoding="utf-8")
    held, _ = _hold_write_lock(db_url)
    try:
        writer = subprocess.Popen(
            lineage("ingest", str(events), "--db", db_url),
            env=environment(LINEAGE_BUSY_TIMEOUT="30"),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        time.sleep(4)  # the writer is waiting for the lock meanwhile
        assert writer.poll() is None, writer.communicate()
    finally:
        _release(held)
    out, err = writer.communicate(timeout=60)
    assert writer.returncode == 0, err
    assert "1 accepted" in out


def test_a_writer_busy_past_its_timeout_says_so_in_one_line(db_url: str, tmp_path: Path) -> None:
    _loaded_store(db_url, tmp_path)
    events = tmp_path / "events.jsonl"
    events.write_text(jsonl(write_event(record="gave-up")), encoding="utf-8")
    held, _ = _hold_write_lock(db_url)
    try:
        started = time.monotonic()
        writer = subprocess.run(  # noqa: PLW1510 - the exit code is the answer
            lineage("ingest", str(events), "--db", db_url),
            env=environment(LINEAGE_BUSY_TIMEOUT="1"),
            capture_output=True,
            text=True,
            timeout=60,
        )
        took = time.monotonic() - started
    finally:
        _release(held)
    assert writer.returncode == 2
    lines = writer.stderr.strip().splitlines()
    assert len(lines) == 1, writer.stderr
    assert "stayed busy" in lines[0]
    assert "LINEAGE_BUSY_TIMEOUT" in lines[0]
    assert "database is locked" not in lines[0]
    assert took < 20


@pytest.mark.slow
def test_an_ingest_during_a_bulk_load_waits_for_it_and_succeeds(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'lineage.db'}"
    registry = write_registry(tmp_path)
    env = environment()
    assert (
        subprocess.run(  # noqa: PLW1510
            lineage("load", str(registry), "--db", url), env=env
        ).returncode
        == 0
    )
    bulk = subprocess.Popen(
        lineage("ingest", str(big_file(tmp_path, 200_000)), "--db", url),
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        wait_until(lambda: children(bulk.pid), 60, "the bulk load forked no worker")
        small = tmp_path / "small.jsonl"
        small.write_text(jsonl(write_event(record="during")), encoding="utf-8")
        during = subprocess.run(  # noqa: PLW1510 - the exit code is the answer
            lineage("ingest", str(small), "--db", url),
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
    finally:
        out, err = bulk.communicate(timeout=300)
    assert bulk.returncode == 0, err
    assert during.returncode == 0, during.stderr
    assert "1 accepted" in during.stdout
    assert "200000 accepted" in out


def test_an_http_write_waits_for_a_held_write_lock_instead_of_503(db_url: str) -> None:
    from webapp import create_app  # noqa: PLC0415

    app = create_app({"TESTING": True, "DATABASE_URL": db_url, "API_TOKEN": None})
    try:
        app.extensions["lineage"].store()
        held, _ = _hold_write_lock(db_url)
        releaser = threading.Timer(2, _release, (held,))
        releaser.start()
        started = time.monotonic()
        response = app.test_client().post("/api/v1/events", json=write_event(record="http"))
        took = time.monotonic() - started
        releaser.join()
    finally:
        app.extensions["lineage"].close()
    assert response.status_code == 200, response.json
    assert response.json["accepted"] == 1
    assert took >= 1.5  # it really waited for the lock
