"""HTTP ingest throughput: `lineage serve` (waitress) on loopback, batches of events over HTTP.

Steady: 2 client threads post batches of 500 events (writes, hops, snapshots) until 50,000
events are in; events/s is the wall time from the first request to the last answer.
Burst: 10x the clients (20 threads) post at once, and every batch is posted twice by two
different clients; afterwards the store must hold exactly the distinct events sent (nothing
lost, nothing duplicated). A 503 (store busy) is retried, as a client should.

    python benchmarks/http_ingest.py                  # SQLite
    python benchmarks/http_ingest.py --postgres       # also a scratch PostgreSQL database

Results are printed as a table and written to benchmarks/results/http_ingest.txt.
"""

from __future__ import annotations

import argparse
import datetime as dt
import http.client
import json
import os
import platform
import random
import re
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from queue import Empty, Queue
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import func, select  # noqa: E402

from lineage.store import open_store  # noqa: E402
from lineage.store.schema import events  # noqa: E402

TOKEN = "bench-token"
T0 = dt.datetime(2026, 11, 20, tzinfo=dt.UTC)


def make_events(prefix: str, count: int) -> list[dict[str, Any]]:
    """``count`` events: for each record a write in CRM, its hop to ERP, an ERP snapshot."""
    out: list[dict[str, Any]] = []
    i = 0
    while len(out) < count:
        at = T0 + dt.timedelta(seconds=i)
        record, value = f"{prefix}-{i}", f"{i} Main St"
        place = {"system": "CRM", "element": "customer.address", "record": record}
        out.append(
            {
                "kind": "write",
                "id": f"{prefix}-w{i}",
                **place,
                "value": value,
                "at": at.isoformat().replace("+00:00", "Z"),
                "actor": "bench",
            }
        )
        out.append(
            {
                "kind": "hop",
                "id": f"{prefix}-h{i}",
                "integration": "crm-to-erp",
                "at": (at + dt.timedelta(seconds=1)).isoformat().replace("+00:00", "Z"),
                "inputs": [{**place, "value": value}],
                "output": {
                    "system": "ERP",
                    "element": "customer.address",
                    "record": f"E{i}",
                    "value": value.upper(),
                },
                "transform": "upper",
                "status": "delivered",
            }
        )
        out.append(
            {
                "kind": "snapshot",
                "id": f"{prefix}-s{i}",
                "system": "ERP",
                "element": "customer.address",
                "record": f"E{i}",
                "value": value.upper(),
                "at": (at + dt.timedelta(seconds=2)).isoformat().replace("+00:00", "Z"),
            }
        )
        i += 1
    return out[:count]


def batches(items: list[dict[str, Any]], size: int) -> list[bytes]:
    return [json.dumps(items[i : i + size]).encode() for i in range(0, len(items), size)]


@contextmanager
def served(db_url: str, threads: int) -> Iterator[int]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("LINEAGE_")}
    environment["LINEAGE_API_TOKEN"] = TOKEN
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "lineage",
            "serve",
            "--port",
            "0",
            "--threads",
            str(threads),
            "--db",
            db_url,
        ],
        cwd=ROOT,
        env=environment,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert server.stderr is not None
        banner = server.stderr.readline()
        match = re.search(r":(\d+)/", banner)
        if not match:
            raise SystemExit(f"lineage serve did not start: {banner}{server.stderr.read()}")
        yield int(match.group(1))
    finally:
        server.terminate()
        server.wait(30)


