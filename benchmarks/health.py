"""Benchmark: ``lineage health`` over 30 days by integration on a store of 1,000,000 hops.

The store: the events of :func:`benchmarks.common.generate_events` (chains of 20 hops through
S00 → … → S20, one write at each chain's origin), their times stretched fifty-fold so that
they cover 29 days instead of 14 hours, and one in ten late confirmations of a hop first
``sent`` left out, so that some hops are lost. Until the stored findings are filled by
detection in this benchmark, ``--findings`` synthetic occurrences (default 20,000, spread over
the 30 days, half of them resolved) are inserted into the ``findings`` table.

Measured, each ``--repeat`` times (median): :func:`lineage.health.health` by integration over
30 days (what ``lineage health`` and ``GET /api/v1/health`` run), the same by owner, and the
chart of every integration drawn from that answer (the map page's work besides the query).
Peak memory is the process's maximum resident set.

Usage (from the repository root)::

    python benchmarks/health.py                        # 1,000,000 hops, SQLite and PostgreSQL
    python benchmarks/health.py --hops 100000 --backend sqlite

Stores are kept for ``--reuse``: SQLite in ``--folder`` (default /tmp/lineage-bench-health),
PostgreSQL as database ``lineage_bench_health_<hops>``. Results go to
benchmarks/results/health.txt.
"""

from __future__ import annotations

import argparse
import datetime as dt
import statistics
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import json

import psycopg
from sqlalchemy import insert, text

from benchmarks.common import (
    POSTGRES_ADMIN,
    START,
    Column,
    generate_events,
    machine,
    peak_rss_mb,
    postgres_available,
    table,
    write_registry,
)
from lineage.charts import health_chart
from lineage.errors import StoreError
from lineage.health import health
from lineage.registry import load_registry
from lineage.store import open_store
from lineage.store.schema import findings
from lineage.store.writer import ingest_lines

RESULTS = Path(__file__).resolve().parent / "results" / "health.txt"
CHAIN = 20
STRETCH = 50
DROP_EVERY = 10


def _stretched(hops: int) -> Iterator[str]:
    """The generator's events, times stretched ``STRETCH``-fold, some confirmations dropped."""
    sent: set[str] = set()
    confirmations = 0
    for event in generate_events(hops, CHAIN):
        at = dt.datetime.fromisoformat(event["at"].replace("Z", "+00:00"))
        event["at"] = (START + (at - START) * STRETCH).isoformat().replace("+00:00", "Z")
        if event["kind"] == "hop":
            if event["status"] == "sent":
                sent.add(event["id"])
            elif event["id"] in sent:
                sent.discard(event["id"])
                confirmations += 1
                if confirmations % DROP_EVERY == 0:
                    continue  # never confirmed: lost once its timeout runs out
        yield json.dumps(event)


def _findings(count: int, clock: int) -> list[dict[str, Any]]:
    day = 86_400_000_000
    start = clock - 30 * day
    rows = []
    for n in range(count):
        first = start + (n * 30 * day) // max(count, 1)
        rows.append(
            {
                "fingerprint": f"bench-{n}",
                "occurrence": 1,
                "code": "lost-delivery",
                "severity": "error",
                "system": f"S{(n % CHAIN) + 1:02d}",
                "element": "order.total",
                "record": f"R-{n}",
                "integration": f"s{n % CHAIN:02d}-to-s{(n % CHAIN) + 1:02d}",
                "event": None,
                "owner": None,
                "message": "synthetic",
                "evidence": "{}",
                "first_seen_at": first,
                "first_seen_event": None,
                "last_seen_at": first,
                "last_seen_event": None,
                "resolved_at": first + day // 2 if n % 2 else None,
                "resolved_by": None,
                "registry_version": None,
            }
        )
    return rows


