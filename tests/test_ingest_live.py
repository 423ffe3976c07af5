"""``producer | lineage ingest -``: a live stream is committed and judged while it is read.

The command runs as a user runs it, in a process of its own reading a pipe that the test
keeps open; what it committed and judged is read from another connection meanwhile.
"""

from __future__ import annotations

import json
import os
import resource
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from receiver import Receiver
from recording import hop_event, jsonl, write_event, write_registry
from sqlalchemy import func, select

from lineage.cli import main
from lineage.findings import read_findings
from lineage.findings.state import up_to_date
from lineage.live import Pause, paced_lines
from lineage.store import Store, open_store
from lineage.store.detection.scope import stored_watermark
from lineage.store.schema import events, openlineage_events
from lineage.store.writer import ingest_lines

PATIENCE = 30.0
"""Seconds a test waits for the command to commit and judge (it needs about 2 here)."""


def stored_events(store: Store) -> int:
    with store.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(events)).scalar_one())


def until(what: Callable[[], Any], *, message: str) -> Any:
    deadline = time.monotonic() + PATIENCE
    while time.monotonic() < deadline:
        answer = what()
        if answer:
            return answer
        time.sleep(0.05)
    pytest.fail(message)


class Command:
    """``lineage ingest -`` in a process of its own, its standard input a pipe held open."""

    def __init__(self, db: str, *args: str, env: dict[str, str] | None = None) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "lineage", "ingest", "-", "--db", db, *args],
            env={**os.environ, **(env or {})},
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            start_new_session=True,  # a process group of its own, as a terminal's job is
        )

    def send(self, *lines: dict[str, Any] | str) -> None:
        assert self.process.stdin is not None
        text = "".join(
            (line if isinstance(line, str) else json.dumps(line)) + "\n" for line in lines
        )
        self.process.stdin.write(text.encode())
        self.process.stdin.flush()

    def end(self) -> tuple[int, str, str]:
        out, err = self.process.communicate(timeout=PATIENCE)
        return self.process.returncode, out.decode(), err.decode()

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.communicate()


@pytest.fixture
def loaded(db_url: str, tmp_path: Path) -> Iterator[str]:
    runner = CliRunner()
    done = runner.invoke(main, ["load", str(write_registry(tmp_path)), "--db", db_url])
    assert done.exit_code == 0, done.output
    yield db_url


def judged_findings(db: str, events_in: int) -> list[tuple[str, str, str]] | None:
    """The stored findings once the store holds ``events_in`` events and all are judged
    (read without judging: a read of a store behind would judge itself)."""
    store = open_store(db)
    try:
        if stored_events(store) < events_in or not up_to_date(store):
            return None
        return [
            (f.code, f.subject.record or "", f.state)
            for f in read_findings(store, state="all").findings
        ]
    finally:
        store.close()


def test_a_live_stream_is_committed_and_judged_while_the_pipe_stays_open(loaded: str) -> None:
    command = Command(loaded)
    try:
        # the BI copy is right, then the system of record moves on: the copy is stale
        command.send(
            write_event(),
            hop_event(),
            write_event(value="55.00", at="2026-11-20T09:10:00Z", id="w-2"),
        )
        opened = until(
            lambda: judged_findings(loaded, 3),
            message="the stream's events were not committed and judged while it was open",
        )
        assert ("conflicting-truth", "R-40017", "open") in opened

        command.send(write_event(value="50.00", at="2026-11-20T09:20:00Z", id="w-fix"))
        resolved = until(
            lambda: judged_findings(loaded, 4),
            message="the fix was not committed and judged while the stream was open",
        )
        assert ("conflicting-truth", "R-40017", "resolved") in resolved

        command.send('{"kind": "nonsense"}', hop_event("h-2", record="40018"))
        code, out, err = command.end()
    finally:
        command.kill()
    assert code == 1  # one line was rejected, the good ones around it kept
    assert out.strip() == "ingested <stdin>: 5 accepted, 0 duplicate, 0 status updates, 1 rejected"
    assert err.startswith("<stdin>:5: ")
    assert "Traceback" not in err
    store = open_store(loaded)
    try:
        assert stored_events(store) == 5
        assert up_to_date(store)  # the last events were judged before the command ended
    finally:
        store.close()


