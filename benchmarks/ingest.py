"""Bulk ingest of JSON Lines against the physical limit, side by side, in one run.

For each backend:

1. ``engine``: ``python -m lineage ingest FILE --db URL`` in a child process, exactly what a
   user runs (parsing, pydantic validation, ids, hop verification against the registry,
   idempotence, the inserts), timed end to end from process start to exit;
2. ``raw ... same tables and indexes``: the very rows the engine stored, copied into a fresh
   database with the same schema by the bare driver (``sqlite3`` ``executemany`` / psycopg
   ``COPY``) in one transaction that drops the secondary indexes first and builds them after
   the load, as the engine's first load does; the inserts, the index builds and the commit
   are timed;
3. ``raw ... one plain table``: the same events as one row per input line (an event, or a
   hop's status update: its id, kind, time, place and value in columns, the rest as one JSON
   text) in one table with two indexes (the id; the place and time), built after the load:
   the least a store that can answer "what happened to this value" must write.

The ratios are the engine's time over each raw time (the issue's target: at most 2.5x the
plain table).

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


def raw_run(backend: str, source: str, lines: int, folder: Path, mode: str) -> Measured:
    with scratch_database(backend, folder, f"raw{mode}") as target:
        args = [sys.executable, __file__, "--raw-copy", mode, source, target]
        _wall, _cpu, rss, pss, stdout = run_child(args)
    report = json.loads(stdout.strip().splitlines()[-1])
    return Measured(
        backend, f"raw {report['how']}", lines, report["rows"], report["seconds"],
        report["cpu"], rss, pss,
    )  # fmt: skip


# --- the raw copies, each run in its own process --------------------------------------------


def _tables() -> list[tuple[str, tuple[str, ...], str]]:
    from lineage.store.rows import EVENT_COLUMNS, INPUT_COLUMNS, STATUS_COLUMNS  # noqa: PLC0415

    return [
        ("events", EVENT_COLUMNS, "seq"),
        ("hop_inputs", INPUT_COLUMNS, "event_id, position"),
        ("hop_status", STATUS_COLUMNS, "seq"),
    ]


#: The plain limit: one row per line of the input (an event, or a hop's status update), its
#: key fields in columns and the rest as one JSON text, with two indexes (the id, the place).
PLAIN_COLUMNS = ("event_id", "kind", "at", "system", "element", "record", "value", "document")
PLAIN_TABLE = """
CREATE TABLE plain_events (
  event_id TEXT NOT NULL, kind TEXT NOT NULL, at BIGINT NOT NULL, system TEXT NOT NULL,
  element TEXT NOT NULL, record TEXT NOT NULL, value TEXT, document TEXT NOT NULL
)
"""
PLAIN_INDEXES = (
    "CREATE INDEX ix_plain_event_id ON plain_events (event_id)",
    "CREATE INDEX ix_plain_place ON plain_events (system, element, record, at)",
)
# The rows, read from the engine's store (not timed): each event with its inputs and hop
# fields as a JSON document, then each status update.
PLAIN_ROWS = {
    "sqlite": (
        """
SELECT e.event_id, e.kind, e.at, e.system, e.element, e.record, e.value,
       json_object('integration', e.integration, 'transform', e.transform,
                   'status', e.status, 'error', e.error, 'actor', e.actor,
                   'inputs', (SELECT json_group_array(json_array(h.system, h.element,
                                                                 h.record, h.value))
                              FROM hop_inputs h WHERE h.event_id = e.event_id))
FROM events e ORDER BY e.seq
""",
        """
SELECT event_id, 'status', at, '', '', '', NULL, json_object('status', status, 'error', error)
FROM hop_status ORDER BY seq
""",
    ),
    "postgresql": (
        """
SELECT e.event_id, e.kind, e.at, e.system, e.element, e.record, e.value,
       json_build_object('integration', e.integration, 'transform', e.transform,
                         'status', e.status, 'error', e.error, 'actor', e.actor,
                         'inputs', (SELECT json_agg(json_build_array(h.system, h.element,
                                                                     h.record, h.value)
                                                    ORDER BY h.position)
                                    FROM hop_inputs h WHERE h.event_id = e.event_id))::text
FROM events e ORDER BY e.seq
""",
        """
SELECT event_id, 'status', at, '', '', '', NULL,
       json_build_object('status', status, 'error', error)::text
