"""The read side of the HTTP API: trace, impact, golden, findings and the graphs (CONTRACT.md §6).

Each JSON answer is the command line's ``--format json`` document; bad parameters are 400 JSON,
a place with no value 404 JSON, never a 5xx; SVG and DOT escape every user string.
"""

from __future__ import annotations

import json
from typing import Any

import jsonschema
import pytest
from click.testing import CliRunner
from flask import Flask
from flask.testing import FlaskClient
from web_world import BI_OWNER, HOSTILE_RECORD, PORTAL_OWNER, REGISTRY, SCRIPT, load

from lineage.cli import main
from lineage.render import RED

BI_R9 = {"system": "BI", "element": "order.total", "record": "R-9"}


@pytest.fixture
def world(app: Flask, client: FlaskClient) -> FlaskClient:
    """The client of an app whose store holds the small company of ``web_world``."""
    load(app.extensions["lineage"].store())
    return client


def cli_json(runner: CliRunner, db_url: str, *args: str) -> Any:
    result = runner.invoke(main, [*args, "--format", "json", "--db", db_url])
    assert result.exit_code in (0, 1), result.output
    return json.loads(result.stdout)


def ok_json(client: FlaskClient, url: str, **params: Any) -> Any:
    response = client.get(url, query_string=params)
    assert response.status_code == 200, response.data
    assert response.is_json
    return response.json


# --- the same JSON as the command line ---------------------------------------------------------


def test_trace_answers_what_lineage_trace_prints_with_the_culprit_and_its_owner(
    world: FlaskClient, runner: CliRunner, db_url: str
) -> None:
    answer = ok_json(world, "/api/v1/trace", **BI_R9)
    assert answer == cli_json(runner, db_url, "trace", "BI", "order.total", "R-9")
    assert answer["subject"]["value"] == "100.00"
    assert answer["root_cause"]["code"] == "unexplained-transformation"
    assert answer["root_cause"]["owner"] == BI_OWNER
    assert [edge["verified"] for edge in answer["edges"]] == [False]


def test_impact_answers_what_lineage_impact_prints_with_counts_per_system(
    world: FlaskClient, runner: CliRunner, db_url: str
) -> None:
    place = {"system": "ERP", "element": "order.total", "record": "40017"}
    answer = ok_json(world, "/api/v1/impact", **place)
    assert answer == cli_json(runner, db_url, "impact", "ERP", "order.total", "40017")
    assert answer["subject"]["value"] == "80.00"
    assert answer["counts"] == {"BI": 1}


def test_golden_answers_what_lineage_golden_prints_with_each_copys_status(
    world: FlaskClient, runner: CliRunner, db_url: str
) -> None:
    answer = ok_json(world, "/api/v1/golden", system="ERP", record="40017")
    assert answer == cli_json(runner, db_url, "golden", "ERP", "40017")
    total = next(e for e in answer["elements"] if e["element"] == "order.total")
    assert total["golden_value"] == "80.00"
    assert {c["system"]: c["status"] for c in total["copies"]} == {
        "BI": "divergent",
        "Portal": "stale",
    }


def test_findings_answer_what_lineage_scan_prints(
    world: FlaskClient, runner: CliRunner, db_url: str
) -> None:
    answer = ok_json(world, "/api/v1/findings")
    assert answer == cli_json(runner, db_url, "scan")
    assert sorted(f["code"] for f in answer["findings"]) == [
        "conflicting-truth",
        "conflicting-truth",
        "unexplained-transformation",
    ]
    assert answer["summary"] == {"error": 3, "warning": 0, "info": 0}


