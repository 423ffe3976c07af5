"""Benchmark: a big batch's judgement, in full, scoped in one step, and scoped in steps.

On a copy of a :mod:`benchmarks.scope` store (about 1,000,000 events, judged first), one batch
of ``--hops`` new hops (:func:`benchmarks.scope.batch`; about 1.05 events a hop) is ingested,
then judged three ways, each on a fresh copy of the store with the batch, in a fresh child
process whose peak RSS is the judgement's own:

- ``full``: every detector over the whole store (what the default rule,
  :data:`lineage.detect.scope.FULL_SHARE`, does with a batch of more than a tenth of it);
- ``one step``: scoped to what the batch touched, all of it at once (``STEP`` unbounded);
- ``steps``: scoped, in steps of :data:`lineage.detect.scope.STEP` changes, each judged and
  stored before the next one is read (what a big batch on a store ten times bigger gets).

Each line gives the wall time, the peak RSS, the open findings after the judgement and a
digest of them (code, subject, message): the three digests must be equal.

Usage (from the repository root, after ``python benchmarks/scope.py --build-only``)::

    python benchmarks/big_batch.py --copy-from-sqlite /tmp/lineage-bench-scope/scope-950000.db \\
        --copy-from-postgres lineage_bench_scope_950000

The numbers go to standard output (the README's "Big batches" quotes them).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.common import POSTGRES_ADMIN, machine, peak_rss_mb
from benchmarks.findings import _copy_postgres, _copy_sqlite
from benchmarks.scope import batch
from lineage.detect import scope as detect_scope
from lineage.findings import judge, read_findings
from lineage.store import open_store
from lineage.store.writer import ingest_lines

PREPARED = "lineage_bench_big_batch"
"""The PostgreSQL copy with the batch ingested (dropped and made again on every run)."""
WORK = "lineage_bench_big_batch_work"
"""The PostgreSQL copy each way of judging works on."""
MODES = ("full", "one step", "steps")


def prepare(url: str, hops: int) -> int:
    """Judge the store at ``url`` (if it never was), then ingest one batch; its events."""
    store = open_store(url)
    try:
        judge(store, webhook=False)
        with store.engine.connect() as conn:
            mark = detect_scope.watermark_now(conn)
        assert mark.clock is not None, "build the store first (benchmarks/scope.py)"
        lines = batch(mark.events_seq, mark.clock, hops=hops)
        ingest_lines(store, (("batch", k, line) for k, line in enumerate(lines, 1)))
        return len(lines)
    finally:
        store.close()


def judge_once(url: str, mode: str, step: int) -> dict[str, object]:
    """In this (fresh) process: judge the batch as ``mode`` says (``step``: the changes a step
    of ``steps``); what it cost and found."""
    detect_scope.STEP = step
    if mode != "full":
        detect_scope.FULL_SHARE = 1.0  # never in full: scoped, however big the batch
    if mode == "one step":
        detect_scope.STEP = 10**12
    store = open_store(url)
    try:
        started = time.perf_counter()
        judgement = judge(store, full=mode == "full", webhook=False)
        seconds = time.perf_counter() - started
        peak = peak_rss_mb()  # the judgement's: before the findings are read back
        found = read_findings(store).findings
    finally:
        store.close()
    digest = hashlib.sha256()
    for finding in sorted(found, key=lambda f: (f.code, repr(f.subject), f.message)):
        digest.update(f"{finding.code}|{finding.subject!r}|{finding.message}\n".encode())
    return {
        "seconds": seconds,
        "peak_mb": peak,
        "full": judgement.full,
        "open": len(found),
        "digest": digest.hexdigest()[:12],
    }


def _in_a_child(url: str, mode: str, step: int) -> dict[str, object]:
    done = subprocess.run(
        [sys.executable, __file__, "--judge", url, "--mode", mode, "--step", str(step)],
        check=True,
        capture_output=True,
        text=True,
    )
    answer: dict[str, object] = json.loads(done.stdout.splitlines()[-1])
    return answer


def measure(
    name: str, url: str, events: int, fresh_copy: Callable[[], None], modes: list[str], step: int
) -> list[str]:
    """Judge the batch each way, each on a fresh copy (``fresh_copy`` makes it at ``url``)."""
    lines = []
    for mode in modes:
        fresh_copy()
        got = _in_a_child(url, mode, step)
        lines.append(
            f"{name:<10} {events:,} new events  {mode:<9} {got['seconds']:6.1f} s  "
            f"peak {got['peak_mb']:5.0f} MB  open findings {got['open']:,} "
            f"(digest {got['digest']}){'  [judged in full]' if got['full'] else ''}"
        )
        print(lines[-1], flush=True)
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--copy-from-sqlite", type=Path, help="an SQLite store to copy")
    parser.add_argument("--copy-from-postgres", help="a PostgreSQL database to copy")
    parser.add_argument("--hops", type=int, default=190_000, help="hops in the batch")
    parser.add_argument(
        "--step", type=int, default=detect_scope.STEP, help="changes a step (default: STEP)"
    )
    parser.add_argument(
        "--modes", nargs="+", choices=MODES, default=list(MODES), help="ways to judge"
    )
    parser.add_argument("--judge", metavar="URL", help=argparse.SUPPRESS)
    parser.add_argument("--mode", choices=MODES, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.judge:
        print(json.dumps(judge_once(args.judge, args.mode, args.step)))
        return 0
    if args.copy_from_sqlite is None and args.copy_from_postgres is None:
        parser.error("give --copy-from-sqlite or --copy-from-postgres (or both)")
    print(f"# {machine()}; steps of {args.step:,} changes", flush=True)
    if args.copy_from_sqlite is not None:
        with tempfile.TemporaryDirectory(prefix="lineage-bench-big-batch-") as folder:
            prepared, work = Path(folder) / "prepared.db", Path(folder) / "work.db"
            _copy_sqlite(args.copy_from_sqlite, prepared)
            events = prepare(f"sqlite:///{prepared}", args.hops)
            measure(
                "sqlite",
                f"sqlite:///{work}",
                events,
                lambda: _copy_sqlite(prepared, work),
                args.modes,
                args.step,
            )
    if args.copy_from_postgres is not None:
        _copy_postgres(args.copy_from_postgres, PREPARED)
        base = POSTGRES_ADMIN.rsplit("/", 1)[0]
        events = prepare(f"{base}/{PREPARED}", args.hops)
        measure(
            "postgresql",
            f"{base}/{WORK}",
            events,
            lambda: _copy_postgres(PREPARED, WORK),
            args.modes,
            args.step,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