FROM hop_status ORDER BY seq
""",
    ),
}


def _chunks(url: str, sql: str) -> Iterator[list[Any]]:
    """The rows ``sql`` reads from ``url``, a chunk at a time (streamed, not all at once)."""
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


def _sources(mode: str, source: str) -> list[tuple[str, tuple[str, ...], str]]:
    """(target table, columns, reading SQL) of each table the copy fills."""
    if mode == "plain":
        backend = "sqlite" if source.startswith("sqlite") else "postgresql"
        return [("plain_events", PLAIN_COLUMNS, sql) for sql in PLAIN_ROWS[backend]]
    return [
        (name, columns, f"SELECT {', '.join(columns)} FROM {name} ORDER BY {order}")
        for name, columns, order in _tables()
    ]


class _Timer:
    """Wall and CPU seconds spent inside ``with timer:`` blocks, summed."""

    def __init__(self) -> None:
        self.seconds = self.cpu = 0.0

    def __enter__(self) -> None:
        self._t0, self._c0 = time.perf_counter(), time.process_time()

    def __exit__(self, *exc: object) -> None:
        self.seconds += time.perf_counter() - self._t0
        self.cpu += time.process_time() - self._c0


def raw_copy(mode: str, source: str, target: str) -> None:
    """Insert the rows of ``source`` into the empty ``target`` with the bare driver, in one
    transaction whose indexes are built after the load; print one JSON line: seconds and CPU
    seconds of the inserts, the index builds and the commit, and the rows.

    ``engine``: the engine's schema (made by the migrations), its secondary indexes dropped
    first and built at the end, as the engine's first load does. ``plain``: one table of one
    row per line, with two indexes built at the end.
    """
    from sqlalchemy.schema import CreateIndex  # noqa: PLC0415

    from lineage.store import open_store  # noqa: PLC0415
    from lineage.store.bulk import secondary_indexes  # noqa: PLC0415

    store = open_store(target)  # the same schema and indexes, created by the migrations
    dialect = store.engine.dialect
    store.close()
    indexes = [str(CreateIndex(ix).compile(dialect=dialect)) for ix in secondary_indexes()]
    drops = [f"DROP INDEX {ix.name}" for ix in secondary_indexes()]
    if mode == "plain":
        drops, indexes = [PLAIN_TABLE], list(PLAIN_INDEXES)
    timer = _Timer()
    rows = 0
    if target.startswith("sqlite"):
        import sqlite3  # noqa: PLC0415

        conn = sqlite3.connect(target.removeprefix("sqlite:///"), isolation_level=None)
        for pragma in ("journal_mode=WAL", "synchronous=NORMAL", "cache_size=-65536"):
            conn.execute(f"PRAGMA {pragma}")
        conn.execute("BEGIN IMMEDIATE")
        for statement in drops:
            conn.execute(statement)
        for name, columns, sql in _sources(mode, source):
            insert = (
                f"INSERT INTO {name} ({', '.join(columns)}) "
                f"VALUES ({', '.join('?' * len(columns))})"
            )
            for chunk in _chunks(source, sql):
                with timer:
                    conn.executemany(insert, chunk)
                rows += len(chunk)
        with timer:
            for statement in indexes:
                conn.execute(statement)
            conn.execute("COMMIT")
        conn.close()
        how = "sqlite3 executemany"
    else:
        import psycopg  # noqa: PLC0415

        with psycopg.connect(target) as pg:
            for statement in drops:
                pg.execute(statement)
            for name, columns, sql in _sources(mode, source):
                for chunk in _chunks(source, sql):
                    with (
                        timer,
                        pg.cursor() as cursor,
                        cursor.copy(f"COPY {name} ({', '.join(columns)}) FROM STDIN") as copy,
                    ):
                        for row in chunk:
                            copy.write_row(row)
                    rows += len(chunk)
            with timer:
                pg.execute("SET LOCAL maintenance_work_mem = '256MB'")  # as the engine does
                for statement in indexes:
                    pg.execute(statement)
                pg.commit()
        how = "psycopg COPY"
    what = "one plain table, 2 indexes" if mode == "plain" else "same tables and indexes"
    report = {
        "seconds": timer.seconds, "cpu": timer.cpu, "rows": rows,
        "how": f"{how}: {what}, built after", "peak": peak_rss_mb(),
    }  # fmt: skip
    print(json.dumps(report))


# --- the run ----------------------------------------------------------------------------------


def render(results: list[Measured], command: str, load_before: float) -> str:
    rows = []
    same = {m.backend: m.seconds for m in results if "same tables" in m.path}
    plain = {m.backend: m.seconds for m in results if "plain table" in m.path}

    def ratio(m: Measured, limit: dict[str, float]) -> str:
        return f"{m.seconds / limit[m.backend]:.2f}x" if limit.get(m.backend) else "-"

    for m in results:
        rows.append([
            m.backend, m.path, m.events, m.rows, round(m.seconds, 2),
            int(m.rows / m.seconds) if m.seconds and m.rows else "-",
            ratio(m, same), ratio(m, plain), round(m.cpu, 1), round(m.rss_mb), round(m.pss_mb),
        ])  # fmt: skip
    headers = ["backend", "path", "events", "rows", "seconds", "rows/s", "vs same",
               "vs plain", "CPU s", "peak RSS MB", "all procs PSS MB"]  # fmt: skip
    stamp = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    load = os.getloadavg()[0]
    return "\n".join([
        f"$ {command}",
        f"# {stamp}; {machine()}; load average at the start {load_before:.1f}, "
        f"at the end {load:.1f}",
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
    parser.add_argument(
        "--raw-copy", nargs=3, metavar=("MODE", "SOURCE", "TARGET"), help=argparse.SUPPRESS
    )
    args = parser.parse_args(argv)
    if args.raw_copy:
        raw_copy(*args.raw_copy)
        return 0
    backends = ["sqlite", "postgresql"] if args.db == "both" else [args.db]
    if "postgresql" in backends and (why := postgres_available()):
        print(f"skipping PostgreSQL: {why}", file=sys.stderr)
        backends.remove("postgresql")
    data, registry, lines = prepare_input(args.events, args.chain_length)
    load_before = os.getloadavg()[0]
    results: list[Measured] = []
    with tempfile.TemporaryDirectory(prefix="lineage-bench-ingest-") as tmp:
        folder = Path(tmp)
        for backend in backends:
            print(f"{backend}: engine ingest of {lines:,} events ...", file=sys.stderr)
            with scratch_database(backend, folder, "engine") as url:
                engine = engine_run(backend, url, data, registry, lines, again=args.again)
                print(f"{backend}: raw driver inserts of the same rows ...", file=sys.stderr)
                raws = [raw_run(backend, url, lines, folder, mode) for mode in ("engine", "plain")]
                results += [engine[0], *raws, *engine[1:]]
    command = "python benchmarks/ingest.py " + " ".join(argv if argv is not None else sys.argv[1:])
    text = render(results, command.strip(), load_before)
    print(text)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(text + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
