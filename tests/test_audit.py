"""lineage audit: the review questions per integration, and integration debt.

Asked at the store's clock, ``deliveries`` reads the stored delivery findings (the ones
``lineage scan`` reports); ``--as-of`` a past moment judges them live. Both must agree with
the scan, count a waived finding (a waiver does not undo a delivery that went wrong) and
stop counting a failed or lost hop once a later event says it was delivered.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
from click.testing import CliRunner, Result
from scan_world import at, clean_chain, hop, load, record, registry, us, waiver, write

from lineage.audit import DELIVERY_CODES, audit, audit_report, audit_text
from lineage.cli import main
from lineage.findings import read_findings
from lineage.findings.state import up_to_date
from lineage.model import Carry, Integration
from lineage.store import Store

DAY = 24 * 60


def _orphan() -> Integration:
    return Integration(
        name="bi-to-portal",
        source="BI",
        target="WMS",
        level="experience",
        carries=(Carry(element="order.total"), Carry(element="portal.banner")),
    )


def test_a_declared_recorded_clean_foundation_integration_answers_yes(store: Store) -> None:
    load(store)
    record(store, *clean_chain())
    rows = {r.integration: r for r in audit(store, as_of=us(DAY))}
    row = rows["crm-to-erp-customers"]
    assert row.answers == {
        "owner": "yes",
        "system_of_record": "yes",
        "purpose": "yes",
        "fallback": "yes",
        "audit_trail": "yes",
        "deliveries": "yes",
    }
    assert row.debt is False


def test_a_non_foundation_integration_without_fallback_is_partial(store: Store) -> None:
    load(store)
    record(store, *clean_chain())
    rows = {r.integration: r for r in audit(store, as_of=us(DAY))}
    assert rows["erp-to-bi"].answers["fallback"] == "partial"


def test_a_foundation_integration_without_fallback_is_no(store: Store) -> None:
    reg = registry()
    reg = reg.model_copy(
        update={
            "integrations": tuple(i.model_copy(update={"fallback": None}) for i in reg.integrations)
        }
    )
    load(store, reg)
    rows = {r.integration: r for r in audit(store, as_of=us(DAY))}
    assert rows["crm-to-erp-customers"].answers["fallback"] == "no"


def test_an_undeclared_owner_purpose_and_silence_are_debt(store: Store) -> None:
    reg = registry()
    load(store, reg.model_copy(update={"integrations": (*reg.integrations, _orphan())}))
    record(store, *clean_chain())
    row = {r.integration: r for r in audit(store, as_of=us(DAY))}["bi-to-portal"]
    assert row.answers == {
        "owner": "no",
        "system_of_record": "partial",
        "purpose": "no",
        "fallback": "partial",
        "audit_trail": "no",
        "deliveries": "no",  # was "yes": no hop in the period is no evidence it delivers
    }
    assert row.debt is True
    assert row.details["system_of_record"] == "no system of record for portal.banner"
    assert row.details["deliveries"] == "no hops recorded in the last 7d: nothing shows it delivers"


def test_the_audit_trail_only_counts_hops_within_the_period(store: Store) -> None:
    load(store)
    record(store, *clean_chain())
    late = us(10 * DAY)
    rows = {r.integration: r for r in audit(store, as_of=late)}
    assert rows["erp-to-bi"].answers["audit_trail"] == "no"
    rows = {r.integration: r for r in audit(store, as_of=late, period=dt.timedelta(days=30))}
    assert rows["erp-to-bi"].answers["audit_trail"] == "yes"


def test_some_bad_deliveries_are_partial_with_their_rate(store: Store) -> None:
    load(store)
    record(
        store,
        *clean_chain(),
        hop(
            "h-9",
            "erp-to-bi",
            30,
            [("ERP", "order.total", "40017", "50.00")],
            ("BI", "order.total", "R-9", "60.00"),
            status="failed",
            error="down",
        ),
        hop(
            "h-10",
            "erp-to-bi",
            31,
            [("ERP", "order.total", "40017", "50.00")],
            ("BI", "order.total", "R-9", "60.00"),
        ),
        hop(
            "h-11",
            "erp-to-bi",
            32,
            [("ERP", "order.total", "40017", "50.00")],
            ("BI", "order.total", "R-9", "60.00"),
        ),
    )
    row = {r.integration: r for r in audit(store, as_of=us(DAY))}["erp-to-bi"]
    assert row.answers["deliveries"] == "partial"
    assert row.details["deliveries"] == (
        "1 of 4 hops in the last 7d failed, were lost or duplicated (25.0%)"
    )


def test_only_bad_deliveries_answer_no(store: Store) -> None:
    load(store)
    record(
        store,
        hop(
            "h-9",
            "erp-to-wms",
            30,
            [("ERP", "order.status", "40017", "open")],
            ("WMS", "order.status", "P-1", "open"),
            status="sent",
        ),
    )
    row = {r.integration: r for r in audit(store, as_of=us(DAY))}["erp-to-wms"]
    assert row.answers["deliveries"] == "no"


def test_json_and_text_show_every_integration(runner: CliRunner, store: Store) -> None:
    reg = registry()
    load(store, reg.model_copy(update={"integrations": (*reg.integrations, _orphan())}))
    record(store, *clean_chain())
    url = store.engine.url.render_as_string(hide_password=False)
    result = runner.invoke(
        main, ["audit", "--db", url, "--format", "json", "--as-of", "2026-11-21T09:00:00Z"]
    )
    assert result.exit_code == 0, result.output
    rows = json.loads(result.output)["integrations"]
    assert [r["integration"] for r in rows] == [
        "crm-to-erp-customers",
        "erp-to-bi",
        "erp-to-wms",
        "bi-to-portal",
    ]
    assert set(rows[0]) >= {"integration", "owner", "answers", "debt"}
    assert list(rows[0]["answers"]) == [
        "owner",
        "system_of_record",
        "purpose",
        "fallback",
        "audit_trail",
        "deliveries",
    ]
    assert [r["debt"] for r in rows] == [False, False, False, True]
    text = runner.invoke(main, ["audit", "--db", url, "--as-of", "2026-11-21", "--period", "2d"])
    lines = text.output.splitlines()
    assert lines[0].split() == [
        "integration",
        "owner",
        "owner?",
        "record",
        "purpose",
        "fallback",
        "trail",
        "deliveries",
        "debt",
    ]
    # aligned: every answer column starts at the same place on every row
    column = lines[0].index("purpose")
    assert all(
        line[column:].split()[0] in {"yes", "partial", "no", "-------"} for line in lines[1:6]
    )
    assert "4 integrations, 1 in debt" in text.output
    assert "bi-to-portal: owner no: no owner is declared" in text.output


def test_a_bad_period_is_a_usage_error(runner: CliRunner, store: Store) -> None:
    url = store.engine.url.render_as_string(hide_password=False)
    result = runner.invoke(main, ["audit", "--db", url, "--period", "a week"])
    assert result.exit_code == 2
    assert "duration" in result.output


def test_no_integrations_is_said_plainly() -> None:
    assert audit_text([]) == "lineage audit: no integrations are declared"


# --- deliveries from the stored findings ------------------------------------------------------


def _cli(runner: CliRunner, db: str, *args: str) -> Result:
    return runner.invoke(main, [*args, "--db", db], catch_exceptions=False)


def _url(store: Store) -> str:
    return store.engine.url.render_as_string(hide_password=False)


def _deliveries(runner: CliRunner, db: str, *args: str) -> dict[str, tuple[str, str | None]]:
    """``lineage audit``'s deliveries answer and why, per integration."""
    result = _cli(runner, db, "audit", "--format", "json", *args)
    assert result.exit_code == 0, result.output
    return {
        row["integration"]: (row["answers"]["deliveries"], row["details"].get("deliveries"))
        for row in json.loads(result.stdout)["integrations"]
    }


