"""One clock (issue 11, item 4; docs/CONTRACT.md §8): every answer says the moment it judged
as of, the store's clock (its latest event, tracker or OpenLineage) unless --as-of is given,
in the same words on the command line, in JSON (``as_of``), over HTTP and on the pages."""

from __future__ import annotations

import json

from click.testing import CliRunner
from flask.testing import FlaskClient
from scan_world import clean_chain, load, record
from test_openlineage import event

from lineage.cli import main
from lineage.interop.openlineage import ingest_openlineage_data
from lineage.store import Store

CLOCK = "2026-11-20T10:00:00Z"  # clean_chain's latest event: the BI snapshot an hour in
BY_CLOCK = f"judged as of {CLOCK} (the store's clock: its latest event)"


def _url(store: Store) -> str:
    return store.engine.url.render_as_string(hide_password=False)


def _json(runner: CliRunner, *args: str) -> dict[str, object]:
    result = runner.invoke(main, [*args, "--format", "json"])
    assert result.exit_code in (0, 1), result.output
    document = json.loads(result.stdout)
    assert isinstance(document, dict)
    return document


def test_every_answer_says_it_judged_as_of_the_store_clock(runner: CliRunner, store: Store) -> None:
    load(store)
    record(store, *clean_chain())
    db = ["--db", _url(store)]
    questions = [
        ["trace", "BI", "order.total", "R-9"],
        ["impact", "ERP", "order.total", "40017"],
        ["golden", "ERP", "40017"],
        ["scan"],
        ["digest"],
    ]
    for question in questions:
        text = runner.invoke(main, [*question, *db])
        assert text.exit_code in (0, 1), text.output
        assert text.output.strip().splitlines()[-1] == BY_CLOCK, question
        assert _json(runner, *question, *db)["as_of"] == CLOCK, question


def test_an_answer_as_of_a_moment_says_so(runner: CliRunner, store: Store) -> None:
    load(store)
    record(store, *clean_chain())
    asked = ["--as-of", "2026-11-20T09:30:00Z", "--db", _url(store)]
    for question in (["trace", "BI", "order.total", "R-9"], ["golden", "ERP", "40017"], ["scan"]):
        text = runner.invoke(main, [*question, *asked])
        said = "judged as of 2026-11-20T09:30:00Z (--as-of)"
        assert text.output.strip().splitlines()[-1] == said, question
        assert _json(runner, *question, *asked)["as_of"] == "2026-11-20T09:30:00Z"


def test_an_openlineage_only_store_is_judged_as_of_its_latest_openlineage_event(
    runner: CliRunner, store: Store
) -> None:
    start = event(eventTime="2026-03-14T08:00:00Z", eventType="START")
    done = event(eventTime="2026-03-14T09:00:00Z", eventType="COMPLETE")
    ingest_openlineage_data(store, [("<t>", 1, start), ("<t>", 2, done)])
    db = ["--db", _url(store)]
    scan = runner.invoke(main, ["scan", *db])
    assert scan.output.strip().splitlines()[-1] == (
        "judged as of 2026-03-14T09:00:00Z (the store's clock: its latest event)"
    )
    assert _json(runner, "scan", *db)["as_of"] == "2026-03-14T09:00:00Z"
    # the health's last day is the day of that clock, not today
    assert _json(runner, "health", *db)["as_of"] == "2026-03-14T09:00:00Z"


def test_the_clock_is_the_latest_of_tracker_and_openlineage_events(
    runner: CliRunner, store: Store
) -> None:
    load(store)
    record(store, *clean_chain())
    later = event(eventTime="2026-11-20T11:30:00Z")
    ingest_openlineage_data(store, [("<t>", 1, later)])
    db = ["--db", _url(store)]
    assert _json(runner, "trace", "BI", "order.total", "R-9", *db)["as_of"] == (
        "2026-11-20T11:30:00Z"
    )


def test_the_api_and_the_pages_say_the_moment_judged(client: FlaskClient, db_url: str) -> None:
    from lineage.store import open_store  # noqa: PLC0415 - the app's own store, by its URL

    store = open_store(db_url)
    try:
        load(store)
        record(store, *clean_chain())
    finally:
        store.close()
    place = {"system": "BI", "element": "order.total", "record": "R-9"}
    for path, query in (
        ("/api/v1/trace", place),
        ("/api/v1/impact", place),
        ("/api/v1/golden", {"system": "ERP", "record": "40017"}),
        ("/api/v1/findings", {}),
    ):
        answer = client.get(path, query_string=query)
        assert answer.status_code == 200, path
        assert answer.get_json()["as_of"] == CLOCK, path
    asked = client.get("/api/v1/trace", query_string={**place, "as_of": "2026-11-20T09:30:00Z"})
    assert asked.get_json()["as_of"] == "2026-11-20T09:30:00Z"
    for path, query in (
        ("/trace", place),
        ("/impact", place),
        ("/golden", {"system": "ERP", "record": "40017"}),
        ("/findings", {}),
    ):
        page = client.get(path, query_string=query).get_data(as_text=True)
        assert BY_CLOCK.replace("'", "&#39;") in page, path
