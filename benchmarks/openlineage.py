"""OpenLineage at scale: ingest rate and the answers read from the summary tables.

An Airflow-shaped estate: ``--jobs`` jobs in 5 namespaces, each reading 1-3 of ``--datasets``
tables in 4 dataset namespaces (``postgres://erp-db:5432``, ``bigquery``, ``s3://lake-raw``,
``snowflake://acme``) and writing one, run again and again: every run a START and a COMPLETE
(one in 50 a FAIL with an ``errorMessage``), the COMPLETE carrying the output's ``schema``
and ``columnLineage`` facets, run facets (``nominalTime``, ``parent``) and job facets
(``documentation``, ``sql``), as the Airflow provider sends them.

Measured, on each backend:

- ingest: events/s through ``ingest_openlineage_data`` (batches of 500, summaries kept in the
  same transactions), and the first 20,000 of them into a fresh store with the summary step
  switched off (what the summaries cost);
- p50 over ``--repeat`` requests (Flask test client, in process) of ``GET /api/v1/namespaces``,
  ``/namespaces/<ns>/jobs``, ``/namespaces/<ns>/datasets``, ``/lineage?nodeId=<dataset>``
  (depth 2), ``/openlineage/unmapped``; beside each, a raw SQL query of the same answer over
  the stored events (what answering without the summaries must read).

    python benchmarks/openlineage.py --events 100000 --db both
    python benchmarks/openlineage.py --events 1000000 --db sqlite

Results are printed as a table and appended to benchmarks/results/openlineage.txt.
"""

from __future__ import annotations

import argparse
import datetime as dt
import statistics
import sys
import tempfile
import time
import uuid
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from unittest import mock

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import text  # noqa: E402

from benchmarks.common import (  # noqa: E402
    Column,
    machine,
    peak_rss_mb,
    postgres_available,
    scratch_database,
    table,
)
from lineage.interop import openlineage as ol  # noqa: E402
from lineage.store import open_store  # noqa: E402
from webapp import create_app  # noqa: E402

JOB_NAMESPACES = ("airflow-finance", "airflow-sales", "airflow-ops", "spark-etl", "dbt-core")
DATASET_NAMESPACES = ("postgres://erp-db:5432", "bigquery", "s3://lake-raw", "snowflake://acme")
START = dt.datetime(2026, 11, 1, tzinfo=dt.UTC)
PRODUCER = "https://github.com/apache/airflow/tree/providers-openlineage/2.1.0"
RUN_SCHEMA = "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent"
FACET = "https://openlineage.io/spec/facets/1-0-1/"


def dataset(index: int) -> tuple[str, str]:
    return DATASET_NAMESPACES[index % 4], f"schema{index % 17}.table_{index}"


def estate(jobs: int, datasets: int) -> list[tuple[str, str, list[int], int]]:
    """(namespace, name, input dataset indexes, output dataset index) per job."""
    found = []
    for j in range(jobs):
        inputs = [(j * 7 + k * 13) % datasets for k in range(1 + j % 3)]
        found.append(
            (JOB_NAMESPACES[j % 5], f"dag_{j // 10}.task_{j}", inputs, (j * 11 + 5) % datasets)
        )
    return found


def events(count: int, jobs: int, datasets: int) -> Iterator[dict[str, Any]]:
    """``count`` events: START then COMPLETE (or FAIL) of runs of the estate's jobs in turn."""
    shape = estate(jobs, datasets)
    run = 0
    made = 0
    while made < count:
        namespace, name, inputs, output = shape[run % len(shape)]
        run_id = str(uuid.UUID(int=run + 1))
        at = START + dt.timedelta(seconds=run * 30)
        failed = run % 50 == 49
        for step, kind in ((0, "START"), (1, "FAIL" if failed else "COMPLETE")):
            if made >= count:
                return
            yield _event(namespace, name, inputs, output, run_id, at, step, kind)
            made += 1
        run += 1


