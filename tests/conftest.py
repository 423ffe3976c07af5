"""Shared fixtures: the same tests run on SQLite and on a real PostgreSQL.

PostgreSQL tests create and drop their own database on the server at
``$LINEAGE_TEST_POSTGRES`` (default ``postgresql://postgres@127.0.0.1:5432/postgres``). Without
a reachable server they skip with the reason, unless ``LINEAGE_REQUIRE_POSTGRES=1`` (as in CI),
which turns that skip into a failure.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from click.testing import CliRunner
from flask import Flask
from flask.testing import FlaskClient
from receiver import Receiver

from lineage.store import Store, open_store
from webapp import create_app

POSTGRES_ADMIN = os.environ.get(
    "LINEAGE_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/postgres"
)
ROOT = Path(__file__).resolve().parent.parent
DEMO = ROOT / "lineage" / "fixtures" / "demo"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def _postgres_unavailable() -> str | None:
    try:
        with psycopg.connect(POSTGRES_ADMIN, connect_timeout=3):
            return None
    except psycopg.Error as exc:
        return f"PostgreSQL not reachable at {POSTGRES_ADMIN}: {str(exc).strip()}"


def _require(variable: str, reason: str) -> None:
    if os.environ.get(variable) == "1":
        pytest.fail(f"{variable}=1 but {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def postgres_server() -> str:
    """The admin URL of a reachable PostgreSQL server (skips, or fails in CI, without one)."""
    reason = _postgres_unavailable()
    if reason:
        _require("LINEAGE_REQUIRE_POSTGRES", reason)
    return POSTGRES_ADMIN


@pytest.fixture
def postgres_url(postgres_server: str) -> Iterator[str]:
    """A fresh, empty PostgreSQL database for one test, dropped afterwards."""
    name = f"lineage_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(postgres_server, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    base = postgres_server.rsplit("/", 1)[0]
    try:
        yield f"{base}/{name}"
    finally:
        with psycopg.connect(postgres_server, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A URL to a fresh database, once on SQLite and once on PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'lineage.db'}"
    url: str = request.getfixturevalue("postgres_url")
    return url


@pytest.fixture
def store(db_url: str) -> Iterator[Store]:
    """An opened, migrated, empty store on each backend."""
    opened = open_store(db_url)
    try:
        yield opened
    finally:
        opened.close()


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


@pytest.fixture
def app(db_url: str) -> Iterator[Flask]:
    """The web app on a fresh store of each backend, without a token."""
    made = create_app({"TESTING": True, "DATABASE_URL": db_url, "API_TOKEN": None})
    try:
        yield made
    finally:
        made.extensions["lineage"].close()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """Debian's Chromium driven by Playwright, launched once for the session: every browser
    test module shares it (Playwright's sync API runs one instance per process). Skips
    without it, or fails when ``LINEAGE_REQUIRE_BROWSER=1`` (as in CI); never downloads one.
    """
    try:
        from playwright.sync_api import Error, sync_playwright  # noqa: PLC0415
    except ImportError as exc:
        _require("LINEAGE_REQUIRE_BROWSER", f"Python playwright is not installed: {exc}")
    if not CHROMIUM.exists():
        _require("LINEAGE_REQUIRE_BROWSER", f"no Chromium at {CHROMIUM} (apt-get install chromium)")
    with sync_playwright() as playwright:
        try:
            launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        except Error as exc:
            _require(
                "LINEAGE_REQUIRE_BROWSER",
                f"Chromium at {CHROMIUM} does not start: {str(exc).splitlines()[0]}",
            )
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    """A local webhook receiver (:class:`receiver.Receiver`), answering 200 until told not to."""
    made = Receiver()
    made.start()
    try:
        yield made
    finally:
        made.stop()
