"""OpenLineage over HTTP: POST /api/v1/lineage(/batch) in, GET /api/v1/lineage out."""

from __future__ import annotations

import gzip
import json
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from live_server import serving
from sqlalchemy import func, select
from test_openlineage import CORPUS, assert_valid_openlineage, event, input_fields_in

from lineage.model import Carry, Element, Integration, Registry, System
from lineage.store.schema import observed_flows, openlineage_events
from webapp import create_app


def count(app: Flask, table: Any) -> int:
    store = app.extensions["lineage"].store()
    with store.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(table)).scalar_one())


def corpus_events() -> list[dict[str, Any]]:
    return [
        json.loads(line)
        for path in CORPUS
        for line in path.read_text().splitlines()
        if line.strip()
    ]


def test_one_event_is_created(app: Flask, client: FlaskClient) -> None:
    response = client.post("/api/v1/lineage", json=event())
    assert response.status_code == 201
    assert response.json["accepted"] == 1
    assert count(app, observed_flows) == 1


def test_a_gzip_event_is_created(app: Flask, client: FlaskClient) -> None:
    body = gzip.compress(json.dumps(event()).encode(), compresslevel=3)
    response = client.post(
        "/api/v1/lineage",
        data=body,
        headers={"Content-Type": "application/json", "Content-Encoding": "gzip"},
    )
    assert response.status_code == 201
    assert count(app, openlineage_events) == 1


def test_the_corpus_as_one_batch_is_created_with_every_flow(
    app: Flask, client: FlaskClient
) -> None:
    batch = corpus_events()
    response = client.post("/api/v1/lineage/batch", json=batch)
    assert response.status_code == 201
    assert (response.json["accepted"], response.json["rejected"]) == (len(batch), 0)
    assert count(app, observed_flows) == sum(input_fields_in(p) for p in CORPUS)


def test_resending_a_batch_changes_nothing(app: Flask, client: FlaskClient) -> None:
    client.post("/api/v1/lineage/batch", json=corpus_events())
    before = count(app, observed_flows)
    again = client.post("/api/v1/lineage/batch", json=corpus_events())
    assert again.status_code == 201
    assert again.json["accepted"] == 0
    assert again.json["duplicate"] == len(corpus_events())
    assert count(app, observed_flows) == before


def test_an_event_without_a_job_is_422_with_the_reason(app: Flask, client: FlaskClient) -> None:
    broken = event()
    del broken["job"]
    response = client.post("/api/v1/lineage", json=broken)
    assert response.status_code == 422
    assert response.json["errors"][0]["reason"].startswith("job")
    assert count(app, openlineage_events) == 0


def test_a_batch_keeps_its_good_events(app: Flask, client: FlaskClient) -> None:
    response = client.post("/api/v1/lineage/batch", json=[event(), {"eventTime": "x"}])
    assert response.status_code == 201
    assert (response.json["accepted"], response.json["rejected"]) == (1, 1)
    assert response.json["errors"][0]["index"] == 1


def test_posting_lineage_needs_the_token_when_one_is_set(db_url: str) -> None:
    app = create_app({"TESTING": True, "DATABASE_URL": db_url, "API_TOKEN": "ol-token"})
    client = app.test_client()
    assert client.post("/api/v1/lineage", json=event()).status_code == 401
    ok = client.post("/api/v1/lineage", json=event(), headers={"Authorization": "Bearer ol-token"})
    assert ok.status_code == 201
    app.extensions["lineage"].close()


def test_the_openlineage_python_client_delivers_gzip_events_with_its_token(db_url: str) -> None:
    client_module = pytest.importorskip("openlineage.client")
    ol = pytest.importorskip("openlineage.client.event_v2")
    http = pytest.importorskip("openlineage.client.transport.http")

    app = create_app({"DATABASE_URL": db_url, "API_TOKEN": "ol-token"})
    with serving(app) as url:
        config = http.HttpConfig.from_dict(
            {
                "url": url,
                "compression": "gzip",
                "timeout": 5,
                "auth": {"type": "api_key", "apiKey": "ol-token"},
            }
        )
        client = client_module.OpenLineageClient(transport=http.HttpTransport(config))
        sent = ol.RunEvent(
            eventType=ol.RunState.COMPLETE,
            eventTime="2026-11-20T09:00:00.000Z",
            run=ol.Run(runId="0191b5f2-0000-7000-8000-00000000000a"),
            job=ol.Job(namespace="etl", name="nightly"),
            producer="https://example.com/etl",
        )
        client.emit(sent)
    with app.extensions["lineage"].store().engine.connect() as conn:
        payload = json.loads(conn.execute(select(openlineage_events.c.payload)).scalar_one())
    assert payload["job"] == {"namespace": "etl", "name": "nightly", "facets": {}}
    assert_valid_openlineage(payload)
    app.extensions["lineage"].close()


# -- GET /api/v1/lineage: Marquez's graph shape ---------------------------------------------


