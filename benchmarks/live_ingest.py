"""Benchmark: ``producer | lineage ingest -``, a sustained stream, with and without its judgements.

On a copy of a :mod:`benchmarks.scope` store (about 1,000,000 events), ``python -m lineage
ingest - --db URL`` runs as a child process, as a user runs it, and this process writes
``--batches`` batches of about 1,000 events (:func:`benchmarks.scope.batch`, dated after the
store's clock and after one another) into its standard input back to back, as fast as the
pipe takes them, then closes it. The command reads a pipe live (:mod:`lineage.live`): it
commits at least every second and judges what it committed in the background, in a child
process of its own, while it reads on; before it exits it judges the last events.

Timed from the start of the command until it exits (every event recorded **and** judged),
against the same stream into ``lineage ingest - --no-judge`` (recorded only). The two alternate,
``--rounds`` times each (the store is judged, untimed, after each unjudged round, so the next
judged round judges its own events only); the ratio is over all rounds (their events over
their seconds). Also printed: the lag, the seconds from the last line written until the
command exited; with ``--timeline``, for the first judged round, the store's events and its
judged watermark (counted from the start) each time they moved, read every 50 ms: where the
seconds go (the judging process starting, each judgement, the lag).

With ``--rate N`` it measures latency instead: a producer writes N events a second (a tenth
of a second's lines at a time) for ``--seconds``, and this process watches the store: how long
after a write its events were committed, and judged (the stored watermark of the last
judgement reached them), as p50, p95 and max.

Usage (from the repository root, after ``python benchmarks/scope.py --build-only``)::

    python benchmarks/live_ingest.py --copy-from-sqlite /tmp/lineage-bench-scope/scope-950000.db
    python benchmarks/live_ingest.py --copy-from-postgres lineage_bench_scope_950000
    python benchmarks/live_ingest.py --copy-from-sqlite ... --rate 500 --seconds 20

Results are appended to benchmarks/results/live-ingest.txt (``--no-save``: standard output
only), with the load average before and after.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.common import POSTGRES_ADMIN, machine
from benchmarks.findings import _copy_postgres, _copy_sqlite
from benchmarks.scope import batch
from lineage.findings import judge
from lineage.store import open_store
from lineage.store.detection.scope import stored_watermark, watermark_now

RESULTS = Path(__file__).resolve().parent / "results" / "live-ingest.txt"
COPY = "lineage_bench_live_ingest"
"""The PostgreSQL copy's database name (dropped and made again on every run)."""
DAY = 86_400 * 1_000_000


def _stream(url: str, batches: int) -> tuple[bytes, int]:
    """``batches`` batches of about 1,000 events after the store's clock, as one text."""
    store = open_store(url)
    try:
        with store.engine.connect() as conn:
            mark = watermark_now(conn)
    finally:
        store.close()
    assert mark.clock is not None, "build the store first (benchmarks/scope.py --build-only)"
    lines = [
        line
        for n in range(batches)
        for line in batch(mark.events_seq + n, mark.clock + 3 * DAY * n)
    ]
    return ("\n".join(lines) + "\n").encode(), len(lines)


Timeline = list[tuple[float, int, int]]
"""``(seconds since the command started, events committed, events judged)``, at each change."""


def _events_seq(url: str) -> int:
    """The store's last event sequence number now."""
    store = open_store(url)
    try:
        with store.engine.connect() as conn:
            return watermark_now(conn).events_seq
    finally:
        store.close()


def _watch(
    url: str,
    base: int,
    started: float,
    done: threading.Event,
    seen: Timeline,
    every: float = 0.05,
) -> None:
    """Every ``every`` seconds until ``done`` (and once more then), the store's events and
    its judged watermark, counted from the event sequence number ``base``; appended to
    ``seen`` (the time ``started`` subtracted) when they moved."""
    store = open_store(url)
    try:
        with store.engine.connect() as conn:
            last = (0, 0)
            while True:
                ending = done.is_set()
                mark = stored_watermark(conn)
                now = (
                    watermark_now(conn).events_seq - base,
                    max(0, (mark.events_seq if mark else 0) - base),
                )
                conn.rollback()  # the next look sees the next commit
                if now != last:
                    seen.append((time.perf_counter() - started, *now))
                    last = now
                if ending:
                    return
                done.wait(every)
    finally:
        store.close()


