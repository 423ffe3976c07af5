"""What a hostile client or web page meets: the Host allow-list, writes from other origins,
security headers, idle connections against ``lineage serve``, and a busy port."""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from lineage.store.schema import events
from webapp import create_app

ROOT = Path(__file__).resolve().parent.parent
WRITE = {
    "kind": "write", "system": "CRM", "element": "customer.name", "record": "C-1",
    "value": "Ada", "at": "2026-11-20T09:00:00Z",
}  # fmt: skip


def stored(app: Flask) -> int:
    store = app.extensions["lineage"].store()
    with store.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(events)).scalar_one())


# -- the Host allow-list (DNS rebinding) ---------------------------------------------------


@pytest.mark.parametrize("path", ["/", "/api/v1/findings", "/static/lineage.css", "/nowhere"])
def test_a_request_for_a_foreign_host_is_refused(client: FlaskClient, path: str) -> None:
    response = client.get(path, headers={"Host": "rebound.attacker.example"})
    assert response.status_code == 400
    assert b"LINEAGE_ALLOWED_HOSTS" in response.data
    assert b"rebound.attacker.example" in response.data


@pytest.mark.parametrize(
    "host", ["localhost", "localhost:8000", "127.0.0.1:8000", "[::1]:8000", "LOCALHOST."]
)
def test_local_names_are_answered(client: FlaskClient, host: str) -> None:
    assert client.get("/api/v1/findings", headers={"Host": host}).status_code == 200


def test_a_foreign_host_write_records_nothing(app: Flask, client: FlaskClient) -> None:
    response = client.post("/api/v1/events", json=WRITE, headers={"Host": "evil.example"})
    assert response.status_code == 400
    assert "error" in response.json
    assert stored(app) == 0


def test_allowed_hosts_come_from_the_setting_and_the_served_host(
    db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LINEAGE_ALLOWED_HOSTS", "lineage.example.com, .corp.example")
    app = create_app({"TESTING": True, "DATABASE_URL": db_url, "SERVED_HOST": "10.1.2.3"})
    client = app.test_client()
    try:
        for host in ("lineage.example.com", "a.corp.example:8443", "10.1.2.3:8000", "::1"):
            assert client.get("/api/v1/findings", headers={"Host": host}).status_code == 200, host
        for host in ("example.com", "corp.example.evil", "10.1.2.4"):
            assert client.get("/api/v1/findings", headers={"Host": host}).status_code == 400, host
    finally:
        app.extensions["lineage"].close()


def test_a_star_allows_any_host(db_url: str) -> None:
    app = create_app({"TESTING": True, "DATABASE_URL": db_url, "ALLOWED_HOSTS": ["*"]})
    try:
        response = app.test_client().get("/api/v1/findings", headers={"Host": "any.example"})
        assert response.status_code == 200
    finally:
        app.extensions["lineage"].close()


# -- writes without a token (CSRF) -----------------------------------------------------------


@pytest.mark.parametrize(
    "content_type", ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data"]
)
def test_a_cross_origin_simple_post_is_refused_and_records_nothing(
    app: Flask, client: FlaskClient, content_type: str
) -> None:
    # What a form or fetch(..., {mode: "no-cors"}) on another site sends.
    for path in ("/api/v1/events", "/api/v1/lineage"):
        response = client.post(
            path,
            data=json.dumps(WRITE),
            headers={"Content-Type": content_type, "Origin": "http://attacker.example"},
        )
        assert response.status_code == 403, path
        assert "attacker.example" in response.json["error"]
    assert stored(app) == 0


def test_a_text_plain_post_without_an_origin_must_be_json(app: Flask, client: FlaskClient) -> None:
    response = client.post(
        "/api/v1/events", data=json.dumps(WRITE), headers={"Content-Type": "text/plain"}
    )
    assert response.status_code == 415
    assert "application/json" in response.json["error"]
    assert stored(app) == 0


def test_json_and_same_origin_writes_are_accepted(app: Flask, client: FlaskClient) -> None:
    assert client.post("/api/v1/events", json=WRITE).status_code == 200
    same = client.post(
        "/api/v1/events",
        data=json.dumps({**WRITE, "record": "C-2"}),
        headers={"Content-Type": "text/plain", "Origin": "http://localhost"},
    )
    assert same.status_code == 200
    assert stored(app) == 2


def test_with_a_token_the_token_is_what_is_checked(db_url: str) -> None:
    app = create_app({"TESTING": True, "DATABASE_URL": db_url, "API_TOKEN": "t0ken"})
    try:
        response = app.test_client().post(
            "/api/v1/events",
            json=WRITE,
            headers={"Authorization": "Bearer t0ken", "Origin": "http://tool.example"},
        )
        assert response.status_code == 200
    finally:
        app.extensions["lineage"].close()


# -- headers on every response ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/"),
        ("GET", "/findings"),
        ("GET", "/api/v1/openapi.json"),
        ("GET", "/static/lineage.css"),
        ("GET", "/no/such/page"),
        ("POST", "/api/v1/events"),
    ],
)
def test_every_response_carries_the_security_headers(
    client: FlaskClient, method: str, path: str
) -> None:
    response = client.open(path, method=method, data=b"{", content_type="application/json")
    policy = response.headers["Content-Security-Policy"]
    assert "default-src 'none'" in policy
    assert "frame-ancestors 'none'" in policy
    assert "script-src 'self'" in policy
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["Referrer-Policy"] == "same-origin"
    response.close()


