"""Benchmark: incremental detection, a 1,000-event batch judged on a 1,000,000-event store.

The store: :func:`benchmarks.scan.build` (chains of 20 hops with a write at each origin, a few
of every defect planted), ``--hops`` hops (default 950,000: about 1,000,000 events with the
origin writes). The batch: 50 new chains of the same company (about 1,000 events, a few of
them first sent then confirmed), dated after the store's clock, ingested as one batch.

Measured in a fresh child process per backend (its peak RSS is the judgement's own):

- ``ingest``: the batch through :func:`lineage.store.writer.ingest_lines`;
- ``changes``: :func:`lineage.detect.scope.changes_since`, the scope of the batch;
- ``scoped``: every detector but ``conflicting-truth`` (whose scope is its owner's) run with
  that scope, the judgement incremental detection makes after the batch;
- ``full`` (``--full``): the same detectors over the whole store, for comparison.

Usage (from the repository root)::

    python benchmarks/scope.py                   # SQLite and PostgreSQL, builds the stores
    python benchmarks/scope.py --reuse --full    # reuse them; time the full run as well

The stores are kept for ``--reuse`` (each run adds one batch): SQLite in ``--folder``
(default /tmp/lineage-bench-scope), PostgreSQL as database ``lineage_bench_scope_<hops>``.
Results are written to benchmarks/results/scope.txt.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import psycopg
from sqlalchemy import text

from benchmarks.common import (
    POSTGRES_ADMIN,
    START,
    generate_events,
    machine,
    peak_rss_mb,
    postgres_available,
)
from benchmarks.scan import build
from lineage.detect import DETECTORS
from lineage.detect.run import detect, scan_context
from lineage.detect.scope import changes_since, watermark_now
from lineage.store import open_store
from lineage.store.schema import from_us
from lineage.store.writer import ingest_lines

RESULTS = Path(__file__).resolve().parent / "results" / "scope.txt"
OWN = [d for d in DETECTORS if d.__name__ != "conflicting_truth"]


def batch(seed: int, after: int, hops: int = 950) -> list[str]:
    """About ``hops * 1.05`` events of new chains, dated a day after ``after`` (microseconds),
    their records named apart from the store's (``b<seed>-``)."""
    shift = from_us(after) - START + dt.timedelta(days=1)
    lines: list[str] = []
    for event in generate_events(hops, 20, seed=seed):
        moved = dict(event)
        moved["at"] = _shifted(event["at"], shift)
        if event["kind"] == "hop":
            moved["id"] = f"b{seed}-{event['id']}"
            moved["inputs"] = [dict(i, record=f"b{seed}-{i['record']}") for i in event["inputs"]]
            moved["output"] = dict(event["output"], record=f"b{seed}-{event['output']['record']}")
        else:
            moved["record"] = f"b{seed}-{event['record']}"
        lines.append(json.dumps(moved))
    return lines


def _shifted(moment: str, shift: dt.timedelta) -> str:
    parsed = dt.datetime.fromisoformat(moment.replace("Z", "+00:00")) + shift
    return parsed.isoformat().replace("+00:00", "Z")


def measure(url: str, full: bool) -> dict[str, Any]:
    """Ingest one batch, then time its scope and the scoped judgement (and the full one)."""
    store = open_store(url)
    with store.engine.connect() as conn:
        since = watermark_now(conn)
        total = conn.execute(text("SELECT count(*) FROM events")).scalar_one()
    assert since.clock is not None, "build the store first"
    lines = batch(since.events_seq, since.clock)
    started = time.perf_counter()
    result = ingest_lines(store, (("batch", n, line) for n, line in enumerate(lines, 1)))
    ingest_seconds = time.perf_counter() - started
    assert result.rejected_count == 0, result.rejected[:3]

    started = time.perf_counter()
    scope = changes_since(store, since=since)
    changes_seconds = time.perf_counter() - started
    assert scope is not None

    started = time.perf_counter()
    with scan_context(store, scope=scope) as ctx:
        scoped = list(detect(ctx, OWN))
    scoped_seconds = time.perf_counter() - started
    out: dict[str, Any] = {
        "backend": store.dialect,
        "events_before": total,
        "batch": len(lines),
        "ingest_seconds": ingest_seconds,
        "changes_seconds": changes_seconds,
        "scope": {"places": len(scope.places), "events": len(scope.events)},
        "scoped_seconds": scoped_seconds,
        "scoped_findings": len(scoped),
        "scoped_rss_mb": peak_rss_mb(),
    }
    if full:
        started = time.perf_counter()
        with scan_context(store) as ctx:
            out["full_findings"] = sum(1 for _ in detect(ctx, OWN))
        out["full_seconds"] = time.perf_counter() - started
    store.close()
    return out


