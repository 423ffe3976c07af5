"""Findings as living state (issue 13): judged as events arrive, kept with their history.

- lifecycle: a finding is opened, resolved by a later event (when, and by which event), and
  a finding that comes back is a new occurrence;
- zero drift: after every ingest path, on the runtime cases the detector tests keep and on
  the demo, ``lineage scan --full`` has nothing to add, change or resolve;
- two concurrent writers neither lose nor double a finding;
- ``lineage scan``, ``GET /api/v1/findings`` and the findings page read the stored state.
"""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from flask import Flask
from flask.testing import FlaskClient
from scan_world import at, clean_chain, hop, load, record, registry, us, waiver, write
from sqlalchemy import func, select
from test_detect_observed_flows import INTEGRATION, SYSTEMS, airflow_event
from test_detect_run import defects

from lineage import Recorder
from lineage.cli import main
from lineage.detect import scope as detect_scope
from lineage.detect.run import scan_report
from lineage.detect.scope import Scope, Watermark, touching
from lineage.findings import judge, read_findings, state
from lineage.model.findings import HISTORY_FIELDS, Finding
from lineage.store import Store, open_store
from lineage.store import findings as stored
from lineage.store.schema import findings, findings_outbox
from webapp import create_app


def run(runner: CliRunner, db: str, *args: str) -> Result:
    return runner.invoke(main, [*args, "--db", db], catch_exceptions=False)


def live(finding: Finding) -> Finding:
    """The finding without its history: what a live scan reports."""
    return finding.model_copy(update=dict.fromkeys(HISTORY_FIELDS))


def assert_no_drift(runner: CliRunner, db: str) -> dict[str, Any]:
    """``scan --full`` finds nothing to reconcile; the stored state is the live scan."""
    full = run(runner, db, "scan", "--full", "--format", "json", "--state", "all")
    assert full.exit_code in (0, 1), full.output
    document = json.loads(full.stdout)
    assert document["reconciled"] == {"added": 0, "changed": 0, "resolved": 0}
    store = open_store(db)
    try:
        stored = [live(f) for f in read_findings(store).findings]
        assert stored == scan_report(store).findings
    finally:
        store.close()
    return document


# --- lifecycle -------------------------------------------------------------------------------


def stale_world(store: Store) -> None:
    load(store)
    record(
        store,
        write("ERP", "order.total", "40017", "50.00", 0, id="w-1"),
        hop(
            "h-1",
            "erp-to-bi",
            5,
            [("ERP", "order.total", "40017", "50.00")],
            ("BI", "order.total", "R-9", "60.00"),
        ),
    )
    judge(store)


def conflicting(store: Store, state: str = "all") -> list[Finding]:
    found = read_findings(store, state=state).findings
    return [f for f in found if f.code == "conflicting-truth" and f.subject.record == "R-9"]


def test_a_finding_is_opened_resolved_by_a_later_event_and_reopened_as_occurrence_two(
    store: Store,
) -> None:
    stale_world(store)
    assert conflicting(store) == []

    record(store, write("ERP", "order.total", "40017", "55.00", 10, id="w-2"))
    judge(store)
    (opened,) = conflicting(store)
    assert (opened.state, opened.occurrence) == ("open", 1)
    assert opened.first_seen == at(10) and opened.resolved_at is None

    record(store, write("ERP", "order.total", "40017", "50.00", 20, id="w-fix"))
    judge(store)
    assert conflicting(store, "open") == []
    (resolved,) = conflicting(store, "resolved")
    assert (resolved.resolved_at, resolved.resolved_by) == (at(20), "w-fix")
    assert resolved.first_seen == at(10) and resolved.occurrence == 1

    record(store, write("ERP", "order.total", "40017", "70.00", 30, id="w-3"))
    judge(store)
    history = sorted(conflicting(store), key=lambda f: f.occurrence or 0)
    assert [(f.occurrence, f.state) for f in history] == [(1, "resolved"), (2, "open")]
    assert history[1].first_seen == at(30)


