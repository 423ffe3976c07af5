"""Benchmark: trace and impact of a 20-hop chain at 1,000,000 hops, next to the raw query.

The store: :func:`benchmarks.common.generate_events` (``--hops`` hops in chains of 20, a write
at each chain's origin, ~0.1% of hops planted wrong, ~1% first sent then confirmed).

Measured on a sample of chains spread over the store (``--samples``), each question asked
``--repeat`` times, medians reported:

- ``lineage.trace`` of the chain's last copy (``S20``) back to its origin write: the engine's
  whole answer (current value, the recursive walk, the events and inputs it reached, every
  step judged, the JSON-shaped result), and the same recursive walk query
  (:data:`lineage.store.walks.TRACE_SQL`) run raw through the driver (``sqlite3``;
  ``psycopg`` with a prepared statement and binary rows, as the engine runs it) in the same
  run: the physical limit.
- ``lineage.impact`` of the chain's origin write forward to its 20 copies, and its recursive
  query run raw.
- ``lineage.render.to_svg`` of the traced graph (Graphviz in-process).

Targets (README, Performance): trace under 2 ms, impact under 10 ms.

Usage (from the repository root)::

    python benchmarks/trace.py                     # 1,000,000 hops, SQLite and PostgreSQL
    python benchmarks/trace.py --reuse             # reuse the stores built before
    python benchmarks/trace.py --hops 100000 --backend sqlite

The stores are kept for ``--reuse``: SQLite in ``--folder`` (default /tmp/lineage-bench-trace),
PostgreSQL as database ``lineage_bench_trace_<hops>``; ``--drop`` removes them after the run.
Results are written to benchmarks/results/trace.txt.
"""

from __future__ import annotations

import argparse
import os
import re
import sqlite3
import statistics
import sys
import time
from collections.abc import Callable, Iterable
from functools import partial
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import psycopg
from sqlalchemy import text

from benchmarks.common import (
    ELEMENTS,
    POSTGRES_ADMIN,
    Column,
    generate_events,
    machine,
    postgres_available,
    system_name,
    table,
    write_registry,
)
from lineage.errors import StoreError
from lineage.impact import impact
from lineage.registry import load_registry
from lineage.render import to_svg
from lineage.store import open_store
from lineage.store.queries import PlaceKey
from lineage.store.walks import IMPACT_SQL, TRACE_SQL, impact_parameters, trace_parameters
from lineage.store.writer import ingest_lines
from lineage.trace import trace

RESULTS = Path(__file__).resolve().parent / "results" / "trace.txt"
QUESTIONS = ("trace", "trace_raw", "impact", "impact_raw", "svg")
LINES = (
    ("trace", "trace (engine)", 2.0),
    ("trace_raw", "trace query (raw driver)", 0.0),
    ("impact", "impact (engine)", 10.0),
    ("impact_raw", "impact query (raw driver)", 0.0),
    ("svg", "SVG of the trace", 0.0),
)
CHAIN = 20


def _record(system: int, chain: int) -> str:
    # the generator's record keys: C-<chain> at the origin, <system><chain:08> elsewhere
    return f"C-{chain}" if system == 0 else f"{system:02d}{chain:08d}"


def build(url: str, hops: int, folder: Path) -> float:
    """Create the store at ``url`` with the registry and every generated event; seconds."""
    started = time.perf_counter()
    store = open_store(url)
    registry = write_registry(folder / f"trace-registry-{CHAIN}.yaml", CHAIN)
    store.save_registry(load_registry([registry]))

    def lines() -> Iterable[tuple[str, int, str]]:
        for number, event in enumerate(generate_events(hops, CHAIN, as_json=True), start=1):
            yield "generated", number, event

    result = ingest_lines(store, lines(), batch_size=20_000)
    if result.rejected:
        raise SystemExit(f"build rejected {len(result.rejected)} events: {result.rejected[:3]}")
    # The store as PostgreSQL's autovacuum leaves it once it has seen the load (since
    # PostgreSQL 13 it vacuums after inserts too): planner statistics and a visibility map.
    # Without statistics PostgreSQL overestimates the recursive query a thousandfold and
    # spends ~140 ms compiling it with JIT. SQLite then has sqlite_stat1, as a store has once
    # someone runs ANALYZE or PRAGMA optimize: the case where its impact plan once built a
    # Bloom filter over every event per step (see lineage.store.walks._HOP_JOIN).
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