def _scanned_bad(runner: CliRunner, db: str) -> dict[str, int]:
    """What ``lineage scan`` reports went wrong, per integration: a failed or lost hop is
    one, a source record delivered to n records n - 1."""
    result = _cli(runner, db, "scan", "--format", "json")
    assert result.exit_code in (0, 1), result.output
    bad: dict[str, int] = {}
    for finding in json.loads(result.stdout)["findings"]:
        name = finding["subject"]["integration"]
        if finding["code"] not in DELIVERY_CODES or "run" in finding["evidence"]:
            continue
        extra = len(finding["evidence"].get("targets", [])) - 1
        bad[name] = bad.get(name, 0) + (max(1, extra) if extra >= 0 else 1)
    return bad


def _bad_in(why: str | None) -> int:
    """The ``n`` of "n of m hops ... failed, were lost or duplicated"."""
    return 0 if why is None or " of " not in why else int(why.split(" of ")[0])


def _to_bi(hop_id: str, minutes: float, target: str = "R-9", **extra: Any) -> dict[str, Any]:
    return hop(
        hop_id,
        "erp-to-bi",
        minutes,
        [("ERP", "order.total", "40017", "50.00")],
        ("BI", "order.total", target, "60.00"),
        **extra,
    )


def _planted(store: Store) -> None:
    """A failed hop on crm-to-erp-customers; on erp-to-bi a failed hop, a lost one (sent at
    30, due by 150) and one source record delivered to three BI records; the clock at 200."""
    load(store)
    record(
        store,
        *clean_chain(),
        hop(
            "h-8",
            "crm-to-erp-customers",
            20,
            [("CRM", "customer.address", "C-1042", "12 Main St")],
            ("ERP", "customer.address", "40017", "12 MAIN ST"),
            status="failed",
            error="ERP down",
        ),
        _to_bi("h-9", 25, status="failed", error="BI rejected it"),
        _to_bi("h-10", 30, status="sent"),
        _to_bi("h-11", 40, target="R-11"),
        _to_bi("h-12", 45, target="R-12"),
        write("ERP", "order.status", "40018", "open", 200),  # the clock moves on
    )