def build(url: str, hops: int, folder: Path, n_findings: int) -> float:
    started = time.perf_counter()
    store = open_store(url)
    registry = write_registry(folder / f"health-registry-{CHAIN}.yaml", CHAIN)
    store.save_registry(load_registry([registry]))

    def lines() -> Iterable[tuple[str, int, str]]:
        for number, event in enumerate(_stretched(hops), start=1):
            yield "generated", number, event

    result = ingest_lines(store, lines(), batch_size=20_000)
    if result.rejected:
        raise SystemExit(f"build rejected {len(result.rejected)} events: {result.rejected[:3]}")
    with store.engine.begin() as conn:
        clock = int(conn.execute(text("SELECT MAX(at) FROM events")).scalar_one())
        rows = _findings(n_findings, clock)
        for first in range(0, len(rows), 5000):
            conn.execute(insert(findings), rows[first : first + 5000])
    settle = "VACUUM ANALYZE" if store.dialect == "postgresql" else "ANALYZE"
    with store.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text(settle))
    store.close()
    return time.perf_counter() - started


def _has_events(url: str) -> bool:
    if url.startswith("sqlite:///") and not Path(url[len("sqlite:///") :]).exists():
        return False
    try:
        store = open_store(url)
    except StoreError:
        return False
    with store.engine.connect() as conn:
        found = conn.execute(text("SELECT 1 FROM events LIMIT 1")).first() is not None
    store.close()
    return found


def _url(backend: str, hops: int, folder: Path) -> str:
    if backend == "sqlite":
        return f"sqlite:///{folder / f'health-{hops}.db'}"
    name = f"lineage_bench_health_{hops}"
    with psycopg.connect(POSTGRES_ADMIN, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{name}"')
    return f"{POSTGRES_ADMIN.rsplit('/', 1)[0]}/{name}"


def _median(run: Callable[[], Any], repeat: int) -> tuple[float, Any]:
    times, answer = [], None
    for _ in range(repeat):
        started = time.perf_counter()
        answer = run()
        times.append(time.perf_counter() - started)
    return statistics.median(times) * 1000, answer


def measure(backend: str, args: argparse.Namespace) -> list[Any]:
    url = _url(backend, args.hops, args.folder)
    built = "reused"
    if not (args.reuse and _has_events(url)):
        if backend == "sqlite":
            for suffix in ("", "-wal", "-shm"):
                Path(f"{url[len('sqlite:///') :]}{suffix}").unlink(missing_ok=True)
        built = f"built in {build(url, args.hops, args.folder, args.findings):,.0f} s"
    store = open_store(url)
    try:
        with store.engine.connect() as conn:
            events = int(conn.execute(text("SELECT COUNT(*) FROM events")).scalar_one())
        by_integration, report = _median(lambda: health(store, days=30), args.repeat)
        by_owner, _ = _median(lambda: health(store, by="owner", days=30), args.repeat)
        charts, _ = _median(lambda: [health_chart(g) for g in report.groups], args.repeat)
    finally:
        store.close()
    total = report.total
    print(f"{backend}: {events:,} events ({built}); {len(report.groups)} integrations", flush=True)
    return [
        backend,
        events,
        by_integration,
        by_owner,
        charts,
        sum(d.delivered for d in total.days),
        sum(d.lost for d in total.days),
        sum(d.opened for d in total.days),
        peak_rss_mb(),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hops", type=int, default=1_000_000)
    parser.add_argument("--backend", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--findings", type=int, default=20_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--reuse", action="store_true", help="reuse the stores built before")
    parser.add_argument("--folder", type=Path, default=Path("/tmp/lineage-bench-health"))
    parser.add_argument("--build-only", action="store_true", help="only build the stores")
    args = parser.parse_args()
    args.folder.mkdir(parents=True, exist_ok=True)
    backends = ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]
    if "postgresql" in backends and (reason := postgres_available()):
        print(f"skipping PostgreSQL: {reason}", file=sys.stderr)
        backends.remove("postgresql")
    if args.build_only:
        for backend in backends:
            url = _url(backend, args.hops, args.folder)
            print(f"{backend}: built in {build(url, args.hops, args.folder, args.findings):,.0f} s")
        return
    rows = [measure(backend, args) for backend in backends]
    columns = [
        Column("backend", "<"),
        "events",
        "by integration ms",
        "by owner ms",
        "charts ms",
        "delivered",
        "lost",
        "opened",
        "peak RSS MB",
    ]
    lines = [
        f"lineage health, 30 days, {args.hops:,} hops (median of {args.repeat})",
        machine(),
        "",
        table(columns, rows),
    ]
    report = "\n".join(lines)
    print(report)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(report + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
