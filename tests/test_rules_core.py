"""The rules core (lineage.rules): owners, status order, live hops, verdicts, "see it with"."""

from __future__ import annotations

from lineage import rules
from lineage.model import Carry, Element, Integration, Registry, System
from lineage.model.findings import Finding
from lineage.model.registry import ElementType

REGISTRY = Registry(
    systems=(System(name="ERP", owner="erp@example.com"), System(name="WMS", owner=None)),
    elements=(Element(name="stock.on_hand", system_of_origin="WMS", system_of_record="WMS",
                      owner="walter@example.com"),),
    integrations=(Integration(name="wms-to-erp", source="WMS", target="ERP",
                              owner="ops@example.com",
                              carries=(Carry(element="stock.on_hand"),)),),
)  # fmt: skip


def test_the_owner_is_the_integrations_then_the_elements_then_the_systems() -> None:
    hop = {"element": "stock.on_hand", "system": "ERP"}
    assert rules.owner(REGISTRY, integration="wms-to-erp", **hop) == "ops@example.com"
    # an undeclared integration (h-0308 on the demo): the element's owner, in every answer
    assert rules.owner(REGISTRY, integration="wms-stock-csv", **hop) == "walter@example.com"
    assert rules.owner(REGISTRY, element="nope", system="ERP") == "erp@example.com"
    assert rules.owner(REGISTRY, element="nope", system="Nowhere") is None


def test_a_sent_status_never_replaces_a_final_one_whenever_it_arrives() -> None:
    assert not rules.supersedes(("sent", 10), ("delivered", 20))
    assert not rules.supersedes(("sent", 30), ("delivered", 20))
    assert rules.supersedes(("delivered", 20), ("sent", 10))
    assert rules.supersedes(("failed", 30), ("delivered", 20))
    assert not rules.supersedes(("delivered", 25), ("failed", 30))


def test_the_current_status_is_decided_by_event_time_as_of_a_moment() -> None:
    history = [("delivered", 20, 1), ("sent", 10, 2), ("failed", 40, 3)]
    assert rules.current_status(history) == ("failed", 40)
    assert rules.current_status(history, as_of=30) == ("delivered", 20)
    assert rules.current_status(history, as_of=15) == ("sent", 10)
    assert rules.current_status(history, as_of=5) is None


def test_a_hop_is_lost_only_while_sent_past_its_timeout() -> None:
    hour = rules.timeout_us(REGISTRY, "wms-to-erp")
    assert hour == 3_600_000_000
    assert rules.overdue_us("sent", 0, hour, hour + 5) == 5
    assert rules.overdue_us("sent", 0, hour, hour) == 0
    assert rules.overdue_us("delivered", 0, hour, 10 * hour) == 0
    assert rules.is_live("sent") and rules.is_live("delivered") and not rules.is_live("failed")


def test_the_moment_judged_is_as_of_else_the_stores_clock_else_now() -> None:
    assert rules.judged_at(5, 10, 99) == 5
    assert rules.judged_at(None, 10, 99) == 10
    assert rules.judged_at(None, None, 99) == 99


def test_values_compare_by_type_and_copies_get_one_verdict() -> None:
    assert rules.same_value(ElementType.DECIMAL, "120.00", "120")
    assert not rules.same_value(ElementType.STRING, "120.00", "120")
    assert rules.copy_verdict("96", "96", ["72"]) == "agrees"
    assert rules.copy_verdict("72", "96", ["72"]) == "stale"
    assert rules.copy_verdict("71", "96", ["72"]) == "divergent"


def test_a_failed_delivery_is_shown_by_a_narrowed_scan_not_a_trace_of_an_empty_place() -> None:
    failed = Finding.of("failed-delivery", "m", system="CRM", element="customer.email",
                        record="C-1049")  # fmt: skip
    assert rules.see_it_with(failed) == (
        "lineage scan --code failed-delivery --system CRM --element customer.email"
    )
    stale = Finding.of("conflicting-truth", "m", system="Portal", element="order.total",
                       record="PO-40017")  # fmt: skip
    assert rules.see_it_with(stale) == "lineage trace Portal order.total PO-40017"
    assert rules.see_it_on(stale) == "/trace?system=Portal&element=order.total&record=PO-40017"


def test_every_runtime_code_has_a_severity() -> None:
    assert rules.severity_of("lost-delivery").value == "error"


def test_a_conflicting_truth_message_is_worded_by_the_rules_core() -> None:
    stale = rules.conflicting_truth_message(
        ("Portal", "PO-40017", "order.total"), "120.00", status="stale",
        direction="downstream", where="ERP 40017", path=["erp-to-portal-orders"],
        golden="96.00", expected="96.00", yields=None, earlier="120.00",
    )  # fmt: skip
    assert stale == (
        "Portal PO-40017 order.total is '120.00', stale: the golden value '96.00' in ERP 40017 "
        "yields '96.00' through erp-to-portal-orders; '120.00' is what the earlier golden "
        "value '120.00' yielded"
    )
    upstream = rules.conflicting_truth_message(
        ("Sys5", "K-1", "order.total"), "7", status="divergent", direction="upstream",
        where="Sys10 K-1", path=["a", "b"], golden="5", expected=None, yields="7", earlier=None,
    )  # fmt: skip
    assert upstream == (
        "Sys5 K-1 order.total is '7', divergent: upstream of the system of record it yields "
        "'7' through a then b, but the golden value in Sys10 K-1 is '5'"
    )