def post_all(
    port: int, work: Queue[bytes], answers: list[dict[str, Any]], retries: list[int]
) -> None:
    """One client: a keep-alive connection posting batches until the queue is empty."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    headers = {"Content-Type": "application/json", "Authorization": f"Bearer {TOKEN}"}
    while True:
        try:
            body = work.get_nowait()
        except Empty:
            break
        while True:
            conn.request("POST", "/api/v1/events", body=body, headers=headers)
            response = conn.getresponse()
            payload = json.loads(response.read())
            if response.status == 503:
                retries.append(1)
                time.sleep(0.05)
                continue
            if response.status != 200 or payload["rejected"]:
                raise SystemExit(f"HTTP {response.status}: {payload}")
            answers.append(payload)
            break
    conn.close()


def run_clients(
    port: int, bodies: list[bytes], clients: int
) -> tuple[float, list[dict[str, Any]], int]:
    work: Queue[bytes] = Queue()
    for body in bodies:
        work.put(body)
    answers: list[dict[str, Any]] = []
    retries: list[int] = []
    threads = [
        threading.Thread(target=post_all, args=(port, work, answers, retries))
        for _ in range(clients)
    ]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return time.perf_counter() - started, answers, len(retries)


def stored(db_url: str) -> tuple[int, int]:
    store = open_store(db_url)
    with store.engine.connect() as conn:
        row = conn.execute(select(func.count(), func.count(events.c.event_id.distinct()))).one()
    store.close()
    return int(row[0]), int(row[1])


def bench(name: str, db_url: str, total: int, batch: int, clients: int) -> list[str]:
    steady = make_events("s", total)
    burst = make_events("b", total)
    with served(db_url, threads=max(8, clients * 10)) as port:
        seconds, answers, retried = run_clients(port, batches(steady, batch), clients)
        accepted = sum(a["accepted"] for a in answers)
        rate = total / seconds
        # Burst: 10x the clients, every batch twice, in random order.
        twice = batches(burst, batch) * 2
        random.Random(7).shuffle(twice)
        b_seconds, b_answers, b_retried = run_clients(port, twice, clients * 10)
        b_accepted = sum(a["accepted"] for a in b_answers)
        b_duplicate = sum(a["duplicate"] for a in b_answers)
    rows, distinct = stored(db_url)
    ok = rows == distinct == 2 * total and accepted == total and b_accepted == total
    return [
        f"| {name} | steady | {clients} | {batch} | {total:,} | {seconds:.2f} | "
        f"{rate:,.0f} | {accepted:,} accepted, {retried} retries |",
        f"| {name} | burst 10x | {clients * 10} | {batch} | {2 * total:,} sent "
        f"({total:,} distinct) | {b_seconds:.2f} | {2 * total / b_seconds:,.0f} | "
        f"{b_accepted:,} accepted + {b_duplicate:,} duplicate, {b_retried} retries; "
        f"store {rows:,} rows / {distinct:,} ids: {'OK' if ok else 'MISMATCH'} |",
    ]


@contextmanager
def scratch_postgres(admin: str) -> Iterator[str]:
    import psycopg  # noqa: PLC0415 - only for --postgres

    name = f"lineage_bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"{admin.rsplit('/', 1)[0]}/{name}"
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--events", type=int, default=50_000)
    parser.add_argument("--batch", type=int, default=500)
    parser.add_argument("--clients", type=int, default=2)
    parser.add_argument("--postgres", action="store_true", help="also run on PostgreSQL")
    parser.add_argument("--postgres-admin", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument(
        "--out", type=Path, default=ROOT / "benchmarks" / "results" / "http_ingest.txt"
    )
    args = parser.parse_args()

    lines = [
        f"# HTTP ingest, {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC, "
        f"{platform.machine()} {os.cpu_count()} CPUs, Python {platform.python_version()}, "
        f"load average {os.getloadavg()[0]:.1f} at start (server and clients share the CPUs)",
        f"# command: python benchmarks/http_ingest.py --events {args.events} --batch "
        f"{args.batch} --clients {args.clients}{' --postgres' if args.postgres else ''}",
        "# target: >= 5,000 events/s steady; the burst loses and duplicates nothing",
        "",
        "| store | phase | clients | events/request | events | seconds | events/s | check |",
        "|---|---|---|---|---|---|---|---|",
    ]
    with tempfile.TemporaryDirectory() as folder:
        lines += bench(
            "SQLite", f"sqlite:///{folder}/bench.db", args.events, args.batch, args.clients
        )
    if args.postgres:
        with scratch_postgres(args.postgres_admin) as url:
            lines += bench("PostgreSQL", url, args.events, args.batch, args.clients)
    text = "\n".join(lines) + "\n"
    print(text)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text)


if __name__ == "__main__":
    main()
