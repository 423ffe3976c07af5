"""lineage audit: the review questions per integration, and integration debt."""

from __future__ import annotations

import datetime as dt
import json

from click.testing import CliRunner
from scan_world import clean_chain, hop, load, record, registry, us

from lineage.audit import audit, audit_text
from lineage.cli import main
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
