"""Benchmark: findings as state on a 1,000,000-event store (issue 13's "must show").

The store: :func:`benchmarks.scan.build` (chains of 20 hops, a few of every defect planted),
``--hops`` hops (default 950,000: about 1,000,000 events). With ``--copy-from`` an existing
store of that build is copied instead of built (SQLite: the file; PostgreSQL: ``CREATE
DATABASE ... TEMPLATE``), so that a store another benchmark keeps is never changed.

Measured in a fresh child process per backend (its peak RSS, taken before the streams, is that
of the judgements, the pages and the batches):

- ``full``: :func:`lineage.findings.judge` with ``full=True`` (what ``lineage scan --full``
  runs: every detector over the whole store, reconciled into the stored state), against
  ``raw``: the raw window query of :mod:`benchmarks.scan` over the same store;
- ``api`` and ``page``: the p50 of 20 ``GET /api/v1/findings`` and ``GET /findings`` (the
  Flask app in process, the stored findings read a page at a time);
- ``batch``: a 1,000-event batch (:func:`benchmarks.scope.batch`) ingested, then judged
  (incremental detection): the seconds until its findings are stored (the mean of
  :data:`SERIAL` batches);
- ``ratio`` (the serial row): ingest throughput with incremental detection (ingest + its
  judgement) over ingest alone, batch after batch: :data:`SERIAL` pairs of batches of the
  same size, after one pair that warms up, one of each pair ingested alone and one ingested
  and judged (the first's events are judged in between, untimed, so that the second's
  judgement covers its own only). Each batch is judged before the next is ingested: what
  ``lineage ingest`` run batch after batch does; the judgement's fixed costs are paid on
  every batch;
- ``streams`` (the sustained rows): what the server does under load. The app runs under
  waitress in a process of its own, as ``lineage serve`` runs it (8 threads), and
  :data:`STREAM` batches of about 1,000 events are POSTed to ``/api/v1/events`` back to
  back (the next as soon as the last is answered), from this process. The server judges
  after each answer (:func:`webapp.api.events.judge_after_answer`): judgements are
  serialized, and each covers whatever arrived since the last one's watermark, so under
  load they coalesce. Timed from the first POST until the last is answered **and** every
  event is judged (the stored watermark reaches the store's), against the same stream to
  the same server with the judgement after each answer replaced by nothing. Measured twice:
  each POST on a connection of its own and all on one keep-alive connection (waitress
  answers a connection's requests in order). Either way the judgement is asked for in a
  thread of its own (``JUDGE_IN_BACKGROUND``) and made in a child process that opened the
  same store (``JUDGE_IN_A_PROCESS``), as ``lineage serve`` sets them, so the next POST is
  served while it runs, on the other core; on SQLite a judgement takes the write lock only
  to store its verdict (judging beside the writers). One stream swings by a quarter from
  run to run on a shared two-core machine: ``--stream-rounds N`` runs the four streams N
  times and prints, beside the first round's ratio, the ratio over all rounds (their events
  over their seconds).

Usage (from the repository root)::

    python benchmarks/findings.py --copy-from-sqlite /tmp/lineage-bench-scope/scope-950000.db \\
        --copy-from-postgres lineage_bench_scope_950000

Results are written to benchmarks/results/findings.txt, with the load average before and
after each backend's run (two cores shared: the numbers move with it).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import resource
import shutil
import socket
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import psycopg
import requests
from sqlalchemy import text

from benchmarks.common import (
    POSTGRES_ADMIN,
    child_peak_rss_mb,
    machine,
    peak_rss_mb,
    postgres_available,
)
from benchmarks.scan import AS_OF, RAW_SQL, build
from benchmarks.scope import batch
from lineage.findings import judge
from lineage.findings.state import up_to_date
from lineage.store import open_store
from lineage.store.detection.scope import watermark_now
from lineage.store.schema import to_us
from lineage.store.writer import ingest_lines
from webapp import create_app

RESULTS = Path(__file__).resolve().parent / "results" / "findings.txt"
REQUESTS = 20
STREAM = 50
"""Batches of the sustained stream."""
SERIAL = 5
"""Pairs of batches of the serial row (one ingested alone, one ingested and judged), counted
after a first pair that warms up."""
SERVER_THREADS = 8
"""``lineage serve``'s default ``--threads``."""