def by_id(graph: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {node["id"]: node for node in graph["graph"]}


def test_the_graph_around_a_dataset_has_marquez_shape(client: FlaskClient) -> None:
    client.post("/api/v1/lineage", json=event())
    response = client.get("/api/v1/lineage", query_string={"nodeId": "dataset:ERP:customer"})
    assert response.status_code == 200
    nodes = by_id(response.json)
    assert set(nodes) == {"dataset:CRM:customer", "job:etl:crm_to_erp", "dataset:ERP:customer"}
    job = nodes["job:etl:crm_to_erp"]
    assert job["type"] == "JOB"
    assert job["data"]["inputs"] == [{"namespace": "CRM", "name": "customer"}]
    assert job["data"]["outputs"] == [{"namespace": "ERP", "name": "customer"}]
    assert job["inEdges"] == [
        {"origin": "dataset:CRM:customer", "destination": "job:etl:crm_to_erp"}
    ]
    assert job["outEdges"] == [
        {"origin": "job:etl:crm_to_erp", "destination": "dataset:ERP:customer"}
    ]
    target = nodes["dataset:ERP:customer"]
    assert target["type"] == "DATASET"
    assert target["data"]["id"] == {"namespace": "ERP", "name": "customer"}
    assert [f["name"] for f in target["data"]["fields"]] == ["address"]
    assert target["data"]["updatedAt"] == "2026-11-20T09:00:00Z"


def test_depth_limits_how_far_the_graph_goes(client: FlaskClient) -> None:
    client.post("/api/v1/lineage", json=event())
    near = client.get("/api/v1/lineage?nodeId=dataset:ERP:customer&depth=1").json
    assert set(by_id(near)) == {"dataset:ERP:customer", "job:etl:crm_to_erp"}
    alone = client.get("/api/v1/lineage?nodeId=dataset:ERP:customer&depth=0").json
    assert [n["id"] for n in alone["graph"]] == ["dataset:ERP:customer"]
    assert alone["graph"][0]["inEdges"] == []


def test_namespaces_with_colons_are_found(client: FlaskClient) -> None:
    client.post("/api/v1/lineage/batch", json=corpus_events())
    response = client.get("/api/v1/lineage?nodeId=job:default:createtable_as_select.test.xxx")
    assert response.status_code == 200
    assert "dataset:hive://localhost:9083:test.t1" in by_id(response.json)


def test_declared_integrations_are_jobs_of_the_registry(app: Flask, client: FlaskClient) -> None:
    app.extensions["lineage"].store().save_registry(
        Registry(
            systems=(
                System(name="CRM", owner="a@example.com"),
                System(name="ERP", owner="b@example.com"),
            ),
            elements=(
                Element(
                    name="customer.address",
                    system_of_origin="CRM",
                    system_of_record="CRM",
                    owner="c@example.com",
                ),
            ),
            integrations=(
                Integration(
                    name="crm-to-erp-customers",
                    source="CRM",
                    target="ERP",
                    purpose="Invoices go to the current address",
                    carries=(Carry(element="customer.address", transform="upper"),),
                ),
            ),
        )
    )
    response = client.get("/api/v1/lineage?nodeId=job:registry:crm-to-erp-customers")
    assert response.status_code == 200
    nodes = by_id(response.json)
    job = nodes["job:registry:crm-to-erp-customers"]
    assert job["data"]["description"] == "Invoices go to the current address"
    assert nodes["dataset:ERP:customer"]["data"]["fields"] == [
        {"name": "address", "type": "string", "tags": []}
    ]


@pytest.mark.parametrize(
    "query",
    [
        {},
        {"nodeId": "customer"},
        {"nodeId": "dataset:ERP"},
        {"nodeId": "dataset:ERP:customer", "depth": "deep"},
        {"nodeId": "dataset:ERP:customer", "depth": "-1"},
    ],
)
def test_a_bad_node_id_or_depth_is_400(client: FlaskClient, query: dict[str, str]) -> None:
    response = client.get("/api/v1/lineage", query_string=query)
    assert response.status_code == 400
    assert response.json["code"] == 400  # Marquez's error shape
    assert response.json["message"]


def test_an_unknown_node_is_404(client: FlaskClient) -> None:
    response = client.get("/api/v1/lineage?nodeId=dataset:ERP:nothing")
    assert response.status_code == 404
    assert response.json["code"] == 404
    assert "dataset:ERP:nothing" in response.json["message"]


def test_events_arriving_later_show_in_the_graph(client: FlaskClient) -> None:
    client.post("/api/v1/lineage", json=event())
    client.get("/api/v1/lineage?nodeId=dataset:ERP:customer")
    later = event(
        job={"namespace": "etl", "name": "erp_to_bi"},
        inputs=[{"namespace": "ERP", "name": "customer"}],
        outputs=[{"namespace": "BI", "name": "customer"}],
    )
    client.post("/api/v1/lineage", json=later)
    nodes = by_id(client.get("/api/v1/lineage?nodeId=dataset:CRM:customer").json)
    assert "dataset:BI:customer" in nodes
