"""The whole OpenLineage spec 2-0-2 in: RunEvents, JobEvents and DatasetEvents accepted and
stored, an eventTime without an offset read as UTC with a warning, only truly invalid events
refused (with the reason), all of it counted by ``lineage stats`` and round-tripped by
``lineage export openlineage``."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

from click.testing import CliRunner
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from test_openlineage import CORPUS, event

from lineage.cli import main
from lineage.interop.export import export_openlineage
from lineage.interop.openlineage import ingest_openlineage, ingest_openlineage_data
from lineage.stats import count_store
from lineage.store import Store, open_store
from lineage.store.schema import from_us, observed_flows, openlineage_events

SCHEMA = "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/"


def job_event() -> dict[str, Any]:
    """A JobEvent: a job's static lineage, no run (spec 2-0-2)."""
    run = event()
    return {
        "eventTime": "2026-11-20T08:00:00Z",
        "producer": "https://example.com/etl",
        "schemaURL": SCHEMA + "JobEvent",
        "job": run["job"],
        "inputs": run["inputs"],
        "outputs": run["outputs"],
    }


def dataset_event() -> dict[str, Any]:
    """A DatasetEvent: one dataset's schema, no job."""
    return {
        "eventTime": "2026-11-20T07:00:00Z",
        "producer": "https://example.com/catalog",
        "schemaURL": SCHEMA + "DatasetEvent",
        "dataset": {
            "namespace": "ERP",
            "name": "customer",
            "facets": {
                "schema": {
                    "_producer": "https://example.com/catalog",
                    "_schemaURL": "https://openlineage.io/spec/facets/1-1-1/SchemaDatasetFacet.json",
                    "fields": [{"name": "address", "type": "VARCHAR"}],
                }
            },
        },
    }


def stored_rows(store: Store) -> list[Any]:
    with store.engine.connect() as conn:
        return list(conn.execute(select(openlineage_events).order_by(openlineage_events.c.seq)))


def test_run_job_and_dataset_events_are_all_created(app: Flask, client: FlaskClient) -> None:
    for sent in (event(), job_event(), dataset_event()):
        response = client.post("/api/v1/lineage", json=sent)
        assert response.status_code == 201, response.json
        assert response.json["accepted"] == 1
    rows = stored_rows(app.extensions["lineage"].store())
    assert [(r.run_id != "", r.job_name) for r in rows] == [
        (True, "crm_to_erp"),
        (False, "crm_to_erp"),
        (False, ""),
    ]


def test_stats_count_each_kind_and_the_flows(store: Store) -> None:
    ingest_openlineage_data(
        store, [("b", i, e) for i, e in enumerate((event(), job_event(), dataset_event()))]
    )
    counted = count_store(store).as_dict()["openlineage"]
    # the RunEvent and the JobEvent both report the address flow
    assert counted == {
        "RunEvent": 1,
        "JobEvent": 1,
        "DatasetEvent": 1,
        "observed_flows": 2,
        "unmapped": {
            "namespaces": [{"namespace": "ERP", "events": 3}, {"namespace": "CRM", "events": 2}],
            "jobs": [{"job": "etl/crm_to_erp", "events": 2}],
        },
    }


def test_stats_command_shows_the_openlineage_counts(
    runner: CliRunner, db_url: str, tmp_path: Path
) -> None:
    path = tmp_path / "events.jsonl"
    path.write_text("\n".join(json.dumps(e) for e in (event(), job_event(), dataset_event())))
    ingested = runner.invoke(main, ["ingest", "--format", "openlineage", str(path), "--db", db_url])
    assert ingested.exit_code == 0, ingested.output
    result = runner.invoke(main, ["stats", "--db", db_url])
    assert "openlineage   3" in result.stdout.splitlines()
    assert "  dataset     1" in result.stdout.splitlines()


def test_an_event_time_without_offset_is_utc_and_warned(app: Flask, client: FlaskClient) -> None:
    naive = event(eventTime="2026-11-20T09:00:00.123")
    response = client.post("/api/v1/lineage/batch", json=[event(), naive])
    assert response.status_code == 201
    assert response.json["accepted"] == 2
    assert response.json["warnings"] == [
        {
            "index": 1,
            "id": None,
            "reason": "eventTime has no offset: read as UTC (add Z or +00:00 to say so)",
        }
    ]
    rows = stored_rows(app.extensions["lineage"].store())
    assert from_us(rows[1].event_time).isoformat() == "2026-11-20T09:00:00.123000+00:00"


def test_an_offset_is_converted_to_utc(store: Store) -> None:
    ingest_openlineage_data(store, [("b", 0, event(eventTime="2026-11-20T10:00:00+01:00"))])
    [row] = stored_rows(store)
    assert from_us(row.event_time).isoformat() == "2026-11-20T09:00:00+00:00"


def test_only_truly_invalid_events_are_422_each_with_its_reason(
    app: Flask, client: FlaskClient
) -> None:
    no_time = event()
    del no_time["eventTime"]
    run_without_id = event()
    del run_without_id["run"]["runId"]
    bad_type = event() | {"eventType": "FINISHED"}
    dataset_without_name = dataset_event()
    del dataset_without_name["dataset"]["name"]
    response = client.post(
        "/api/v1/lineage/batch",
        json=[
            no_time,
            run_without_id,
            bad_type,
            dataset_without_name,
            {"hello": 1},
            [],
        ],
    )
    assert response.status_code == 422
    reasons = [e["reason"] for e in response.json["errors"]]
    assert reasons[0].startswith("eventTime: Field required")
    assert reasons[1].startswith("run.runId: Field required")
    assert reasons[2].startswith("eventType: Input should be 'START', 'RUNNING', 'COMPLETE'")
    assert reasons[3].startswith("dataset.name: Field required")
    assert reasons[4] == (
        "not an OpenLineage event: a RunEvent has run and job, a JobEvent job, "
        "a DatasetEvent dataset"
    )
    assert reasons[5] == "an OpenLineage event is a JSON object, not list"
    assert [e["index"] for e in response.json["errors"]] == list(range(6))


def test_export_round_trips_what_came_in(store: Store, tmp_path: Path) -> None:
    lines = [
        (path.name, number, line)
        for path in CORPUS
        for number, line in enumerate(path.read_bytes().splitlines(), start=1)
    ]
    lines += [("own", i, json.dumps(e)) for i, e in enumerate((job_event(), dataset_event()))]
    first = ingest_openlineage(store, lines)
    assert first.rejected == []
    out = io.StringIO()
    written = export_openlineage(store, out)
    assert written == first.accepted
    again = open_store(f"sqlite:///{tmp_path / 'again.db'}")
    try:
        second = ingest_openlineage(
            again, [("export", n, text) for n, text in enumerate(out.getvalue().splitlines())]
        )
        assert (second.accepted, second.rejected) == (first.accepted, [])
        assert [r.digest for r in stored_rows(again)] == [r.digest for r in stored_rows(store)]
        assert count_store(again).observed_flows == count_store(store).observed_flows > 0
    finally:
        again.close()
    with store.engine.connect() as conn:
        assert conn.execute(select(observed_flows.c.job).limit(1)).scalar_one()
