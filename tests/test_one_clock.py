"""One clock (issue 11, item 4; docs/CONTRACT.md §8): every answer says the moment it judged
as of, the store's clock (its latest event, tracker or OpenLineage) unless --as-of is given,
in the same words on the command line, in JSON (``as_of``), over HTTP and on the pages."""

from __future__ import annotations

import json
from xml.etree import ElementTree

from click.testing import CliRunner
from flask.testing import FlaskClient
from scan_world import clean_chain, load, record
from steward_scenarios import REGISTRY as STEWARD
from steward_scenarios import order_chain, sent_then_failed
from steward_scenarios import record as write_events
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


def test_a_later_status_moves_the_clock_and_every_answer_reads_the_hop_by_it(
    runner: CliRunner, store: Store
) -> None:
    # A hop sent at 09:20, reported failed at 09:30 (a status update: an event too). The
    # clock used to stop at 09:20, where the hop was in flight with 61.00: the stored
    # findings said BI held 61.00 (conflicting-truth) while trace, which reads the latest
    # state, showed 60.00. Now the clock is 09:30 and both read the failed hop.
    sent, failed = sent_then_failed()
    write_events(store, *order_chain(), sent, registry=STEWARD)
    write_events(store, failed, registry=STEWARD)
    db = ["--db", _url(store)]
    traced = _json(runner, "trace", "BI", "order.total", "R-9", *db)
    assert traced["as_of"] == "2026-11-20T09:30:00Z"
    scanned = _json(runner, "scan", *db)
    assert scanned["as_of"] == "2026-11-20T09:30:00Z"
    codes = [f["code"] for f in scanned["findings"]]  # type: ignore[union-attr]
    assert "failed-delivery" in codes
    assert "conflicting-truth" not in codes
    assert '"61.00"' not in json.dumps(traced["subject"])
    assert json.dumps(traced["subject"]).count('"60.00"') >= 1
    # the clock never moves back: a late earlier status keeps the latest time heard of
    early = dict(sent, id="h-late", status="delivered", at="2026-11-20T09:40:00Z")
    write_events(store, early, registry=STEWARD)
    write_events(store, dict(early, status="sent", at="2026-11-20T09:25:00Z"), registry=STEWARD)
    assert _json(runner, "scan", *db)["as_of"] == "2026-11-20T09:40:00Z"


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


def test_audit_and_health_say_the_moment_in_the_words_of_every_answer(
    runner: CliRunner, store: Store
) -> None:
    load(store)
    record(store, *clean_chain())
    db = ["--db", _url(store)]
    for question in (["audit"], ["health", "--days", "2"]):
        text = runner.invoke(main, [*question, *db])
        assert text.exit_code == 0, text.output
        assert text.output.strip().splitlines()[-1] == BY_CLOCK, question
        assert _json(runner, *question, *db)["as_of"] == CLOCK, question
    svg = runner.invoke(main, ["health", "--days", "2", "--format", "svg", *db]).stdout
    assert f"<desc>{BY_CLOCK}</desc>" in svg  # the drawing says it too
    asked = ["--as-of", "2026-11-20T09:30:00Z", *db]
    for question in (["audit"], ["health", "--days", "2"]):
        text = runner.invoke(main, [*question, *asked])
        said = "judged as of 2026-11-20T09:30:00Z (--as-of)"
        assert text.output.strip().splitlines()[-1] == said, question
        assert _json(runner, *question, *asked)["as_of"] == "2026-11-20T09:30:00Z", question


def test_the_drawings_of_trace_and_impact_say_the_moment_judged(
    runner: CliRunner, store: Store
) -> None:
    load(store)
    record(store, *clean_chain())
    db = ["--db", _url(store)]
    for question in (
        ["trace", "BI", "order.total", "R-9"],
        ["impact", "ERP", "order.total", "40017"],
    ):
        dot = runner.invoke(main, [*question, "--format", "dot", *db]).stdout
        assert f"  // {BY_CLOCK}\n" in dot, question  # a comment line for the DOT reader
        svg = runner.invoke(main, [*question, "--format", "svg", *db]).stdout
        # a label under the graph: the SVG says it wherever it is shown or saved
        assert BY_CLOCK.replace("'", "&#39;").replace("-", "&#45;") in svg, question
    asked = runner.invoke(
        main, ["trace", "BI", "order.total", "R-9", "--format", "dot", "--as-of",
               "2026-11-20T09:30:00Z", *db],
    ).stdout  # fmt: skip
    assert "// judged as of 2026-11-20T09:30:00Z (--as-of)" in asked