def test_findings_filter_by_code_owner_and_system_and_count_what_is_kept(
    world: FlaskClient,
) -> None:
    by_code = ok_json(world, "/api/v1/findings", code="unexplained-transformation")
    assert [f["code"] for f in by_code["findings"]] == ["unexplained-transformation"]
    assert by_code["summary"]["error"] == 1
    by_owner = ok_json(world, "/api/v1/findings", owner=PORTAL_OWNER)
    assert [(f["code"], f["subject"]["system"]) for f in by_owner["findings"]] == [
        ("conflicting-truth", "Portal")
    ]
    by_system = ok_json(world, "/api/v1/findings", system="BI")
    assert {f["subject"]["system"] for f in by_system["findings"]} == {"BI"}
    assert len(by_system["findings"]) == 2
    either = world.get(
        "/api/v1/findings?code=unexplained-transformation&code=conflicting-truth&system=Portal"
    ).json
    assert [f["code"] for f in either["findings"]] == ["conflicting-truth"]
    nobody = ok_json(world, "/api/v1/findings", owner="(unowned)")
    # judged as of the store's clock: the world's latest event
    assert nobody == {
        "findings": [],
        "summary": {"error": 0, "warning": 0, "info": 0},
        "as_of": "2026-11-20T09:35:00Z",
    }


def test_as_of_answers_for_the_value_held_then(world: FlaskClient) -> None:
    before_the_change = ok_json(world, "/api/v1/trace", as_of="2026-11-20T09:07:00Z", **BI_R9)
    assert before_the_change["subject"]["value"] == "60.00"
    assert before_the_change["root_cause"] is None
    naive_is_utc = ok_json(world, "/api/v1/trace", as_of="2026-11-20T09:07:00", **BI_R9)
    assert naive_is_utc == before_the_change
    golden_then = ok_json(
        world, "/api/v1/golden", system="ERP", record="40017", as_of="2026-11-20T09:15:00Z"
    )
    total = next(e for e in golden_then["elements"] if e["element"] == "order.total")
    assert total["golden_value"] == "50.00"
    assert {c["status"] for c in total["copies"]} == {"agrees"}
    no_findings_yet = ok_json(world, "/api/v1/findings", as_of="2026-11-20T09:01:00Z")
    assert no_findings_yet["findings"] == []


# --- errors: 400 and 404 JSON, never a 5xx -----------------------------------------------------


@pytest.mark.parametrize(
    ("url", "missing"),
    [
        ("/api/v1/trace?system=BI&element=order.total", "record"),
        ("/api/v1/trace?system=BI&record=R-9", "element"),
        ("/api/v1/impact?element=order.total&record=R-9", "system"),
        ("/api/v1/golden?system=ERP", "record"),
        ("/api/v1/golden?system=&record=40017", "system"),
        ("/api/v1/graph/trace.svg?system=BI&element=order.total", "record"),
        ("/api/v1/graph/impact.dot?system=BI&record=R-9", "element"),
    ],
)
def test_a_missing_parameter_is_400_json_naming_it(
    world: FlaskClient, url: str, missing: str
) -> None:
    response = world.get(url)
    assert response.status_code == 400
    assert response.is_json
    assert f"{missing} is required" in response.json["error"]


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("/api/v1/trace?system=BI&element=order.total&record=R-9&as_of=yesterday", "as_of"),
        ("/api/v1/golden?system=ERP&record=40017&as_of=2026-13-45", "as_of"),
        ("/api/v1/findings?code=no-such-code", "unknown code 'no-such-code'"),
        ("/api/v1/findings?as_of=soon", "as_of"),
        ("/api/v1/trace?system=BI&element=order.total&record=" + "x" * 501, "record"),
    ],
)
def test_a_malformed_parameter_is_400_json_saying_what_is_wrong(
    world: FlaskClient, url: str, says: str
) -> None:
    response = world.get(url)
    assert response.status_code == 400
    assert says in response.json["error"]