def _event(
    namespace: str,
    name: str,
    inputs: list[int],
    output: int,
    run_id: str,
    at: dt.datetime,
    step: int,
    kind: str,
) -> dict[str, Any]:
    out_ns, out_name = dataset(output)
    run_facets: dict[str, Any] = {
        "nominalTime": {
            "_producer": PRODUCER,
            "_schemaURL": FACET + "NominalTimeRunFacet.json",
            "nominalStartTime": at.isoformat(),
        },
        "parent": {
            "_producer": PRODUCER,
            "_schemaURL": FACET + "ParentRunFacet.json",
            "run": {"runId": str(uuid.UUID(int=10**12 + zlib.crc32(name.encode())))},
            "job": {"namespace": namespace, "name": name.split(".", maxsplit=1)[0]},
        },
    }
    if kind == "FAIL":
        run_facets["errorMessage"] = {
            "_producer": PRODUCER,
            "_schemaURL": FACET + "ErrorMessageRunFacet.json",
            "message": "psycopg2.errors.UndefinedTable: relation does not exist",
            "programmingLanguage": "python",
        }
    output_body: dict[str, Any] = {"namespace": out_ns, "name": out_name}
    if step == 1:
        first_in = dataset(inputs[0])
        output_body["facets"] = {
            "schema": {
                "_producer": PRODUCER,
                "_schemaURL": FACET + "SchemaDatasetFacet.json",
                "fields": [
                    {"name": "id", "type": "BIGINT"},
                    {"name": "amount", "type": "NUMERIC(12,2)"},
                    {"name": "customer", "type": "VARCHAR"},
                ],
            },
            "columnLineage": {
                "_producer": PRODUCER,
                "_schemaURL": FACET + "ColumnLineageDatasetFacet.json",
                "fields": {
                    f: {
                        "inputFields": [
                            {
                                "namespace": first_in[0],
                                "name": first_in[1],
                                "field": f,
                                "transformations": [{"type": "DIRECT", "subtype": "IDENTITY"}],
                            }
                        ]
                    }
                    for f in ("id", "amount", "customer")
                },
            },
        }
    return {
        "eventType": kind,
        "eventTime": (at + dt.timedelta(seconds=step * 20)).isoformat(),
        "producer": PRODUCER,
        "schemaURL": RUN_SCHEMA,
        "run": {"runId": run_id, "facets": run_facets},
        "job": {
            "namespace": namespace,
            "name": name,
            "facets": {
                "documentation": {
                    "_producer": PRODUCER,
                    "_schemaURL": FACET + "DocumentationJobFacet.json",
                    "description": f"Airflow task {name}",
                },
                "sql": {
                    "_producer": PRODUCER,
                    "_schemaURL": FACET + "SQLJobFacet.json",
                    "query": f"INSERT INTO {out_name} SELECT * FROM {dataset(inputs[0])[1]}",
                },
            },
        },
        "inputs": [{"namespace": dataset(i)[0], "name": dataset(i)[1]} for i in inputs],
        "outputs": [output_body],
    }


def ingest(url: str, count: int, jobs: int, datasets: int, *, summaries: bool) -> float:
    """Events per second of ingesting ``count`` events into ``url``."""
    store = open_store(url)
    source = ((("<bench>", n, e)) for n, e in enumerate(events(count, jobs, datasets), 1))
    started = time.perf_counter()
    if summaries:
        result = ol.ingest_openlineage_data(store, source)
    else:
        with mock.patch.object(ol, "add_summaries", lambda conn, batch: None):
            result = ol.ingest_openlineage_data(store, source)
    took = time.perf_counter() - started
    store.close()
    assert result.accepted == count, result.rejected[:3]
    return count / took


def p50(call: Callable[[], Any], repeat: int) -> float:
    """Median milliseconds of ``repeat`` calls (after one warm-up)."""
    call()
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        call()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def raw_queries(
    dialect: str, job_ns: str, ds_ns: str, ds_name: str
) -> dict[str, tuple[str, dict[str, Any]]]:
    """The same answers as one SQL statement each over the stored events."""
    if dialect == "sqlite":
        outputs = "json_each(e.payload, '$.outputs') d"
        inputs = "json_each(e.payload, '$.inputs') d"
        ns, nm = "d.value ->> 'namespace'", "d.value ->> 'name'"
    else:
        outputs = "jsonb_array_elements(e.payload::jsonb -> 'outputs') d(value)"
        inputs = "jsonb_array_elements(e.payload::jsonb -> 'inputs') d(value)"
        ns, nm = "d.value ->> 'namespace'", "d.value ->> 'name'"
    return {
        "namespaces": (
            "SELECT job_namespace, min(event_time), max(event_time) FROM openlineage_events "
            "GROUP BY job_namespace ORDER BY job_namespace",
            {},
        ),
        "jobs": (
            "SELECT job_name, count(*), min(event_time), max(event_time) FROM openlineage_events "
            "WHERE job_namespace = :ns GROUP BY job_name ORDER BY job_name LIMIT 100",
            {"ns": job_ns},
        ),
        "datasets": (
            f"SELECT {nm} AS name, min(e.event_time), max(e.event_time) FROM openlineage_events e, "
            f"{outputs} WHERE {ns} = :ns GROUP BY 1 ORDER BY 1 LIMIT 100",
            {"ns": ds_ns},
        ),
        "lineage": (  # one level only: the jobs that read or wrote the dataset
            f"SELECT e.job_namespace, e.job_name FROM openlineage_events e, {outputs} "
            f"WHERE {ns} = :ns AND {nm} = :name UNION "
            f"SELECT e.job_namespace, e.job_name FROM openlineage_events e, {inputs} "
            f"WHERE {ns} = :ns AND {nm} = :name",
            {"ns": ds_ns, "name": ds_name},
        ),
        "unmapped": (
            "SELECT job_namespace, job_name, count(*) FROM openlineage_events "
            "GROUP BY job_namespace, job_name ORDER BY 3 DESC",
            {},
        ),
    }


