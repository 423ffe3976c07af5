"""Bulk ingest of JSON Lines against the physical limit, side by side, in one run.

For each backend:

1. ``engine``: what ``python -m lineage ingest FILE --db URL`` runs, in a child process
   (:data:`ENGINE_CHILD`: the command's own ``ingest_lines`` then ``judge_after_ingest``;
   parsing, pydantic validation, ids, hop verification against the registry, idempotence,
   the inserts, then the judgement of the findings), timed from process start to exit and,
   apart, from process start to the end of the load (the engine without its judgement) and
   the judgement alone;
2. ``raw ... same tables and indexes``: the very rows the engine stored, copied into a fresh
   database with the same schema by the bare driver (``sqlite3`` ``executemany`` / psycopg
   binary ``COPY``, as the engine copies) in one transaction that drops the secondary
   indexes and the trigram index of record keys first and builds them after the load, with
   the engine's own statements (``lineage.store.bulk.load_plan``), as its first load does;
   the inserts, the index builds and the commit are timed;
3. ``raw ... one plain table``: the same events as one row per input line (an event, or a
   hop's status update: its id, kind, time, place and value in columns, the rest as one JSON
   text) in one table with two indexes (the id; the place and time), built after the load:
   the least a store that can answer "what happened to this value" must write.

The ratios are the engine's time over each raw time, with and without the judgement (the
issue's target: at most 2.5x the plain table).

Each runs in its own process. "CPU s" is its user+system time, worker processes included
(PostgreSQL's server work is not in it); "peak RSS MB" is the largest single process's peak
(``wait4``); "all procs PSS MB" is the peak of the proportional set size of the process and
its workers together (shared pages counted once), sampled every 50 ms. The engine's modules
are compiled to bytecode first (``compileall``), as an installed package's are, so that no
run compiles them from source.

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
    rss_mb: float | None  # None: a part of the run above (its memory is that run's)
    pss_mb: float | None


#: The engine's child process: what ``lineage ingest FILE --db URL`` does (the command's
#: module is imported, so its start-up is paid too), with the moments the load and the
#: judgement ended and the CPU seconds spent by then printed as one JSON line.
ENGINE_CHILD = """
import json, resource, sys, time
from lineage.cli.options import open_db
from lineage.cli.store import ingest_lines, judge_after_ingest
from lineage.store.writer import numbered_lines

def cpu():
    mine = resource.getrusage(resource.RUSAGE_SELF)
    reaped = resource.getrusage(resource.RUSAGE_CHILDREN)  # the worker processes
    return mine.ru_utime + mine.ru_stime + reaped.ru_utime + reaped.ru_stime

path, url = sys.argv[1:3]
store = open_db(url)
with open(path, "rb") as stream:
    result = ingest_lines(store, numbered_lines(path, stream), keep_rejections=0)