def test_a_lost_hop_is_resolved_by_its_delivery(store: Store) -> None:
    load(store)
    sent = hop(
        "h-24",
        "erp-to-bi",
        35,
        [("ERP", "order.total", "40017", "50.00")],
        ("BI", "order.total", "R-24", "60.00"),
        status="sent",
    )
    record(store, write("ERP", "order.total", "40017", "50.00", 0), sent)
    record(store, write("ERP", "order.status", "40017", "open", 200))  # the clock moves on
    judge(store)
    (lost,) = [f for f in read_findings(store).findings if f.code == "lost-delivery"]
    assert lost.subject.event == "h-24" and lost.first_seen == at(200)

    record(store, {**sent, "status": "delivered", "at": at(100)})  # late news, in time
    judge(store)
    assert [f for f in read_findings(store).findings if f.code == "lost-delivery"] == []
    (resolved,) = read_findings(store, state="resolved").findings
    assert resolved.resolved_by == "h-24"


def test_a_stale_copy_whose_delivery_times_out_keeps_its_finding_and_nothing_drifts(
    runner: CliRunner, db_url: str
) -> None:
    store = open_store(db_url)
    try:
        load(store)
        record(
            store,
            write("ERP", "order.total", "40017", "50.00", 0),
            hop(
                "h-25",
                "erp-to-bi",
                5,
                [("ERP", "order.total", "40017", "50.00")],
                ("BI", "order.total", "R-9", "60.00"),
                status="sent",
            ),
            write("ERP", "order.total", "40017", "55.00", 10),  # the copy in BI is stale now
        )
        judge(store)
        (stale,) = conflicting(store)
        # the clock passes erp-to-bi's timeout: the hop is lost, the copy is as stale as before
        record(store, write("ERP", "order.status", "40099", "open", 300))
        assert not judge(store).full
        (lost,) = [f for f in read_findings(store).findings if f.code == "lost-delivery"]
        assert lost.subject.event == "h-25"
        (still,) = conflicting(store)  # the same occurrence, still open, worded the same
        assert (still.occurrence, still.state, still.first_seen, still.message) == (
            stale.occurrence,
            "open",
            stale.first_seen,
            stale.message,
        )
    finally:
        store.close()
    assert_no_drift(runner, db_url)


