"""The golden record: record links, golden values, and each copy's agreement with them."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
from click.testing import CliRunner
from golden_scenarios import at, company, hop, load, refresh, registry, write

from lineage.cli import main
from lineage.errors import NotFoundError
from lineage.golden import golden
from lineage.model.registry import Carry, Element, Integration, Registry
from lineage.store import Store
from lineage.store.records import linked_records, record_links


def element(record: dict[str, Any], name: str) -> dict[str, Any]:
    return next(e for e in record["elements"] if e["element"] == name)


def copy(record: dict[str, Any], name: str, system: str) -> dict[str, Any]:
    return next(c for c in element(record, name)["copies"] if c["system"] == system)


def test_golden_record_resolves_the_same_business_record_from_any_of_its_keys(
    store: Store,
) -> None:
    company(store)
    from_crm = golden(store, "CRM", "C-1042").to_json()
    from_bi = golden(store, "BI", "R-9").to_json()
    assert element(from_crm, "order.total")["golden_value"] == "80.004"
    assert element(from_crm, "order.total")["record"] == "40017"
    assert element(from_bi, "customer.name")["golden_value"] == "Ada Lovelace"
    assert [e["element"] for e in from_crm["elements"]] == [
        e["element"] for e in from_bi["elements"]
    ]
    assert from_bi["system"] == "BI" and from_bi["record"] == "R-9"


def test_linked_records_follow_hops_both_ways_but_not_down_fan_out_integrations(
    store: Store,
) -> None:
    company(store)
    with store.engine.connect() as conn:
        keys = linked_records(conn, "BI", "R-9")
        links = record_links(conn, "CRM", "C-1042")
    assert keys == {("CRM", "C-1042"), ("ERP", "40017"), ("BI", "R-9"), ("Portal", "P-1")}
    assert ("WMS", "S-1") not in keys  # shipments are other records
    assert dict(links.keys) == {
        ("CRM", "C-1042"): 0,
        ("ERP", "40017"): 1,
        ("BI", "R-9"): 2,
        ("Portal", "P-1"): 3,
    }


def test_fan_out_copy_belongs_to_its_one_source_record(store: Store) -> None:
    company(store)
    with store.engine.connect() as conn:
        keys = linked_records(conn, "WMS", "S-1")
    assert ("ERP", "40017") in keys  # up the fan-out hop: the shipment's order
    assert ("WMS", "S-2") not in keys  # but not down to the order's other shipments
    carrier = element(golden(store, "WMS", "S-1").to_json(), "order.carrier")
    assert carrier["golden_value"] == "DHL"
    assert [(c["system"], c["record"], c["status"]) for c in carrier["copies"]] == [
        ("WMS", "S-1", "agrees")
    ]


def test_hop_summing_several_records_does_not_merge_them(store: Store) -> None:
    reg = registry()
    load(
        store,
        [
            write("ERP", "order.lines_total", "L-1", "10", 0),
            write("ERP", "order.lines_total", "L-2", "5", 0),
            hop(
                "h-sum",
                "erp-to-bi",
                ("ERP", "order.lines_total", "L-1", "10"),
                ("BI", "order.lines_total", "R-1", "15"),
                1,
                inputs=[
                    ("ERP", "order.lines_total", "L-1", "10"),
                    ("ERP", "order.lines_total", "L-2", "5"),
                ],
            ),
        ],
        reg,
    )
    with store.engine.connect() as conn:
        assert linked_records(conn, "BI", "R-1") == {("BI", "R-1")}
        assert linked_records(conn, "ERP", "L-1") == {("ERP", "L-1")}


def test_copy_that_equals_what_the_golden_value_yields_agrees(store: Store) -> None:
    company(store)
    record = golden(store, "ERP", "40017").to_json()
    name = element(record, "customer.name")
    assert name["system_of_record"] == "CRM"
    assert name["owner"] == "carol@example.com"
    assert name["copies"] == [
        {
            "system": "ERP",
            "record": "40017",
            "value": "ADA LOVELACE",
            "expected": "ADA LOVELACE",
            "status": "agrees",
            "reason": None,
            "event": "h-name",
            "at": at(1),
            "path": ["crm-to-erp upper"],
            "direction": "downstream",
            "yields": None,
        }
    ]


def test_copy_left_behind_when_the_system_of_record_changed_is_stale(store: Store) -> None:
    company(store)
    bi = copy(golden(store, "ERP", "40017").to_json(), "order.total", "BI")
    assert bi["status"] == "stale"
    assert bi["value"] == "60.00"
    assert bi["expected"] == "96.0048"
    assert "'50.00'" in bi["reason"]  # the earlier golden value it still reflects


def test_expected_value_composes_the_transforms_of_a_two_hop_declared_path(store: Store) -> None:
    company(store)
    portal = copy(golden(store, "CRM", "C-1042").to_json(), "order.total", "Portal")
    # 80.004 * 1.2 = 96.0048 in BI, then round(2) = 96.00 in the portal
    assert portal["expected"] == "96.00"
    assert portal["path"] == ["erp-to-bi multiply(1.2)", "bi-to-portal round(2)"]
    assert portal["status"] == "stale"


def test_refreshed_copies_agree_again(store: Store) -> None:
    company(store)
    refresh(store)
    record = golden(store, "Portal", "P-1").to_json()
    statuses = {c["system"]: c["status"] for c in element(record, "order.total")["copies"]}
    assert statuses == {"BI": "agrees", "Portal": "agrees"}


def test_copy_matching_no_golden_value_is_divergent(store: Store) -> None:
    company(store)
    status = copy(golden(store, "BI", "R-9").to_json(), "order.status", "BI")
    assert status["status"] == "divergent"
    assert status["value"] == "cancelled"
    assert status["expected"] == "shipped"


def test_multi_input_transform_makes_the_expectation_unknown_with_a_reason(store: Store) -> None:
    company(store)
    lines = copy(golden(store, "BI", "R-9").to_json(), "order.lines_total", "BI")
    assert lines["status"] == "unknown"
    assert lines["expected"] is None
    assert "sum" in lines["reason"] and "several inputs" in lines["reason"]


def test_copy_with_no_declared_path_is_unknown_rather_than_guessed(store: Store) -> None:
    load(
        store,
        [
            write("ERP", "order.status", "40017", "shipped", 0),
            # an undeclared integration straight into the portal
            hop(
                "h-x",
                None,
                ("ERP", "order.status", "40017", "shipped"),
                ("Portal", "order.status", "P-1", "shipped"),
                1,
            ),
        ],
    )
    portal = copy(golden(store, "ERP", "40017").to_json(), "order.status", "Portal")
    assert portal["status"] == "unknown"
    assert portal["expected"] is None
    assert "no declared integration path" in portal["reason"]


def test_disagreeing_declared_paths_make_the_expectation_ambiguous(store: Store) -> None:
    base = registry()
    extra = Integration(
        name="erp-to-portal",
        source="ERP",
        target="Portal",
        owner="portal@example.com",
        carries=(Carry(element="order.total", transform="multiply(2)"),),
    )
    reg = base.model_copy(update={"integrations": (*base.integrations, extra)})
    load(
        store,
        [
            write("ERP", "order.total", "40017", "10", 0),
            hop(
                "h-p",
                "erp-to-portal",
                ("ERP", "order.total", "40017", "10"),
                ("Portal", "order.total", "P-1", "20"),
                1,
            ),
        ],
        reg,
    )
    portal = copy(golden(store, "ERP", "40017").to_json(), "order.total", "Portal")
    assert portal["status"] == "unknown"
    assert "ambiguous" in portal["reason"]


def test_undeclared_element_has_no_golden_value_and_says_why(store: Store) -> None:
    load(
        store,
        [
            write("CRM", "customer.name", "C-1", "Ada", 0),
            hop(
                "h-1",
                None,
                ("CRM", "customer.name", "C-1", "Ada"),
                ("ERP", "customer.name", "E-1", "ADA"),
                1,
            ),
            hop(
                "h-2",
                None,
                ("CRM", "customer.name", "C-1", "Ada"),
                ("ERP", "customer.vip", "E-1", "yes"),
                2,
            ),
        ],
    )
    vip = element(golden(store, "CRM", "C-1").to_json(), "customer.vip")
    assert vip["golden_value"] is None and vip["system_of_record"] is None
    assert "not declared" in vip["reason"]
    assert vip["copies"][0]["status"] == "unknown"


def test_as_of_judges_the_record_as_it_was_then(store: Store) -> None:
    company(store)
    before_change = dt.datetime(2026, 11, 20, 9, 20, tzinfo=dt.UTC)
    record = golden(store, "ERP", "40017", as_of=before_change).to_json()
    total = element(record, "order.total")
    assert total["golden_value"] == "50.00"
    assert {c["system"]: c["status"] for c in total["copies"]} == {
        "BI": "agrees",
        "Portal": "agrees",
    }


def test_failed_hop_leaves_the_copy_as_it_was(store: Store) -> None:
    company(store)
    load(
        store,
        [
            hop(
                "h-bi-failed",
                "erp-to-bi",
                ("ERP", "order.total", "40017", "80.004"),
                ("BI", "order.total", "R-9", "96.0048"),
                40,
                status="failed",
            ),
        ],
    )
    bi = copy(golden(store, "ERP", "40017").to_json(), "order.total", "BI")
    assert bi["status"] == "stale" and bi["event"] == "h-bi"


def test_unknown_record_is_not_found(store: Store) -> None:
    company(store)
    with pytest.raises(NotFoundError, match="nothing is recorded for record 'X-1' in system 'BI'"):
        golden(store, "BI", "X-1")


def test_several_keys_in_the_system_of_record_make_the_golden_value_ambiguous(
    store: Store,
) -> None:
    reg = Registry(
        systems=registry().systems,
        elements=(Element(name="customer.name", system_of_record="CRM", owner="c@example.com"),),
        integrations=registry().integrations,
    )
    load(
        store,
        [
            write("CRM", "customer.name", "C-1", "Ada", 0),
            write("CRM", "customer.name", "C-2", "Ada L.", 0),
            hop(
                "h-1",
                "crm-to-erp",
                ("CRM", "customer.name", "C-1", "Ada"),
                ("ERP", "customer.name", "E-1", "ADA"),
                1,
            ),
            hop(
                "h-2",
                "crm-to-erp",
                ("CRM", "customer.name", "C-2", "Ada L."),
                ("ERP", "customer.name", "E-1", "ADA L."),
                2,
            ),
        ],
        reg,
    )
    from_erp = element(golden(store, "ERP", "E-1").to_json(), "customer.name")
    assert from_erp["golden_value"] is None
    assert "ambiguous" in from_erp["reason"]
    # asked from one CRM key, that key is the truth
    from_crm = element(golden(store, "CRM", "C-2").to_json(), "customer.name")
    assert from_crm["golden_value"] == "Ada L."


# -- the command line -------------------------------------------------------------------


def test_golden_command_prints_the_contract_json(
    store: Store, db_url: str, runner: CliRunner
) -> None:
    company(store)
    result = runner.invoke(main, ["golden", "BI", "R-9", "--format", "json", "--db", db_url])
    assert result.exit_code == 0, result.output
    document = json.loads(result.output)
    assert document["system"] == "BI" and document["record"] == "R-9"
    total = element(document, "order.total")
    assert {k: total[k] for k in ("element", "system_of_record", "golden_value", "owner")} == {
        "element": "order.total",
        "system_of_record": "ERP",
        "golden_value": "80.004",
        "owner": "controller@example.com",
    }
    assert {"system", "record", "value", "expected", "status"} <= set(total["copies"][0])


def test_golden_command_text_marks_each_copy_status(
    store: Store, db_url: str, runner: CliRunner
) -> None:
    company(store)
    result = runner.invoke(main, ["golden", "CRM", "C-1042", "--db", db_url])
    assert result.exit_code == 0, result.output
    text = result.output
    assert "order.total" in text and "80.004" in text and "controller@example.com" in text
    bi_line = next(line for line in text.splitlines() if "R-9" in line and "60.00" in line)
    assert "stale" in bi_line and "96.0048" in bi_line
    assert any("agrees" in line and "ADA LOVELACE" in line for line in text.splitlines())
    assert any("divergent" in line and "cancelled" in line for line in text.splitlines())


def test_golden_command_as_of(store: Store, db_url: str, runner: CliRunner) -> None:
    company(store)
    result = runner.invoke(
        main,
        [
            "golden",
            "ERP",
            "40017",
            "--format",
            "json",
            "--as-of",
            "2026-11-20T09:20:00Z",
            "--db",
            db_url,
        ],
    )
    assert result.exit_code == 0, result.output
    assert element(json.loads(result.output), "order.total")["golden_value"] == "50.00"


def test_golden_command_unknown_record_exits_2_with_one_line(
    store: Store, db_url: str, runner: CliRunner
) -> None:
    company(store)
    result = runner.invoke(main, ["golden", "BI", "NOPE", "--db", db_url])
    assert result.exit_code == 2
    assert result.output.strip().count("\n") == 0
    assert "NOPE" in result.output and "Traceback" not in result.output


def test_golden_command_bad_time_is_a_usage_error(
    store: Store, db_url: str, runner: CliRunner
) -> None:
    result = runner.invoke(main, ["golden", "BI", "R-9", "--as-of", "yesterday", "--db", db_url])
    assert result.exit_code == 2
    assert "--as-of" in result.output
