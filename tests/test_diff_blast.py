"""Blast radius on the demo company: what a registry change touches in the recorded data.

The counts the tool reports are checked against counts made here, independently, from the
demo's ``events.jsonl`` with plain ``decimal`` arithmetic (on SQLite and PostgreSQL).
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from lineage.cli import main
from lineage.demo import load_demo
from lineage.store import Store

DEMO = Path(__file__).resolve().parent.parent / "lineage" / "fixtures" / "demo"


def _events() -> list[dict[str, Any]]:
    lines = (DEMO / "events.jsonl").read_text().splitlines()
    return [json.loads(line) for line in lines if line.strip()]


def _at(event: dict[str, Any]) -> dt.datetime:
    return dt.datetime.fromisoformat(event["at"].replace("Z", "+00:00"))


def _registries(tmp_path: Path, old: str, new: str, file: str = "bi.yaml") -> tuple[str, str]:
    base, head = tmp_path / "base", tmp_path / "head"
    shutil.copytree(DEMO / "registry", base)
    shutil.copytree(DEMO / "registry", head)
    text = (head / file).read_text()
    assert old in text
    (head / file).write_text(text.replace(old, new))
    return str(base), str(head)


def _diff(base: str, head: str, db_url: str, *extra: str) -> list[dict[str, Any]]:
    result = CliRunner().invoke(
        main, ["diff", base, head, "--db", db_url, "--format", "json", *extra]
    )
    assert result.exit_code in (0, 1), result.output
    findings: list[dict[str, Any]] = json.loads(result.stdout)["findings"]
    return findings


def _expected_differences(element: str, rate: str, days: int) -> tuple[int, int]:
    """(hops of erp-to-bi-sales into BI ``element`` in the window, values that would differ)."""
    events = _events()
    clock = max(_at(e) for e in events)
    since = clock - dt.timedelta(days=days)
    failed = {e["id"] for e in events if e.get("kind") == "hop" and e.get("status") == "failed"}
    seen: set[str] = set()
    hops = differ = 0
    for event in events:
        if (
            event.get("kind") != "hop"
            or event.get("integration") != "erp-to-bi-sales"
            or event["output"]["element"] != element
            or event["id"] in seen
            or event["id"] in failed
            or not since <= _at(event) <= clock
        ):
            continue
        seen.add(event["id"])
        hops += 1
        (source,) = event["inputs"]
        would_be = (Decimal(source["value"]) * Decimal(rate)).quantize(
            Decimal("0.01"), rounding=ROUND_HALF_UP
        )
        if would_be != Decimal(event["output"]["value"]):
            differ += 1
    return hops, differ


def test_changed_transform_counts_the_bi_values_that_would_differ(
    store: Store, db_url: str, tmp_path: Path
) -> None:
    load_demo(store)
    base, head = _registries(tmp_path, "currency(rate=1.08)", "currency(rate=1.1)")
    found = _diff(base, head, db_url)
    changes = {f["subject"]["element"]: f for f in found if f["code"] == "transform-changed"}
    assert set(changes) == {"order.total", "invoice.total"}
    for element, change in changes.items():
        hops, differ = _expected_differences(element, "1.1", 30)
        rerun = change["evidence"]["blast"]["rerun"]
        assert hops > 10
        assert (rerun["recorded"], rerun["rerun"], rerun["values_differ"]) == (hops, hops, differ)
        assert rerun["truncated"] is False
        assert f"{differ} values would differ" in change["message"]
        example = rerun["examples"][0]
        assert Decimal(example["would_be"]) != Decimal(example["recorded"])


def test_the_window_and_the_bound_limit_the_rerun(
    store: Store, db_url: str, tmp_path: Path
) -> None:
    load_demo(store)
    base, head = _registries(tmp_path, "currency(rate=1.08)", "currency(rate=1.1)")
    found = _diff(base, head, db_url, "--days", "3", "--max-hops", "2")
    change = next(f for f in found if f["subject"]["element"] == "order.total")
    rerun = change["evidence"]["blast"]["rerun"]
    hops, _ = _expected_differences("order.total", "1.1", 3)
    assert (rerun["recorded"], rerun["rerun"], rerun["truncated"]) == (hops, 2, hops > 2)
    assert change["evidence"]["blast"]["clock"] == max(e["at"] for e in _events())


def test_moved_system_of_record_names_the_golden_records_that_move(
    store: Store, db_url: str, tmp_path: Path
) -> None:
    load_demo(store)
    base, head = _registries(
        tmp_path,
        "  - name: order.total\n    system_of_origin: Shop\n    system_of_record: ERP",
        "  - name: order.total\n    system_of_origin: Shop\n    system_of_record: BI",
        file="erp.yaml",
    )
    found = _diff(base, head, db_url)
    change = next(f for f in found if f["code"] == "system-of-record-moved")
    records = {
        e["record"] if e["kind"] != "hop" else e["output"]["record"]
        for e in _events()
        if (e.get("system") or e.get("output", {}).get("system")) == "ERP"
        and (e.get("element") or e.get("output", {}).get("element")) == "order.total"
    }
    golden = change["evidence"]["blast"]["golden"]
    assert (golden["from"], golden["to"], golden["records"]) == ("ERP", "BI", len(records))
    assert golden["examples"] == sorted(records)[:3]
    held = {p["system"]: p for p in change["evidence"]["blast"]["held"]}
    assert held["ERP"]["records"] == len(records)


def test_without_a_store_each_change_says_what_it_cannot_know(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("LINEAGE_DATABASE_URL", raising=False)
    base, head = _registries(tmp_path, "currency(rate=1.08)", "currency(rate=1.1)")
    result = CliRunner().invoke(main, ["diff", base, head, "--format", "json"])
    change = json.loads(result.stdout)["findings"][0]
    blast = change["evidence"]["blast"]
    assert blast["known"] is False
    assert "how many recorded hops would give another value" in blast["unknown"]


def test_sarif_and_junit_of_a_review_validate_against_their_schemas(
    store: Store, db_url: str
) -> None:
    import jsonschema  # noqa: PLC0415
    from lxml import etree  # noqa: PLC0415

    schemas = Path(__file__).parent / "schemas"
    load_demo(store)
    sides = [str(DEMO / "registry"), str(DEMO / "next-release")]
    runner = CliRunner()
    sarif = runner.invoke(main, ["diff", *sides, "--db", db_url, "--format", "sarif"])
    junit = runner.invoke(main, ["diff", *sides, "--db", db_url, "--format", "junit"])
    assert sarif.exit_code == junit.exit_code == 1
    schema = json.loads((schemas / "sarif" / "sarif-schema-2.1.0.json").read_text())
    document = json.loads(sarif.stdout)
    jsonschema.validate(document, schema)
    results = document["runs"][0]["results"]
    rules = document["runs"][0]["tool"]["driver"]["rules"]
    assert {rules[r["ruleIndex"]]["id"] for r in results} >= {
        "system-of-record-moved",
        "transform-changed",
        "integration-renamed",
    }
    xsd = etree.XMLSchema(etree.parse(str(schemas / "junit" / "junit-10.xsd")))
    assert xsd.validate(etree.fromstring(junit.stdout.encode())), xsd.error_log
    assert "13 values would differ" in junit.stdout


def _place(event: dict[str, Any]) -> tuple[str, str, str, Any]:
    if event["kind"] == "hop":
        out = event["output"]
        return out["system"], out["element"], out["record"], out["value"]
    return event["system"], event["element"], event["record"], event["value"]


def test_tightened_rule_counts_the_recorded_values_it_would_reject(
    store: Store, db_url: str, tmp_path: Path
) -> None:
    load_demo(store)
    base, head = _registries(
        tmp_path,
        "one_of: [open, paid, shipped, cancelled]",
        "one_of: [open, shipped, cancelled]",
        file="erp.yaml",
    )
    found = _diff(base, head, db_url)
    change = next(f for f in found if f["code"] == "rule-tightened")
    events = _events()
    since = max(_at(e) for e in events) - dt.timedelta(days=30)
    recorded = [
        _place(e)
        for e in events
        if _place(e)[:2] == ("ERP", "order.status")
        and _at(e) >= since
        and e.get("status") != "failed"
    ]
    paid = [p for p in recorded if p[3] == "paid"]
    rules = change["evidence"]["blast"]["rules"]
    assert paid, "the demo records paid orders in the window"
    assert (rules["recorded"], rules["newly_rejected"], rules["newly_accepted"]) == (
        len(recorded),
        len(paid),
        0,
    )
    assert rules["examples"][0]["value"] == "paid"
    assert f"{len(paid)} would now break its rules" in change["message"]


def test_every_blast_statement_is_an_index_search_on_sqlite(tmp_path: Path) -> None:
    import sqlite3  # noqa: PLC0415

    from lineage.store import blast, open_store  # noqa: PLC0415

    path = tmp_path / "plans.db"
    open_store(f"sqlite:///{path}").close()
    statements = {
        name: str(getattr(blast, name))
        for name in (
            "_CLOCK",
            "_HELD_IN_PLACE",
            "_HELD_IN_SYSTEM",
            "_RECORD_KEYS",
            "_HOPS",
            "_HOPS_COUNT",
            "_VALUES",
        )
    }
    params = {
        "system": "BI",
        "element": "order.total",
        "integration": "erp-to-bi-sales",
        "since": 0,
        "until": 1,
        "horizon": 1,
        "limit": 5,
    }
    with sqlite3.connect(path) as conn:
        for name, sql in statements.items():
            plan = [row[3] for row in conn.execute(f"EXPLAIN QUERY PLAN {sql}", params)]
            # a table read whole; the window count's own rows (a subquery) may be scanned, and
            # the clock's SELECT of its two index steps reads the one constant row, no table
            scans = [
                step
                for step in plan
                if step.startswith("SCAN")
                and "INDEX" not in step
                and "subquery" not in step
                and step != "SCAN CONSTANT ROW"
            ]
            assert not scans, (name, plan)
            assert any("USING" in step and "INDEX" in step for step in plan), (name, plan)
