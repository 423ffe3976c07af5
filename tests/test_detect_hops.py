"""unexplained-transformation and undeclared-integration: hops checked against the registry."""

from __future__ import annotations

from scan_world import clean_chain, found, hop, load, record

from lineage.store import Store


def test_a_hop_whose_output_its_transform_does_not_make_is_unexplained(store: Store) -> None:
    load(store)
    record(
        store,
        *clean_chain(),
        hop(
            "h-9",
            "erp-to-bi",
            30,
            [("ERP", "order.total", "40017", "50.00")],
            ("BI", "order.total", "R-9", "65.00"),
        ),
    )
    (finding,) = found(store, "unexplained-transformation")
    assert finding.subject.event == "h-9"
    assert (finding.subject.system, finding.subject.record) == ("BI", "R-9")
    assert finding.owner == "bi-lead@example.com"
    assert finding.evidence["transform"] == "multiply(1.2)"
    assert finding.evidence["expected"] == "60"
    assert finding.evidence["output"] == "65.00"
    assert finding.evidence["inputs"] == [
        {"system": "ERP", "element": "order.total", "record": "40017", "value": "50.00"}
    ]


def test_a_hop_that_failed_is_not_also_unexplained(store: Store) -> None:
    load(store)
    record(
        store,
        *clean_chain(),
        hop(
            "h-9",
            "erp-to-bi",
            30,
            [("ERP", "order.total", "40017", "50.00")],
            ("BI", "order.total", "R-9", "65.00"),
            status="failed",
            error="rejected",
        ),
    )
    assert found(store, "unexplained-transformation") == []
    assert len(found(store, "failed-delivery")) == 1


def test_hops_on_an_undeclared_integration_are_one_finding_with_samples(store: Store) -> None:
    load(store)
    hops = [
        hop(
            f"s-{n}",
            "shadow-sync",
            10 + n,
            [("ERP", "order.total", "40017", "50.00")],
            ("CRM", "order.total", f"X-{n}", "50.00"),
        )
        for n in range(7)
    ]
    record(store, *clean_chain(), *hops)
    (finding,) = found(store, "undeclared-integration")
    assert finding.subject.integration == "shadow-sync"
    assert finding.subject.system == "CRM"
    # no integration owner: the element's (lineage.rules.OWNER_ORDER; it was the target
    # system's here, and the element's in a trace of the same hop)
    assert finding.owner == "controller@example.com"
    assert finding.evidence["count"] == 7
    assert finding.evidence["events"] == ["s-0", "s-1", "s-2", "s-3", "s-4"]
    assert finding.evidence["sources"] == ["ERP"]
    assert "not declared" in finding.message


def test_unnamed_hops_on_an_undeclared_route_are_grouped_by_route(store: Store) -> None:
    load(store)
    record(
        store,
        *clean_chain(),
        hop(
            "a-1",
            None,
            10,
            [("ERP", "order.total", "40017", "50")],
            ("WMS", "order.total", "P-1", "50"),
        ),
        hop(
            "a-2",
            None,
            11,
            [("ERP", "order.total", "40017", "50")],
            ("WMS", "order.total", "P-2", "50"),
        ),
        hop(
            "b-1",
            None,
            12,
            [("CRM", "customer.address", "C-1042", "12 Main St")],
            ("BI", "customer.address", "R-1", "12 Main St"),
        ),
    )
    findings = found(store, "undeclared-integration")
    counts = {(f.subject.system, f.subject.element): f.evidence["count"] for f in findings}
    assert counts == {("WMS", "order.total"): 2, ("BI", "customer.address"): 1}
    assert all(f.subject.integration is None for f in findings)


def test_a_declared_integration_on_a_route_it_does_not_carry_is_undeclared(store: Store) -> None:
    load(store)
    record(
        store,
        *clean_chain(),
        hop(
            "w-1",
            "erp-to-bi",
            10,
            [("ERP", "order.status", "40017", "open")],
            ("BI", "order.status", "R-9", "open"),
        ),
    )
    (finding,) = found(store, "undeclared-integration")
    assert finding.subject.integration == "erp-to-bi"
    assert finding.owner == "bi-lead@example.com"
    assert "does not declare" in finding.message


def test_hops_on_their_declared_integration_are_not_reported(store: Store) -> None:
    load(store)
    record(store, *clean_chain())
    assert found(store, "undeclared-integration") == []
    assert found(store, "unexplained-transformation") == []
