"""Benchmark: findings as state on a 1,000,000-event store (issue 13's "must show").

The store: :func:`benchmarks.scan.build` (chains of 20 hops, a few of every defect planted),
``--hops`` hops (default 950,000: about 1,000,000 events). With ``--copy-from`` an existing
store of that build is copied instead of built (SQLite: the file; PostgreSQL: ``CREATE
DATABASE ... TEMPLATE``), so that a store another benchmark keeps is never changed.

Measured in a fresh child process per backend (its peak RSS is the run's own):

- ``full``: :func:`lineage.findings.judge` with ``full=True`` (what ``lineage scan --full``
  runs: every detector over the whole store, reconciled into the stored state), against
  ``raw``: the raw window query of :mod:`benchmarks.scan` over the same store;
- ``api`` and ``page``: the p50 of 20 ``GET /api/v1/findings`` and ``GET /findings`` (the
  Flask app in process, the stored findings read a page at a time);
- ``batch``: a 1,000-event batch (:func:`benchmarks.scope.batch`) ingested, then judged
  (incremental detection): the seconds until its findings are stored;
- ``ratio``: ingest throughput with incremental detection (ingest + judgement) over ingest
  alone, for two batches of the same size (one judged, one not; the second's judgement
  then covers both, so it is timed on the judged one only).

Usage (from the repository root)::

    python benchmarks/findings.py --copy-from-sqlite /tmp/lineage-bench-scope/scope-950000.db \\
        --copy-from-postgres lineage_bench_scope_950000

Results are written to benchmarks/results/findings.txt.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import psycopg
from sqlalchemy import text

from benchmarks.common import POSTGRES_ADMIN, machine, peak_rss_mb, postgres_available
from benchmarks.scan import AS_OF, RAW_SQL, build
from benchmarks.scope import batch
from lineage.findings import judge
from lineage.store import open_store
from lineage.store.detection.scope import watermark_now
from lineage.store.schema import to_us
from lineage.store.writer import ingest_lines
from webapp import create_app

RESULTS = Path(__file__).resolve().parent / "results" / "findings.txt"
REQUESTS = 20


def _p50(client: Any, path: str) -> float:
    client.get(path)  # warm
    times = []
    for _ in range(REQUESTS):
        started = time.perf_counter()
        answer = client.get(path)
        times.append(time.perf_counter() - started)
        assert answer.status_code == 200, answer.status_code
    return statistics.median(times)


def _ingest(store: Any, lines: list[str]) -> float:
    started = time.perf_counter()
    result = ingest_lines(store, (("batch", n, line) for n, line in enumerate(lines, 1)))
    assert result.rejected_count == 0, result.rejected[:3]
    return time.perf_counter() - started


def measure(url: str) -> dict[str, Any]:
    """Everything the module docstring lists, on the store at ``url``."""
    store = open_store(url)
    with store.engine.connect() as conn:
        events = conn.execute(text("SELECT count(*) FROM events")).scalar_one()
        conn.execute(text("SELECT count(*), max(value_norm) FROM events")).all()  # warm
    distinct = "IS DISTINCT FROM" if store.dialect == "postgresql" else "IS NOT"
    started = time.perf_counter()
    with store.engine.connect() as conn:
        raw_rows = sum(
            1
            for _ in conn.execute(text(RAW_SQL.format(distinct=distinct)), {"as_of": to_us(AS_OF)})
        )
    raw_seconds = time.perf_counter() - started

    started = time.perf_counter()
    full = judge(store, full=True, webhook=False)
    full_seconds = time.perf_counter() - started
    again = judge(store, full=True, webhook=False)  # the state kept up: nothing to reconcile

    app = create_app({"TESTING": True, "DATABASE_URL": url, "API_TOKEN": None})
    client = app.test_client()
    api_p50 = _p50(client, "/api/v1/findings")
    page_p50 = _p50(client, "/findings")
    app.extensions["lineage"].close()

    with store.engine.connect() as conn:
        mark = watermark_now(conn)
    assert mark.clock is not None
    plain = batch(mark.events_seq, mark.clock)
    plain_seconds = _ingest(store, plain)  # not judged yet
    judge(store, webhook=False)  # catch up, so the judged batch is judged alone
    with store.engine.connect() as conn:
        mark = watermark_now(conn)
    assert mark.clock is not None
    judged_lines = batch(mark.events_seq, mark.clock)
    ingest_seconds = _ingest(store, judged_lines)
    started = time.perf_counter()
    scoped = judge(store, webhook=False)
    judge_seconds = time.perf_counter() - started
    store.close()
    batch_seconds = ingest_seconds + judge_seconds
    return {
        "backend": store.dialect,
        "events": events,
        "raw_seconds": raw_seconds,
        "raw_rows": raw_rows,
        "full_seconds": full_seconds,
        "full": full.as_dict(),
        "again": again.as_dict(),
        "api_p50_ms": api_p50 * 1000,
        "page_p50_ms": page_p50 * 1000,
        "batch": len(judged_lines),
        "batch_ingest_seconds": ingest_seconds,
        "batch_judge_seconds": judge_seconds,
        "batch_seconds": batch_seconds,
        "batch_scoped": not scoped.full,
        "ratio": (len(judged_lines) / batch_seconds) / (len(plain) / plain_seconds),
        "peak_rss_mb": peak_rss_mb(),
    }


def _copy_sqlite(source: Path, target: Path) -> None:
    for suffix in ("", "-wal", "-shm"):
        Path(f"{target}{suffix}").unlink(missing_ok=True)
    shutil.copyfile(source, target)


def _copy_postgres(source: str, target: str) -> None:
    with psycopg.connect(POSTGRES_ADMIN, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{target}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{target}" TEMPLATE "{source}"')


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--hops", type=int, default=950_000, help="hops in a built store")
    parser.add_argument(
        "--backend",
        nargs="+",
        default=["sqlite", "postgresql"],
        choices=["sqlite", "postgresql"],
        help="backends to measure",
    )
    parser.add_argument("--copy-from-sqlite", type=Path, help="an SQLite store to copy")
    parser.add_argument("--copy-from-postgres", help="a PostgreSQL database to copy")
    parser.add_argument(
        "--folder", type=Path, default=Path("/tmp/lineage-bench-findings"), help="SQLite here"
    )
    parser.add_argument("--measure", metavar="URL", help=argparse.SUPPRESS)
    parser.add_argument("--no-save", action="store_true", help="do not write the results")
    args = parser.parse_args(argv)
    if args.measure:
        print(json.dumps(measure(args.measure)))
        return 0
    lines: list[str] = []
    for backend in args.backend:
        name = f"lineage_bench_findings_{args.hops}"
        if backend == "postgresql":
            reason = postgres_available()
            if reason:
                print(f"skipping PostgreSQL: {reason}", file=sys.stderr)
                continue
            url = f"{POSTGRES_ADMIN.rsplit('/', 1)[0]}/{name}"
            if args.copy_from_postgres:
                _copy_postgres(args.copy_from_postgres, name)
            else:
                _copy_postgres("template1", name)
                print(f"postgresql: built in {build(url, args.hops):.0f} s", file=sys.stderr)
        else:
            args.folder.mkdir(parents=True, exist_ok=True)
            path = args.folder / f"{name}.db"
            url = f"sqlite:///{path}"
            if args.copy_from_sqlite:
                _copy_sqlite(args.copy_from_sqlite, path)
            else:
                _copy_sqlite(Path("/dev/null"), path)
                print(f"sqlite: built in {build(url, args.hops):.0f} s", file=sys.stderr)
        child = subprocess.run(
            [sys.executable, __file__, "--measure", url],
            check=False,
            capture_output=True,
            text=True,
        )
        if child.returncode != 0:
            print(child.stderr, file=sys.stderr)
            return 1
        got = json.loads(child.stdout.strip().splitlines()[-1])
        line = (
            f"{got['backend']:<10} {got['events']:>9,} events  full judgement "
            f"{got['full_seconds']:6.1f} s vs raw query {got['raw_seconds']:5.1f} s "
            f"({got['full_seconds'] / got['raw_seconds']:.2f}x; again {got['again']})  "
            f"GET /api/v1/findings p50 {got['api_p50_ms']:.0f} ms  /findings p50 "
            f"{got['page_p50_ms']:.0f} ms  {got['batch']:,}-event batch "
            f"{got['batch_seconds']:.2f} s (ingest {got['batch_ingest_seconds']:.2f} + judge "
            f"{got['batch_judge_seconds']:.2f}, scoped {got['batch_scoped']})  throughput "
            f"with/without detection {got['ratio']:.2f}x  peak RSS {got['peak_rss_mb']:.0f} MB"
        )
        print(line)
        lines.append(line)
    if lines and not args.no_save:
        RESULTS.parent.mkdir(parents=True, exist_ok=True)
        stamp = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
        RESULTS.write_text(f"# {stamp}, {machine()}\n" + "\n".join(lines) + "\n", "utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
