"""Real events from other producers (Marquez's fixtures, the Python client, dbt-ol, the
OpenLineage proxy; tests/conformance/producers/ORIGIN.md): every one accepted except those the
spec forbids, each refusal with its reason."""

from __future__ import annotations

import json
from pathlib import Path

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from lineage.interop.openlineage import NAIVE_TIME, ingest_openlineage
from lineage.stats import count_store
from lineage.store import Store
from lineage.store.schema import openlineage_events

PRODUCERS = Path(__file__).resolve().parent / "conformance" / "producers"
FILES = sorted(PRODUCERS.glob("*/*.jsonl"))

REFUSED = {
    # the proxy's own negative cases: a run without its id, a parent run without its id
    "openlineage-proxy/event_no_run_id.jsonl:1": "run.runId: Field required",
    "openlineage-proxy/event_invalid_run_facet.jsonl:1": (
        "run.facets.parent.run.runId: Field required"
    ),
    # Flink's expected events are json-unit matchers, not events: "${json-unit.any-string}"
    # is no date-time (the spec's eventTime is format date-time)
    "flink/flink1_expected_kafka.jsonl:1": (
        "eventTime: Input should be a valid datetime or date, invalid character in year"
    ),
}
"""Every event refused, with its reason; all others must be accepted."""

WITHOUT_OFFSET = [
    "marquez/open_lineage_event_required_no_timezone.jsonl:1",
    "openlineage-python/serde_example_dataset_event.jsonl:1",
    "openlineage-python/serde_example_job_event.jsonl:1",
    "openlineage-python/serde_example_run_event.jsonl:1",
]


def lines() -> list[tuple[str, int, bytes]]:
    return [
        (f"{path.parent.name}/{path.name}", number, text)
        for path in FILES
        for number, text in enumerate(path.read_bytes().splitlines(), start=1)
    ]


def test_the_corpus_holds_several_producers_with_their_origin() -> None:
    assert {path.parent.name for path in FILES} == {
        "dbt",
        "flink",
        "marquez",
        "openlineage-proxy",
        "openlineage-python",
        "spark",
    }
    origin = (PRODUCERS / "ORIGIN.md").read_text()
    for path in FILES:
        assert f"`{path.parent.name}/{path.name}`" in origin


def test_every_event_is_accepted_but_those_the_spec_forbids(store: Store) -> None:
    sent = lines()
    result = ingest_openlineage(store, sent)
    assert {f"{r.source}:{r.line}": r.reason for r in result.rejected} == REFUSED
    assert [f"{w.source}:{w.line}" for w in result.warnings] == WITHOUT_OFFSET
    assert {w.reason for w in result.warnings} == {NAIVE_TIME}
    # the proxy's event_simple is Marquez's event_simple, byte for byte: stored once
    assert (result.accepted, result.duplicate) == (len(sent) - len(REFUSED) - 1, 1)
    counted = count_store(store).openlineage
    assert counted["RunEvent"] > 0
    assert counted["JobEvent"] == 2  # Marquez's and the Python client's
    assert counted["DatasetEvent"] == 2
    with store.engine.connect() as conn:
        failed = conn.execute(
            select(openlineage_events.c.job_name).where(openlineage_events.c.event_type == "FAIL")
        ).all()
    assert len(failed) >= 2  # dbt-ol's failed model runs on Postgres and Snowflake


def test_the_corpus_over_http_is_created_naming_only_the_forbidden(
    app: Flask, client: FlaskClient
) -> None:
    sent = lines()
    response = client.post("/api/v1/lineage/batch", json=[json.loads(t) for _, _, t in sent])
    assert response.status_code == 201
    refused = {
        f"{sent[e['index']][0]}:{sent[e['index']][1]}": e["reason"] for e in response.json["errors"]
    }
    assert refused == REFUSED
    assert len(response.json["warnings"]) == len(WITHOUT_OFFSET)