def test_scan_junit_and_sarif_say_the_moment_judged(runner: CliRunner, store: Store) -> None:
    load(store)
    record(store, *clean_chain())
    db = ["--db", _url(store)]
    junit = ElementTree.fromstring(runner.invoke(main, ["scan", "--format", "junit", *db]).stdout)
    properties = {
        p.get("name"): p.get("value") for p in junit.findall("./testsuite/properties/property")
    }
    assert properties == {"as_of": CLOCK, "judged": BY_CLOCK}
    sarif = json.loads(runner.invoke(main, ["scan", "--format", "sarif", *db]).stdout)
    assert sarif["runs"][0]["properties"] == {"as_of": CLOCK, "judged": BY_CLOCK}
    asked = ["--as-of", "2026-11-20T09:30:00Z", *db]
    sarif = json.loads(runner.invoke(main, ["scan", "--format", "sarif", *asked]).stdout)
    assert sarif["runs"][0]["properties"]["judged"] == (
        "judged as of 2026-11-20T09:30:00Z (--as-of)"
    )


def test_scan_github_annotations_end_with_a_notice_of_the_moment_judged(
    runner: CliRunner, store: Store
) -> None:
    load(store)
    record(store, *clean_chain())
    db = ["--db", _url(store)]
    lines = runner.invoke(main, ["scan", "--format", "github", *db]).stdout.splitlines()
    assert lines[-1] == f"::notice title=lineage scan::{BY_CLOCK}"
    assert all(line.startswith("::") for line in lines)  # workflow commands only
    asked = ["--as-of", "2026-11-20T09:30:00Z", *db]
    lines = runner.invoke(main, ["scan", "--format", "github", *asked]).stdout.splitlines()
    assert lines[-1] == "::notice title=lineage scan::judged as of 2026-11-20T09:30:00Z (--as-of)"


def test_scan_markdown_ends_with_the_moment_judged(runner: CliRunner, store: Store) -> None:
    load(store)
    record(store, *clean_chain())
    db = ["--db", _url(store)]
    text = runner.invoke(main, ["scan", "--format", "markdown", *db]).stdout
    assert text.rstrip("\n").endswith(f"\n\n{BY_CLOCK}")
    asked = ["--as-of", "2026-11-20T09:30:00Z", *db]
    text = runner.invoke(main, ["scan", "--format", "markdown", *asked]).stdout
    assert text.rstrip("\n").endswith("\n\njudged as of 2026-11-20T09:30:00Z (--as-of)")


def test_the_digest_and_health_pages_say_the_moment_judged(
    client: FlaskClient, db_url: str
) -> None:
    from lineage.store import open_store  # noqa: PLC0415 - the app's own store, by its URL

    store = open_store(db_url)
    try:
        load(store)
        record(store, *clean_chain())
    finally:
        store.close()
    escaped = BY_CLOCK.replace("'", "&#39;")
    said = f'<p class="judged">{escaped}</p>'
    for path in (
        "/digest/controller@example.com",  # the owner's digest page
        "/",  # the system map's health charts
        "/systems/ERP",
        "/integrations/erp-to-bi",
        "/findings",  # open findings over time and the findings: one line says it
    ):
        page = client.get(path)
        assert page.status_code == 200, path
        body = page.get_data(as_text=True)
        assert said in body, path
        assert body.count("judged as of") == 1, path  # once is enough
    earlier = client.get("/findings", query_string={"as_of": "2026-11-20T09:30:00Z"})
    body = earlier.get_data(as_text=True)
    assert "judged as of 2026-11-20T09:30:00Z (--as-of)" in body
    assert body.count("judged as of") == 1
    # the drawings: the trace page's diagram and the graph API's DOT and SVG
    place = {"system": "BI", "element": "order.total", "record": "R-9"}
    drawn = escaped.replace("-", "&#45;")
    html = client.get("/trace", query_string=place).get_data(as_text=True)
    assert drawn in html[html.index("<svg") : html.index("</svg>")]
    dot = client.get("/api/v1/graph/trace.dot", query_string=place).get_data(as_text=True)
    assert f"  // {BY_CLOCK}\n" in dot
    svg = client.get("/api/v1/graph/trace.svg", query_string=place).get_data(as_text=True)
    assert drawn in svg