@pytest.mark.parametrize(
    "url",
    [
        "/api/v1/trace?system=BI&element=order.total&record=R-404",
        "/api/v1/trace?system=BI&element=order.total&record=R-9&as_of=2026-11-20T08:00:00Z",
        "/api/v1/impact?system=Nowhere&element=order.total&record=1",
        "/api/v1/golden?system=ERP&record=99999",
        "/api/v1/graph/trace.svg?system=BI&element=order.total&record=R-404",
        "/api/v1/graph/impact.dot?system=BI&element=order.total&record=R-404",
        "/api/v1/graph/element/no.such.element.svg",
        "/api/v1/graph/element/no.such.element.dot",
    ],
)
def test_a_place_with_no_value_is_404_json(world: FlaskClient, url: str) -> None:
    response = world.get(url)
    assert response.status_code == 404
    assert response.is_json
    assert response.json["error"]


def test_odd_but_valid_names_are_answered_not_crashed_on(world: FlaskClient) -> None:
    for record in ("R-9'; DROP TABLE events; --", "%00", "ÿ\u202e", HOSTILE_RECORD + "?"):
        response = world.get(
            "/api/v1/trace",
            query_string={"system": "BI", "element": "order.total", "record": record},
        )
        assert response.status_code == 404, record
    assert ok_json(world, "/api/v1/trace", **BI_R9)["subject"]["value"] == "100.00"


# --- graphs ------------------------------------------------------------------------------------


def test_trace_svg_draws_the_culprit_red_and_escapes_every_value(world: FlaskClient) -> None:
    response = world.get("/api/v1/graph/trace.svg", query_string=BI_R9)
    assert response.status_code == 200
    assert response.mimetype == "image/svg+xml"
    svg = response.get_data(as_text=True)
    assert "<svg" in svg
    assert f'stroke="{RED}"' in svg
    assert "100.00" in svg
    hostile = world.get(
        "/api/v1/graph/trace.svg",
        query_string={"system": "ERP", "element": "customer.address", "record": "40017"},
    ).get_data(as_text=True)
    assert "<script" not in hostile.lower()
    assert "&lt;SCRIPT&gt;" in hostile
    assert "C&#45;&lt;b&gt;1&lt;/b&gt;" in hostile or "C-&lt;b&gt;1&lt;/b&gt;" in hostile


def test_dot_answers_are_graphviz_text(world: FlaskClient) -> None:
    for url in (
        "/api/v1/graph/trace.dot?system=BI&element=order.total&record=R-9",
        "/api/v1/graph/impact.dot?system=ERP&element=order.total&record=40017",
        "/api/v1/graph/system-map.dot",
        "/api/v1/graph/element/order.total.dot",
    ):
        response = world.get(url)
        assert response.status_code == 200, url
        assert response.mimetype == "text/vnd.graphviz"
        assert response.get_data(as_text=True).startswith("digraph"), url


def test_impact_svg_shows_every_copy_reached(world: FlaskClient) -> None:
    response = world.get(
        "/api/v1/graph/impact.svg",
        query_string={"system": "ERP", "element": "order.total", "record": "40017"},
    )
    svg = response.get_data(as_text=True)
    assert response.mimetype == "image/svg+xml"
    assert "R&#45;9" in svg or "R-9" in svg


def test_system_map_svg_shows_systems_owners_and_integrations_escaped(world: FlaskClient) -> None:
    response = world.get("/api/v1/graph/system-map.svg")
    assert response.status_code == 200
    assert response.mimetype == "image/svg+xml"
    svg = response.get_data(as_text=True)
    for name in ("CRM", "ERP", "BI", "Portal", "erp&#45;to&#45;bi", "data@example.com"):
        assert name in svg, name
    assert "<script" not in svg.lower()
    assert "&lt;script&gt;" in svg


def test_element_svg_draws_its_flow_with_the_system_of_record_marked(world: FlaskClient) -> None:
    response = world.get("/api/v1/graph/element/order.total.svg")
    assert response.status_code == 200
    svg = response.get_data(as_text=True)
    assert "system of record" in svg
    for system in ("ERP", "BI", "Portal"):
        assert f">{system}<" in svg
    assert "multiply(1.2)" in svg
    assert "CRM" not in svg


