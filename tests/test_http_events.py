"""POST /api/v1/events on the real app against a real store (SQLite and PostgreSQL)."""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from lineage.store.schema import events, hop_status
from webapp import create_app

WRITE = {
    "kind": "write",
    "id": "w-1",
    "system": "CRM",
    "element": "customer.address",
    "record": "C-1042",
    "value": "12 Main St",
    "at": "2026-11-20T09:00:00Z",
    "actor": "carol",
}
HOP = {
    "kind": "hop",
    "id": "h-77",
    "integration": "crm-to-erp-customers",
    "at": "2026-11-20T09:05:00Z",
    "inputs": [
        {"system": "CRM", "element": "customer.address", "record": "C-1042", "value": "12 Main St"}
    ],
    "output": {
        "system": "ERP",
        "element": "customer.address",
        "record": "40017",
        "value": "12 MAIN ST",
    },
    "transform": "upper",
    "status": "sent",
}
SNAPSHOT = {
    "kind": "snapshot",
    "id": "s-1",
    "system": "ERP",
    "element": "customer.address",
    "record": "40017",
    "value": "12 MAIN ST",
    "at": "2026-11-21T00:00:00Z",
}


def stored(app: Flask, table: Any = events) -> int:
    store = app.extensions["lineage"].store()
    with store.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(table)).scalar_one())


def test_one_event_is_recorded_and_counted_accepted(app: Flask, client: FlaskClient) -> None:
    response = client.post("/api/v1/events", json=WRITE)
    assert response.status_code == 200
    assert response.json == {
        "accepted": 1,
        "duplicate": 0,
        "status_updates": 0,
        "rejected": 0,
        "errors": [],
        "warnings": [],
    }
    assert stored(app) == 1


def test_a_list_is_recorded_in_one_request(app: Flask, client: FlaskClient) -> None:
    response = client.post("/api/v1/events", json=[WRITE, HOP, SNAPSHOT])
    assert response.status_code == 200
    assert response.json["accepted"] == 3
    assert stored(app) == 3


def test_resending_events_changes_nothing(app: Flask, client: FlaskClient) -> None:
    client.post("/api/v1/events", json=[WRITE, HOP, SNAPSHOT])
    again = client.post("/api/v1/events", json=[WRITE, HOP, SNAPSHOT])
    assert again.status_code == 200
    assert again.json["accepted"] == 0
    assert again.json["duplicate"] == 3
    assert stored(app) == 3


def test_a_later_status_of_a_known_hop_is_a_status_update(app: Flask, client: FlaskClient) -> None:
    client.post("/api/v1/events", json=HOP)
    delivered = {**HOP, "status": "delivered", "at": "2026-11-20T09:06:00Z"}
    response = client.post("/api/v1/events", json=delivered)
    assert response.status_code == 200
    assert response.json["status_updates"] == 1
    assert stored(app) == 1
    assert stored(app, hop_status) == 1


def test_good_events_are_kept_and_bad_ones_listed_by_position(
    app: Flask, client: FlaskClient
) -> None:
    bad = {**SNAPSHOT, "id": "s-bad", "at": "yesterday"}
    response = client.post("/api/v1/events", json=[WRITE, bad, HOP])
    assert response.status_code == 200
    body = response.json
    assert (body["accepted"], body["rejected"]) == (2, 1)
    [error] = body["errors"]
    assert error["index"] == 1
    assert error["id"] == "s-bad"
    assert "at" in error["reason"]
    assert stored(app) == 2


def test_a_batch_without_one_valid_event_is_422_with_reasons(
    app: Flask, client: FlaskClient
) -> None:
    response = client.post("/api/v1/events", json=[{"kind": "write"}, {"kind": "teleport"}])
    assert response.status_code == 422
    assert response.json["rejected"] == 2
    assert [e["index"] for e in response.json["errors"]] == [0, 1]
    assert "system" in response.json["errors"][0]["reason"]
    assert stored(app) == 0


def test_an_id_resent_with_other_content_is_rejected_as_a_conflict(client: FlaskClient) -> None:
    client.post("/api/v1/events", json=WRITE)
    response = client.post("/api/v1/events", json={**WRITE, "value": "13 Side St"})
    assert response.status_code == 422
    assert "different content" in response.json["errors"][0]["reason"]
    assert response.json["errors"][0]["id"] == "w-1"


def test_malformed_json_is_400_with_a_json_error(client: FlaskClient) -> None:
    response = client.post(
        "/api/v1/events", data='{"kind": "write",', content_type="application/json"
    )
    assert response.status_code == 400
    assert "not JSON" in response.json["error"]


