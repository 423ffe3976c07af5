"""Benchmark: ``lineage diff`` with its blast radius on a store of 1,000,000 hops.

The store is :func:`benchmarks.common.generate_events`' company (chains of 20 hops through
S00 ... S20, two elements each). HEAD changes one transform in the middle of the chain
(``s09-to-s10`` carries ``order.total`` through ``add(1)`` instead of ``add(0)``), so every
hop of that integration would give another value. Measured, medians of ``--repeat`` runs:

- the registry comparison alone (no store: what ``lineage check --base`` costs in CI);
- the review with the blast radius, the transform re-run over the latest ``--max-hops`` hops
  of the window (10,000 by default), and over every hop of the integration (``--max-hops``
  beyond their number), with the hops per second of the re-run;
- the peak RSS of the process (the blast radius never loads the store: it reads bounded
  index ranges).

Usage (from the repository root)::

    python benchmarks/diff.py                        # 1,000,000 hops, SQLite and PostgreSQL
    python benchmarks/diff.py --reuse                # reuse the stores built before
    python benchmarks/diff.py --hops 100000 --backend sqlite

Stores are kept for ``--reuse``: SQLite in ``--folder`` (default /tmp/lineage-bench-diff),
PostgreSQL as database ``lineage_bench_diff_<hops>``. Results go to
benchmarks/results/diff.txt.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from functools import partial
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import psycopg

from benchmarks.common import (
    POSTGRES_ADMIN,
    Column,
    machine,
    peak_rss_mb,
    postgres_available,
    table,
)
from benchmarks.trace import _has_events, _sqlite_files, build
from lineage.diff import diff_registries
from lineage.diff.blast import Window
from lineage.diff.review import review_registries
from lineage.model.registry import Registry
from lineage.registry import load_registry
from lineage.store import open_store

RESULTS = Path(__file__).resolve().parent / "results" / "diff.txt"
OLD = "      - element: order.total\n        transform: add(0)"
NEW = "      - element: order.total\n        transform: add(1)"


def _postgres(hops: int, *, fresh: bool) -> str:
    name = f"lineage_bench_diff_{hops}"
    with psycopg.connect(POSTGRES_ADMIN, autocommit=True) as conn:
        if fresh:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')
    return f"{POSTGRES_ADMIN.rsplit('/', 1)[0]}/{name}"


def _registries(folder: Path) -> tuple[Registry, Registry]:
    base_file = folder / "trace-registry-20.yaml"
    text = base_file.read_text(encoding="utf-8")
    marker = "  - name: s09-to-s10\n"
    start = text.index(marker)
    head_text = text[:start] + text[start:].replace(OLD, NEW, 1)
    assert head_text != text
    head_file = folder / "diff-head.yaml"
    head_file.write_text(head_text, encoding="utf-8")
    return load_registry([base_file]), load_registry([head_file])


def _median_ms(func: Any, repeat: int) -> tuple[float, Any]:
    times, result = [], None
    for _ in range(repeat):
        started = time.perf_counter()
        result = func()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times), result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--hops", type=int, default=1_000_000, help="hops to generate")
    parser.add_argument(
        "--backend", nargs="+", default=["sqlite", "postgresql"], choices=["sqlite", "postgresql"]
    )
    parser.add_argument("--repeat", type=int, default=5, help="runs per measurement")
    parser.add_argument("--reuse", action="store_true", help="reuse stores built before")
    parser.add_argument("--folder", type=Path, default=Path("/tmp/lineage-bench-diff"))
    parser.add_argument("--no-save", action="store_true", help="do not write results/diff.txt")
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
            url = _postgres(args.hops, fresh=False)
        else:
            path = args.folder / f"diff-{args.hops}.db"
            url = f"sqlite:///{path}"
        if not (args.reuse and _has_events(url)):
            print(f"{backend}: building the store ({args.hops:,} hops)...", file=sys.stderr)
            if backend == "postgresql":
                url = _postgres(args.hops, fresh=True)
            else:
                for file in _sqlite_files(path):
                    file.unlink(missing_ok=True)
            print(
                f"{backend}: built in {build(url, args.hops, args.folder):.0f} s", file=sys.stderr
            )
        base, head = _registries(args.folder)
        load = os.getloadavg()[0]
        compare_ms, changes = _median_ms(partial(diff_registries, base, head), args.repeat)
        assert [c.code for c in changes] == ["transform-changed"], changes
        rows.append([backend, "registries compared (no store)", compare_ms, "", ""])
        store = open_store(url)
        try:
            for label, window in (
                ("blast radius, re-run of the latest 10,000 hops", Window()),
                ("blast radius, re-run of every hop of the integration", Window(max_hops=10**7)),
            ):
                ms, found = _median_ms(
                    partial(review_registries, base, head, store=store, window=window),
                    args.repeat,
                )
                rerun = found[0].evidence["blast"]["rerun"]
                rate = rerun["rerun"] / (ms / 1000) if ms else 0.0
                rows.append([backend, label, ms, f"{rerun['rerun']:,} of {rerun['recorded']:,}",
                             f"{rate:,.0f}"])  # fmt: skip
                assert rerun["values_differ"] == rerun["rerun"], rerun
        finally:
            store.close()
        load = max(load, os.getloadavg()[0])
        notes.append(
            f"{backend}: peak RSS of the process so far {peak_rss_mb():.0f} MB; 1-minute load "
            f"average up to {load:.1f} on {os.cpu_count()} cores"
        )
    report = "\n".join(
        [
            f"lineage diff with blast radius at {args.hops:,} hops ({machine()})",
            f"command: python benchmarks/diff.py --hops {args.hops} --repeat {args.repeat}",
            "one transform changed (s09-to-s10, order.total: add(0) -> add(1)); median ms of "
            f"{args.repeat} runs",
            "",
            table(
                [
                    Column("backend", "<"),
                    Column("work", "<"),
                    "median ms",
                    "hops re-run",
                    "hops/s",
                ],
                rows,
            ),
            "",
            *notes,
        ]
    )
    print(report)
    if not args.no_save:
        RESULTS.write_text(report + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
