"""The app as a whole: errors as JSON, the OpenAPI document, configuration, `lineage serve`."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from flask import Flask
from flask.testing import FlaskClient

from lineage.cli import main
from webapp import create_app

ROOT = Path(__file__).resolve().parent.parent


def test_an_unknown_api_path_is_404_json(client: FlaskClient) -> None:
    response = client.get("/api/v1/nothing-here")
    assert response.status_code == 404
    assert response.is_json
    assert response.json["error"]


def test_a_wrong_method_is_405_json_naming_the_allowed_ones(client: FlaskClient) -> None:
    response = client.delete("/api/v1/events")
    assert response.status_code == 405
    assert response.json["error"]
    assert "POST" in response.headers["Allow"]


def test_pages_outside_the_api_keep_html_errors(client: FlaskClient) -> None:
    response = client.get("/no-such-page")
    assert response.status_code == 404
    assert not response.is_json


def test_the_start_page_links_the_api_description(client: FlaskClient) -> None:
    response = client.get("/")
    assert response.status_code == 200
    assert b"/api/v1/openapi.json" in response.data


def openapi(client: FlaskClient) -> dict[str, Any]:
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    document: dict[str, Any] = response.json
    return document


def test_the_openapi_document_lists_every_route_the_app_serves(
    app: Flask, client: FlaskClient
) -> None:
    document = openapi(client)
    assert document["openapi"].startswith("3.1")
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static":
            continue
        path = re.sub(r"<(?:[^<>:]+:)?([^<>]+)>", r"{\1}", rule.rule)
        for method in (rule.methods or set()) - {"HEAD", "OPTIONS"}:
            assert method.lower() in document["paths"][path], f"{method} {path}"


def test_the_openapi_document_describes_bodies_answers_and_auth(client: FlaskClient) -> None:
    document = openapi(client)
    post = document["paths"]["/api/v1/events"]["post"]
    body = json.dumps(post["requestBody"]["content"]["application/json"]["schema"])
    for kind in ("Write", "Hop", "Snapshot"):
        assert f"#/components/schemas/{kind}" in body
    assert post["responses"]["200"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/IngestAnswer"
    }
    assert {"400", "401", "413", "422", "503"} <= set(post["responses"])
    assert post["security"] == [{"bearer": []}]
    lineage = document["paths"]["/api/v1/lineage"]
    assert lineage["post"]["responses"]["201"]
    names = [p["name"] for p in lineage["get"]["parameters"]]
    assert names == ["nodeId", "depth"]
    schemas = document["components"]["schemas"]
    assert "inEdges" in schemas["GraphNode"]["properties"]
    assert "eventTime" in schemas["RunEvent"]["properties"]


def test_the_openapi_document_is_valid_openapi(client: FlaskClient) -> None:
    validator = pytest.importorskip("openapi_spec_validator")
    validator.validate(openapi(client))


def test_numeric_looking_tokens_from_the_environment_stay_text(
    monkeypatch: pytest.MonkeyPatch, db_url: str
) -> None:
    monkeypatch.setenv("LINEAGE_API_TOKEN", "0123")
    monkeypatch.setenv("LINEAGE_MAX_CONTENT_LENGTH", "5000")
    app = create_app({"TESTING": True, "DATABASE_URL": db_url})
    assert app.config["API_TOKEN"] == "0123"
    assert app.config["MAX_CONTENT_LENGTH"] == 5000
    client = app.test_client()
    assert client.post("/api/v1/events", json=[]).status_code == 401
    ok = client.post("/api/v1/events", json=[], headers={"Authorization": "Bearer 0123"})
    assert ok.status_code == 200
    app.extensions["lineage"].close()


def test_serve_refuses_a_network_address_without_a_token(
    runner: CliRunner, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("LINEAGE_API_TOKEN", raising=False)
    result = runner.invoke(
        main, ["serve", "--host", "0.0.0.0", "--db", f"sqlite:///{tmp_path / 'x.db'}"]
    )
    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert "LINEAGE_API_TOKEN" in lines[0]
    assert not (tmp_path / "x.db").exists()


def test_serve_answers_on_loopback(tmp_path: Path) -> None:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("LINEAGE_")}
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "lineage",
            "serve",
            "--port",
            "0",
            "--db",
            f"sqlite:///{tmp_path / 'served.db'}",
        ],
        cwd=ROOT,
        env=environment,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert server.stderr is not None
        banner = server.stderr.readline()
        match = re.search(r"http://127\.0\.0\.1:(\d+)/", banner)
        assert match, banner
        url = f"http://127.0.0.1:{match.group(1)}/api/v1/openapi.json"
        with urllib.request.urlopen(url, timeout=10) as response:
            assert json.load(response)["paths"]["/api/v1/events"]
    finally:
        server.terminate()
        server.wait(10)
        if server.stderr is not None:
            server.stderr.close()


def test_the_engine_never_imports_flask() -> None:
    code = (
        "import lineage, lineage.cli, lineage.cli.store, lineage.recorder, "
        "lineage.interop.openlineage, lineage.interop.marquez, sys; "
        "assert 'flask' not in sys.modules, 'flask imported'; "
        "assert 'webapp' not in sys.modules, 'webapp imported'"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