def test_a_batch_big_beside_the_store_is_judged_in_full_and_nothing_drifts(
    runner: CliRunner, db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # the threshold made small, so that a small store shows it: 4 changes and more than a
    # tenth of the store's events
    monkeypatch.setattr(detect_scope, "FULL_FROM", 4)
    store = open_store(db_url)
    try:
        load(store)
        record(store, *clean_chain())
        judge(store)
        record(store, *defects())  # 10 new events beside 7: judged in full
        big = judge(store)
        assert big.full and big.added > 0
        record(store, write("ERP", "order.status", "40099", "open", 300))  # 1: scoped
        assert not judge(store).full
    finally:
        store.close()
    assert_no_drift(runner, db_url)


def test_a_big_batch_judged_in_steps_keeps_every_verdict_and_resolves_by_the_last_event(
    runner: CliRunner, db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # steps made small (a real step is 50,000 changes), so that a small batch is judged in
    # several: each stored with its watermark before the next is read
    monkeypatch.setattr(detect_scope, "STEP", 3)
    store = open_store(db_url)
    try:
        stale_world(store)
        record(store, write("ERP", "order.total", "40017", "55.00", 10, id="w-2"))
        judge(store)
        assert [f.state for f in conflicting(store)] == ["open"]
        # 11 new events: the defects, then the fix of the stale copy last
        record(store, *defects(), write("ERP", "order.total", "40017", "50.00", 40, id="w-fix"))
        with store.engine.connect() as conn:
            first = detect_scope.changes_since(store, conn=conn, stepped=True)
            now = detect_scope.watermark_now(conn)
        assert first is not None and first.until.events_seq == first.since.events_seq + 3
        assert first.until.clock == first.since.clock  # the clock's changes wait for the last
        stepped = judge(store)
        assert not stepped.full and stepped.added > 5 and stepped.resolved == 1
        with store.engine.connect() as conn:
            assert detect_scope.stored_watermark(conn) == now
        # the stale copy is now divergent (the batch wrote R-9): that one resolved, this one
        # opened, both by the batch's last event, as one judgement of the batch would say
        (stale,) = conflicting(store, "resolved")
        assert (stale.resolved_at, stale.resolved_by) == (at(40), "w-fix")
        (divergent,) = conflicting(store, "open")
        assert "divergent" in divergent.message and divergent.first_seen == at(40)
    finally:
        store.close()
    assert_no_drift(runner, db_url)  # the steps found what one full judgement finds


def test_a_judgement_in_steps_ends_at_where_it_began_though_events_keep_coming(
    runner: CliRunner, db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # a writer that never stops: after each step of the judgement, one more event is
    # committed; the judgement aims at the store as it found it, and ends there
    monkeypatch.setattr(detect_scope, "STEP", 3)
    store = open_store(db_url)
    try:
        load(store)
        record(store, *clean_chain())
        judge(store)
        record(store, *defects())
        with store.engine.connect() as conn:
            aimed = detect_scope.watermark_now(conn)
        step = state._judge_a_step
        later = iter(range(50))

        def a_step_then_an_event(*args: Any) -> Any:
            done = step(*args)
            n = next(later)
            record(store, write("ERP", "order.status", f"5{n:04d}", "open", 40 + n))
            return done

        monkeypatch.setattr(state, "_judge_a_step", a_step_then_an_event)
        stepped = judge(store)
        monkeypatch.setattr(state, "_judge_a_step", step)
        assert not stepped.full and stepped.added > 5
        with store.engine.connect() as conn:
            assert detect_scope.stored_watermark(conn) == aimed  # not a step further
        assert not state.up_to_date(store)  # the events written meanwhile: the next one's
        assert not judge(store).skipped and state.up_to_date(store)
    finally:
        store.close()
    assert_no_drift(runner, db_url)


def test_a_step_takes_events_then_status_changes_and_leaves_the_clock_for_the_last(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(detect_scope, "STEP", 12)
    since = Watermark(events_seq=100, status_seq=40, openlineage_seq=7, clock=1_000)
    until = Watermark(
        events_seq=110, status_seq=45, openlineage_seq=9, clock=2_000, registry_version=3
    )
    step = detect_scope.step_toward(since, until)
    assert step == Watermark(
        events_seq=110, status_seq=42, openlineage_seq=7, clock=1_000, registry_version=3
    )
    assert detect_scope.step_toward(step, until) == until  # 3 changes left: the last step
    monkeypatch.setattr(detect_scope, "STEP", 15)
    assert detect_scope.step_toward(since, until) == until  # 15 changes: one step


def test_scan_lists_resolved_findings_with_when_and_why_and_filters_by_time(
    runner: CliRunner, db_url: str
) -> None:
    store = open_store(db_url)
    stale_world(store)
    record(store, write("ERP", "order.total", "40017", "55.00", 10, id="w-2"))
    judge(store)
    record(store, write("ERP", "order.total", "40017", "50.00", 20, id="w-fix"))
    judge(store)
    store.close()
    text = run(runner, db_url, "scan", "--state", "resolved")
    assert text.exit_code == 0  # a resolved finding does not fail the scan
    assert f"[resolved at {at(20)} by w-fix]" in text.stdout
    document = json.loads(run(runner, db_url, "scan", "--state", "all", "--format", "json").stdout)
    (finding,) = [f for f in document["findings"] if f["code"] == "conflicting-truth"]
    assert finding["state"] == "resolved" and finding["first_seen"] == at(10)
    later = run(runner, db_url, "scan", "--state", "all", "--since", at(15), "--format", "json")
    assert [f["resolved_by"] for f in json.loads(later.stdout)["findings"]] == ["w-fix"]
    none = run(runner, db_url, "scan", "--state", "resolved", "--since", at(25))
    assert "no findings" in none.stdout


def test_as_of_still_judges_live_and_refuses_the_state_options(
    runner: CliRunner, db_url: str
) -> None:
    store = open_store(db_url)
    stale_world(store)
    record(store, write("ERP", "order.total", "40017", "55.00", 10, id="w-2"))
    judge(store)
    store.close()
    before = run(runner, db_url, "scan", "--as-of", at(8), "--format", "json")
    assert json.loads(before.stdout)["findings"] == []
    refused = runner.invoke(main, ["scan", "--db", db_url, "--as-of", at(8), "--full"])
    assert refused.exit_code == 2 and "--as-of" in refused.output


def test_waivers_apply_when_reading_without_a_new_judgement(store: Store) -> None:
    load(store)
    record(store, *clean_chain(), *defects())
    judge(store)
    assert any(f.code == "rule-violation" for f in read_findings(store).findings)
    store.save_registry(registry(waivers=(waiver("rule-violation", system="ERP"),)))
    judge(store)  # a registry change is judged too; the waiver is applied when reading
    found = read_findings(store)
    assert not any(f.code == "rule-violation" for f in found.findings)
    assert found.waived == 1


def test_the_webhook_outbox_holds_each_opened_and_resolved_finding(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LINEAGE_WEBHOOK_URL", "http://127.0.0.1:9/hook")
    stale_world(store)
    record(store, write("ERP", "order.total", "40017", "55.00", 10, id="w-2"))
    judge(store)
    record(store, write("ERP", "order.total", "40017", "50.00", 20, id="w-fix"))
    judge(store)
    with store.engine.connect() as conn:
        rows = conn.execute(
            select(findings_outbox.c.event, findings_outbox.c.payload).order_by(
                findings_outbox.c.seq
            )
        ).all()
    assert [event for event, _ in rows] == ["opened", "resolved"]
    opened, resolved = (json.loads(payload) for _, payload in rows)
    assert opened["event"] == "opened" and opened["code"] == "conflicting-truth"
    assert opened["state"] == "open" and opened["subject"]["record"] == "R-9"
    assert resolved["state"] == "resolved" and resolved["resolved_by"] == "w-fix"


# --- zero drift after every ingest path ------------------------------------------------------


def events_file(path: Path, events: list[dict[str, Any]]) -> str:
    path.write_text("".join(json.dumps(e) + "\n" for e in events))
    return str(path)


def test_no_drift_after_cli_ingest_in_three_parts(
    runner: CliRunner, db_url: str, tmp_path: Path
) -> None:
    store = open_store(db_url)
    load(store)
    store.close()
    events = [*clean_chain(), *defects()]
    third = len(events) // 3
    for n, part in enumerate((events[:third], events[third : 2 * third], events[2 * third :])):
        done = run(runner, db_url, "ingest", events_file(tmp_path / f"e{n}.jsonl", part))
        assert done.exit_code == 0, done.output
        document = assert_no_drift(runner, db_url)
    assert {f["code"] for f in document["findings"]} >= {"failed-delivery", "rule-violation"}


def test_no_drift_on_the_demo(runner: CliRunner, db_url: str) -> None:
    assert run(runner, db_url, "demo", "--no-serve").exit_code == 0
    document = assert_no_drift(runner, db_url)
    resolved = [f for f in document["findings"] if f["state"] == "resolved"]
    assert resolved, "the demo, judged day by day, keeps a finding that was resolved"
    assert all(f["resolved_by"] for f in resolved)


def test_no_drift_after_posted_events_one_request_each(runner: CliRunner, db_url: str) -> None:
    store = open_store(db_url)
    load(store)
    store.close()
    app = create_app({"TESTING": True, "DATABASE_URL": db_url, "API_TOKEN": None})
    try:
        client = app.test_client()
        for event in [*clean_chain(), *defects()]:
            # closing the answer runs what a server runs once it is sent: the judgement
            with client.post("/api/v1/events", json=event) as answer:
                assert answer.status_code == 200
        assert_no_drift(runner, db_url)
        answer = client.get("/api/v1/findings").get_json()
        assert answer["findings"] and all(f["state"] == "open" for f in answer["findings"])
    finally:
        app.extensions["lineage"].close()


# The OpenLineage reading path leaves a psycopg server cursor to the garbage collector on
# PostgreSQL (seen once a judgement runs after POST /api/v1/lineage; not in this package)
@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
def test_no_drift_after_openlineage_runs(runner: CliRunner, db_url: str, tmp_path: Path) -> None:
    path = tmp_path / "registry.yaml"
    path.write_text(SYSTEMS)
    assert run(runner, db_url, "load", str(path)).exit_code == 0
    app = create_app({"TESTING": True, "DATABASE_URL": db_url, "API_TOKEN": None})
    try:
        client = app.test_client()
        for n, state in enumerate(("START", "COMPLETE"), 1):
            with client.post("/api/v1/lineage", json=airflow_event(n, state, minute=n)) as sent:
                assert sent.status_code == 201
            assert_no_drift(runner, db_url)
        codes = {f["code"] for f in client.get("/api/v1/findings").get_json()["findings"]}
        assert "undeclared-integration" in codes
    finally:
        app.extensions["lineage"].close()
    path.write_text(SYSTEMS + INTEGRATION)  # declared now: the finding is resolved
    assert run(runner, db_url, "load", str(path)).exit_code == 0
    document = assert_no_drift(runner, db_url)
    assert [f["state"] for f in document["findings"] if f["code"] == "undeclared-integration"] == [
        "resolved"
    ]


def test_no_drift_after_the_recorder_writes_to_the_store(
    runner: CliRunner, db_url: str, tmp_path: Path
) -> None:
    store = open_store(db_url)
    load(store)
    store.close()
    with Recorder(db_url, spool=tmp_path / "spool", timeout=30.0) as recorder:
        for event in [*clean_chain(), *defects()]:
            fields = {k: v for k, v in event.items() if k != "kind"}
            getattr(recorder, event["kind"])(**fields)
            recorder.flush()
    document = assert_no_drift(runner, db_url)
    assert {f["code"] for f in document["findings"]} >= {"unexplained-transformation"}


# --- concurrency -----------------------------------------------------------------------------


def test_two_concurrent_writers_neither_lose_nor_double_a_finding(db_url: str) -> None:
    setup = open_store(db_url)
    load(setup)
    record(setup, *clean_chain())
    setup.close()
    errors: list[BaseException] = []

    def writer(name: str) -> None:
        store = open_store(db_url)
        try:
            for n in range(6):
                record(
                    store,
                    write("ERP", "order.status", f"{name}-{n}", "lost", 40 + n, id=f"{name}{n}"),
                )
                judge(store)
        except BaseException as exc:  # the test thread reports it
            errors.append(exc)
        finally:
            store.close()

    threads = [threading.Thread(target=writer, args=(name,)) for name in ("a", "b")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    store = open_store(db_url)
    try:
        violations = [f for f in read_findings(store).findings if f.code == "rule-violation"]
        assert len(violations) == 12  # every write's finding, once
        with store.engine.connect() as conn:
            per_fingerprint = conn.execute(
                select(func.count())
                .select_from(findings)
                .where(findings.c.resolved_at.is_(None))
                .group_by(findings.c.fingerprint)
                .having(func.count() > 1)
            ).all()
        assert per_fingerprint == []
        assert judge(store, full=True).as_dict() == {"added": 0, "changed": 0, "resolved": 0}
    finally:
        store.close()


# --- the web app reads the state -------------------------------------------------------------


@pytest.fixture
def judged(app: Flask, db_url: str) -> FlaskClient:
    store = open_store(db_url)
    load(store)
    record(store, *clean_chain(), *defects())
    judge(store)
    store.close()
    return app.test_client()


def test_the_api_pages_the_stored_findings_with_a_link_to_the_next_page(
    judged: FlaskClient,
) -> None:
    everything = judged.get("/api/v1/findings").get_json()
    total = sum(everything["summary"].values())
    first = judged.get("/api/v1/findings?limit=3")
    assert first.headers["X-Total-Count"] == str(total)
    page = first.get_json()
    assert page["findings"] == everything["findings"][:3]
    assert page["summary"] == everything["summary"]
    link = first.headers["Link"]
    assert link.endswith('>; rel="next"') and "offset=3" in link
    second = judged.get(link[1 : link.index(">")]).get_json()
    assert second["findings"] == everything["findings"][3:6]
    last = judged.get(f"/api/v1/findings?limit=3&offset={total - 1}")
    assert "Link" not in last.headers and len(last.get_json()["findings"]) == 1


def test_paging_through_the_findings_shows_each_once_in_the_order_of_one_read(
    judged: FlaskClient,
) -> None:
    everything = judged.get("/api/v1/findings").get_json()["findings"]
    assert len({f["severity"] for f in everything}) > 1  # the pages cross a severity
    for size in (1, 2, 3):
        paged = []
        for offset in range(0, len(everything), size):
            answer = judged.get(f"/api/v1/findings?limit={size}&offset={offset}")
            paged += answer.get_json()["findings"]
        assert paged == everything


def test_the_api_answers_400_for_as_of_with_state(judged: FlaskClient) -> None:
    answer = judged.get(f"/api/v1/findings?as_of={at(60)}&state=resolved")
    assert answer.status_code == 400
    assert "as_of" in answer.get_json()["error"]


def test_the_findings_page_shows_the_stored_findings_a_page_at_a_time(
    judged: FlaskClient,
) -> None:
    html = judged.get("/findings?limit=2").get_data(as_text=True)
    assert "Showing 2 of" in html and 'rel="next"' in html
    assert "lost-delivery" in judged.get("/findings?code=lost-delivery").get_data(as_text=True)


def test_digest_reads_the_stored_findings(runner: CliRunner, db_url: str) -> None:
    store = open_store(db_url)
    load(store)
    record(store, *clean_chain(), *defects())
    judge(store)
    store.close()
    document = json.loads(run(runner, db_url, "digest", "--format", "json").stdout)
    shown = {f["code"] for owner in document["owners"] for f in owner["findings"]}
    assert "failed-delivery" in shown
    assert all("state" in f for owner in document["owners"] for f in owner["findings"])


def test_a_read_catches_up_on_events_no_judgement_has_seen(store: Store) -> None:
    load(store)
    record(store, *clean_chain(), *defects())  # written without a judgement
    found = read_findings(store).findings
    assert [live(f) for f in found] == scan_report(store).findings
    assert us(0) < judge(store, full=True).as_of


def test_open_findings_named_by_their_evidence_are_found_by_probe_and_by_read_alike(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A batch touching the place a broken-chain finding's hop read (or a duplicate
    delivery's source) finds that finding again, whether the place is probed through its
    index (a small batch) or the code's open findings are read (a large one)."""
    load(store)
    record(store, *clean_chain(), *defects())
    judge(store, webhook=False)
    with store.engine.connect() as conn:
        rows = stored.open_rows(conn)
    named = {
        (row.code, row.id): json.loads(row.evidence)[part]
        for row in rows
        for code, part in (("broken-chain", "input"), ("duplicate-delivery", "source"))
        if row.code == code
    }
    assert {code for code, _ in named} == {"broken-chain", "duplicate-delivery"}
    places = frozenset((p["system"], p["element"], p["record"]) for p in named.values())
    mark = Watermark(0, 0, 0, 0, None)
    keys = touching(Scope(since=mark, until=mark, places=places))
    found = {}
    for limit in (len(places), 0):  # probed, then read
        monkeypatch.setattr(stored, "PROBED_PLACES", limit)
        with store.engine.connect() as conn:
            found[limit] = {(r.code, r.id) for r in stored.open_rows_touching(conn, keys)}
    assert found[len(places)] == found[0]
    assert set(named) <= found[0]