def test_pages_need_no_inline_script_or_style(client: FlaskClient) -> None:
    # The policy allows no inline code: a page that needed it would break in the browser.
    for path in ("/", "/findings", "/trace", "/golden", "/impact"):
        body = client.get(path).get_data(as_text=True)
        # scripts only as files of the tracker's own, never inline
        scripts = re.findall(r"<script\b[^>]*>(.*?)</script>", body, re.S)
        assert len(scripts) == body.count("<script")
        assert all(code == "" for code in scripts)
        for source in re.findall(r"<script\b([^>]*)>", body):
            assert re.search(r'\ssrc="/static/[^"]+\.js"', source), source
        assert "<style" not in body
        assert not re.search(r"\son[a-z]+=", body)
        assert " style=" not in body


# -- lineage serve: idle connections and a busy port -----------------------------------------


def _environment() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LINEAGE_")}
    env["PYTHONPATH"] = str(ROOT)
    return env


@pytest.fixture
def served(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[str]:
    """``lineage serve`` in its own process (extra options as the indirect parameter)."""
    extra: list[str] = getattr(request, "param", [])
    server = subprocess.Popen(
        [sys.executable, "-m", "lineage", "serve", "--port", "0", *extra,
         "--db", f"sqlite:///{tmp_path / 'served.db'}"],
        env=_environment(),
        stderr=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    try:
        assert server.stderr is not None
        banner = server.stderr.readline()
        match = re.search(r"http://127\.0\.0\.1:(\d+)/", banner)
        assert match, banner
        yield f"127.0.0.1:{match.group(1)}"
    finally:
        server.terminate()
        server.wait(10)
        if server.stderr is not None:
            server.stderr.close()


def _answers(address: str, seconds: float) -> bool:
    url = f"http://{address}/api/v1/openapi.json"
    try:
        with urllib.request.urlopen(url, timeout=seconds) as response:
            return bool(json.load(response)["paths"])
    except OSError:
        return False


def _idle(address: str, count: int) -> list[socket.socket]:
    host, port = address.split(":")
    sockets = []
    for _ in range(count):
        sock = socket.create_connection((host, int(port)), timeout=5)
        sock.sendall(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n")  # and never the rest
        sockets.append(sock)
    return sockets


def test_serve_still_answers_with_a_hundred_idle_connections_open(served: str) -> None:
    idle = _idle(served, 150)
    try:
        time.sleep(0.5)
        started = time.monotonic()
        assert _answers(served, 10)
        assert time.monotonic() - started < 5
    finally:
        for sock in idle:
            sock.close()


@pytest.mark.parametrize(
    "served", [["--connection-limit", "20", "--channel-timeout", "2"]], indirect=True
)
def test_silent_connections_are_closed_after_the_channel_timeout(served: str) -> None:
    idle = _idle(served, 20)
    try:
        time.sleep(0.5)
        assert not _answers(served, 1)  # all 20 connections taken
        deadline = time.monotonic() + 10
        while not _answers(served, 2):
            assert time.monotonic() < deadline, "the idle connections were never closed"
        assert idle[0].recv(100) == b""  # closed by the server
    finally:
        for sock in idle:
            sock.close()


@pytest.mark.parametrize("command", [["serve"], ["demo"]])
def test_a_busy_port_is_one_line_and_exit_2(tmp_path: Path, command: list[str]) -> None:
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        done = subprocess.run(
            [sys.executable, "-m", "lineage", *command, "--port", str(port),
             "--db", f"sqlite:///{tmp_path / 'busy.db'}"],
            env=_environment(), capture_output=True, text=True, timeout=60, check=False,
        )  # fmt: skip
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert f"127.0.0.1:{port}" in lines[0]
    assert "in use" in lines[0]
    assert "--port" in lines[0]
    assert done.stdout == ""
