"""The OpenLineage summary tables (migration 0008) answer exactly what one pass over the
stored events answers: kept on ingest however the events are batched, built by the
migration for events stored before it, and left for the events when a question is about
the past."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import sqlalchemy as sa
from alembic import command
from corpus import CORPUS
from test_openlineage import event

from lineage.interop.observed import Observed, _observe_events, observe
from lineage.interop.openlineage import ingest_openlineage, ingest_openlineage_data
from lineage.store import Store, open_store
from lineage.store.database import _alembic_config
from lineage.store.schema import (
    ol_dataset_versions,
    ol_datasets,
    ol_field_edges,
    ol_job_io,
    ol_jobs,
    ol_namespaces,
    ol_run_io,
    ol_runs,
)

PRODUCERS = sorted(
    (Path(__file__).resolve().parent / "conformance" / "producers").glob("*/*.jsonl")
)
SUMMARIES = (
    ol_namespaces,
    ol_jobs,
    ol_datasets,
    ol_dataset_versions,
    ol_job_io,
    ol_runs,
    ol_run_io,
    ol_field_edges,
)
FOREVER = 253_402_300_799_000_000  # 9999-12-31T23:59:59Z


def every_line() -> list[tuple[str, int, bytes]]:
    return [
        (path.name, number, text)
        for path in [*CORPUS, *PRODUCERS]
        for number, text in enumerate(path.read_bytes().splitlines(), start=1)
    ]


def summaries(store: Store) -> dict[str, list[tuple[Any, ...]]]:
    with store.engine.connect() as conn:
        return {
            table.name: sorted(tuple(row) for row in conn.execute(sa.select(table)))
            for table in SUMMARIES
        }


def comparable(seen: Observed) -> dict[str, Any]:
    return {
        "namespaces": seen.namespaces,
        "jobs": {
            name: (
                job.events,
                job.first,
                job.last,
                job.inputs,
                job.outputs,
                job.flows,
                job.runs,
                [(r.run_id, r.state, r.at, r.error, r.language) for r in job.failed_runs()],
            )
            for name, job in seen.jobs.items()
        },
    }


def test_the_summaries_answer_what_a_pass_over_every_event_answers(store: Store) -> None:
    result = ingest_openlineage(store, every_line())
    assert result.accepted > 80
    with store.engine.connect() as conn:
        summed = comparable(observe(conn))
        read = comparable(_observe_events(conn, FOREVER))
    assert summed == read
    assert len(summed["jobs"]) > 25
    assert any(job[-1] for job in summed["jobs"].values())  # failed runs are among them


def test_events_sent_one_at_a_time_sum_up_as_the_migration_sums_them_up(db_url: str) -> None:
    store = open_store(db_url)
    lines = every_line()
    for line in lines[:60]:  # one transaction per event: every merge path is taken
        ingest_openlineage(store, [line])
    ingest_openlineage(store, lines[60:])
    kept = summaries(store)
    assert len(kept["ol_jobs"]) > 25 and len(kept["ol_runs"]) > 25
    with store.engine.begin() as conn:
        cfg = _alembic_config()
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0008_scope_indexes")
    store.close()
    upgraded = open_store(db_url)  # migrates: 0008 builds the summaries from the events
    try:
        assert summaries(upgraded) == kept
    finally:
        upgraded.close()


def test_a_question_about_the_past_reads_the_events_up_to_then(store: Store) -> None:
    start = event(eventTime="2026-11-20T09:00:00Z", eventType="START")
    failed = event(eventTime="2026-11-20T10:00:00Z", eventType="FAIL")
    failed["run"] = {
        **failed["run"],
        "facets": {"errorMessage": {"message": "disk full", "programmingLanguage": "python"}},
    }
    ingest_openlineage_data(store, [("<t>", 1, start), ("<t>", 2, failed)])
    nine_thirty = 1_795_167_000_000_000  # 2026-11-20T09:30:00Z
    with store.engine.connect() as conn:
        now = observe(conn)
        then = observe(conn, as_of=nine_thirty)
    job = "etl/crm_to_erp"
    assert [(r.state, r.error) for r in now.jobs[job].failed_runs()] == [("FAIL", "disk full")]
    assert then.jobs[job].failed_runs() == []
    assert then.jobs[job].events == 1 and now.jobs[job].events == 2
