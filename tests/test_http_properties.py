"""Property-based: requests generated from /api/v1/openapi.json (schemathesis), against the
real app on a real store holding the demo company. Whatever a client sends, the API answers
no 5xx, and only status codes, media types and bodies that the document describes."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
import schemathesis
from click.testing import CliRunner
from flask import Flask
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)
from sqlalchemy import select

from lineage.cli import main
from lineage.store import open_store
from lineage.store.schema import events, hop_status
from webapp import create_app

DEMO = Path(__file__).resolve().parent.parent / "lineage" / "fixtures" / "demo"
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
EXAMPLES = 25
"""Examples per operation and mode: the whole run stays well under a minute."""


def _database(request: pytest.FixtureRequest, folder: Path) -> Iterator[str]:
    """A fresh database of the requested backend for the whole module, dropped afterwards."""
    if request.param == "sqlite":
        yield f"sqlite:///{folder / 'lineage.db'}"
        return
    server: str = request.getfixturevalue("postgres_server")
    name = f"lineage_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(server, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"{server.rsplit('/', 1)[0]}/{name}"
    finally:
        with psycopg.connect(server, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _load_demo(url: str) -> None:
    runner = CliRunner()
    for args in (
        ["load", "--db", url, str(DEMO / "registry")],
        ["ingest", "--db", url, str(DEMO / "events.jsonl")],
    ):
        result = runner.invoke(main, args)
        assert result.exit_code == 0, result.output


BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]


@pytest.fixture(scope="module", params=BACKENDS)
def demo_url(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """The demo company, which the generated requests may write into."""
    for url in _database(request, tmp_path_factory.mktemp("api")):
        _load_demo(url)
        yield url


@pytest.fixture(scope="module", params=BACKENDS)
def quiet_url(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """The demo company, only read."""
    for url in _database(request, tmp_path_factory.mktemp("read")):
        _load_demo(url)
        yield url


@pytest.fixture(scope="module")
def demo_app(demo_url: str) -> Iterator[Flask]:
    app = create_app({"TESTING": True, "DATABASE_URL": demo_url, "API_TOKEN": None})
    try:
        yield app
    finally:
        app.extensions["lineage"].close()


@pytest.fixture(scope="module")
def api_schema(demo_app: Flask) -> schemathesis.BaseSchema:
    return schemathesis.openapi.from_wsgi("/api/v1/openapi.json", demo_app)


def test_every_answer_is_documented_and_none_is_a_server_error(
    api_schema: schemathesis.BaseSchema,
) -> None:
    # Each operation drawn in hand rather than through schemathesis.pytest.from_fixture, which
    # rewrites the test item's private _nodeid (gone in pytest 9.2: AttributeError).
    operations = [result.ok() for result in api_schema.get_all_operations()]
    assert len(operations) >= 20
    for operation in operations:
        cases = st.one_of([operation.as_strategy(generation_mode=mode) for mode in GenerationMode])

        @given(case=cases)
        @settings(
            max_examples=EXAMPLES,
            deadline=None,
            derandomize=True,
            phases=[Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
        def answer(case: schemathesis.Case) -> None:
            case.call_and_validate(checks=CHECKS)

        try:
            answer()
        except AssertionError as exc:
            exc.add_note(f"operation: {operation.label}")
            raise


EARLY = "2000-01-01T00:00:00Z"
PLACE_READS = [
    "/api/v1/trace",
    "/api/v1/impact",
    "/api/v1/graph/trace.svg",
    "/api/v1/graph/trace.dot",
    "/api/v1/graph/impact.svg",
    "/api/v1/graph/impact.dot",
]


@pytest.fixture(scope="module")
def quiet_schema(quiet_url: str) -> Iterator[schemathesis.BaseSchema]:
    app = create_app({"TESTING": True, "DATABASE_URL": quiet_url, "API_TOKEN": None})
    try:
        yield schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    finally:
        app.extensions["lineage"].close()


@pytest.fixture(scope="module")
def places(quiet_url: str) -> list[tuple[str, str, str]]:
    store = open_store(quiet_url)
    try:
        with store.engine.connect() as conn:
            failed = select(hop_status.c.event_id).where(hop_status.c.status == "failed")
            rows = conn.execute(  # places some event left a value in (not only failed hops)
                select(events.c.system, events.c.element, events.c.record)
                .where(events.c.status.is_distinct_from("failed"))
                .where(events.c.event_id.not_in(failed))
                .distinct()
            )
            return sorted((r.system, r.element, r.record) for r in rows)
    finally:
        store.close()


def test_answers_about_places_the_store_knows_match_their_documented_shapes(
    quiet_schema: schemathesis.BaseSchema, places: list[tuple[str, str, str]]
) -> None:
    # Generated names rarely hit a known place; these requests ask about real ones, so the
    # 200 bodies (trace, impact, golden, drawings) are checked against the document too.
    @given(
        place=st.sampled_from(places),
        path=st.sampled_from([*PLACE_READS, "/api/v1/golden", "/api/v1/findings"]),
        as_of=st.sampled_from([None, "2030-01-01", EARLY]),
    )
    @settings(max_examples=EXAMPLES * 2, deadline=None, derandomize=True)
    def ask(place: tuple[str, str, str], path: str, as_of: str | None) -> None:
        system, element, record = place
        query = {"system": system, "element": element, "record": record}
        if path == "/api/v1/golden":
            del query["element"]
        elif path == "/api/v1/findings":
            del query["record"]
        if as_of is not None:
            query["as_of"] = as_of
        response = quiet_schema[path]["GET"].Case(query=query).call_and_validate(checks=CHECKS)
        # before the demo's first event nothing is known yet: 404, as documented
        expected = 404 if as_of == EARLY and "findings" not in path else 200
        assert response.status_code == expected, (path, query, response.text)

    ask()


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/api/v1/events", [{"kind": "write", "system": "CRM"}]),
        ("/api/v1/lineage", {"eventType": "COMPLETE"}),
        ("/api/v1/lineage/batch", [{"eventType": "COMPLETE"}]),
    ],
)
def test_a_write_with_only_bad_events_answers_the_documented_422(
    api_schema: schemathesis.BaseSchema, path: str, body: object
) -> None:
    operation = api_schema[path]["POST"]
    response = operation.Case(body=body, media_type="application/json").call()
    assert response.status_code == 422
    answer = response.json()
    assert answer["rejected"] == 1 and answer["errors"][0]["index"] == 0
    assert answer["errors"][0]["reason"]
    operation.validate_response(response)  # the body is what openapi.json says a 422 holds


@pytest.mark.parametrize(
    ("headers", "status"),
    [
        ({"Origin": "http://attacker.example"}, 403),
        ({"Content-Type": "text/plain"}, 415),
        ({"Host": "rebound.example"}, 400),
    ],
)
def test_writes_refused_by_the_web_guards_answer_as_documented(
    api_schema: schemathesis.BaseSchema, headers: dict[str, str], status: int
) -> None:
    operation = api_schema["/api/v1/events"]["POST"]
    body = [{"kind": "write", "system": "CRM"}]
    if headers.get("Content-Type") == "text/plain":  # as a form on another site may post
        response = operation.Case(headers=headers).call(data=json.dumps(body))
    else:
        response = operation.Case(body=body, media_type="application/json", headers=headers).call()
    assert response.status_code == status
    assert response.json()["error"]
    operation.validate_response(response)