loaded, loaded_cpu = time.time(), cpu()
judgement = judge_after_ingest(store, what="ingest")
judged, judged_cpu = time.time(), cpu()
store.close()
print(json.dumps({
    "summary": result.summary(), "loaded": loaded, "loaded_cpu": loaded_cpu,
    "judged": judged, "judged_cpu": judged_cpu,
    "findings": None if judgement is None else judgement.added,
}))
"""


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
    """The engine's ingest into the empty store (with its judgement, the load alone, the
    judgement alone); then, with ``again``, the same file again."""
    lineage = [sys.executable, "-m", "lineage"]
    run_child([*lineage, "load", str(registry), "--db", url])
    engine = [sys.executable, "-c", ENGINE_CHILD, str(data), url]
    started = time.time()  # the clock the child's moments are read on
    wall, cpu, rss, pss, stdout = run_child(engine)
    report = json.loads(stdout.strip().splitlines()[-1])
    print(f"  {backend} engine: {report['summary']}, {report['findings']} findings opened",
          file=sys.stderr)  # fmt: skip
    rows = count_rows(url)
    loaded = report["loaded"] - started
    judging = report["judged"] - report["loaded"]
    measured = [
        Measured(backend, "engine: load and judgement (lineage ingest)", lines, rows, wall,
                 cpu, rss, pss),
        Measured(backend, "engine: load only (without the judgement)", lines, rows, loaded,
                 report["loaded_cpu"], None, None),
        Measured(backend, "engine: the judgement after the load, alone", lines, 0, judging,
                 report["judged_cpu"] - report["loaded_cpu"], None, None),
    ]  # fmt: skip
    if again:
        print(f"{backend}: the same file again ...", file=sys.stderr)
        wall, cpu, rss, pss, stdout = run_child(engine)
        report = json.loads(stdout.strip().splitlines()[-1])
        print(f"  {backend} engine: {report['summary']}", file=sys.stderr)
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
#: Its text compares as the engine's does ({c}: PostgreSQL's "C" collation, migration 0019),
#: so that the limit gets the same cheaper comparisons.
PLAIN_COLUMNS = ("event_id", "kind", "at", "system", "element", "record", "value", "document")
PLAIN_TABLE = """
CREATE TABLE plain_events (
  event_id TEXT{c} NOT NULL, kind TEXT{c} NOT NULL, at BIGINT NOT NULL,
  system TEXT{c} NOT NULL, element TEXT{c} NOT NULL, record TEXT{c} NOT NULL, value TEXT{c},
  document TEXT{c} NOT NULL
)
"""
PLAIN_TYPES = ("text", "text", "int8", "text", "text", "text", "text", "text")  # binary COPY
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
    from sqlalchemy import text  # noqa: PLC0415

    from lineage.store import open_store  # noqa: PLC0415
    from lineage.store.bulk import binary_copy_types, load_plan  # noqa: PLC0415
    from lineage.store.schema import CODE_POINT  # noqa: PLC0415

    store = open_store(target)  # the same schema and indexes, created by the migrations
    with store.engine.connect() as conn:
        # what the engine's first load drops and builds after: the same statements
        drops, indexes = load_plan(store.engine.dialect, lambda sql: conn.execute(text(sql)).all())
    dialect = store.engine.dialect.name
    store.close()
    if mode == "plain":
        drops, indexes = [PLAIN_TABLE.format(c=CODE_POINT[dialect])], list(PLAIN_INDEXES)
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
                # binary, as the engine copies: each value sent as its column's type
                types = PLAIN_TYPES if mode == "plain" else binary_copy_types(name, columns)
                statement = f"COPY {name} ({', '.join(columns)}) FROM STDIN (FORMAT BINARY)"
                for chunk in _chunks(source, sql):
                    with timer, pg.cursor() as cursor, cursor.copy(statement) as copy:
                        copy.set_types(types)
                        for row in chunk:
                            copy.write_row(row)
                    rows += len(chunk)
            with timer:
                pg.execute("SET LOCAL maintenance_work_mem = '256MB'")  # as the engine does
                for statement in indexes:
                    pg.execute(statement)
                pg.commit()
        how = "psycopg binary COPY"
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
            ratio(m, same), ratio(m, plain), round(m.cpu, 1),
            "-" if m.rss_mb is None else round(m.rss_mb),
            "-" if m.pss_mb is None else round(m.pss_mb),
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
    # The engine's modules as an installed package has them, compiled: where the tree has no
    # bytecode and PYTHONDONTWRITEBYTECODE is set, each engine run would compile them from
    # source (0.2 s of CPU), a cost no installed `lineage ingest` pays.
    subprocess.run([sys.executable, "-m", "compileall", "-q", "lineage"], cwd=ROOT, check=True)
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
                results += [*engine[:3], *raws, *engine[3:]]
    command = "python benchmarks/ingest.py " + " ".join(argv if argv is not None else sys.argv[1:])
    text = render(results, command.strip(), load_before)
    print(text)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(text + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
