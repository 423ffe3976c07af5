"""Poison events: limits enforced at entry, each bad event named, the good ones kept.

Every way in is tried (``lineage ingest``, ``POST /api/v1/events``, the OpenLineage
endpoints) on SQLite and PostgreSQL, with the values that used to cost gigabytes, block a
whole batch or answer 500.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from flask import Flask
from flask.testing import FlaskClient
from recording import hop_event, jsonl, write_event, write_registry

from lineage.cli import main
from lineage.model.events import Write
from lineage.registry import load_registry
from lineage.store.writer import Writer

ROOT = Path(__file__).resolve().parent.parent
GOOD_AT = "2026-11-20T09:00:00Z"


@pytest.fixture
def db(runner: CliRunner, db_url: str, tmp_path: Path) -> str:
    """A database URL with the small test registry (``order.total`` is a decimal) loaded."""
    loaded = runner.invoke(main, ["load", str(write_registry(tmp_path)), "--db", db_url])
    assert loaded.exit_code == 0, loaded.output
    return db_url


def count_events(runner: CliRunner, db: str) -> int:
    result = runner.invoke(main, ["stats", "--format", "json", "--db", db])
    assert result.exit_code == 0, result.output
    return sum(json.loads(result.stdout)["events"].values())


def name_event(record: str, value: Any = "Ada", **extra: Any) -> dict[str, Any]:
    """A write on the string element ``customer.name``."""
    return {"kind": "write", "system": "CRM", "element": "customer.name", "record": record,
            "value": value, "at": GOOD_AT, **extra}  # fmt: skip


# (line text, what the rejection must say); each on a line of its own between good ones.
POISON: list[tuple[str, str]] = [
    (json.dumps(write_event("p1", "1e999999999")), "LINEAGE_MAX_EXPONENT"),
    (json.dumps(write_event("p2", "1e9999999999")), "LINEAGE_MAX_EXPONENT"),
    (json.dumps(write_event("p3", "1" * 500)), "LINEAGE_MAX_DIGITS"),
    (json.dumps(write_event("p4", "NaN")), "not a finite number"),
    (json.dumps(write_event("p5", "-Infinity")), "not a finite number"),
    (json.dumps(write_event("p6", 1.0)).replace("1.0", "NaN"), "NaN"),
    (json.dumps(write_event("p7", 1.0)).replace("1.0", "1e999"), "beyond 1e308"),
    (json.dumps(name_event("p8", "a\x00b")), "NUL"),
    (json.dumps(name_event("p9\x00")), "NUL"),
    (json.dumps(name_event("p10", "x" * 30_000)), "LINEAGE_MAX_VALUE_LENGTH"),
    (json.dumps(name_event("k" * 9000)), "LINEAGE_MAX_KEY_BYTES"),
    (json.dumps(name_event("é" * 300)), "600 bytes"),
    (json.dumps(name_event("p11", "\ud800")), "hex escape"),
    (json.dumps(name_event("p12", at="0001-01-01T00:00:00+14:00")), "years 1 to 9999"),
    (json.dumps(name_event("p13", at="9999-12-31T23:00:00-14:00")), "years 1 to 9999"),
    ('{"kind": "write", "value": ' + "[" * 1000 + "]" * 1000 + "}", "recursion limit"),
    (json.dumps(hop_event("h-nul", error="bad\x00", status="failed")), "error holds a NUL"),
    (json.dumps(hop_event("i" * 600)), "id is 600 bytes"),
]


def poisoned_file(tmp_path: Path) -> tuple[Path, dict[int, str]]:
    """Good lines with every poison line in between: the file and {line: expected reason}."""
    lines = [json.dumps(write_event("good-0"))]
    expected: dict[int, str] = {}
    for index, (text, reason) in enumerate(POISON, start=1):
        lines.append(text)
        expected[len(lines)] = reason
        lines.append(json.dumps(write_event(f"good-{index}")))
    path = tmp_path / "poison.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path, expected


def test_ingest_keeps_every_good_line_and_names_each_poison_line_by_file_and_line(
    runner: CliRunner, db: str, tmp_path: Path
) -> None:
    path, expected = poisoned_file(tmp_path)
    started = time.monotonic()
    result = runner.invoke(main, ["ingest", str(path), "--db", db])
    elapsed = time.monotonic() - started
    assert result.exit_code == 1, result.output
    good = len(POISON) + 1
    assert result.stdout.strip() == (
        f"ingested {path}: {good} accepted, 0 duplicate, 0 status updates, {len(POISON)} rejected"
    )
    reported = result.stderr.splitlines()
    assert len(reported) == len(POISON)
    for line_text, (number, reason) in zip(reported, sorted(expected.items()), strict=True):
        assert line_text.startswith(f"{path}:{number}: "), line_text
        assert reason in line_text, line_text
    assert "Traceback" not in result.output
    assert count_events(runner, db) == good
    assert elapsed < 20, "a poison value must cost no more than its own line"


def test_one_nul_among_25100_lines_keeps_the_other_25099(
    runner: CliRunner, db: str, tmp_path: Path
) -> None:
    # Past 20,000 lines ingest prepares events in worker processes: the bad line is named
    # there too, and the bulk load into PostgreSQL is not lost because of it.
    lines = [json.dumps(write_event(f"r-{i}", f"{i}.50")) for i in range(25_100)]
    lines[22_222] = json.dumps(name_event("nul", "a\x00b"))
    path = tmp_path / "big.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    result = runner.invoke(main, ["ingest", str(path), "--db", db])
    assert result.exit_code == 1, result.output
    assert "25099 accepted" in result.stdout
    assert result.stderr.startswith(f"{path}:22223: value holds a NUL character")
    assert count_events(runner, db) == 25_099


def test_limits_are_changed_by_environment_variables(db: str, tmp_path: Path) -> None:
    path = tmp_path / "events.jsonl"
    path.write_text(
        jsonl(name_event("1", "short"), name_event("2", "longer than ten"), write_event()),
        encoding="utf-8",
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT), "LINEAGE_MAX_VALUE_LENGTH": "10"}
    done = subprocess.run(
        [sys.executable, "-m", "lineage", "ingest", str(path), "--db", db],
        capture_output=True, text=True, env=env, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 1, done.stderr
    assert "2 accepted" in done.stdout
    assert done.stderr.strip() == (
        f"{path}:2: value is 15 characters long, beyond the limit of 10 (LINEAGE_MAX_VALUE_LENGTH)"
    )


# --- HTTP ------------------------------------------------------------------------------------


@pytest.fixture
def typed(app: Flask, tmp_path: Path) -> FlaskClient:
    """A client of the web app whose store has the small test registry loaded."""
    app.extensions["lineage"].store().save_registry(load_registry([write_registry(tmp_path)]))
    return app.test_client()


def test_post_events_keeps_the_good_and_names_each_poison_event_by_position(
    typed: FlaskClient,
) -> None:
    items = [json.dumps(name_event("good-a"))]
    items += [text for text, _ in POISON]
    items.append(json.dumps(name_event("good-b")))
    body = "[" + ",".join(items) + "]"
    response = typed.post("/api/v1/events", data=body, content_type="application/json")
    assert response.status_code == 200, response.get_data(as_text=True)[:500]
    answer = response.get_json()
    assert answer["accepted"] == 2
    assert answer["rejected"] == len(POISON)
    by_index = {error["index"]: error["reason"] for error in answer["errors"]}
    assert sorted(by_index) == list(range(1, len(POISON) + 1))
    for index, (_, reason) in enumerate(POISON, start=1):
        assert reason in by_index[index], (index, by_index[index])


def test_post_events_names_the_id_of_a_rejected_event(client: FlaskClient) -> None:
    body = [name_event("1", "ok", id="w-1"), name_event("2", "a\x00b", id="w-2")]
    response = client.post("/api/v1/events", json=body)
    assert response.status_code == 200
    (error,) = response.get_json()["errors"]
    assert (error["index"], error["id"]) == (1, "w-2")
    assert "NUL" in error["reason"]


@pytest.mark.parametrize(
    ("text", "reason"),
    [(text, reason) for text, reason in POISON],
    ids=[f"poison-{i}" for i in range(len(POISON))],
)
def test_a_single_poison_event_is_a_422_with_its_reason(
    typed: FlaskClient, text: str, reason: str
) -> None:
    response = typed.post("/api/v1/events", data=text, content_type="application/json")
    assert response.status_code in (400, 422), response.get_data(as_text=True)[:300]
    answer = response.get_json()
    shown = answer["errors"][0]["reason"] if response.status_code == 422 else answer["error"]
    assert reason in shown, shown


def test_a_body_nested_100000_deep_is_a_4xx_json_answer(client: FlaskClient) -> None:
    body = "[" * 100_000 + "]" * 100_000
    response = client.post("/api/v1/events", data=body, content_type="application/json")
    assert response.status_code == 422
    assert "recursion limit" in response.get_json()["errors"][0]["reason"]


def test_a_lone_surrogate_that_reaches_the_writer_is_rejected_not_a_500(
    client: FlaskClient,
) -> None:
    # Python text may hold one (the Recorder hands events over as Python objects).
    app = client.application
    store = app.extensions["lineage"].store()
    with Writer(store) as writer:
        writer.add(Write.model_validate(name_event("1", "bad \ud800 text")))
        writer.add(Write.model_validate(name_event("2")))
    assert writer.result.accepted == 1
    (rejection,) = writer.result.rejected
    assert "unpaired UTF-16 surrogate" in rejection.reason


OPENLINEAGE = {
    "eventType": "COMPLETE",
    "eventTime": "2026-11-20T09:00:00Z",
    "run": {"runId": "0196a3b4-0000-7000-8000-000000000001"},
    "job": {"namespace": "etl", "name": "load"},
    "producer": "https://example.com/producer",
    "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent",
}


def ol_event(**changes: Any) -> str:
    return json.dumps({**OPENLINEAGE, **changes})


OL_POISON = [
    (ol_event(eventTime="0001-01-01T00:00:00+14:00"), "years 1 to 9999"),
    (ol_event(job={"namespace": "etl", "name": "a\x00b"}), "NUL"),
    (ol_event(job={"namespace": "etl", "name": "j" * 9000}), "LINEAGE_MAX_KEY_BYTES"),
    ('{"job": ' + "[" * 5000 + "]" * 5000 + "}", "recursion limit"),
    (ol_event(job={"namespace": "etl", "name": "x"}).replace('"x"', '"\\ud800"'), "not JSON"),
]


@pytest.mark.parametrize("path", ["/api/v1/lineage", "/api/v1/lineage/batch"])
def test_openlineage_batches_keep_the_good_events_and_name_the_bad(
    client: FlaskClient, path: str
) -> None:
    body = "[" + ",".join([ol_event(), *[text for text, _ in OL_POISON]]) + "]"
    response = client.post(path, data=body, content_type="application/json")
    assert response.status_code == 201, response.get_data(as_text=True)[:500]
    answer = response.get_json()
    assert (answer["accepted"], answer["rejected"]) == (1, len(OL_POISON))
    for error, (_, reason) in zip(answer["errors"], OL_POISON, strict=True):
        assert reason in error["reason"], error


def test_openlineage_ingest_names_bad_lines_and_keeps_the_rest(
    runner: CliRunner, db_url: str, tmp_path: Path
) -> None:
    path = tmp_path / "ol.jsonl"
    path.write_text(
        "\n".join([ol_event(), *[text for text, _ in OL_POISON]]) + "\n", encoding="utf-8"
    )
    result = runner.invoke(main, ["ingest", "--format", "openlineage", str(path), "--db", db_url])
    assert result.exit_code == 1, result.output
    assert "1 accepted" in result.stdout
    reported = result.stderr.splitlines()
    assert [line.split(":")[1] for line in reported] == ["2", "3", "4", "5", "6"]
    assert "Traceback" not in result.output


# --- expr and the built-in transforms ---------------------------------------------------------

EXPR_REGISTRY = """\
systems:
  - {name: CRM, owner: crm@example.com}
  - {name: ERP, owner: erp@example.com}
