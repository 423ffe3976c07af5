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
command exited.

Usage (from the repository root, after ``python benchmarks/scope.py --build-only``)::

    python benchmarks/live_ingest.py --copy-from-sqlite /tmp/lineage-bench-scope/scope-950000.db
    python benchmarks/live_ingest.py --copy-from-postgres lineage_bench_scope_950000

Results are appended to benchmarks/results/live-ingest.txt (``--no-save``: standard output
only), with the load average before and after.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.common import POSTGRES_ADMIN, machine
from benchmarks.findings import _copy_postgres, _copy_sqlite
from benchmarks.scope import batch
from lineage.findings import judge
from lineage.store import open_store
from lineage.store.detection.scope import watermark_now

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


def _run(url: str, data: bytes, *, judging: bool) -> tuple[float, float]:
    """Feed ``data`` to ``lineage ingest -``; (seconds until it exited, seconds after the last
    line was written)."""
    command = [sys.executable, "-m", "lineage", "ingest", "-", "--db", url]
    if not judging:
        command.append("--no-judge")
    started = time.perf_counter()
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
    if child.returncode != 0:
        raise SystemExit(f"lineage ingest failed ({child.returncode}): {err.decode()}")
    assert b"0 rejected" in out, out
    return ended - started, ended - written


def measure(url: str, batches: int, rounds: int) -> str:
    """The table's lines for the store at ``url``."""
    store = open_store(url)
    judge(store, webhook=False)  # start from a judged store
    dialect = store.dialect
    store.close()
    times: dict[bool, list[float]] = {True: [], False: []}
    lags: dict[bool, list[float]] = {True: [], False: []}
    events = 0
    for _ in range(rounds):
        for judging in (True, False):
            data, count = _stream(url, batches)
            seconds, lag = _run(url, data, judging=judging)
            times[judging].append(seconds)
            lags[judging].append(lag)
            events = count
            if not judging:  # the next judged round judges its own events only
                store = open_store(url)
                judge(store, webhook=False)
                store.close()
    judged, plain = sum(times[True]), sum(times[False])
    ratio = plain / judged  # the same events each round: throughput ratio
    return (
        f"{dialect:<10} {rounds} rounds of {events:,} events ({batches} batches) each way: "
        f"judged {', '.join(f'{t:.2f}' for t in times[True])} s (lag "
        f"{', '.join(f'{t:.2f}' for t in lags[True])} s); --no-judge "
        f"{', '.join(f'{t:.2f}' for t in times[False])} s (lag "
        f"{', '.join(f'{t:.2f}' for t in lags[False])} s); throughput with / without "
        f"the judgements {ratio:.2f}x"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--copy-from-sqlite", type=Path, help="an SQLite store to copy")
    parser.add_argument("--copy-from-postgres", help="a PostgreSQL database to copy")
    parser.add_argument("--batches", type=int, default=100, help="batches of ~1,000 events")
    parser.add_argument("--rounds", type=int, default=3, help="runs each way, alternating")
    parser.add_argument("--no-save", action="store_true", help="print only")
    args = parser.parse_args(argv)
    if args.copy_from_sqlite is None and args.copy_from_postgres is None:
        parser.error("give --copy-from-sqlite or --copy-from-postgres (or both)")
    lines = [
        f"# {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC, {machine()}, "
        f"load average {os.getloadavg()[0]:.1f} at the start"
    ]
    if args.copy_from_sqlite is not None:
        with tempfile.TemporaryDirectory(prefix="lineage-bench-live-") as folder:
            target = Path(folder) / "store.db"
            _copy_sqlite(args.copy_from_sqlite, target)
            lines.append(measure(f"sqlite:///{target}", args.batches, args.rounds))
            print(lines[-1], flush=True)
    if args.copy_from_postgres is not None:
        _copy_postgres(args.copy_from_postgres, COPY)
        url = f"{POSTGRES_ADMIN.rsplit('/', 1)[0]}/{COPY}"
        lines.append(measure(url, args.batches, args.rounds))
        print(lines[-1], flush=True)
    lines.append(f"# load average {os.getloadavg()[0]:.1f} at the end")
    if not args.no_save:
        with RESULTS.open("a", encoding="utf-8") as out:
            out.write("\n".join(lines) + "\n\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