def test_a_diagram_of_the_registry_follows_a_new_registry(app: Flask, world: FlaskClient) -> None:
    assert ">Billing<" not in world.get("/api/v1/graph/system-map.svg").get_data(as_text=True)
    store = app.extensions["lineage"].store()
    grown = REGISTRY.model_copy(
        update={
            "systems": (
                *REGISTRY.systems,
                REGISTRY.systems[0].model_copy(update={"name": "Billing"}),
            )
        }
    )
    assert store.save_registry(grown)
    assert ">Billing<" in world.get("/api/v1/graph/system-map.svg").get_data(as_text=True)


# --- the OpenAPI document ----------------------------------------------------------------------

READ_PATHS = {
    "/api/v1/trace": "TraceAnswer",
    "/api/v1/impact": "ImpactAnswer",
    "/api/v1/golden": "GoldenAnswer",
    "/api/v1/findings": "FindingsAnswer",
}
GRAPH_PATHS = [
    "/api/v1/graph/trace.svg",
    "/api/v1/graph/trace.dot",
    "/api/v1/graph/impact.svg",
    "/api/v1/graph/impact.dot",
    "/api/v1/graph/system-map.svg",
    "/api/v1/graph/system-map.dot",
    "/api/v1/graph/element/{element}.svg",
    "/api/v1/graph/element/{element}.dot",
]


def test_the_openapi_document_lists_the_read_endpoints_with_parameters_and_answers(
    client: FlaskClient,
) -> None:
    document = client.get("/api/v1/openapi.json").json
    paths = document["paths"]
    for path, model in READ_PATHS.items():
        get = paths[path]["get"]
        assert get["responses"]["200"]["content"]["application/json"]["schema"] == {
            "$ref": f"#/components/schemas/{model}"
        }
        assert "400" in get["responses"]
    trace_params = {p["name"]: p["required"] for p in paths["/api/v1/trace"]["get"]["parameters"]}
    assert trace_params == {"system": True, "element": True, "record": True, "as_of": False}
    assert "404" in paths["/api/v1/trace"]["get"]["responses"]
    finding_params = [p["name"] for p in paths["/api/v1/findings"]["get"]["parameters"]]
    assert sorted(finding_params) == [
        "as_of",
        "code",
        "element",
        "integration",
        "limit",
        "offset",
        "owner",
        "since",
        "state",
        "system",
    ]
    for path in GRAPH_PATHS:
        get = paths[path]["get"]
        media = "image/svg+xml" if path.endswith(".svg") else "text/vnd.graphviz"
        assert media in get["responses"]["200"]["content"], path
    element = paths["/api/v1/graph/element/{element}.svg"]["get"]
    assert element["parameters"][0] == {
        "name": "element",
        "in": "path",
        "required": True,
        "schema": {"type": "string"},
    }
    ids = [op["operationId"] for item in paths.values() for op in item.values()]
    assert len(ids) == len(set(ids))


def test_every_json_answer_matches_its_documented_schema(world: FlaskClient) -> None:
    document = world.get("/api/v1/openapi.json").json
    answers = {
        "/api/v1/trace": BI_R9,
        "/api/v1/impact": {"system": "ERP", "element": "order.total", "record": "40017"},
        "/api/v1/golden": {"system": "ERP", "record": "40017"},
        "/api/v1/findings": {},
    }
    for path, params in answers.items():
        schema = {"$ref": f"#/components/schemas/{READ_PATHS[path]}", **document}
        jsonschema.validate(ok_json(world, path, **params), schema)
    error_schema = {"$ref": "#/components/schemas/ErrorAnswer", **document}
    jsonschema.validate(world.get("/api/v1/trace").json, error_schema)


def test_the_hostile_world_answers_json_with_the_values_as_sent(world: FlaskClient) -> None:
    answer = ok_json(world, "/api/v1/golden", system="CRM", record=HOSTILE_RECORD)
    address = answer["elements"][0]
    assert address["golden_value"].startswith(SCRIPT)
    assert address["copies"][0]["status"] == "agrees"
