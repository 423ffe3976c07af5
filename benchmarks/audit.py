"""Benchmark: ``lineage audit`` on a store of about 100,000 events, stored answers vs live.

The store: :func:`benchmarks.scan.build` (chains of 20 hops, a few of every defect planted,
failed, lost and duplicate deliveries among them), ``--hops`` hops (default 95,000: about
100,000 events), judged once (the catch-up a first read would do; timed and reported).

Timed, each ``--runs`` times (medians, and the largest peak RSS): the whole command in a
fresh ``python -m lineage`` process, and the ``audit_report`` call alone (wall and CPU
seconds) in another fresh process, for

- ``stored``: ``lineage audit --format json`` (the store's clock): deliveries from the
  stored findings;
- ``live``: ``lineage audit --format json --as-of CLOCK`` (the same moment, judged live by
  the delivery detectors, as every audit was before the stored answers).

Both must give the same rows (the run fails otherwise). ``--code DIR`` runs them with
another checkout's ``lineage`` on the same store: ``--code`` at the commit before the stored
answers measures the audit as it was (both ways live).

Usage (from the repository root)::

    python benchmarks/audit.py                          # SQLite and PostgreSQL
    python benchmarks/audit.py --reuse --code /work/main --no-save

The stores are kept for ``--reuse``: SQLite in ``--folder`` (default
/tmp/lineage-bench-audit), PostgreSQL as database ``lineage_bench_audit_<hops>``.
Results are written to benchmarks/results/audit.txt.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import psycopg
from sqlalchemy import func, select

from benchmarks.common import (
    POSTGRES_ADMIN,
    Column,
    child_peak_rss_mb,
    machine,
    postgres_available,
    table,
)
from benchmarks.scan import build
from lineage.findings import judge
from lineage.store import open_store
from lineage.store.queries import clock
from lineage.store.schema import events, iso

ROOT = Path(__file__).resolve().parent.parent
RESULTS = Path(__file__).resolve().parent / "results" / "audit.txt"


def _postgres_url(hops: int) -> str:
    return f"{POSTGRES_ADMIN.rsplit('/', 1)[0]}/lineage_bench_audit_{hops}"


def _postgres_database(hops: int) -> None:
    name = f"lineage_bench_audit_{hops}"
    with psycopg.connect(POSTGRES_ADMIN, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


def _event_count(url: str) -> int:
    if url.startswith("sqlite:///") and not Path(url[len("sqlite:///") :]).exists():
        return 0
    store = open_store(url)
    with store.engine.connect() as conn:
        count = int(conn.execute(select(func.count()).select_from(events)).scalar_one())
    store.close()
    return count


# one audit in a fresh process, timed around the call (not the imports nor the opening)
_CHILD = """
import json, sys, time
from lineage.audit import audit_json, audit_report
from lineage.store import open_store
store = open_store(sys.argv[1])
as_of = int(sys.argv[2]) if sys.argv[2] else None
wall, cpu = time.perf_counter(), time.process_time()
report = audit_report(store, as_of=as_of)
wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
print(json.dumps({"wall": wall, "cpu": cpu, "audit": audit_json(report.rows, report)}))
"""


@dataclass(slots=True)
class Timing:
    """Medians over the runs of one way of asking, and the largest peak RSS."""

    command: float  # the whole ``python -m lineage audit`` process, seconds
    call: float  # the audit_report call alone, seconds
    cpu: float  # the Python process's CPU seconds during that call
    rss: float  # MB
    rows: Any


def _child(code: Path, argv: list[str]) -> tuple[float, float, str]:
    """Seconds, peak RSS (MB) and stdout of one Python child importing ``code``'s lineage."""
    env = {**os.environ, "PYTHONPATH": str(code)}
    started = time.perf_counter()
    child = subprocess.Popen(
        [sys.executable, *argv],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        cwd=code,
    )
    assert child.stdout is not None and child.stderr is not None
    out = child.stdout.read()  # the JSON; stderr holds at most a line or two
    err = child.stderr.read()
    _, status, usage = os.wait4(child.pid, 0)
    seconds = time.perf_counter() - started
    child.returncode = os.waitstatus_to_exitcode(status)
    if child.returncode != 0:
        raise SystemExit(f"{' '.join(argv[:3])} exited {child.returncode}: {err}")
    return seconds, child_peak_rss_mb(usage), out