def test_a_busy_stream_is_judged_whenever_the_judgement_is_free(loaded: str) -> None:
    # lines keep coming (never quiet for long), --commit-within is ten minutes off and a
    # batch is 20,000 lines: only the idle judging process asking for the lines read so far
    # makes the command commit them, and it does at once, over and over
    command = Command(loaded, "--commit-within", "600")
    stop = threading.Event()
    sent = []

    def produce() -> None:
        while not stop.is_set():
            n = len(sent) + 1
            command.send(write_event(record=f"busy-{n}", value=f"{n}.00"))
            sent.append(n)
            time.sleep(0.02)

    def judged_twice() -> bool:
        store = open_store(loaded)
        try:
            with store.engine.connect() as conn:
                judged = stored_watermark(conn)
            return judged is not None and judged.events_seq >= 2 and len(sent) > judged.events_seq
        finally:
            store.close()

    producer = threading.Thread(target=produce)
    producer.start()
    try:
        until(judged_twice, message="a busy stream's lines waited for a batch to fill")
    finally:
        stop.set()
        producer.join()
        code, out, err = command.end()
    assert code == 0, err
    assert (
        out.strip()
        == f"ingested <stdin>: {len(sent)} accepted, 0 duplicate, 0 status updates, 0 rejected"
    )
    assert judged_findings(loaded, len(sent)) is not None  # and all of it judged at the end


