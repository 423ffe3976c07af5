"""Benchmark: the full runtime scan next to one raw window-function query, same data, same run.

The store: :func:`benchmarks.common.generate_events` (``--hops`` hops in chains of 20, a write
at each chain's origin, ~0.1% of hops planted wrong, ~1% first sent then confirmed), plus a
snapshot of every chain's origin and a few of every other defect the detectors look for
(competing writes, untraced snapshots and hop inputs, undeclared routes, a broken chain,
failed, lost and duplicate deliveries, values breaking rules).

The physical limit: ONE query that finds stale copies over the same data, the latest event of
every place by ``ROW_NUMBER() OVER (PARTITION BY system, element, record ...)`` joined to
the inputs of the hops that delivered them and the latest value at those inputs' places.
The target (README, Performance): the full scan (every registered detector) within 2.5x of it, and
peak RSS under 400 MB. Each backend is measured in a fresh child process, so its peak RSS is
the scan's own.

Usage (from the repository root)::

    python benchmarks/scan.py                      # 1,000,000 hops, SQLite and PostgreSQL
    python benchmarks/scan.py --reuse              # reuse the stores built before
    python benchmarks/scan.py --hops 100000 --backend sqlite
    python benchmarks/scan.py --shape middle       # system of record S10 only

``--shape`` puts the system of record of both elements at the ``head`` (S00, the origin),
the ``middle`` (S10) or the ``tail`` (S20) of the 20-hop chain; default all three, measured
one after the other on the same store (only the registry in force changes). With the system
of record downstream of the origin, every chain's origin write is a copy upstream of it.

The stores are kept for ``--reuse``: SQLite in ``--folder`` (default /tmp/lineage-bench-scan),
PostgreSQL as database ``lineage_bench_scan_<hops>``; ``--drop`` removes them after the run.
Results are written to benchmarks/results/scan.txt.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import subprocess
import sys
import time
from collections.abc import Iterable, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import psycopg
from sqlalchemy import func, select, text

from benchmarks.common import (
    POSTGRES_ADMIN,
    START,
    Column,
    generate_events,
    integration_name,
    machine,
    peak_rss_mb,
    postgres_available,
    registry_yaml,
    system_name,
    table,
    transform_for,
)
from lineage.detect import DETECTORS
from lineage.detect.base import Detector, ScanContext
from lineage.detect.run import scan_report
from lineage.errors import LineageError
from lineage.model.findings import Finding
from lineage.registry import load_registry
from lineage.store import Store, open_store
from lineage.store.schema import events, to_us
from lineage.store.writer import ingest_lines
from lineage.transforms import parse_transform

RESULTS = Path(__file__).resolve().parent / "results" / "scan.txt"
CHAIN = 20
PLANTED_AT = START + dt.timedelta(days=3)
AS_OF = START + dt.timedelta(days=4)

RAW_SQL = """
WITH latest AS MATERIALIZED (
    SELECT event_id, kind, system, element, record, value_norm FROM (
        SELECT event_id, kind, system, element, record, value_norm,
               ROW_NUMBER() OVER (PARTITION BY system, element, record
                                  ORDER BY at DESC, seq DESC) AS rn
        FROM events WHERE at <= :as_of
    ) ranked WHERE rn = 1
)
SELECT copy.system, copy.element, copy.record, hi.value_norm, src.value_norm
FROM latest copy
JOIN hop_inputs hi ON hi.event_id = copy.event_id
JOIN latest src ON src.system = hi.system AND src.element = hi.element
               AND src.record = hi.record