def _p50(client: Any, path: str) -> float:
    client.get(path)  # warm
    times = []
    for _ in range(REQUESTS):
        started = time.perf_counter()
        answer = client.get(path)
        times.append(time.perf_counter() - started)
        assert answer.status_code == 200, answer.status_code
    return statistics.median(times)


def _ingest(store: Any, lines: list[str]) -> float:
    started = time.perf_counter()
    result = ingest_lines(store, (("batch", n, line) for n, line in enumerate(lines, 1)))
    assert result.rejected_count == 0, result.rejected[:3]
    return time.perf_counter() - started


def _next_batch(store: Any) -> list[str]:
    """A batch of about 1,000 events (:func:`benchmarks.scope.batch`) after the store's clock."""
    with store.engine.connect() as conn:
        mark = watermark_now(conn)
    assert mark.clock is not None
    return batch(mark.events_seq, mark.clock)


def _stream_batches(store: Any, count: int) -> list[bytes]:
    """``count`` bodies of about 1,000 events each (:func:`benchmarks.scope.batch`), dated
    after the store's clock and after one another, their records apart from every other's."""
    with store.engine.connect() as conn:
        mark = watermark_now(conn)
    assert mark.clock is not None
    day = 86_400 * 1_000_000
    return [
        ("[" + ",".join(batch(mark.events_seq + n, mark.clock + 3 * day * n)) + "]").encode()
        for n in range(count)
    ]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def serve(url: str, port: int, *, judging: bool) -> None:
    """The app under waitress as ``lineage serve`` runs it (``--threads`` 8), until stdin
    closes; then one JSON line: the judgements it ran (those that found nothing new apart,
    failed ones too) and their seconds. Without
    ``judging``, :func:`webapp.api.events.judge_after_answer` is replaced by nothing: the
    same server, with no judgement after a POST."""
    import waitress  # noqa: PLC0415

    import lineage.findings.state as state  # noqa: PLC0415
    import webapp.api.events as api_events  # noqa: PLC0415

    ran = {"judged": 0, "skipped": 0, "failed": 0, "judging_seconds": 0.0}
    original = state._judge_where_asked  # counted, as the gate calls it

    def counted(store: Any, what: str) -> Any:
        started = time.perf_counter()
        done = original(store, what)
        ran["judging_seconds"] += time.perf_counter() - started
        ran["failed" if done is None else "skipped" if done.skipped else "judged"] += 1
        return done

    if judging:
        state._judge_where_asked = counted  # the judgements the server asks for
    else:
        api_events.judge_after_answer = lambda response, what: None
    settings = {"JUDGE_IN_BACKGROUND": True, "JUDGE_IN_A_PROCESS": True}  # as lineage serve's
    app = create_app({"DATABASE_URL": url, "API_TOKEN": None, **settings})
    server = waitress.create_server(
        app, host="127.0.0.1", port=port, threads=SERVER_THREADS, asyncore_use_poll=True
    )
    threading.Thread(target=server.run, daemon=True).start()
    sys.stdin.read()  # until the benchmark closes it
    app.extensions["lineage"].close()  # the judging process ends (and is waited for)
    used = os.times()  # the server's CPU, all its threads (PostgreSQL's own work not in it)
    report = {
        **ran,
        "server_rss_mb": peak_rss_mb(),
        "server_cpu": used.user + used.system,
        "child_cpu": used.children_user + used.children_system,  # the judging process
        "child_rss_mb": child_peak_rss_mb(resource.getrusage(resource.RUSAGE_CHILDREN)),
    }
    print(json.dumps(report), flush=True)
    os._exit(0)  # waitress's threads and the pool's connections go with the process