def _postgres_url(hops: int) -> str:
    return f"{POSTGRES_ADMIN.rsplit('/', 1)[0]}/lineage_bench_trace_{hops}"


def _postgres_database(hops: int, *, create: bool, drop: bool) -> None:
    name = f"lineage_bench_trace_{hops}"
    with psycopg.connect(POSTGRES_ADMIN, autocommit=True) as conn:
        if drop:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        if create:
            exists = conn.execute(
                "SELECT 1 FROM pg_database WHERE datname = %s", (name,)
            ).fetchone()
            if not exists:
                conn.execute(f'CREATE DATABASE "{name}"')


def _sqlite_files(path: Path) -> list[Path]:
    return [Path(f"{path}{suffix}") for suffix in ("", "-wal", "-shm")]


# --- measuring ----------------------------------------------------------------------------


def _timed_ms(func: Callable[[], Any]) -> float:
    started = time.perf_counter()
    func()
    return (time.perf_counter() - started) * 1000


def _raw_runner(url: str) -> tuple[Callable[[str, dict[str, Any]], list[Any]], Callable[[], None]]:
    """Run SQL written with ``:name`` parameters straight through the driver."""
    if url.startswith("sqlite:///"):
        conn = sqlite3.connect(url[len("sqlite:///") :])

        def run_sqlite(sql: str, params: dict[str, Any]) -> list[Any]:
            return conn.execute(sql, params).fetchall()

        return run_sqlite, conn.close

    pg = psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://"), autocommit=True)
    converted: dict[str, str] = {}

    def run_postgres(sql: str, params: dict[str, Any]) -> list[Any]:
        if sql not in converted:
            converted[sql] = re.sub(r"(?<!:):(\w+)", r"%(\1)s", sql)
        return pg.execute(converted[sql], params, prepare=True, binary=True).fetchall()

    return run_postgres, pg.close