def test_the_audit_counts_what_the_scan_reports_on_planted_deliveries(
    runner: CliRunner, store: Store
) -> None:
    _planted(store)
    db = _url(store)
    stored = _deliveries(runner, db)
    assert stored["erp-to-bi"] == (
        "partial",
        "4 of 5 hops in the last 7d failed, were lost or duplicated (80.0%)",
    )  # h-9 failed, h-10 lost, 40017 delivered to: two duplicates
    assert stored["crm-to-erp-customers"][0] == "partial"
    assert stored["erp-to-wms"] == ("yes", None)
    scanned = _scanned_bad(runner, db)
    assert scanned == {"crm-to-erp-customers": 1, "erp-to-bi": 4}
    assert {name: _bad_in(why) for name, (_, why) in stored.items() if why} == scanned
    # the same moment judged live gives the same answers
    assert _deliveries(runner, db, "--as-of", at(200)) == stored


def test_the_audit_catches_an_unjudged_store_up_first(store: Store) -> None:
    _planted(store)  # recorded without a judgement: nothing is stored yet
    assert not up_to_date(store)
    report = audit_report(store)
    assert report.as_of == us(200)
    row = {r.integration: r for r in report.rows}["erp-to-bi"]
    assert row.details["deliveries"].startswith("4 of 5 hops")
    stored = read_findings(store, filters=None).findings
    assert {f.subject.event for f in stored if f.code in DELIVERY_CODES} >= {"h-9", "h-10"}


def test_a_waived_delivery_finding_still_counts_in_the_audit(
    runner: CliRunner, store: Store
) -> None:
    _planted(store)
    reg = registry(waivers=(waiver("failed-delivery", integration="crm-to-erp-customers"),))
    store.save_registry(reg)
    db = _url(store)
    assert "crm-to-erp-customers" not in _scanned_bad(runner, db)  # the scan is silenced
    answer, why = _deliveries(runner, db)["crm-to-erp-customers"]
    assert answer == "partial"
    assert why is not None and why.startswith("1 of 2 hops")  # the hop still failed


def test_a_lost_hop_delivered_later_stops_counting_from_that_event_on(
    runner: CliRunner, store: Store
) -> None:
    load(store)
    sent = _to_bi("h-10", 30, status="sent")
    record(store, *clean_chain(), sent, write("ERP", "order.status", "40018", "open", 200))
    db = _url(store)
    assert _deliveries(runner, db)["erp-to-bi"] == (
        "partial",
        "1 of 2 hops in the last 7d failed, were lost or duplicated (50.0%)",
    )
    record(
        store,
        {**sent, "status": "delivered", "at": at(210)},  # the news arrives at last
        write("ERP", "order.status", "40019", "open", 220),
    )
    assert _deliveries(runner, db)["erp-to-bi"] == ("yes", None)
    assert _scanned_bad(runner, db) == {}
    # asked as of a moment before the delivery, the hop was still lost then
    assert _bad_in(_deliveries(runner, db, "--as-of", at(205))["erp-to-bi"][1]) == 1


def test_a_failed_hop_before_the_period_does_not_count(runner: CliRunner, store: Store) -> None:
    load(store)
    record(
        store,
        *clean_chain(),
        _to_bi("h-9", 30, status="failed", error="BI rejected it"),
        _to_bi("h-10", 9 * DAY, target="R-9"),
    )
    db = _url(store)
    assert _scanned_bad(runner, db) == {"erp-to-bi": 1}  # still open: nothing delivered it
    assert _deliveries(runner, db)["erp-to-bi"] == ("yes", None)  # but outside the 7 days
    answer, why = _deliveries(runner, db, "--period", "10d")["erp-to-bi"]
    assert (answer, _bad_in(why)) == ("partial", 1)


@pytest.fixture
def demo(runner: CliRunner, db_url: str) -> str:
    loaded = runner.invoke(main, ["demo", "--no-serve", "--db", db_url], catch_exceptions=False)
    assert loaded.exit_code == 0, loaded.output
    return db_url


def test_on_the_demo_the_audit_agrees_with_the_scan_and_with_itself_judged_live(
    runner: CliRunner, demo: str
) -> None:
    stored = _deliveries(runner, demo)
    scanned = _scanned_bad(runner, demo)
    assert scanned  # the demo plants failed, lost and duplicate deliveries
    counted = {name: _bad_in(why) for name, (_, why) in stored.items() if _bad_in(why)}
    assert counted == scanned
    clock = json.loads(_cli(runner, demo, "audit", "--format", "json").stdout)["as_of"]
    assert _deliveries(runner, demo, "--as-of", clock.replace("Z", "")) == stored