def test_a_fifo_is_read_live_too(loaded: str, tmp_path: Path) -> None:
    fifo = tmp_path / "lineage.in"
    os.mkfifo(fifo)
    process = subprocess.Popen(
        [sys.executable, "-m", "lineage", "ingest", str(fifo), "--db", loaded],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        with fifo.open("w", encoding="utf-8") as producer:  # opens once the command reads
            producer.write(jsonl(write_event(), hop_event()))
            producer.flush()
            until(
                lambda: judged_findings(loaded, 2) is not None,
                message="what a producer wrote into the FIFO was not committed and judged "
                "while it kept the FIFO open",
            )
        out, err = process.communicate(timeout=PATIENCE)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert process.returncode == 0, err
    assert out.decode().strip() == (
        f"ingested {fifo}: 2 accepted, 0 duplicate, 0 status updates, 0 rejected"
    )


def test_the_webhook_hears_of_a_finding_while_the_stream_is_still_open(
    loaded: str, receiver: Receiver
) -> None:
    command = Command(loaded, env={"LINEAGE_WEBHOOK_URL": receiver.url})
    try:
        command.send(
            write_event(),
            hop_event(),
            write_event(value="55.00", at="2026-11-20T09:10:00Z", id="w-2"),
        )
        told = until(
            lambda: [(d["event"], d["code"]) for d in receiver.accepted()],
            message="the webhook heard nothing while the stream was open",
        )
        assert told == [("opened", "conflicting-truth")]
        code, out, err = command.end()
    finally:
        command.kill()
    assert code == 0, err
    assert "webhook" not in out + err  # delivered: no warning
    assert len(receiver.accepted()) == 1  # nothing sent twice


def test_ctrl_c_keeps_what_was_committed_without_a_traceback(loaded: str) -> None:
    command = Command(loaded)
    try:
        command.send(write_event(), hop_event())
        until(
            lambda: judged_findings(loaded, 2) is not None,
            message="the first events were not committed and judged",
        )
        os.killpg(command.process.pid, signal.SIGINT)  # what Ctrl-C sends: the whole group
        code, _, err = command.end()
    finally:
        command.kill()
    assert code != 0
    assert "Traceback" not in err and "KeyboardInterrupt" not in err, err
    store = open_store(loaded)
    try:
        assert stored_events(store) == 2
    finally:
        store.close()


def test_openlineage_run_events_are_read_live_too(loaded: str) -> None:
    command = Command(loaded, "--format", "openlineage")
    run = {
        "eventTime": "2026-11-20T09:00:00Z",
        "eventType": "COMPLETE",
        "run": {"runId": "0d7f3a5e-7d2b-4f39-9d53-5f0b3c1e2a11"},
        "job": {"namespace": "etl", "name": "load_orders"},
    }

    def recorded_and_judged() -> bool:
        store = open_store(loaded)
        try:
            with store.engine.connect() as conn:
                runs = conn.execute(select(func.count()).select_from(openlineage_events))
                return int(runs.scalar_one()) == 1 and up_to_date(store)
        finally:
            store.close()

    try:
        command.send(run, "not json")
        until(
            recorded_and_judged,
            message="the run event was not recorded and judged while the stream was open",
        )
        code, out, err = command.end()
    finally:
        command.kill()
    assert code == 1
    assert out.strip() == "ingested <stdin>: 1 accepted, 0 duplicate, 0 status updates, 1 rejected"
    assert err.startswith("<stdin>:2: not JSON")


def test_no_judge_records_the_events_and_leaves_the_findings_to_the_next_judgement(
    loaded: str,
) -> None:
    command = Command(loaded, "--no-judge")
    try:
        command.send(
            write_event(),
            hop_event(),
            write_event(value="55.00", at="2026-11-20T09:10:00Z", id="w-2"),
        )
        code, out, _ = command.end()
    finally:
        command.kill()
    assert code == 0, out
    store = open_store(loaded)
    try:
        assert stored_events(store) == 3
        assert not up_to_date(store)
        (stale,) = read_findings(store).findings  # the read judges what it finds behind
        assert stale.code == "conflicting-truth"
    finally:
        store.close()


def test_a_file_fed_through_a_pipe_is_recorded_like_the_file(loaded: str, tmp_path: Path) -> None:
    lines = [write_event(record=str(n)) for n in range(300)]
    path = tmp_path / "events.jsonl"
    path.write_text(jsonl(*lines), encoding="utf-8")
    with path.open("rb") as source:
        piped = subprocess.run(
            [sys.executable, "-m", "lineage", "ingest", "-", "--db", loaded],
            stdin=source, capture_output=True, check=False, timeout=PATIENCE,
        )  # fmt: skip
    assert piped.returncode == 0, piped.stderr
    assert (
        piped.stdout.decode()
        .strip()
        .endswith("300 accepted, 0 duplicate, 0 status updates, 0 rejected")
    )


# --- the pacing of a live stream ----------------------------------------------------------


def paced(
    chunks: list[tuple[float, bytes]], *, fd: int | None = None, **pacing: float
) -> list[bytes | Pause]:
    """What :func:`paced_lines` makes of a pipe fed ``chunks`` (a wait, then bytes); its
    reading end moved to descriptor ``fd`` if given."""
    read, write = os.pipe()
    if fd is not None:
        os.dup2(read, fd)
        os.close(read)
        read = fd

    def feed() -> None:
        with os.fdopen(write, "wb") as sink:
            for wait, data in chunks:
                time.sleep(wait)
                sink.write(data)
                sink.flush()

    feeder = threading.Thread(target=feed)
    feeder.start()
    with os.fdopen(read, "rb") as stream:
        seen = list(paced_lines(stream, **pacing))
    feeder.join()
    return seen


def test_a_quiet_input_is_marked_between_the_lines_before_and_after_it() -> None:
    seen = paced([(0, b"a\nb\n"), (0.5, b"c\nd")], quiet=0.1, within=5)
    assert [s for s in seen if not isinstance(s, Pause)] == [b"a\n", b"b\n", b"c\n", b"d"]
    (pause,) = [s for s in seen if isinstance(s, Pause)]
    assert seen.index(pause) == 2 and pause.quiet and pause.lines == 2 and pause.slow


def test_a_trickle_that_never_stops_is_marked_every_within_seconds() -> None:
    seen = paced([(0.02, b"x\n")] * 60, quiet=5, within=0.3)
    pauses = [s for s in seen if isinstance(s, Pause)]
    assert len(pauses) >= 2
    assert all(not p.quiet and p.slow and p.seconds >= 0.3 for p in pauses)
    assert sum(p.lines for p in pauses) <= 60 == len(seen) - len(pauses)


def test_a_reader_waiting_for_the_lines_read_so_far_gets_them_after_each_read() -> None:
    asked = iter([False, True, False])
    seen = paced(
        [(0, b"a\nb\n"), (0.3, b"c\n"), (0.3, b"d\n")],
        quiet=5,
        within=5,
        wanted=lambda: next(asked),
    )
    marks = [(s.lines, s.wanted, s.quiet) if isinstance(s, Pause) else s for s in seen]
    # asked after each read that ended lines: the first answer no, the second yes
    assert marks == [b"a\n", b"b\n", b"c\n", (3, True, False), b"d\n"]
    (mark,) = [s for s in seen if isinstance(s, Pause)]
    assert mark.slow  # the pace since the start: the reader waited for the input


def test_an_input_that_keeps_the_reader_busy_is_poured_in_not_slow(tmp_path: Path) -> None:
    # a file is always ready: the reader, not a producer, sets the pace (as with a `cat`)
    path = tmp_path / "poured.jsonl"
    path.write_bytes(b"x\n" * 300)
    pauses = []
    with path.open("rb") as stream:
        for item in paced_lines(stream, quiet=5, within=0.05):
            if isinstance(item, Pause):
                pauses.append(item)
            else:
                time.sleep(0.001)  # the writer's work on a line
    assert pauses and not any(p.slow for p in pauses)
    assert all(p.waited < 0.1 * p.seconds for p in pauses)


def test_a_stream_on_a_descriptor_above_select_s_limit_is_read_live(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # a process with many files open (a server's sockets, say) gets high descriptors;
    # select() refuses those from 1024 on (FD_SETSIZE)
    if not sys.platform.startswith("linux"):
        pytest.skip("poll() is used on Linux only")
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and hard <= 1500:
        pytest.skip(f"this machine allows {hard} open files, fewer than the descriptor 1500")
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, 2048), hard))
    try:
        seen = paced([(0, b"a\n"), (0.4, b"b\n")], fd=1500, quiet=0.1, within=5)
    finally:
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
    assert [s for s in seen if not isinstance(s, Pause)] == [b"a\n", b"b\n"]
    assert [s.quiet for s in seen if isinstance(s, Pause)] == [True]


