"""``trace``: a value's path back to its origin, each step verified, the root cause named."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from typing import Any

import pytest
from steward_scenarios import (
    BI_OWNER,
    BILLING_OWNER,
    CONTROLLER,
    REGISTRY,
    hop,
    order_chain,
    record,
    sent_then_failed,
    snapshot,
    write,
)

from lineage.detect.run import scan_report
from lineage.errors import NotFoundError
from lineage.impact import impact
from lineage.model.registry import Registry
from lineage.store import Store
from lineage.store.queries import PlaceKey
from lineage.store.walks import TRACE_SQL, trace_parameters
from lineage.trace import TraceResult, trace


def _by_event(result: TraceResult) -> dict[str | None, dict[str, object]]:
    return {node["event"]: node for node in result.to_json()["nodes"]}


def test_clean_chain_reaches_the_origin_with_every_hop_verified(store: Store) -> None:
    record(store, *order_chain())
    result = trace(store, "Portal", "order.total", "P-9")
    data = result.to_json()
    # "findings" (docs/CONTRACT.md §8): the open findings on what it shows, filled by the answers;
    # "as_of": the moment it judged as of, the store's clock (the latest event, h-portal's)
    assert list(data) == ["subject", "nodes", "edges", "origin", "root_cause", "findings", "as_of"]
    assert data["as_of"] == "2026-11-20T09:10:00Z"
    assert data["subject"] == {
        "system": "Portal",
        "element": "order.total",
        "record": "P-9",
        "value": "60.00",
    }
    assert [n["event"] for n in data["nodes"]] == ["w-erp", "h-bi", "h-portal"]
    assert set(data["nodes"][0]) == {
        "id",
        "kind",
        "event",
        "system",
        "element",
        "record",
        "value",
        "at",
    }
    assert data["nodes"][0]["at"] == "2026-11-20T09:00:00Z"
    assert [(e["from"], e["to"], e["verified"]) for e in data["edges"]] == [
        ("n0", "n1", True),
        ("n1", "n2", True),
    ]
    assert set(data["edges"][0]) == {
        "from",
        "to",
        "event",
        "integration",
        "transform",
        "verified",
        "owner",
    }
    assert data["edges"][0]["transform"] == "multiply(1.2)"
    assert data["edges"][0]["integration"] == "erp-to-bi"
    assert data["edges"][0]["owner"] == BI_OWNER
    assert data["origin"] == ["n0"]
    assert data["root_cause"] is None


def test_unexplained_transformation_in_the_middle_blames_that_hop_and_its_owner(
    store: Store,
) -> None:
    record(store, *order_chain(bi_value="65.00"))
    result = trace(store, "Portal", "order.total", "P-9")
    assert result.root_cause is not None
    assert result.root_cause.code == "unexplained-transformation"
    assert result.root_cause.event == "h-bi"
    assert result.root_cause.owner == BI_OWNER
    assert "'65.00'" in result.root_cause.message and "'60'" in result.root_cause.message
    verified = {e["event"]: e["verified"] for e in result.to_json()["edges"]}
    assert verified == {"h-bi": False, "h-portal": True}
    assert result.culprit == result.node("n1").id


def test_input_the_source_never_held_is_a_broken_chain(store: Store) -> None:
    record(
        store,
        write("w-erp", "ERP", "order.total", "40017", "50.00", 0),
        # the hop claims it read 55.00 and its own arithmetic is right, but ERP held 50.00
        hop(
            "h-bi",
            [("ERP", "order.total", "40017", "55.00")],
            ("BI", "order.total", "R-9", "66.00"),
            5,
        ),
    )
    result = trace(store, "BI", "order.total", "R-9")
    assert result.root_cause is not None
    assert result.root_cause.code == "broken-chain"
    assert result.root_cause.event == "h-bi"
    assert result.root_cause.owner == BI_OWNER
    assert "'55.00'" in result.root_cause.message and "'50.00'" in result.root_cause.message
    assert [e.verified for e in result.edges] == [False]
    assert result.origin == ("n0",)


def test_snapshot_no_write_or_hop_explains_is_an_untraced_value(store: Store) -> None:
    record(store, snapshot("s-bi", "BI", "order.total", "R-9", "70.00", 30))
    result = trace(store, "BI", "order.total", "R-9")
    assert result.root_cause is not None
    assert result.root_cause.code == "untraced-value"
    assert result.root_cause.event == "s-bi"
    assert result.root_cause.owner == CONTROLLER
    assert result.origin == ()
    assert [n.kind for n in result.nodes] == ["snapshot"]


def test_snapshot_showing_another_value_than_the_last_hop_is_untraced(store: Store) -> None:
    record(store, *order_chain(), snapshot("s-bi", "BI", "order.total", "R-9", "61.00", 30))
    result = trace(store, "BI", "order.total", "R-9")
    assert result.root_cause is not None
    assert result.root_cause.code == "untraced-value"
    assert "'60.00'" in result.root_cause.message  # what the last hop left there
    assert result.edges == ()


def test_snapshot_agreeing_with_the_last_hop_is_observed_and_traced_through(
    store: Store,
) -> None:
    record(store, *order_chain(), snapshot("s-bi", "BI", "order.total", "R-9", "60", 30))
    result = trace(store, "BI", "order.total", "R-9")
    assert result.root_cause is None
    assert [n.kind for n in result.nodes] == ["write", "hop", "snapshot"]
    observed = result.to_json()["edges"][-1]
    assert observed == {
        "from": "n1",
        "to": "n2",
        "event": "s-bi",
        "integration": None,
        "transform": None,
        "verified": True,
        "owner": CONTROLLER,
    }


def test_hop_input_from_a_place_with_no_event_is_an_untraced_node(store: Store) -> None:
    record(
        store,
        hop(
            "h-bi",
            [("ERP", "order.total", "40017", "50.00")],
            ("BI", "order.total", "R-9", "60.00"),
            5,
        ),
    )
    result = trace(store, "BI", "order.total", "R-9")
    assert result.root_cause is not None
    assert result.root_cause.code == "untraced-value"
    assert result.root_cause.event == "h-bi"
    untraced = result.to_json()["nodes"][0]
    assert untraced == {
        "id": "n0",
        "kind": "untraced",
        "event": None,
        "system": "ERP",
        "element": "order.total",
        "record": "40017",
        "value": "50.00",
        "at": None,
    }
    assert [e.verified for e in result.edges] == [False]


def test_multi_input_hop_is_traced_to_every_line(store: Store) -> None:
    record(
        store,
        write("w-l1", "ERP", "order.line_amount", "L-1", "30", 0),
        write("w-l2", "ERP", "order.line_amount", "L-2", "20.50", 1),
        hop(
            "h-inv",
            [
                ("ERP", "order.line_amount", "L-1", "30"),
                ("ERP", "order.line_amount", "L-2", "20.50"),
            ],
            ("Billing", "invoice.total", "INV-1", "50.50"),
            5,
        ),
    )
    result = trace(store, "Billing", "invoice.total", "INV-1")
    assert result.root_cause is None
    assert [n.event for n in result.nodes] == ["w-l1", "w-l2", "h-inv"]
    assert [(e.source, e.target, e.verified) for e in result.edges] == [
        ("n0", "n2", True),
        ("n1", "n2", True),
    ]
    assert result.origin == ("n0", "n1")
    assert {e.owner for e in result.edges} == {BILLING_OWNER}


def test_wrong_sum_of_lines_is_an_unexplained_transformation(store: Store) -> None:
    record(
        store,
        write("w-l1", "ERP", "order.line_amount", "L-1", "30", 0),
        write("w-l2", "ERP", "order.line_amount", "L-2", "20.50", 1),
        hop(
            "h-inv",
            [
                ("ERP", "order.line_amount", "L-1", "30"),
                ("ERP", "order.line_amount", "L-2", "20.50"),
            ],
            ("Billing", "invoice.total", "INV-1", "30"),
            5,
        ),
    )
    result = trace(store, "Billing", "invoice.total", "INV-1")
    assert result.root_cause is not None
    assert result.root_cause.code == "unexplained-transformation"
    assert result.root_cause.owner == BILLING_OWNER


def _redelivered() -> list[dict[str, object]]:
    return [
        write("w-1", "ERP", "order.total", "40017", "50.00", 0),
        hop(
            "h-1",
            [("ERP", "order.total", "40017", "50.00")],
            ("BI", "order.total", "R-9", "60.00"),
            5,
        ),
        write("w-2", "ERP", "order.total", "40017", "80.00", 20),
        hop(
            "h-2",
            [("ERP", "order.total", "40017", "80.00")],
            ("BI", "order.total", "R-9", "96.00"),
            25,
        ),
        write("w-3", "ERP", "order.total", "40017", "90.00", 40),
    ]


def test_redelivered_record_traces_to_the_version_that_fed_each_hop(store: Store) -> None:
    record(store, *_redelivered())
    now = trace(store, "BI", "order.total", "R-9")
    assert now.subject.value == "96.00"
    assert [n.event for n in now.nodes] == ["w-2", "h-2"]
    assert now.root_cause is None


def test_as_of_traces_the_value_held_at_that_time(store: Store) -> None:
    record(store, *_redelivered())
    then = trace(
        store, "BI", "order.total", "R-9", as_of=dt.datetime(2026, 11, 20, 9, 15, tzinfo=dt.UTC)
    )
    assert then.subject.value == "60.00"
    assert [n.event for n in then.nodes] == ["w-1", "h-1"]
    assert then.root_cause is None
    erp = trace(
        store, "ERP", "order.total", "40017", as_of=dt.datetime(2026, 11, 20, 9, 30, tzinfo=dt.UTC)
    )
    assert erp.subject.value == "80.00"


def test_write_outside_the_system_of_origin_is_a_competing_origin(store: Store) -> None:
    record(
        store,
        write("w-bi0", "BI", "order.total", "R-8", "40.00", 0, actor="mallory"),
        write("w-bi", "BI", "order.total", "R-9", "60.00", 1, actor="mallory"),
    )
    result = trace(store, "BI", "order.total", "R-9")
    assert result.root_cause is not None
    assert result.root_cause.code == "competing-origin"
    assert result.root_cause.owner == CONTROLLER
    # in the words of lineage scan, counting every write of the element BI holds
    said = "order.total is written in BI (2 writes), but its system of origin is ERP"
    assert result.root_cause.message == said
    assert said in {f.message for f in scan_report(store).findings}
    assert result.origin == ("n0",)


def test_value_breaking_its_rules_is_blamed_where_it_first_appeared(store: Store) -> None:
    record(
        store,
        write("w-erp", "ERP", "order.total", "40017", "-5", 0),
        hop("h-bi", [("ERP", "order.total", "40017", "-5")], ("BI", "order.total", "R-9", "-6"), 5),
    )
    result = trace(store, "BI", "order.total", "R-9")
    assert result.root_cause is not None
    assert result.root_cause.code == "rule-violation"
    assert result.root_cause.event == "w-erp"
    assert result.root_cause.owner == CONTROLLER


def test_earliest_problem_wins_over_a_later_one(store: Store) -> None:
    record(
        store,
        write("w-erp", "ERP", "order.total", "40017", "50.00", 0),
        hop(
            "h-bi",
            [("ERP", "order.total", "40017", "55.00")],
            ("BI", "order.total", "R-9", "66.00"),
            5,
        ),
        hop(
            "h-portal",
            [("BI", "order.total", "R-9", "66.00")],
            ("Portal", "order.total", "P-9", "67.00"),
            10,
        ),
    )
    result = trace(store, "Portal", "order.total", "P-9")
    assert result.root_cause is not None
    assert (result.root_cause.code, result.root_cause.event) == ("broken-chain", "h-bi")


def test_failed_hop_never_changed_the_value(store: Store) -> None:
    record(
        store,
        *order_chain(),
        hop(
            "h-bi-2",
            [("ERP", "order.total", "40017", "50.00")],
            ("BI", "order.total", "R-9", "999"),
            20,
            status="failed",
            error="timeout",
        ),
    )
    result = trace(store, "BI", "order.total", "R-9")
    assert result.subject.value == "60.00"


def test_another_hops_failure_does_not_hide_this_value(store: Store) -> None:
    elsewhere = hop(
        "h-other",
        [("ERP", "order.total", "40018", "10.00")],
        ("BI", "order.total", "R-10", "12.00"),
        30,
        status="sent",
    )
    record(
        store, *order_chain(), write("w-2", "ERP", "order.total", "40018", "10.00", 20), elsewhere
    )
    record(store, dict(elsewhere, status="failed", error="refused", at="2026-11-20T09:40:00Z"))
    assert trace(store, "Portal", "order.total", "P-9").subject.value == "60.00"
    assert trace(store, "BI", "order.total", "R-9").subject.value == "60.00"
    with pytest.raises(NotFoundError):
        trace(store, "BI", "order.total", "R-10")  # its only hop failed


def test_hop_reported_failed_later_is_skipped_only_after_the_report(store: Store) -> None:
    sent, failed = sent_then_failed()
    record(store, *order_chain(), sent)
    record(store, failed)
    assert trace(store, "BI", "order.total", "R-9").subject.value == "60.00"
    then = dt.datetime(2026, 11, 20, 9, 25, tzinfo=dt.UTC)
    assert trace(store, "BI", "order.total", "R-9", as_of=then).subject.value == "61.00"


def test_hop_on_no_declared_integration_is_reported_when_values_are_sound(
    store: Store,
) -> None:
    record(
        store,
        write("w-erp", "ERP", "order.total", "40017", "50.00", 0),
        hop(
            "h-x",
            [("ERP", "order.total", "40017", "50.00")],
            ("WMS", "order.total", "X-1", "50.00"),
            5,
            transform="identity",
        ),
    )
    result = trace(store, "WMS", "order.total", "X-1")
    assert result.root_cause is not None
    assert result.root_cause.code == "undeclared-integration"
    assert [e.verified for e in result.edges] == [True]


def test_hops_recorded_before_their_integration_was_declared_are_checked_again(
    store: Store,
) -> None:
    record(store, *order_chain(bi_value="65.00"), registry=Registry())
    store.save_registry(REGISTRY)
    result = trace(store, "Portal", "order.total", "P-9")
    assert result.root_cause is not None
    assert result.root_cause.code == "unexplained-transformation"
    assert result.root_cause.owner == BI_OWNER
    assert [(e.integration, e.transform) for e in result.edges] == [
        ("erp-to-bi", "multiply(1.2)"),
        ("bi-to-portal", "identity"),
    ]
    spread = impact(store, "ERP", "order.total", "40017")
    assert {e.event: e.verified for e in spread.edges} == {"h-bi": False, "h-portal": True}


def test_place_with_nothing_recorded_is_not_found(store: Store) -> None:
    record(store, *order_chain())
    with pytest.raises(NotFoundError, match=r"no value recorded for BI/order\.total/R-404"):
        trace(store, "BI", "order.total", "R-404")
    with pytest.raises(NotFoundError, match="as of 2026-11-20T08:00:00Z"):
        trace(
            store, "BI", "order.total", "R-9", as_of=dt.datetime(2026, 11, 20, 8, 0, tzinfo=dt.UTC)
        )


def _plan(store: Store, sql: str, params: dict[str, object]) -> list[str]:
    """The plan of ``sql``, one string per step: SQLite's detail lines; PostgreSQL's node types,
    each with the index it reads and, for a Sort, the table under it."""
    with store.engine.connect() as conn:
        driver: Any = conn.connection.driver_connection
        if store.dialect == "sqlite":
            return [row[3] for row in driver.execute(f"EXPLAIN QUERY PLAN {sql}", params)]
        converted = re.sub(r"(?<![:\w]):(\w+)", r"%(\1)s", sql)
        with driver.cursor() as cursor:
            cursor.execute(f"EXPLAIN (FORMAT JSON) {converted}", params)
            document = cursor.fetchone()[0]

    def walk(node: dict[str, Any]) -> Iterator[str]:
        below = {child.get("Relation Name", "") for child in node.get("Plans", [])}
        table = f" of {'/'.join(sorted(below - {''}))}" if node["Node Type"] == "Sort" else ""
        yield f"{node['Node Type']} {node.get('Index Name', '')}".strip() + table
        for child in node.get("Plans", []):
            yield from walk(child)

    return list(walk(document[0]["Plan"]))


def test_a_record_redelivered_many_times_is_traced_without_sorting_its_versions(
    store: Store,
) -> None:
    # ERP re-sends the same order every minute; the hop read the version it found at 09:00+199
    record(
        store,
        *[write(f"w-{n}", "ERP", "order.total", "40017", f"{n}.00", n) for n in range(200)],
        hop(
            "h-bi",
            [("ERP", "order.total", "40017", "199.00")],
            ("BI", "order.total", "R-9", "238.80"),
            199,
        ),
    )
    result = trace(store, "BI", "order.total", "R-9")
    assert [n.event for n in result.nodes] == ["w-199", "h-bi"]
    assert result.root_cause is None
    # "the latest version at a place" is one backward step on ix_events_place_at (which ends
    # with seq), not a read and sort of all 200 versions on every step of the walk
    plan = _plan(
        store, TRACE_SQL[store.dialect], trace_parameters(PlaceKey("BI", "order.total", "R-9"))
    )
    assert any("ix_events_place_at" in step for step in plan), "; ".join(plan)
    sorts = [step for step in plan if "TEMP B-TREE" in step or step.endswith("Sort of events")]
    assert not sorts, "; ".join(plan)