def measure(url: str, hops: int, samples: int, repeat: int) -> dict[str, Any]:
    """Median milliseconds of each question over ``samples`` chains."""
    store = open_store(url)
    chains = hops // CHAIN  # whole chains only
    picked = [(chains - 1) * (i + 1) // (samples + 1) for i in range(samples)]
    run_raw, close_raw = _raw_runner(url)
    trace_sql, impact_sql = TRACE_SQL[store.dialect], IMPACT_SQL[store.dialect]
    runs: dict[str, list[float]] = {k: [] for k in QUESTIONS}
    hops_seen: list[int] = []
    reached: list[int] = []
    for chain in picked:
        element = ELEMENTS[chain % 2][0]
        last = (system_name(CHAIN), element, _record(CHAIN, chain))
        origin = (system_name(0), element, _record(0, chain))
        trace_params = trace_parameters(PlaceKey(*last))
        impact_params = impact_parameters(PlaceKey(*origin))
        # warm up caches and statement preparation the same way for both sides
        result = trace(store, *last)
        spread = impact(store, *origin)
        run_raw(trace_sql, trace_params)
        run_raw(impact_sql, impact_params)
        hops_seen.append(len(result.edges))
        reached.append(sum(spread.counts.values()))
        # interleaved, so that a busy moment on the machine hits every question alike
        questions: dict[str, Callable[[], Any]] = {
            "trace": partial(trace, store, *last),
            "trace_raw": partial(run_raw, trace_sql, trace_params),
            "impact": partial(impact, store, *origin),
            "impact_raw": partial(run_raw, impact_sql, impact_params),
            "svg": partial(to_svg, result),
        }
        for number in range(repeat):
            for key, question in questions.items():
                if key != "svg" or number < max(3, repeat // 10):
                    runs[key].append(_timed_ms(question))
    close_raw()
    dialect = store.dialect
    store.close()
    return {
        "backend": dialect,
        "chains": len(picked),
        "hops_per_trace": statistics.median(hops_seen),
        "places_per_impact": statistics.median(reached),
        **{key: _summary(values) for key, values in runs.items()},
    }


def _summary(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)
    return {
        "median": statistics.median(ordered),
        "best": ordered[0],
        "p95": ordered[max(0, int(len(ordered) * 0.95) - 1)],
    }


# --- the run ------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--hops", type=int, default=1_000_000, help="hops to generate")
    parser.add_argument(
        "--backend",
        nargs="+",
        default=["sqlite", "postgresql"],
        choices=["sqlite", "postgresql"],
        help="backends to measure",
    )
    parser.add_argument("--samples", type=int, default=50, help="chains to trace")
    parser.add_argument("--repeat", type=int, default=30, help="runs per chain and question")
    parser.add_argument("--reuse", action="store_true", help="reuse stores built before")
    parser.add_argument("--drop", action="store_true", help="remove the stores afterwards")
    parser.add_argument(
        "--folder",
        type=Path,
        default=Path("/tmp/lineage-bench-trace"),
        help="where the SQLite store is kept",
    )
    parser.add_argument("--no-save", action="store_true", help="do not write results/trace.txt")
    args = parser.parse_args(argv)
    args.folder.mkdir(parents=True, exist_ok=True)

    rows: list[list[Any]] = []
    notes: list[str] = []
    for backend in args.backend:
        if backend == "postgresql":
            reason = postgres_available()
            if reason:
                print(f"skipping PostgreSQL: {reason}", file=sys.stderr)
                continue
            url = _postgres_url(args.hops)
        else:
            path = args.folder / f"trace-{args.hops}.db"
            url = f"sqlite:///{path}"
        if not (args.reuse and _has_events(url)):
            print(f"{backend}: building the store ({args.hops:,} hops)...", file=sys.stderr)
            if backend == "postgresql":
                _postgres_database(args.hops, create=True, drop=True)
            else:
                for file in _sqlite_files(path):
                    file.unlink(missing_ok=True)
            seconds = build(url, args.hops, args.folder)
            print(f"{backend}: built in {seconds:.0f} s", file=sys.stderr)
        print(f"{backend}: measuring...", file=sys.stderr)
        load = os.getloadavg()[0]
        got = measure(url, args.hops, args.samples, args.repeat)
        load = max(load, os.getloadavg()[0])
        for key, label, target in LINES:
            if key not in got:
                continue
            median = got[key]["median"]
            raw = f"{key}_raw" if not key.endswith("_raw") else None
            versus = f"{median / got[raw]['median']:.1f}x" if raw in got else ""
            met = ("yes" if median < target else "NO") if target else ""
            rows.append([backend, label, median, got[key]["best"], got[key]["p95"], versus,
                         f"< {target:g} ms" if target else "", met])  # fmt: skip
        notes.append(
            f"{backend}: {got['chains']} chains x {args.repeat} runs, median "
            f"{got['hops_per_trace']:.0f} edges per trace and {got['places_per_impact']:.0f} "
            f"places per impact; 1-minute load average up to {load:.1f} on {os.cpu_count()} "
            "cores during the measurement"
        )
        if args.drop:
            if backend == "postgresql":
                _postgres_database(args.hops, create=False, drop=True)
            else:
                for file in _sqlite_files(path):
                    file.unlink(missing_ok=True)
    report = "\n".join(
        [
            f"lineage trace / impact of a {CHAIN}-hop chain at {args.hops:,} hops ({machine()})",
            f"command: python benchmarks/trace.py --hops {args.hops} --samples {args.samples} "
            f"--repeat {args.repeat}",
            "milliseconds per question over every run: median, best and 95th percentile; "
            "'vs raw' compares medians",
            "",
            table(
                [
                    Column("backend", "<"),
                    Column("work", "<"),
                    "median ms",
                    "best ms",
                    "p95 ms",
                    "vs raw",
                    "target",
                    "met",
                ],
                rows,
            ),
            "",
            *notes,
        ]
    )
    print(report)
    if not args.no_save:
        RESULTS.parent.mkdir(parents=True, exist_ok=True)
        RESULTS.write_text(report + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