def _timed(code: Path, url: str, as_of: int | None, runs: int) -> Timing:
    moment = [] if as_of is None else ["--as-of", iso(as_of).replace("Z", "")]
    commands, calls, cpus, peaks = [], [], [], []
    rows: Any = None
    for _ in range(runs):
        seconds, rss, out = _child(
            code, ["-m", "lineage", "audit", "--format", "json", "--db", url, *moment]
        )
        commands.append(seconds)
        peaks.append(rss)
        rows = json.loads(out)["integrations"]
        _, _, out = _child(code, ["-c", _CHILD, url, "" if as_of is None else str(as_of)])
        got = json.loads(out)
        calls.append(got["wall"])
        cpus.append(got["cpu"])
    return Timing(
        statistics.median(commands),
        statistics.median(calls),
        statistics.median(cpus),
        max(peaks),
        rows,
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--hops", type=int, default=95_000, help="hops to generate")
    parser.add_argument(
        "--backend",
        nargs="+",
        default=["sqlite", "postgresql"],
        choices=["sqlite", "postgresql"],
    )
    parser.add_argument("--runs", type=int, default=5, help="runs per command (median)")
    parser.add_argument("--reuse", action="store_true", help="reuse stores built before")
    parser.add_argument(
        "--code", type=Path, default=ROOT, help="the checkout whose lineage runs the audit"
    )
    parser.add_argument("--folder", type=Path, default=Path("/tmp/lineage-bench-audit"))
    parser.add_argument("--no-save", action="store_true", help="do not write results/audit.txt")
    args = parser.parse_args(argv)

    rows: list[list[Any]] = []
    checks: list[str] = []
    for backend in args.backend:
        if backend == "postgresql":
            reason = postgres_available()
            if reason:
                print(f"skipping PostgreSQL: {reason}", file=sys.stderr)
                continue
            url = _postgres_url(args.hops)
        else:
            args.folder.mkdir(parents=True, exist_ok=True)
            url = f"sqlite:///{args.folder / f'audit-{args.hops}.db'}"
        if not (args.reuse and _event_count(url)):
            print(f"{backend}: building the store ({args.hops:,} hops)...", file=sys.stderr)
            if backend == "postgresql":
                _postgres_database(args.hops)
            else:
                for suffix in ("", "-wal", "-shm"):
                    Path(f"{args.folder / f'audit-{args.hops}.db'}{suffix}").unlink(missing_ok=True)
            build(url, args.hops)
        store = open_store(url)
        started = time.perf_counter()
        judge(store)
        judged = time.perf_counter() - started
        with store.engine.connect() as conn:
            moment = clock(conn)
        store.close()
        assert moment is not None
        print(f"{backend}: timing lineage audit ({args.runs} runs each)...", file=sys.stderr)
        stored = _timed(args.code, url, None, args.runs)
        live = _timed(args.code, url, moment, args.runs)
        same = stored.rows == live.rows
        if not same:
            print(f"{backend}: the stored and the live answers differ", file=sys.stderr)
        for way, got in (("stored", stored), ("live --as-of", live)):
            rows.append([backend, way, _event_count(url), got.command, got.call, got.cpu, got.rss])
        checks.append(
            f"{backend}: judged before timing in {judged:.2f} s (the catch-up of a new build; "
            f"~0 on a reused store); the stored and "
            f"the live rows {'agree' if same else 'DIFFER'}"
        )
    report = "\n".join(
        [
            f"lineage audit at {args.hops:,} hops ({machine()}; lineage from {args.code})",
            f"command: python benchmarks/audit.py --hops {args.hops} --runs {args.runs} "
            f"--backend {' '.join(args.backend)}",
            "",
            table(
                [
                    Column("backend", "<"),
                    Column("deliveries", "<"),
                    "events",
                    "command s",
                    "audit call s",
                    "call CPU s",
                    "peak RSS MB",
                ],
                rows,
            ),
            "",
            *checks,
        ]
    )
    print(report)
    if not args.no_save:
        RESULTS.parent.mkdir(parents=True, exist_ok=True)
        RESULTS.write_text(report + "\n", encoding="utf-8")
    return 0 if all("DIFFER" not in line for line in checks) else 1


if __name__ == "__main__":
    raise SystemExit(main())