def measure(backend: str, url: str, args: argparse.Namespace) -> list[list[Any]]:
    rows: list[list[Any]] = []
    with_summaries = ingest(url, args.events, args.jobs, args.datasets, summaries=True)
    with scratch_database(backend, Path(args.folder), "olraw") as bare:
        without = ingest(bare, min(args.events, 20_000), args.jobs, args.datasets, summaries=False)
    rows.append(
        [
            backend,
            "ingest (events/s)",
            f"{with_summaries:,.0f}",
            f"{without:,.0f} without summaries",
            "",
        ]
    )
    app = create_app({"DATABASE_URL": url, "TESTING": True})
    client = app.test_client()
    store = app.extensions["lineage"].store()
    job_ns, (ds_ns, ds_name) = JOB_NAMESPACES[0], dataset(5)
    node = f"dataset:{ds_ns}:{ds_name}"
    answers = {
        "namespaces": "/api/v1/namespaces",
        "jobs": f"/api/v1/namespaces/{job_ns}/jobs",
        "datasets": f"/api/v1/namespaces/{ds_ns}/datasets",
        "lineage": f"/api/v1/lineage?nodeId={node}&depth=2",
        "unmapped": "/api/v1/openlineage/unmapped",
    }
    raw = raw_queries(store.dialect, job_ns, ds_ns, ds_name)
    for name, path in answers.items():
        assert client.get(path).status_code == 200, (path, client.get(path).get_data()[:300])
        served = p50(lambda path=path: client.get(path), args.repeat)
        sql, params = raw[name]
        with store.engine.connect() as conn:
            statement = text(sql)
            raw_ms = p50(
                lambda c=conn, s=statement, p=params: c.execute(s, p).all(),
                max(3, args.repeat // 10),
            )
        rows.append(
            [
                backend,
                f"GET {name} p50 (ms)",
                f"{served:.1f}",
                f"{raw_ms:.1f} raw",
                f"{raw_ms / served:.0f}x",
            ]
        )
    rows += marquez_ui(backend, client, store, args.repeat)
    return rows


def marquez_ui(backend: str, client: Any, store: Any, repeat: int) -> list[list[Any]]:
    """p50 of what Marquez's web UI calls beyond the per-namespace listings (no raw query)."""
    with store.engine.connect() as conn:
        run_id = conn.execute(
            text("SELECT run_id FROM ol_runs ORDER BY last_at DESC LIMIT 1")
        ).scalar_one()
    week = "period=WEEK&timezone=Europe/Paris"
    answers = {
        "jobs (all, 100)": "/api/v1/jobs",
        "jobs?lastRunStates=FAILED": "/api/v1/jobs?lastRunStates=FAILED",
        "sources": "/api/v1/sources",
        "runlineage/upstream": f"/api/v1/runlineage/upstream?runId={run_id}",
        "stats/lineage-events DAY": "/api/v1/stats/lineage-events?period=DAY",
        "stats/lineage-events WEEK": f"/api/v1/stats/lineage-events?{week}",
        "stats/jobs WEEK": f"/api/v1/stats/jobs?{week}",
        "stats/datasets DAY": "/api/v1/stats/datasets?period=DAY",
        "v2beta/search/jobs": "/api/v2beta/search/jobs?q=dag_1",
    }
    rows: list[list[Any]] = []
    for name, path in answers.items():
        assert client.get(path).status_code == 200, (path, client.get(path).get_data()[:300])
        served = p50(lambda path=path: client.get(path), repeat)
        rows.append([backend, f"GET {name} p50 (ms)", f"{served:.1f}", "", ""])
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, default=100_000, help="events to ingest")
    parser.add_argument("--jobs", type=int, default=500, help="distinct jobs")
    parser.add_argument("--datasets", type=int, default=2_000, help="distinct datasets")
    parser.add_argument("--repeat", type=int, default=50, help="requests per answer")
    parser.add_argument("--db", choices=("sqlite", "postgresql", "both"), default="sqlite")
    args = parser.parse_args()
    backends = ["sqlite", "postgresql"] if args.db == "both" else [args.db]
    if "postgresql" in backends and (why := postgres_available()):
        sys.exit(f"PostgreSQL is not available: {why}")
    rows: list[list[Any]] = []
    with tempfile.TemporaryDirectory() as folder:
        args.folder = folder
        for backend in backends:
            with scratch_database(backend, Path(folder), "ol") as url:
                rows += measure(backend, url, args)
    report = (
        f"python benchmarks/openlineage.py --events {args.events} --jobs {args.jobs} "
        f"--datasets {args.datasets} --repeat {args.repeat} --db {args.db}\n"
        f"{machine()}; peak RSS {peak_rss_mb():.0f} MB\n\n"
        + table(
            [
                Column("db", "<"),
                Column("answer", "<"),
                "summaries",
                Column("raw", "<"),
                "raw/summary",
            ],
            rows,
        )
    )
    print(report)
    results = ROOT / "benchmarks" / "results" / "openlineage.txt"
    with results.open("a") as out:
        out.write(f"\n{dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC\n{report}\n")


if __name__ == "__main__":
    main()