def test_an_empty_body_is_400(client: FlaskClient) -> None:
    response = client.post("/api/v1/events", data=b"")
    assert response.status_code == 400
    assert "empty" in response.json["error"]


def test_gzip_bodies_are_read(app: Flask, client: FlaskClient) -> None:
    body = gzip.compress(json.dumps([WRITE, SNAPSHOT]).encode())
    response = client.post(
        "/api/v1/events",
        data=body,
        headers={"Content-Encoding": "gzip", "Content-Type": "application/json"},
    )
    assert response.status_code == 200
    assert response.json["accepted"] == 2


def test_an_unknown_content_encoding_is_415(client: FlaskClient) -> None:
    response = client.post("/api/v1/events", data=b"xx", headers={"Content-Encoding": "br"})
    assert response.status_code == 415
    assert "gzip" in response.json["error"]


def small_app(db_url: str, limit: int) -> Flask:
    return create_app({"TESTING": True, "DATABASE_URL": db_url, "MAX_CONTENT_LENGTH": limit})


def test_a_body_over_the_limit_is_413_and_records_nothing(db_url: str) -> None:
    app = small_app(db_url, 2000)
    big = [{**WRITE, "id": f"w-{i}", "record": f"C-{i}"} for i in range(50)]
    response = app.test_client().post("/api/v1/events", json=big)
    assert response.status_code == 413
    assert "error" in response.json
    assert stored(app) == 0
    app.extensions["lineage"].close()


def test_a_gzip_body_that_inflates_past_the_limit_is_413(db_url: str) -> None:
    app = small_app(db_url, 2000)
    padding = {**WRITE, "value": "x" * 50_000}
    body = gzip.compress(json.dumps(padding).encode())
    assert len(body) < 2000
    response = app.test_client().post(
        "/api/v1/events", data=body, headers={"Content-Encoding": "gzip"}
    )
    assert response.status_code == 413
    assert "decompressed" in response.json["error"]
    app.extensions["lineage"].close()


@pytest.fixture
def guarded(db_url: str) -> Any:
    app = create_app({"TESTING": True, "DATABASE_URL": db_url, "API_TOKEN": "s3cret-token"})
    yield app
    app.extensions["lineage"].close()


def test_writing_without_the_token_is_401(guarded: Flask) -> None:
    response = guarded.test_client().post("/api/v1/events", json=WRITE)
    assert response.status_code == 401
    assert "Bearer" in response.json["error"]
    assert response.headers["WWW-Authenticate"].lower().startswith("bearer")
    assert stored(guarded) == 0


def test_writing_with_a_wrong_token_is_401(guarded: Flask) -> None:
    for header in ("Bearer not-it", "Basic czNjcmV0LXRva2Vu", "s3cret-token"):
        response = guarded.test_client().post(
            "/api/v1/events", json=WRITE, headers={"Authorization": header}
        )
        assert response.status_code == 401, header
    assert stored(guarded) == 0


def test_writing_with_the_token_is_accepted(guarded: Flask) -> None:
    response = guarded.test_client().post(
        "/api/v1/events", json=WRITE, headers={"Authorization": "Bearer s3cret-token"}
    )
    assert response.status_code == 200
    assert stored(guarded) == 1


def test_the_token_is_checked_before_the_body_is_read(db_url: str) -> None:
    app = create_app(
        {"TESTING": True, "DATABASE_URL": db_url, "API_TOKEN": "t", "MAX_CONTENT_LENGTH": 10}
    )
    response = app.test_client().post("/api/v1/events", data="x" * 100)
    assert response.status_code == 401


def test_reading_needs_no_token(guarded: Flask) -> None:
    assert guarded.test_client().get("/api/v1/openapi.json").status_code == 200


def test_a_store_that_cannot_be_opened_is_503_json(tmp_path: Path) -> None:
    app = create_app(
        {"TESTING": True, "DATABASE_URL": f"sqlite:///{tmp_path / 'missing' / 'x.db'}"}
    )
    response = app.test_client().post("/api/v1/events", json=WRITE)
    assert response.status_code == 503
    assert response.json["error"].startswith("the store is unavailable")
    assert "Retry-After" in response.headers


def test_an_unreachable_postgres_is_503_json() -> None:
    app = create_app({"TESTING": True, "DATABASE_URL": "postgresql://postgres@127.0.0.1:1/none"})
    response = app.test_client().post("/api/v1/events", json=WRITE)
    assert response.status_code == 503
    assert "unavailable" in response.json["error"]
