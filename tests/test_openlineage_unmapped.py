"""What the mapping does not cover yet, over HTTP: GET /api/v1/openlineage/unmapped and the
/openlineage page, most seen first, so a user can map them."""

from __future__ import annotations

from flask import Flask
from flask.testing import FlaskClient
from test_openlineage import event

from lineage.model import Registry, System
from lineage.model.registry import Pattern


def test_unmapped_namespaces_and_jobs_are_listed_with_counts(
    app: Flask, client: FlaskClient
) -> None:
    store = app.extensions["lineage"].store()
    store.save_registry(
        Registry(systems=(System(name="CRM", openlineage_namespaces=(Pattern(pattern="CRM"),)),))
    )
    other = event()
    other["job"] = {"namespace": "spark", "name": "nightly"}
    response = client.post(
        "/api/v1/lineage/batch", json=[event(), other, event(eventTime="2026-11-21T00:00:00Z")]
    )
    assert response.status_code == 201
    answer = client.get("/api/v1/openlineage/unmapped")
    assert answer.status_code == 200
    assert answer.json == {
        "namespaces": [{"namespace": "ERP", "events": 3}],
        "jobs": [{"job": "etl/crm_to_erp", "events": 2}, {"job": "spark/nightly", "events": 1}],
    }
    page = client.get("/openlineage")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "<code>spark/nightly</code>" in html
    assert "<code>ERP</code>" in html
    assert "<code>CRM</code>" not in html  # mapped


def test_with_nothing_received_the_page_says_so(client: FlaskClient) -> None:
    html = client.get("/openlineage").get_data(as_text=True)
    assert "Every namespace seen is mapped to a system." in html
    assert client.get("/api/v1/openlineage/unmapped").json == {"namespaces": [], "jobs": []}


def test_the_system_map_draws_observed_edges_and_marks_an_undeclared_one(
    app: Flask, client: FlaskClient
) -> None:
    store = app.extensions["lineage"].store()
    store.save_registry(
        Registry(
            systems=(
                System(name="CRM", openlineage_namespaces=(Pattern(pattern="CRM"),)),
                System(name="ERP", openlineage_namespaces=(Pattern(pattern="ERP"),)),
            )
        )
    )
    before = client.get("/").get_data(as_text=True)
    assert "observed" not in before
    assert client.post("/api/v1/lineage", json=event()).status_code == 201
    html = client.get("/").get_data(as_text=True)
    assert "observed, UNDECLARED by OpenLineage jobs: etl/crm_to_erp" in html
    dot = client.get("/api/v1/graph/system-map.dot").get_data(as_text=True)
    assert 'style="dotted"' in dot
    assert 'penwidth="2.5"' in dot  # the undeclared edge stands out