def test_a_line_split_across_two_reads_is_one_line_and_half_a_line_is_no_pause() -> None:
    seen = paced([(0, b'{"a": '), (0.3, b"1}\n")], quiet=0.1, within=5)
    assert seen == [b'{"a": 1}\n']  # the end of the input commits the rest: no mark


def test_a_line_longer_than_many_reads_comes_whole() -> None:
    long = b"x" * 300_000
    seen = paced([(0, long[:100_000]), (0.05, long[100_000:]), (0.05, b"\nnext\n")], quiet=1)
    assert seen == [long + b"\n", b"next\n"]


# --- what the writer commits at a pause ----------------------------------------------------


@pytest.mark.parametrize("workers", [0, 1], ids=["in-process", "worker-processes"])
def test_a_pause_commits_what_came_before_it_but_a_fast_one_keeps_a_first_bulk_load(
    store: Store, workers: int
) -> None:
    seen: list[int] = []

    def committed() -> None:  # another connection sees what was committed
        other = open_store(store.engine.url.render_as_string(hide_password=False))
        try:
            seen.append(stored_events(other))
        finally:
            other.close()

    if store.engine.url.database in (None, "", ":memory:"):
        pytest.skip("an in-memory store is private to its connection")
    lines: list[tuple[str, int, str] | Pause] = [
        ("s", n, json.dumps(write_event(record=str(n)))) for n in range(1, 4)
    ]
    fast = Pause(quiet=False, lines=20_000, seconds=1.0, waited=0.01)  # the reader's pace
    slow = Pause(quiet=False, lines=3, seconds=1.0, waited=0.9)  # the producer's
    stream = [lines[0], fast, lines[1], slow, lines[2]]
    result = ingest_lines(store, stream, workers=workers, inline=0, on_commit=committed)
    assert result.accepted == 3
    # the fast pause committed nothing (one bulk load), the slow one both; the end the last
    assert seen == [2, 3]
    assert stored_events(store) == 3

    # into a store that holds events, a stream that pours in is committed at every pause
    seen.clear()
    more = [("s", n, json.dumps(write_event(record=str(n)))) for n in range(4, 6)]
    ingest_lines(store, [more[0], fast, more[1]], workers=workers, inline=0, on_commit=committed)
    assert seen == [4, 5]
    assert stored_events(store) == 5

    # each batch committed is told too, not only a pause's: a live stream (read in this
    # process, as `lineage ingest -` reads one) has its first batch judged as soon as it is
    # stored, before the first pause; workers hand their lines over a chunk at a time
    seen.clear()
    batches = [("s", n, json.dumps(write_event(record=str(n)))) for n in range(6, 11)]
    ingest_lines(store, batches, workers=workers, inline=0, batch_size=2, on_commit=committed)
    assert seen == ([7, 9, 10] if workers == 0 else [10])


@pytest.mark.parametrize("workers", [0, 1], ids=["in-process", "worker-processes"])
def test_a_mark_a_reader_asked_for_commits_unless_a_first_load_is_under_way(
    store: Store, workers: int
) -> None:
    if store.engine.url.database in (None, "", ":memory:"):
        pytest.skip("an in-memory store is private to its connection")
    seen: list[int] = []

    def committed() -> None:
        other = open_store(store.engine.url.render_as_string(hide_password=False))
        try:
            seen.append(stored_events(other))
        finally:
            other.close()

    def lines(first: int, last: int) -> list[tuple[str, int, str]]:
        return [("s", n, json.dumps(write_event(record=str(n)))) for n in range(first, last + 1)]

    # the judging process is idle and asks, but the stream pours in like a file
    asked = Pause(quiet=False, lines=1, seconds=0.5, waited=0.0, wanted=True)
    one, two, three = lines(1, 3)
    ingest_lines(store, [one, asked, two, asked, three], workers=workers, on_commit=committed)
    assert seen == [3]  # into an empty store: one bulk load, committed at its end only

    seen.clear()
    four, five = lines(4, 5)
    ingest_lines(store, [four, asked, five], workers=workers, on_commit=committed)
    assert seen == [4, 5]  # into a store that holds events: committed when asked