def _sustained(
    store: Any, url: str, bodies: list[bytes], *, judging: bool, keep_alive: bool
) -> dict[str, Any]:
    """POST ``bodies`` back to back to a served app, each on a connection of its own or
    (``keep_alive``) all on one; the seconds until the last is answered and (``judging``)
    until every event is judged."""
    port = _free_port()
    flags = [] if judging else ["--no-judge"]
    server = subprocess.Popen(
        [sys.executable, __file__, "--serve", url, "--port", str(port), *flags],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    with requests.Session() as session:
        for _ in range(600):
            try:
                session.get(f"{base}/api/v1/findings?limit=1", timeout=60)  # the store opened
                break
            except requests.ConnectionError:
                time.sleep(0.1)
        assert up_to_date(store), "the stream starts on a judged store"
        events = 0
        started = time.perf_counter()
        for body in bodies:
            answer = (session.post if keep_alive else requests.post)(
                f"{base}/api/v1/events",
                data=body,
                headers={"Content-Type": "application/json"},
                timeout=600,
            )
            assert answer.status_code == 200, (answer.status_code, answer.text[:300])
            got = answer.json()
            assert got["rejected"] == 0, got["errors"][:3]
            events += got["accepted"] + got["status_updates"]
        answered = time.perf_counter() - started
        while judging and not up_to_date(store):
            time.sleep(0.02)
        seconds = time.perf_counter() - started
    assert server.stdin is not None and server.stdout is not None
    server.stdin.close()
    ran = json.loads(server.stdout.read().strip().splitlines()[-1])
    server.wait(timeout=60)
    return {"events": events, "answered": answered, "seconds": seconds, **ran}


def measure(url: str, rounds: int = 1) -> dict[str, Any]:
    """Everything the module docstring lists, on the store at ``url`` (the streams ``rounds``
    times)."""
    store = open_store(url)
    with store.engine.connect() as conn:
        events = conn.execute(text("SELECT count(*) FROM events")).scalar_one()
        conn.execute(text("SELECT count(*), max(value_norm) FROM events")).all()  # warm
    distinct = "IS DISTINCT FROM" if store.dialect == "postgresql" else "IS NOT"
    started = time.perf_counter()
    with store.engine.connect() as conn:
        raw_rows = sum(
            1
            for _ in conn.execute(text(RAW_SQL.format(distinct=distinct)), {"as_of": to_us(AS_OF)})
        )
    raw_seconds = time.perf_counter() - started

    started = time.perf_counter()
    full = judge(store, full=True, webhook=False)
    full_seconds = time.perf_counter() - started
    again = judge(store, full=True, webhook=False)  # the state kept up: nothing to reconcile

    app = create_app({"TESTING": True, "DATABASE_URL": url, "API_TOKEN": None})
    client = app.test_client()
    api_p50 = _p50(client, "/api/v1/findings")
    page_p50 = _p50(client, "/findings")
    app.extensions["lineage"].close()

    # serial: batch after batch, one ingested alone, then one ingested and judged, for
    # SERIAL pairs after a first one that warms up (counted: the sums)
    plain_events = judged_events = 0
    plain_seconds = ingest_seconds = judge_seconds = 0.0
    scoped = None
    for pair in range(SERIAL + 1):
        lines = _next_batch(store)
        spent = _ingest(store, lines)  # not judged yet
        if pair:
            plain_events += len(lines)
            plain_seconds += spent
        judge(store, webhook=False)  # catch up, so the judged batch is judged alone
        lines = _next_batch(store)
        spent = _ingest(store, lines)
        started = time.perf_counter()
        scoped = judge(store, webhook=False)
        if pair:
            judged_events += len(lines)
            ingest_seconds += spent
            judge_seconds += time.perf_counter() - started
    assert scoped is not None

    rss = peak_rss_mb()  # the judgements' peak (the streams' client below is not the product)
    # the sustained streams: judged as the server judges, then the same again unjudged (the
    # judged ones first: each starts on a judged store)
    streams: dict[tuple[bool, bool], list[dict[str, Any]]] = {}
    for _ in range(rounds):
        for judging in (True, False):
            for keep_alive in (False, True):
                bodies = _stream_batches(store, STREAM)
                streams.setdefault((judging, keep_alive), []).append(
                    _sustained(store, url, bodies, judging=judging, keep_alive=keep_alive)
                )
                # the next server starts on a judged store, as each judged run does: else its
                # first read would judge this run's events, and its CPU count them
                judge(store, webhook=False)
    store.close()
    batch_seconds = ingest_seconds + judge_seconds
    per_batch = judged_events / SERIAL
    return {
        "backend": store.dialect,
        "events": events,
        "raw_seconds": raw_seconds,
        "raw_rows": raw_rows,
        "full_seconds": full_seconds,
        "full": full.as_dict(),
        "again": again.as_dict(),
        "api_p50_ms": api_p50 * 1000,
        "page_p50_ms": page_p50 * 1000,
        "batch": round(per_batch),
        "batch_ingest_seconds": ingest_seconds / SERIAL,
        "batch_judge_seconds": judge_seconds / SERIAL,
        "batch_seconds": batch_seconds / SERIAL,
        "batch_scoped": not scoped.full,
        "ratio": (judged_events / batch_seconds) / (plain_events / plain_seconds),
        "streams": {
            "connections" if not keep_alive else "keep_alive": {
                "judged": streams[True, keep_alive][0],  # the first round, in detail
                "plain": streams[False, keep_alive][0],
                "ratio": _throughput(streams[True, keep_alive][:1])
                / _throughput(streams[False, keep_alive][:1]),
                "judged_seconds": [run["seconds"] for run in streams[True, keep_alive]],
                "plain_seconds": [run["seconds"] for run in streams[False, keep_alive]],
                "ratio_all": _throughput(streams[True, keep_alive])
                / _throughput(streams[False, keep_alive]),
            }
            for keep_alive in (False, True)
        },
        "peak_rss_mb": rss,
    }


def _throughput(runs: list[dict[str, Any]]) -> float:
    """Events a second over ``runs`` together (their events over their seconds)."""
    return float(sum(run["events"] for run in runs) / sum(run["seconds"] for run in runs))


def _copy_sqlite(source: Path, target: Path) -> None:
    for suffix in ("", "-wal", "-shm"):
        Path(f"{target}{suffix}").unlink(missing_ok=True)
    shutil.copyfile(source, target)


def _copy_postgres(source: str, target: str) -> None:
    with psycopg.connect(POSTGRES_ADMIN, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{target}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{target}" TEMPLATE "{source}"')


def _seconds(values: list[float]) -> str:
    return ", ".join(f"{value:.1f}" for value in values) + " s"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--hops", type=int, default=950_000, help="hops in a built store")
    parser.add_argument(
        "--backend",
        nargs="+",
        default=["sqlite", "postgresql"],
        choices=["sqlite", "postgresql"],
        help="backends to measure",
    )
    parser.add_argument("--copy-from-sqlite", type=Path, help="an SQLite store to copy")
    parser.add_argument("--copy-from-postgres", help="a PostgreSQL database to copy")
    parser.add_argument(
        "--folder", type=Path, default=Path("/tmp/lineage-bench-findings"), help="SQLite here"
    )
    parser.add_argument(
        "--name",
        help="the copy's name (SQLite file stem, PostgreSQL database; default "
        "lineage_bench_findings_<hops>): another name measures beside a run of its own",
    )
    parser.add_argument(
        "--stream-rounds",
        type=int,
        default=1,
        help="run the four streams this many times (one stream swings by a quarter from run "
        "to run; the ratio over all rounds is printed too)",
    )
    parser.add_argument("--measure", metavar="URL", help=argparse.SUPPRESS)
    parser.add_argument("--no-save", action="store_true", help="do not write the results")
    parser.add_argument("--serve", metavar="URL", help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--no-judge", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve:
        serve(args.serve, args.port, judging=not args.no_judge)
        return 0
    if args.measure:
        print(json.dumps(measure(args.measure, args.stream_rounds)))
        return 0
    lines: list[str] = []
    for backend in args.backend:
        name = args.name or f"lineage_bench_findings_{args.hops}"
        if backend == "postgresql":
            reason = postgres_available()
            if reason:
                print(f"skipping PostgreSQL: {reason}", file=sys.stderr)
                continue
            url = f"{POSTGRES_ADMIN.rsplit('/', 1)[0]}/{name}"
            if args.copy_from_postgres:
                _copy_postgres(args.copy_from_postgres, name)
            else:
                _copy_postgres("template1", name)
                print(f"postgresql: built in {build(url, args.hops):.0f} s", file=sys.stderr)
        else:
            args.folder.mkdir(parents=True, exist_ok=True)
            path = args.folder / f"{name}.db"
            url = f"sqlite:///{path}"
            if args.copy_from_sqlite:
                _copy_sqlite(args.copy_from_sqlite, path)
            else:
                _copy_sqlite(Path("/dev/null"), path)
                print(f"sqlite: built in {build(url, args.hops):.0f} s", file=sys.stderr)
        load_before = os.getloadavg()[0]
        child = subprocess.run(
            [sys.executable, __file__, "--measure", url, f"--stream-rounds={args.stream_rounds}"],
            check=False,
            capture_output=True,
            text=True,
        )
        if child.returncode != 0:
            print(child.stderr, file=sys.stderr)
            return 1
        got = json.loads(child.stdout.strip().splitlines()[-1])
        line = (
            f"{got['backend']:<10} {got['events']:>9,} events  full judgement "
            f"{got['full_seconds']:6.1f} s vs raw query {got['raw_seconds']:5.1f} s "
            f"({got['full_seconds'] / got['raw_seconds']:.2f}x; again {got['again']})  "
            f"GET /api/v1/findings p50 {got['api_p50_ms']:.0f} ms  /findings p50 "
            f"{got['page_p50_ms']:.0f} ms  {got['batch']:,}-event batch "
            f"{got['batch_seconds']:.2f} s (ingest {got['batch_ingest_seconds']:.2f} + judge "
            f"{got['batch_judge_seconds']:.2f}, scoped {got['batch_scoped']})  throughput "
            f"with/without detection {got['ratio']:.2f}x  peak RSS {got['peak_rss_mb']:.0f} MB"
        )
        for kind, shown in (("connections", "a connection each"), ("keep_alive", "one connection")):
            stream = got["streams"][kind]
            judged, plain = stream["judged"], stream["plain"]
            line += (
                f"\n{got['backend']:<10} sustained stream, {STREAM} batches ({judged['events']:,} "
                f"events) POSTed back to back on {shown} to the app under waitress: "
                f"{plain['seconds']:.1f} s with no judgement, {judged['seconds']:.1f} s until "
                f"every event is judged (last answer at {judged['answered']:.1f} s; "
                f"{judged['judged']} judgements, {judged['skipped']} with nothing new, "
                f"{judged['failed']} failed, {judged['judging_seconds']:.1f} s judging; the "
                f"server's CPU {judged['server_cpu']:.1f} s and its judging process's "
                f"{judged['child_cpu']:.1f} s against {plain['server_cpu']:.1f} s and "
                f"{plain['child_cpu']:.1f} s with no judgement, their peak RSS "
                f"{judged['server_rss_mb']:.0f} MB and {judged['child_rss_mb']:.0f} MB): "
                f"throughput with/without detection {stream['ratio']:.2f}x"
            )
            if len(stream["judged_seconds"]) > 1:
                rounds = len(stream["judged_seconds"])
                line += (
                    f"\n{got['backend']:<10} the same stream on {shown}, {rounds} rounds: "
                    f"with no judgement {_seconds(stream['plain_seconds'])}, until every event "
                    f"is judged {_seconds(stream['judged_seconds'])}: throughput with/without "
                    f"detection over the {rounds} rounds {stream['ratio_all']:.2f}x"
                )
        line += (
            f"\n{got['backend']:<10} load average {load_before:.2f} before, "
            f"{os.getloadavg()[0]:.2f} after"
        )
        print(line)
        lines.append(line)
    if lines and not args.no_save:
        RESULTS.parent.mkdir(parents=True, exist_ok=True)
        stamp = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
        RESULTS.write_text(f"# {stamp}, {machine()}\n" + "\n".join(lines) + "\n", "utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
