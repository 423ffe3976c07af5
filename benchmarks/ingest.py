"""Bulk ingest of JSON Lines against the physical limit, side by side, in one run.

For each backend:

1. ``engine``: ``python -m lineage ingest FILE --db URL`` in a child process, exactly what a
   user runs (parsing, pydantic validation, ids, hop verification against the registry,
   idempotence, the inserts), timed end to end from process start to exit;
2. ``raw driver``: the very rows the engine stored, copied into a fresh database with the same
   schema and indexes by the bare driver (``sqlite3`` ``executemany`` / psycopg ``COPY``),
   timing only the insert calls and the commit.

Each runs in its own process. "CPU s" is its user+system time, worker processes included
(PostgreSQL's server work is not in it); "peak RSS MB" is the largest single process's peak
(``wait4``); "all procs PSS MB" is the peak of the proportional set size of the process and
its workers together (shared pages counted once), sampled every 50 ms.

    python benchmarks/ingest.py --events 1000000 --db both

The generated file is cached in ``benchmarks/results/tmp/``; the table is printed and written
to ``benchmarks/results/ingest.txt``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.common import (
    ROOT,
    TreeMemory,
    child_peak_rss_mb,
    machine,
    peak_rss_mb,
    postgres_available,
    scratch_database,
    table,
    write_events,
    write_registry,
)

RESULTS = ROOT / "benchmarks" / "results"
CACHE = RESULTS / "tmp"
CHUNK = 50_000


@dataclass
class Measured:
    backend: str
    path: str
    events: int
    rows: int
    seconds: float
    cpu: float
    rss_mb: float
    pss_mb: float


def run_child(args: Sequence[str]) -> tuple[float, float, float, float, str]:
    """Run a command; (wall seconds, CPU seconds, peak RSS MB, peak tree PSS MB, stdout).

    CPU is the process's and its reaped children's (worker processes). Peak RSS is that of
    the largest single process (``wait4``); peak PSS is that of all its processes together,
    sampled every 50 ms (see :class:`TreeMemory`).
    """
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    start = time.perf_counter()
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        proc = subprocess.Popen(args, stdout=out, stderr=err, env=env, cwd=ROOT)
        sampler = TreeMemory(proc.pid).start()
        _pid, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
        sampler.stop()
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read().decode(), err.read().decode()
    if proc.returncode not in (0, 1):
        raise SystemExit(f"{' '.join(args)} failed ({proc.returncode}):\n{stderr}{stdout}")
    cpu = usage.ru_utime + usage.ru_stime
    return wall, cpu, child_peak_rss_mb(usage), sampler.peak_pss_mb, stdout


def prepare_input(n_hops: int, chain_length: int) -> tuple[Path, Path, int]:
    CACHE.mkdir(parents=True, exist_ok=True)
    registry = write_registry(CACHE / f"registry-{chain_length}.yaml", chain_length)
    data = CACHE / f"events-{n_hops}-{chain_length}.jsonl"
    count_file = data.with_suffix(".count")
    if not (data.exists() and count_file.exists()):
        print(f"generating {data.name} ...", file=sys.stderr)
        count = write_events(data, n_hops, chain_length)
        count_file.write_text(str(count))
    return data, registry, int(count_file.read_text())


def engine_run(
    backend: str, url: str, data: Path, registry: Path, lines: int, *, again: bool
) -> list[Measured]:
    """``lineage ingest`` into the empty store; then, with ``again``, the same file again."""
    lineage = [sys.executable, "-m", "lineage"]
    run_child([*lineage, "load", str(registry), "--db", url])
    wall, cpu, rss, pss, stdout = run_child([*lineage, "ingest", str(data), "--db", url])
    print(f"  {backend} engine: {stdout.strip()}", file=sys.stderr)
    rows = count_rows(url)
    measured = [Measured(backend, "engine (lineage ingest)", lines, rows, wall, cpu, rss, pss)]
    if again:
        print(f"{backend}: the same file again ...", file=sys.stderr)
        wall, cpu, rss, pss, stdout = run_child([*lineage, "ingest", str(data), "--db", url])
        print(f"  {backend} engine: {stdout.strip()}", file=sys.stderr)
        added = count_rows(url) - rows
        name = "engine again (all duplicates)"
        measured.append(Measured(backend, name, lines, added, wall, cpu, rss, pss))
    return measured


def count_rows(url: str) -> int:
    from lineage.store import open_store  # noqa: PLC0415 - keeps the parent process small

    store = open_store(url)
    try:
        with store.engine.connect() as conn:
            from sqlalchemy import text  # noqa: PLC0415

            return sum(
                int(conn.execute(text(f"SELECT count(*) FROM {t}")).scalar_one())
                for t in ("events", "hop_inputs", "hop_status")
            )
    finally:
        store.close()


def raw_run(backend: str, source: str, lines: int, folder: Path) -> Measured:
    with scratch_database(backend, folder, "raw") as target:
        args = [sys.executable, __file__, "--raw-copy", source, target]
        _wall, _cpu, rss, pss, stdout = run_child(args)
    report = json.loads(stdout.strip().splitlines()[-1])
    return Measured(
        backend, f"raw driver ({report['how']})", lines, report["rows"], report["seconds"],
        report["cpu"], rss, pss,
    )  # fmt: skip


# --- the raw copy, run in its own process ----------------------------------------------------


def _tables() -> list[tuple[str, tuple[str, ...], str]]:
    from lineage.store.rows import EVENT_COLUMNS, INPUT_COLUMNS, STATUS_COLUMNS  # noqa: PLC0415

    return [
        ("events", EVENT_COLUMNS, "seq"),
        ("hop_inputs", INPUT_COLUMNS, "event_id, position"),
        ("hop_status", STATUS_COLUMNS, "seq"),
    ]


def _chunks(url: str, table_name: str, columns: Sequence[str], order: str) -> Iterator[list[Any]]:
    """The rows of a table in insertion order, a chunk at a time (streamed, not all at once)."""
    sql = f"SELECT {', '.join(columns)} FROM {table_name} ORDER BY {order}"
    if url.startswith("sqlite"):
        import sqlite3  # noqa: PLC0415

        conn = sqlite3.connect(url.removeprefix("sqlite:///"))
        cursor = conn.execute(sql)
        while chunk := cursor.fetchmany(CHUNK):
            yield chunk
        conn.close()
        return
    import psycopg  # noqa: PLC0415

    with psycopg.connect(url) as pg, pg.cursor(name="rows") as cursor:
        cursor.execute(sql)
        while chunk := cursor.fetchmany(CHUNK):
            yield chunk


def raw_copy(source: str, target: str) -> None:
    """Insert the rows of ``source`` into the migrated, empty ``target`` with the bare driver;
    print one JSON line: seconds and CPU seconds spent in the insert calls, rows."""
    from lineage.store import open_store  # noqa: PLC0415

    open_store(target).close()  # the same schema and indexes, created by the migrations
    seconds = cpu = 0.0
    rows = 0
    if target.startswith("sqlite"):
        import sqlite3  # noqa: PLC0415

        conn = sqlite3.connect(target.removeprefix("sqlite:///"))
        for pragma in ("journal_mode=WAL", "synchronous=NORMAL", "cache_size=-65536"):
            conn.execute(f"PRAGMA {pragma}")
        for name, columns, order in _tables():
            sql = (
                f"INSERT INTO {name} ({', '.join(columns)}) "
                f"VALUES ({', '.join('?' * len(columns))})"
            )
            for chunk in _chunks(source, name, columns, order):
                t0, c0 = time.perf_counter(), time.process_time()
                conn.executemany(sql, chunk)
                seconds += time.perf_counter() - t0
                cpu += time.process_time() - c0
                rows += len(chunk)
        t0, c0 = time.perf_counter(), time.process_time()
        conn.commit()
        seconds += time.perf_counter() - t0
        cpu += time.process_time() - c0
        conn.close()
        how = "sqlite3 executemany"
    else:
        import psycopg  # noqa: PLC0415

        with psycopg.connect(target) as pg:
            for name, columns, order in _tables():
                for chunk in _chunks(source, name, columns, order):
                    t0, c0 = time.perf_counter(), time.process_time()
                    with (
                        pg.cursor() as cursor,
                        cursor.copy(f"COPY {name} ({', '.join(columns)}) FROM STDIN") as copy,
                    ):
                        for row in chunk:
                            copy.write_row(row)
                    seconds += time.perf_counter() - t0
                    cpu += time.process_time() - c0
                    rows += len(chunk)
            t0, c0 = time.perf_counter(), time.process_time()
            pg.commit()
            seconds += time.perf_counter() - t0
            cpu += time.process_time() - c0
        how = "psycopg COPY"
    report = {"seconds": seconds, "cpu": cpu, "rows": rows, "how": how, "peak": peak_rss_mb()}
    print(json.dumps(report))


# --- the run ----------------------------------------------------------------------------------


def render(results: list[Measured], command: str) -> str:
    rows = []
    raw_time = {m.backend: m.seconds for m in results if m.path.startswith("raw")}
    for m in results:
        ratio = m.seconds / raw_time[m.backend] if m.backend in raw_time else float("nan")
        rows.append([
            m.backend, m.path, m.events, m.rows, round(m.seconds, 2),
            int(m.rows / m.seconds) if m.seconds and m.rows else "-", f"{ratio:.2f}x",
            round(m.cpu, 1),
            round(m.rss_mb), round(m.pss_mb),
        ])  # fmt: skip
    headers = ["backend", "path", "events", "rows", "seconds", "rows/s", "vs raw", "CPU s",
               "peak RSS MB", "all procs PSS MB"]  # fmt: skip
    stamp = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    load = os.getloadavg()[0]
    return "\n".join([
        f"$ {command}",
        f"# {stamp}; {machine()}; load average at the end {load:.1f}",
        table(headers, rows),
    ])  # fmt: skip


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, default=1_000_000, help="hops to generate")
    parser.add_argument("--chain-length", type=int, default=20, help="hops per chain")
    parser.add_argument("--db", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--again", action=argparse.BooleanOptionalAction, default=True,
                        help="also time ingesting the same file a second time")  # fmt: skip
    parser.add_argument("--output", type=Path, default=RESULTS / "ingest.txt",
                        help="where to write the table")  # fmt: skip
    parser.add_argument("--raw-copy", nargs=2, metavar=("SOURCE", "TARGET"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.raw_copy:
        raw_copy(*args.raw_copy)
        return 0
    backends = ["sqlite", "postgresql"] if args.db == "both" else [args.db]
    if "postgresql" in backends and (why := postgres_available()):
        print(f"skipping PostgreSQL: {why}", file=sys.stderr)
        backends.remove("postgresql")
    data, registry, lines = prepare_input(args.events, args.chain_length)
    results: list[Measured] = []
    with tempfile.TemporaryDirectory(prefix="lineage-bench-ingest-") as tmp:
        folder = Path(tmp)
        for backend in backends:
            print(f"{backend}: engine ingest of {lines:,} events ...", file=sys.stderr)
            with scratch_database(backend, folder, "engine") as url:
                engine = engine_run(backend, url, data, registry, lines, again=args.again)
                print(f"{backend}: raw driver insert of the same rows ...", file=sys.stderr)
                results += [engine[0], raw_run(backend, url, lines, folder), *engine[1:]]
    command = "python benchmarks/ingest.py " + " ".join(argv if argv is not None else sys.argv[1:])
    text = render(results, command.strip())
    print(text)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(text + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