elements:
  - {name: customer.code, system_of_origin: CRM, system_of_record: CRM, owner: c@example.com}
  - name: order.total
    system_of_origin: ERP
    system_of_record: ERP
    owner: c@example.com
    type: decimal
integrations:
  - name: crm-to-erp
    source: CRM
    target: ERP
    owner: erp@example.com
    purpose: invoices
    carries:
      - {element: order.total, inputs: [customer.code], transform: 'expr("int(a) + 0")'}
"""


def test_expr_over_a_huge_exponent_fails_the_hop_at_once_instead_of_computing(
    runner: CliRunner, db_url: str, tmp_path: Path
) -> None:
    registry = write_registry(tmp_path, EXPR_REGISTRY)
    assert runner.invoke(main, ["load", str(registry), "--db", db_url]).exit_code == 0
    hop = {
        "kind": "hop", "id": "h-big", "integration": "crm-to-erp", "at": GOOD_AT,
        "inputs": [{"system": "CRM", "element": "customer.code", "record": "1",
                    "value": "1e999999"}],
        "output": {"system": "ERP", "element": "order.total", "record": "1", "value": "1"},
    }  # fmt: skip
    path = tmp_path / "hop.jsonl"
    path.write_text(json.dumps(hop) + "\n", encoding="utf-8")
    started = time.monotonic()
    result = runner.invoke(main, ["ingest", str(path), "--db", db_url])
    assert result.exit_code == 0, result.output
    assert time.monotonic() - started < 10  # it used to take 29 s of CPU
    scan = runner.invoke(main, ["scan", "--format", "json", "--db", db_url])
    codes = {(f["code"], f["subject"]["event"]) for f in json.loads(scan.stdout)["findings"]}
    assert ("unexplained-transformation", "h-big") in codes


# --- questions: the same values in query parameters -----------------------------------------


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("/api/v1/trace?system=CRM%00&element=e&record=1", "NUL"),
        ("/api/v1/golden?system=CRM&record=1%00", "NUL"),
        ("/api/v1/findings?system=%00", "NUL"),
        ("/api/v1/findings?as_of=0001-01-01T00:00:00%2B14:00", "years 1 to 9999"),
        ("/api/v1/trace?system=a&element=b&record=c&as_of=9999-12-31T23:59:59-14:00", "9999"),
        ("/trace?system=CRM%00&element=e&record=1", "NUL"),
        ("/findings?as_of=9999-12-31T23:59:59-14:00", "years 1 to 9999"),
    ],
)
def test_a_question_with_a_nul_or_a_time_out_of_range_is_a_400_saying_why(
    client: FlaskClient, url: str, says: str
) -> None:
    response = client.get(url)
    assert response.status_code == 400
    assert says in response.get_data(as_text=True)


def test_as_of_out_of_range_on_the_command_line_is_a_usage_error(
    runner: CliRunner, db: str
) -> None:
    result = runner.invoke(main, ["scan", "--as-of", "0001-01-01T00:00:00+14:00", "--db", db])
    assert result.exit_code == 2
    assert "outside years 1 to 9999" in result.stderr
    assert "Traceback" not in result.output


def test_the_readme_shows_what_ingest_answers_for_the_poison_example(
    runner: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    command = "$ lineage ingest tests/cases/ingest/poison.jsonl --db sqlite:///poison.db\n"
    shown = readme[readme.index(command) + len(command) :].split("```", 1)[0].splitlines()
    monkeypatch.chdir(ROOT)
    db = f"sqlite:///{tmp_path / 'poison.db'}"
    result = runner.invoke(main, ["ingest", "tests/cases/ingest/poison.jsonl", "--db", db])
    assert result.exit_code == 1
    rejected = [line for line in result.stderr.splitlines() if not line.startswith("lineage:")]
    assert rejected == shown[:-1]
    assert result.stdout.strip() == shown[-1]