def _postgres_url(hops: int) -> str:
    return f"{POSTGRES_ADMIN.rsplit('/', 1)[0]}/lineage_bench_scope_{hops}"


def _fresh_postgres(hops: int) -> None:
    name = f"lineage_bench_scope_{hops}"
    with psycopg.connect(POSTGRES_ADMIN, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--hops", type=int, default=950_000, help="hops in the store")
    parser.add_argument(
        "--backend",
        nargs="+",
        default=["sqlite", "postgresql"],
        choices=["sqlite", "postgresql"],
        help="backends to measure",
    )
    parser.add_argument("--reuse", action="store_true", help="reuse stores built before")
    parser.add_argument("--build-only", action="store_true", help="build the stores, no more")
    parser.add_argument("--full", action="store_true", help="also time a full judgement")
    parser.add_argument(
        "--folder",
        type=Path,
        default=Path("/tmp/lineage-bench-scope"),
        help="where the SQLite store is kept",
    )
    parser.add_argument("--measure", metavar="URL", help=argparse.SUPPRESS)
    parser.add_argument("--no-save", action="store_true", help="do not write results/scope.txt")
    args = parser.parse_args(argv)
    if args.measure:
        print(json.dumps(measure(args.measure, args.full)))
        return 0

    lines: list[str] = []
    for backend in args.backend:
        if backend == "postgresql":
            reason = postgres_available()
            if reason:
                print(f"skipping PostgreSQL: {reason}", file=sys.stderr)
                continue
            url = _postgres_url(args.hops)
        else:
            args.folder.mkdir(parents=True, exist_ok=True)
            path = args.folder / f"scope-{args.hops}.db"
            url = f"sqlite:///{path}"
        if not args.reuse:
            print(f"{backend}: building the store ({args.hops:,} hops)...", file=sys.stderr)
            if backend == "postgresql":
                _fresh_postgres(args.hops)
            else:
                for suffix in ("", "-wal", "-shm"):
                    Path(f"{path}{suffix}").unlink(missing_ok=True)
            print(f"{backend}: built in {build(url, args.hops):.0f} s", file=sys.stderr)
        if args.build_only:
            continue
        command = [sys.executable, __file__, "--measure", url, *(["--full"] if args.full else [])]
        child = subprocess.run(command, capture_output=True, text=True, check=False)
        if child.returncode != 0:
            print(child.stderr, file=sys.stderr)
            return 1
        got = json.loads(child.stdout.strip().splitlines()[-1])
        line = (
            f"{got['backend']:<10} store {got['events_before']:>9,} events  batch "
            f"{got['batch']:>5,}  ingest {got['ingest_seconds']:6.2f} s  scope "
            f"{got['changes_seconds']:6.3f} s  scoped judgement {got['scoped_seconds']:6.2f} s "
            f"({got['scoped_findings']} findings)  peak RSS {got['scoped_rss_mb']:.0f} MB"
        )
        if "full_seconds" in got:
            line += f"  full {got['full_seconds']:.1f} s ({got['full_findings']} findings)"
        print(line)
        lines.append(line)
    if lines and not args.no_save:
        RESULTS.parent.mkdir(parents=True, exist_ok=True)
        stamp = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
        RESULTS.write_text(f"# {stamp}, {machine()}\n" + "\n".join(lines) + "\n", "utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
