"""``lineage health``: per day, hops delivered, failed and lost, findings opened, resolved and
open, on a small case whose counts are known (SQLite and PostgreSQL)."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
from click.testing import CliRunner
from scan_world import hop, load, record
from sqlalchemy import insert

from lineage.cli import main
from lineage.detect.run import scan_report
from lineage.health import health
from lineage.store import Store
from lineage.store.schema import findings, to_us
from webapp import create_app

DAY_MINUTES = 24 * 60
#: 2026-11-20 09:00 UTC is minute 0 of scan_world; these are the three days shown.
NOV_18, NOV_19, NOV_20 = -2 * DAY_MINUTES - 540, -DAY_MINUTES - 540, -540


def _bi(hop_id: str, minutes: float, **extra: Any) -> dict[str, Any]:
    """A hop on erp-to-bi (timeout 2 h)."""
    return hop(
        hop_id,
        "erp-to-bi",
        minutes,
        [("ERP", "order.total", "40017", "50.00")],
        ("BI", "order.total", f"R-{hop_id}", "60.00"),
        **extra,
    )


def _hours(day: int, hour: float) -> float:
    return day + hour * 60


def _case(store: Store) -> None:
    """Three days of erp-to-bi (timeout 2 h), whose counts are known (see each line)."""
    load(store)
    record(
        store,
        # 18 Nov: h-1 delivered, h-2 failed, h-3 sent at 23:00 (its timeout runs out on the 19th)
        _bi("h-1", _hours(NOV_18, 10), status="delivered"),
        _bi("h-2", _hours(NOV_18, 11), status="failed", error="BI down"),
        _bi("h-3", _hours(NOV_18, 23), status="sent"),
        # 19 Nov: h-4 delivered within its timeout; h-5 failed after it (failed, not lost)
        _bi("h-4", _hours(NOV_19, 9), status="sent"),
        _bi("h-4", _hours(NOV_19, 10), status="delivered"),
        _bi("h-5", _hours(NOV_19, 12), status="sent"),
        _bi("h-5", _hours(NOV_19, 15), status="failed", error="rejected"),
        # 20 Nov: h-3 delivered at last; h-8 failed then delivered on a retry; h-6 lost at
        # 09:00; h-7 (crm-to-erp-customers, 1 h) sent at 09:00 is not lost by the clock
        _bi("h-3", _hours(NOV_20, 8), status="delivered"),
        _bi("h-8", _hours(NOV_20, 8), status="failed", error="timeout"),
        _bi("h-8", _hours(NOV_20, 8.5), status="delivered"),
        _bi("h-6", _hours(NOV_20, 7), status="sent"),
        hop(
            "h-7",
            "crm-to-erp-customers",
            _hours(NOV_20, 9),
            [("CRM", "customer.address", "C-1", "1 Main St")],
            ("ERP", "customer.address", "C-1", "1 MAIN ST"),
            status="sent",
        ),
        # the store's clock: 20 Nov 09:30 (h-9 delivered)
        _bi("h-9", _hours(NOV_20, 9.5), status="delivered"),
    )


def _moment(minutes: float) -> int:
    return to_us(dt.datetime(2026, 11, 20, 9, tzinfo=dt.UTC) + dt.timedelta(minutes=minutes))


def _finding(n: int, first: float, resolved: float | None, **subject: str | None) -> dict[str, Any]:
    return {
        "fingerprint": f"f-{n}",
        "occurrence": 1,
        "code": "lost-delivery",
        "severity": "error",
        "message": f"finding {n}",
        "evidence": "{}",
        "first_seen_at": _moment(first),
        "last_seen_at": _moment(first),
        "resolved_at": None if resolved is None else _moment(resolved),
        **dict.fromkeys(("system", "element", "record", "integration", "event", "owner")),
        **subject,
    }


def _store_findings(store: Store, *rows: dict[str, Any]) -> None:
    """Stored findings as the state engine keeps them (rows of migration 0007's table)."""
    with store.engine.begin() as conn:
        conn.execute(insert(findings), list(rows))


BI = {"integration": "erp-to-bi", "system": "BI", "owner": "bi-lead@example.com"}
CRM = {"integration": "crm-to-erp-customers", "system": "ERP", "owner": "dave@example.com"}


def _findings_case(store: Store) -> None:
    _store_findings(
        store,
        _finding(1, _hours(NOV_18, 10), _hours(NOV_19, 12), **BI),  # opened 18th, resolved 19th
        _finding(2, _hours(NOV_18 - 3 * DAY_MINUTES, 0), None, system="Portal"),  # open before
        _finding(3, _hours(NOV_20, 8), None, **BI),  # opened on the 20th, open
        _finding(4, _hours(NOV_18 - 4 * DAY_MINUTES, 0), _hours(NOV_18 - DAY_MINUTES, 0), **BI),
        _finding(5, _hours(NOV_19, 10), _hours(NOV_19, 11), **CRM),  # opened and resolved
        _finding(6, _hours(NOV_20, 10), None, **BI),  # after the clock: not yet
    )


def _series(report: Any, name: str | None, metric: str) -> list[int]:
    group = report.group(name)
    assert group is not None, [g.name for g in report.groups]
    return [getattr(day, metric) for day in group.days]


def test_health_counts_deliveries_failures_and_losses_per_day(store: Store) -> None:
    _case(store)
    report = health(store, days=3)
    assert [d.isoformat() for d in report.days] == ["2026-11-18", "2026-11-19", "2026-11-20"]
    assert _series(report, "erp-to-bi", "delivered") == [1, 1, 3]
    assert _series(report, "erp-to-bi", "failed") == [1, 1, 1]
    assert _series(report, "erp-to-bi", "lost") == [0, 1, 1]
    assert _series(report, "crm-to-erp-customers", "lost") == [0, 0, 0]
    # every declared integration has its row, even without a hop
    assert _series(report, "erp-to-wms", "delivered") == [0, 0, 0]
    assert [d.lost for d in report.total.days] == [0, 1, 1]


def test_a_day_lost_count_is_what_a_scan_at_its_end_newly_finds_lost(store: Store) -> None:
    _case(store)
    report = health(store, days=3)
    ends = [_moment(NOV_19) - 1, _moment(NOV_20) - 1, _moment(_hours(NOV_20, 9.5))]
    before: set[str] = set()
    for day, end in zip(report.total.days, ends, strict=True):
        scan = scan_report(store, as_of=end).findings
        lost = {f.subject.event or "" for f in scan if f.code == "lost-delivery"}
        assert day.lost == len(lost - before), day
        before |= lost


def test_health_as_of_an_earlier_moment_ends_on_that_day(store: Store) -> None:
    _case(store)
    report = health(store, days=2, as_of=dt.datetime(2026, 11, 19, 23, 0))
    assert [d.isoformat() for d in report.days] == ["2026-11-18", "2026-11-19"]
    # h-3's timeout ran out at 01:00 on the 19th; it is delivered only on the 20th
    assert _series(report, "erp-to-bi", "lost") == [0, 1]
    assert _series(report, "erp-to-bi", "delivered") == [1, 1]


def test_health_counts_findings_opened_resolved_and_open_per_day(store: Store) -> None:
    _case(store)
    _findings_case(store)
    report = health(store, days=3)
    assert _series(report, "erp-to-bi", "opened") == [1, 0, 1]
    assert _series(report, "erp-to-bi", "resolved") == [0, 1, 0]
    assert _series(report, "erp-to-bi", "open") == [1, 0, 1]
    assert _series(report, "crm-to-erp-customers", "opened") == [0, 1, 0]
    assert _series(report, "crm-to-erp-customers", "open") == [0, 0, 0]
    assert _series(report, None, "open") == [1, 1, 1]  # findings about no integration
    assert [d.open for d in report.total.days] == [2, 1, 2]


@pytest.mark.parametrize(
    ("by", "name", "delivered", "open_"),
    [
        ("system", "BI", [1, 1, 3], [1, 0, 1]),
        ("element", "order.total", [1, 1, 3], [0, 0, 0]),
        ("owner", "bi-lead@example.com", [1, 1, 3], [1, 0, 1]),
    ],
)
def test_health_groups_by_system_element_and_owner(
    store: Store, by: Any, name: str, delivered: list[int], open_: list[int]
) -> None:
    _case(store)
    _findings_case(store)
    report = health(store, by=by, days=3)
    assert _series(report, name, "delivered") == delivered
    assert _series(report, name, "open") == open_


def test_health_of_an_empty_store_says_so(store: Store) -> None:
    report = health(store)
    assert report.days == ()
    assert "no events" in report.text()


def test_health_command_prints_json_and_text(store: Store, db_url: str) -> None:
    _case(store)
    _findings_case(store)
    runner = CliRunner()
    result = runner.invoke(main, ["health", "--days", "3", "--format", "json", "--db", db_url])
    assert result.exit_code == 0, result.output
    document = json.loads(result.output)
    assert document["by"] == "integration"
    assert document["as_of"] == "2026-11-20T09:30:00Z"
    bi = next(g for g in document["groups"] if g["name"] == "erp-to-bi")
    assert [d["lost"] for d in bi["days"]] == [0, 1, 1]
    assert [d["open"] for d in document["total"]] == [2, 1, 2]
    text = runner.invoke(main, ["health", "--days", "3", "--db", db_url])
    assert text.exit_code == 0, text.output
    assert "Health by integration, 3 days 2026-11-18 to 2026-11-20" in text.output
    assert "erp-to-bi" in text.output


def test_health_command_refuses_a_bad_number_of_days(tmp_path: Any) -> None:
    result = CliRunner().invoke(main, ["health", "--days", "0", "--db", str(tmp_path / "x.db")])
    assert result.exit_code == 2
    assert "Traceback" not in result.output


def test_the_health_endpoint_answers_the_command_json(store: Store, db_url: str) -> None:
    _case(store)
    _findings_case(store)
    app = create_app({"TESTING": True, "DATABASE_URL": db_url, "API_TOKEN": None})
    try:
        client = app.test_client()
        answer = client.get("/api/v1/health?days=3&by=system")
        assert answer.status_code == 200
        document = answer.get_json()
        assert document["by"] == "system"
        bi = next(g for g in document["groups"] if g["name"] == "BI")
        assert [d["delivered"] for d in bi["days"]] == [1, 1, 3]
        assert [d["open"] for d in document["total"]] == [2, 1, 2]
        earlier = client.get("/api/v1/health?days=2&as_of=2026-11-19T23:00:00").get_json()
        assert earlier["days"] == ["2026-11-18", "2026-11-19"]
        # answers are kept while the store does not change, and never after it does
        record(store, _bi("h-10", _hours(NOV_20, 9.75), status="failed", error="late"))
        again = client.get("/api/v1/health?days=3&by=system").get_json()
        bi = next(g for g in again["groups"] if g["name"] == "BI")
        assert [d["failed"] for d in bi["days"]] == [1, 1, 2]
        for bad in ("days=0", "days=x", "by=colour", "as_of=yesterday"):
            refused = client.get(f"/api/v1/health?{bad}")
            assert refused.status_code == 400, bad
            assert "error" in refused.get_json()
    finally:
        app.extensions["lineage"].close()