WHERE copy.kind = 'hop' AND src.value_norm {distinct} hi.value_norm
"""


# --- the store --------------------------------------------------------------------------


def _iso(moment: dt.datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


SHAPES = {"head": 0, "middle": CHAIN // 2, "tail": CHAIN}
"""Where each shape puts the system of record on the 20-hop chain S00 -> ... -> S20."""


def scan_registry_yaml(shape: str = "head") -> str:
    """The synthetic company's registry, with rules on both elements, and the system of
    record of both at the head, the middle or the tail of the chain (``shape``)."""
    yaml = registry_yaml(CHAIN).replace(
        f"system_of_record: {system_name(0)}", f"system_of_record: {system_name(SHAPES[shape])}"
    )
    yaml = yaml.replace(
        "    type: decimal\n", "    type: decimal\n    rules: [not_null, {min: 0}]\n"
    )
    return yaml.replace("    type: string\n", "    type: string\n    rules: [not_null]\n")


def origin_value(chain: int, seed: int = 0) -> str:
    """The value :func:`generate_events` writes at the origin of order chain ``chain``."""
    return str(Decimal(10 + (chain * 7919 + seed) % 99_000) / 100)


def _apply(transform: str, value: str) -> str:
    return str(parse_transform(transform).apply([value]))


def planted(hops: int) -> Iterator[dict[str, Any]]:
    """Snapshots of every origin, and ``k`` of each defect (k ~ chains / 500)."""
    chains = -(-hops // CHAIN)
    k = max(2, chains // 500)
    total = "order.total"
    orders = [c for c in range(0, chains, 2)][: 4 * k + 8]
    s0, s1 = system_name(0), system_name(1)
    into_s1 = integration_name(0)
    first = transform_for(total, 0)

    def at(seconds: float) -> str:
        return _iso(PLANTED_AT + dt.timedelta(seconds=seconds))

    def hop(
        hop_id: str,
        integration: str | None,
        seconds: float,
        source: tuple[str, str, str],
        value: str,
        target: tuple[str, str, str],
        out: str,
        **extra: Any,
    ) -> dict[str, Any]:
        event: dict[str, Any] = {
            "kind": "hop", "id": hop_id, "at": at(seconds),
            "inputs": [{"system": source[0], "element": source[1], "record": source[2],
                        "value": value}],
            "output": {"system": target[0], "element": target[1], "record": target[2],
                       "value": out}, **extra}  # fmt: skip
        if integration:
            event["integration"] = integration
        return event

    for chain in range(0, chains, 2):  # every order origin observed, as it is: traced
        yield {"kind": "snapshot", "system": s0, "element": total, "record": f"C-{chain}",
               "value": origin_value(chain), "at": at(1)}  # fmt: skip
    for i in range(k):
        chain = orders[i]
        # competing-origin: order totals typed into S05 by hand
        yield {
            "kind": "write",
            "system": system_name(5),
            "element": total,
            "record": f"05{chain:08d}",
            "value": "1.00",
            "at": at(10 + i),
            "actor": "clerk",
        }
        # untraced-value: a snapshot nothing explains, and one contradicting the origin write
        yield {
            "kind": "snapshot",
            "system": system_name(7),
            "element": total,
            "record": f"ghost-{i}",
            "value": "3.00",
            "at": at(20),
        }
        yield {
            "kind": "snapshot",
            "system": s0,
            "element": total,
            "record": f"C-{chain}",
            "value": "0.01",
            "at": at(30 + i),
        }
        # untraced-value: a hop reads a value from a record nothing was recorded at
        yield hop(
            f"ghost-hop-{i}",
            into_s1,
            40,
            (s0, total, f"ghost-{i}"),
            "1.00",
            (s1, total, f"ghost-{i}"),
            _apply(first, "1.00"),
        )
        # undeclared-integration: a shadow sync, and hops naming no integration
        yield hop(
            f"shadow-{i}",
            "shadow-sync",
            50,
            (system_name(3), total, f"03{chain:08d}"),
            "1.00",
            (system_name(9), total, f"shadow-{i}"),
            "1.00",
        )
        yield hop(
            f"adhoc-{i}",
            None,
            55,
            (s1, total, f"01{chain:08d}"),
            "1.00",
            (system_name(12), total, f"adhoc-{i}"),
            "1.00",
        )
        # broken-chain: the hop carried a value its source never held
        yield hop(
            f"broken-{i}",
            into_s1,
            60,
            (s0, total, f"C-{orders[k + i]}"),
            "777.00",
            (s1, total, f"01{orders[k + i]:08d}"),
            _apply(first, "777.00"),
        )
        # failed and lost deliveries
        yield hop(
            f"failed-{i}",
            into_s1,
            70,
            (s0, total, f"C-{orders[2 * k + i]}"),
            origin_value(orders[2 * k + i]),
            (s1, total, f"retry-{i}"),
            _apply(first, origin_value(orders[2 * k + i])),
            status="failed",
            error="connection reset by S01",
        )
        yield hop(
            f"lost-{i}",
            into_s1,
            80,
            (s0, total, f"C-{orders[2 * k + i]}"),
            origin_value(orders[2 * k + i]),
            (s1, total, f"lost-{i}"),
            _apply(first, origin_value(orders[2 * k + i])),
            status="sent",
        )
        # duplicate-delivery: one origin record delivered to a second S01 record
        chain = orders[3 * k + i]
        yield hop(
            f"dup-{i}",
            into_s1,
            90,
            (s0, total, f"C-{chain}"),
            origin_value(chain),
            (s1, total, f"dup-{i}"),
            _apply(first, origin_value(chain)),
        )
        # rule-violation: a negative total at the origin
        yield {
            "kind": "write",
            "system": s0,
            "element": total,
            "record": f"neg-{i}",
            "value": "-5.00",
            "at": at(100),
        }


def build(url: str, hops: int) -> float:
    """Create the store at ``url`` with the registry and every event; seconds taken."""
    started = time.perf_counter()
    store = open_store(url)
    declare(store, "head")

    def lines() -> Iterable[tuple[str, int, str]]:
        number = 0
        for event in generate_events(hops, CHAIN, as_json=True):
            number += 1
            yield "generated", number, event
        for extra in planted(hops):
            number += 1
            yield "planted", number, json.dumps(extra)

    result = ingest_lines(store, lines(), batch_size=20_000)
    if result.rejected:
        raise SystemExit(f"build rejected {len(result.rejected)} events: {result.rejected[:3]}")
    # as a store in service would be: the WAL checkpointed; PostgreSQL's statistics taken
    # (autovacuum does it soon after a load; SQLite has none unless someone runs ANALYZE)
    if store.dialect == "sqlite":
        with store.engine.connect() as conn:
            conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    else:
        with psycopg.connect(
            url.replace("postgresql+psycopg", "postgresql"), autocommit=True
        ) as pg:
            pg.execute("VACUUM ANALYZE")
    store.close()
    return time.perf_counter() - started


def declare(store: Store, shape: str) -> None:
    """Load the registry of ``shape`` into the store (a new version when it changes)."""
    path = Path("/tmp") / f"lineage-bench-scan-registry-{shape}.yaml"
    path.write_text(scan_registry_yaml(shape), encoding="utf-8")
    store.save_registry(load_registry([path]))


def _exists(url: str) -> bool:
    if url.startswith("sqlite:///") and not Path(url[len("sqlite:///") :]).exists():
        return False
    try:
        store = open_store(url)
    except LineageError:
        return False
    with store.engine.connect() as conn:
        count = conn.execute(select(func.count()).select_from(events)).scalar_one()
    store.close()
    return bool(count)


def _postgres_url(hops: int) -> str:
    return f"{POSTGRES_ADMIN.rsplit('/', 1)[0]}/lineage_bench_scan_{hops}"


def _postgres_database(hops: int, *, create: bool, drop: bool) -> None:
    name = f"lineage_bench_scan_{hops}"
    with psycopg.connect(POSTGRES_ADMIN, autocommit=True) as conn:
        if drop:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        if create:
            found = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,))
            if found.fetchone() is None:
                conn.execute(f'CREATE DATABASE "{name}"')


# --- measuring (in a child process) -----------------------------------------------------


def measure(url: str) -> dict[str, Any]:
    """Time the raw query, then the full scan, in this process; peak RSS at the end."""
    store = open_store(url)
    as_of = to_us(AS_OF)
    distinct = "IS DISTINCT FROM" if store.dialect == "postgresql" else "IS NOT"
    raw = text(RAW_SQL.format(distinct=distinct))
    with store.engine.connect() as conn:  # warm the caches the same for both
        conn.execute(text("SELECT count(*), max(value_norm) FROM events")).all()
        conn.execute(text("SELECT count(*), max(value_norm) FROM hop_inputs")).all()
    started = time.perf_counter()
    with store.engine.connect() as conn:
        raw_rows = sum(1 for _ in conn.execute(raw, {"as_of": as_of}))
    raw_seconds = time.perf_counter() - started
    raw_rss = peak_rss_mb()

    timings: dict[str, list[float]] = {}

    def timed(detector: Detector) -> Detector:
        def run(ctx: ScanContext) -> list[Finding]:
            begun = time.perf_counter()
            out = list(detector(ctx))
            timings[detector.__name__] = [time.perf_counter() - begun, len(out)]
            return out

        run.__name__ = detector.__name__
        return run

    started = time.perf_counter()
    result = scan_report(store, as_of=as_of, detectors=[timed(d) for d in DETECTORS])
    scan_seconds = time.perf_counter() - started
    codes: dict[str, int] = {}
    for finding in result.findings:
        codes[finding.code] = codes.get(finding.code, 0) + 1
    with store.engine.connect() as conn:
        counts = dict(conn.execute(text("SELECT kind, count(*) FROM events GROUP BY kind")).all())
    store.close()
    return {
        "backend": store.dialect,
        "events": counts,
        "raw_seconds": raw_seconds,
        "raw_rows": raw_rows,
        "raw_rss_mb": raw_rss,
        "scan_seconds": scan_seconds,
        "findings": len(result.findings),
        "codes": codes,
        "detectors": timings,
        "peak_rss_mb": peak_rss_mb(),
    }


# --- the run ------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--hops", type=int, default=1_000_000, help="hops to generate")
    parser.add_argument(
        "--backend",
        nargs="+",
        default=["sqlite", "postgresql"],
        choices=["sqlite", "postgresql"],
        help="backends to measure",
    )
    parser.add_argument(
        "--shape",
        nargs="+",
        default=list(SHAPES),
        choices=list(SHAPES),
        help="where the system of record sits on the 20-hop chain (default: all three)",
    )
    parser.add_argument("--reuse", action="store_true", help="reuse stores built before")
    parser.add_argument("--drop", action="store_true", help="remove the stores afterwards")
    parser.add_argument(
        "--folder",
        type=Path,
        default=Path("/tmp/lineage-bench-scan"),
        help="where the SQLite store is kept",
    )
    parser.add_argument("--measure", metavar="URL", help=argparse.SUPPRESS)
    parser.add_argument("--no-save", action="store_true", help="do not write results/scan.txt")
    args = parser.parse_args(argv)
    if args.measure:
        print(json.dumps(measure(args.measure)))
        return 0

    rows: list[list[Any]] = []
    details: list[str] = []
    for backend in args.backend:
        if backend == "postgresql":
            reason = postgres_available()
            if reason:
                print(f"skipping PostgreSQL: {reason}", file=sys.stderr)
                continue
            url = _postgres_url(args.hops)
        else:
            args.folder.mkdir(parents=True, exist_ok=True)
            url = f"sqlite:///{args.folder / f'scan-{args.hops}.db'}"
        if not (args.reuse and _exists(url)):
            print(f"{backend}: building the store ({args.hops:,} hops)...", file=sys.stderr)
            if backend == "postgresql":
                _postgres_database(args.hops, create=True, drop=True)
            else:
                for suffix in ("", "-wal", "-shm"):
                    Path(f"{args.folder / f'scan-{args.hops}.db'}{suffix}").unlink(missing_ok=True)
            seconds = build(url, args.hops)
            print(f"{backend}: built in {seconds:.0f} s", file=sys.stderr)
        for shape in args.shape:
            store = open_store(url)
            declare(store, shape)
            store.close()
            print(f"{backend}: measuring, system of record at the {shape}...", file=sys.stderr)
            child = subprocess.run(
                [sys.executable, __file__, "--measure", url],
                capture_output=True,
                text=True,
                check=False,
            )
            if child.returncode != 0:
                print(child.stderr, file=sys.stderr)
                return 1
            got = json.loads(child.stdout.strip().splitlines()[-1])
            ratio = got["scan_seconds"] / got["raw_seconds"]
            events = sum(got["events"].values())
            rows.append(
                [
                    backend,
                    f"{shape} ({system_name(SHAPES[shape])})",
                    events,
                    got["raw_seconds"],
                    got["scan_seconds"],
                    f"{ratio:.2f}x",
                    "yes" if ratio <= 2.5 else "NO",
                    got["peak_rss_mb"],
                    "yes" if got["peak_rss_mb"] < 400 else "NO",
                    got["findings"],
                ]
            )
            parts = ", ".join(f"{name} {t:.2f}s/{n}" for name, (t, n) in got["detectors"].items())
            others = sum(
                t for name, (t, _n) in got["detectors"].items() if name != "conflicting_truth"
            )
            details.append(
                f"{backend} {shape}: every detector but conflicting_truth: {others:.2f} s "
                f"({others / got['raw_seconds']:.2f}x the raw query)"
            )
            details.append(
                f"{backend} {shape}: events {got['events']}; raw query {got['raw_rows']} stale "
                f"copies; per detector (seconds/findings): {parts}; findings by code: "
                f"{got['codes']}"
            )
        if args.drop:
            if backend == "postgresql":
                _postgres_database(args.hops, create=False, drop=True)
            else:
                for suffix in ("", "-wal", "-shm"):
                    Path(f"{args.folder / f'scan-{args.hops}.db'}{suffix}").unlink(missing_ok=True)
    report = "\n".join(
        [
            f"lineage scan at {args.hops:,} hops ({machine()})",
            f"command: python benchmarks/scan.py --hops {args.hops} --shape "
            f"{' '.join(args.shape)} --backend {' '.join(args.backend)}",
            "",
            table(
                [
                    Column("backend", "<"),
                    Column("system of record", "<"),
                    "events",
                    "raw query s",
                    "full scan s",
                    "ratio",
                    "<= 2.5x",
                    "peak RSS MB",
                    "< 400 MB",
                    "findings",
                ],
                rows,
            ),
            "",
            *details,
        ]
    )
    print(report)
    if not args.no_save:
        # the 1M run is the one the README quotes; smaller runs are kept beside it
        saved = RESULTS if args.hops == 1_000_000 else RESULTS.with_name(f"scan-{args.hops}.txt")
        saved.parent.mkdir(parents=True, exist_ok=True)
        saved.write_text(report + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