def _run(
    url: str, data: bytes, *, judging: bool, timeline: Timeline | None = None
) -> tuple[float, float]:
    """Feed ``data`` to ``lineage ingest -``; (seconds until it exited, seconds after the last
    line was written). With ``timeline``, what was committed and judged when goes there."""
    command = [sys.executable, "-m", "lineage", "ingest", "-", "--db", url]
    if not judging:
        command.append("--no-judge")
    started = time.perf_counter()
    done = threading.Event()
    watcher = None
    if timeline is not None:
        base = _events_seq(url)
        watcher = threading.Thread(target=_watch, args=(url, base, started, done, timeline))
        watcher.start()
    child = subprocess.Popen(
        command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    assert child.stdin is not None and child.stdout is not None and child.stderr is not None
    child.stdin.write(data)
    child.stdin.close()
    written = time.perf_counter()
    out, err = child.stdout.read(), child.stderr.read()  # a line each: no pipe fills
    child.wait()
    ended = time.perf_counter()
    if watcher is not None:
        done.set()
        watcher.join()
    if child.returncode != 0:
        raise SystemExit(f"lineage ingest failed ({child.returncode}): {err.decode()}")
    assert b"0 rejected" in out, out
    return ended - started, ended - written


def measure(url: str, batches: int, rounds: int, *, timeline: bool = False) -> str:
    """The table's lines for the store at ``url`` (with ``timeline``, a second line: what the
    first judged round had committed and judged when)."""
    store = open_store(url)
    judge(store, webhook=False)  # start from a judged store
    dialect = store.dialect
    store.close()
    times: dict[bool, list[float]] = {True: [], False: []}
    lags: dict[bool, list[float]] = {True: [], False: []}
    events = 0
    seen: Timeline | None = [] if timeline else None
    for n in range(rounds):
        for judging in (True, False):
            data, count = _stream(url, batches)
            watched = seen if judging and n == 0 else None
            seconds, lag = _run(url, data, judging=judging, timeline=watched)
            times[judging].append(seconds)
            lags[judging].append(lag)
            events = count
            if not judging:  # the next judged round judges its own events only
                store = open_store(url)
                judge(store, webhook=False)
                store.close()
    judged, plain = sum(times[True]), sum(times[False])
    ratio = plain / judged  # the same events each round: throughput ratio
    told = ""
    if seen is not None:
        written = times[True][0] - lags[True][0]
        told = (
            f"\n{dialect:<10} the first judged round, seconds from the command's start: "
            "events committed / judged "
            + ", ".join(f"{at:.2f} {done:,}/{judged_:,}" for at, done, judged_ in seen)
            + f"; the last line written at {written:.2f} s, the command ended at "
            f"{times[True][0]:.2f} s"
        )
    return (
        f"{dialect:<10} {rounds} rounds of {events:,} events ({batches} batches) each way: "
        f"judged {', '.join(f'{t:.2f}' for t in times[True])} s (lag "
        f"{', '.join(f'{t:.2f}' for t in lags[True])} s); --no-judge "
        f"{', '.join(f'{t:.2f}' for t in times[False])} s (lag "
        f"{', '.join(f'{t:.2f}' for t in lags[False])} s); throughput with / without "
        f"the judgements {ratio:.2f}x"
    ) + told


def _first_times(sent: list[tuple[float, int]], seen: list[tuple[float, int]]) -> dict[int, float]:
    """For each write of ``sent`` (when, events written by then), when ``seen`` (when, events
    there) first reached its events; writes never reached are left out."""
    reached: dict[int, float] = {}
    for index, (_, upto) in enumerate(sent):
        at = next((at for at, events in seen if events >= upto), None)
        if at is not None:
            reached[index] = at
    return reached


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def paced(url: str, rate: int, seconds: float) -> str:
    """The line for a producer writing ``rate`` events a second for ``seconds``: how long
    after a line was written it was committed, and judged (its finding stored or not)."""
    store = open_store(url)
    judge(store, webhook=False)
    dialect = store.dialect
    store.close()
    base = _events_seq(url)
    data, _ = _stream(url, max(1, int(rate * seconds) // 1000 + 1))
    lines = data.splitlines(keepends=True)[: int(rate * seconds)]
    step = max(1, rate // 10)  # a tenth of a second's lines at a time
    # the events each line adds (a status update of a hop sent before adds none): the
    # stored watermark counts events
    ids: set[str] = set()
    adds = []
    for line in lines:
        event_id = json.loads(line).get("id")  # a write has none here: each is new
        adds.append(event_id is None or event_id not in ids)
        if event_id is not None:
            ids.add(event_id)
    sent: list[tuple[float, int]] = []  # (when written, events written by then)
    seen: Timeline = []  # (when, events committed, events judged), as perf_counter times
    done = threading.Event()
    watcher = threading.Thread(target=_watch, args=(url, base, 0.0, done, seen, 0.02))
    watcher.start()
    child = subprocess.Popen(
        [sys.executable, "-m", "lineage", "ingest", "-", "--db", url],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert child.stdin is not None and child.stdout is not None and child.stderr is not None
    pipe = child.stdin

    def produce() -> None:
        started = time.perf_counter()
        events = 0
        for n in range(0, len(lines), step):
            time.sleep(max(0.0, started + n / rate - time.perf_counter()))
            pipe.write(b"".join(lines[n : n + step]))
            pipe.flush()
            events += sum(adds[n : n + step])
            sent.append((time.perf_counter(), events))
        pipe.close()

    producer = threading.Thread(target=produce)
    producer.start()
    producer.join()
    out, err = child.stdout.read(), child.stderr.read()
    child.wait()
    done.set()  # one last look: the command judged before it ended
    watcher.join()
    committed = _first_times(sent, [(at, events) for at, events, _ in seen])
    judged = _first_times(sent, [(at, events) for at, _, events in seen])
    if child.returncode != 0 or b"0 rejected" not in out:
        raise SystemExit(f"lineage ingest failed ({child.returncode}): {err.decode()}")
    lag_committed = [committed[i] - sent[i][0] for i in committed]
    lag_judged = [judged[i] - sent[i][0] for i in judged]
    return (
        f"{dialect:<10} a producer writing {rate:,} events a second for {seconds:g} s "
        f"({len(lines):,} events, {len(sent)} writes): committed after p50 "
        f"{_percentile(lag_committed, 0.5):.2f} s, p95 {_percentile(lag_committed, 0.95):.2f} "
        f"s, max {max(lag_committed):.2f} s; judged after p50 "
        f"{_percentile(lag_judged, 0.5):.2f} s, p95 {_percentile(lag_judged, 0.95):.2f} s, "
        f"max {max(lag_judged):.2f} s ({len(lag_judged)} of {len(sent)} writes seen judged "
        "before the command ended)"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--copy-from-sqlite", type=Path, help="an SQLite store to copy")
    parser.add_argument("--copy-from-postgres", help="a PostgreSQL database to copy")
    parser.add_argument("--batches", type=int, default=100, help="batches of ~1,000 events")
    parser.add_argument("--rounds", type=int, default=3, help="runs each way, alternating")
    parser.add_argument(
        "--rate", type=int, default=0,
        help="instead: a producer writing this many events a second (latency, not throughput)",
    )  # fmt: skip
    parser.add_argument("--seconds", type=float, default=20, help="how long the producer writes")
    parser.add_argument(
        "--timeline",
        action="store_true",
        help="also print when the first judged round's events were committed and judged",
    )
    parser.add_argument("--no-save", action="store_true", help="print only")
    args = parser.parse_args(argv)
    if args.copy_from_sqlite is None and args.copy_from_postgres is None:
        parser.error("give --copy-from-sqlite or --copy-from-postgres (or both)")
    lines = [
        f"# {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC, {machine()}, "
        f"load average {os.getloadavg()[0]:.1f} at the start"
    ]

    def run(url: str) -> None:
        lines.append(
            paced(url, args.rate, args.seconds)
            if args.rate
            else measure(url, args.batches, args.rounds, timeline=args.timeline)
        )
        print(lines[-1], flush=True)

    if args.copy_from_sqlite is not None:
        with tempfile.TemporaryDirectory(prefix="lineage-bench-live-") as folder:
            target = Path(folder) / "store.db"
            _copy_sqlite(args.copy_from_sqlite, target)
            run(f"sqlite:///{target}")
    if args.copy_from_postgres is not None:
        _copy_postgres(args.copy_from_postgres, COPY)
        run(f"{POSTGRES_ADMIN.rsplit('/', 1)[0]}/{COPY}")
    lines.append(f"# load average {os.getloadavg()[0]:.1f} at the end")
    if not args.no_save:
        with RESULTS.open("a", encoding="utf-8") as out:
            out.write("\n".join(lines) + "\n\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
