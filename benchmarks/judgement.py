"""Benchmark: batch after batch, what one event's judgement costs, and whose CPU it takes.

On a copy of a :mod:`benchmarks.scope` store (about 1,000,000 events), ``--batches`` batches
of about 1,000 events (:func:`benchmarks.scope.batch`) are each ingested, then judged
(:func:`lineage.findings.judge`, incremental), one after the other, as ``lineage ingest`` run
batch after batch does. The first batch warms the process and is not counted. Printed per
event: the wall time of the ingest and of the judgement, this process's CPU and (PostgreSQL)
the database server's CPU, read from ``/proc`` for every ``postgres`` process of the machine
(run it on a quiet machine: another client's queries would count).

Usage (from the repository root, after ``python benchmarks/scope.py --build-only``)::

    python benchmarks/judgement.py --copy-from-sqlite /tmp/lineage-bench-scope/scope-950000.db
    python benchmarks/judgement.py --copy-from-postgres lineage_bench_scope_950000

The numbers go to standard output only: this is the tool to compare two versions of the
engine in alternating runs (``PYTHONPATH`` set to each checkout in turn).
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.common import POSTGRES_ADMIN
from benchmarks.findings import _copy_postgres, _copy_sqlite
from benchmarks.scope import batch
from lineage.findings import judge
from lineage.store import open_store
from lineage.store.detection.scope import watermark_now
from lineage.store.writer import ingest_lines

COPY = "lineage_bench_judgement"
"""The PostgreSQL copy's database name (dropped and made again on every run)."""


def _server_cpu() -> float:
    """CPU seconds of every ``postgres`` process of this machine (0 without ``/proc``)."""
    ticks = 0
    for pid in os.listdir("/proc") if os.path.isdir("/proc") else ():
        if not pid.isdigit():
            continue
        try:
            comm = Path(f"/proc/{pid}/comm").read_text().strip()
            stat = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if comm.startswith("postgres"):
            ticks += int(stat[11]) + int(stat[12])
    return ticks / os.sysconf("SC_CLK_TCK")


def _own_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def measure(url: str, batches: int, hops: int) -> str:
    """Ingest then judge ``batches`` batches on the store at ``url``; the two lines printed."""
    store = open_store(url)
    judge(store, webhook=False)  # start from a judged store
    totals = {"ingest": [0.0, 0.0, 0.0], "judge": [0.0, 0.0, 0.0]}
    events = 0
    for n in range(batches + 1):
        with store.engine.connect() as conn:
            mark = watermark_now(conn)
        assert mark.clock is not None
        lines = batch(mark.events_seq + n, mark.clock, hops=hops)
        steps: dict[str, list[float]] = {}
        for step in ("ingest", "judge"):
            started = (time.perf_counter(), _own_cpu(), _server_cpu())
            if step == "ingest":
                ingest_lines(store, (("batch", k, line) for k, line in enumerate(lines, 1)))
            else:
                judge(store, webhook=False)
            ended = (time.perf_counter(), _own_cpu(), _server_cpu())
            steps[step] = [e - s for s, e in zip(started, ended, strict=True)]
        if n == 0:
            continue  # warming up
        events += len(lines)
        for step, spent in steps.items():
            totals[step] = [t + s for t, s in zip(totals[step], spent, strict=True)]
    store.close()
    per = 1e6 / events
    return "\n".join(
        f"{store.dialect:<10} {step:<6} {events:,} events in {batches} batches: wall "
        f"{wall * per:.0f} us an event, this process's CPU {own * per:.0f} us, the database "
        f"server's {server * per:.0f} us"
        for step, (wall, own, server) in totals.items()
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--copy-from-sqlite", type=Path, help="an SQLite store to copy")
    parser.add_argument("--copy-from-postgres", help="a PostgreSQL database to copy")
    parser.add_argument("--batches", type=int, default=8, help="batches counted")
    parser.add_argument("--hops", type=int, default=950, help="hops a batch (events: ~1.06x)")
    args = parser.parse_args(argv)
    if args.copy_from_sqlite is None and args.copy_from_postgres is None:
        parser.error("give --copy-from-sqlite or --copy-from-postgres (or both)")
    if args.copy_from_sqlite is not None:
        with tempfile.TemporaryDirectory(prefix="lineage-bench-judgement-") as folder:
            target = Path(folder) / "store.db"
            _copy_sqlite(args.copy_from_sqlite, target)
            print(measure(f"sqlite:///{target}", args.batches, args.hops), flush=True)
    if args.copy_from_postgres is not None:
        _copy_postgres(args.copy_from_postgres, COPY)
        url = f"{POSTGRES_ADMIN.rsplit('/', 1)[0]}/{COPY}"
        print(measure(url, args.batches, args.hops), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
