"""competing-origin and rule-violation: values where they should not be, or not as they may be."""

from __future__ import annotations

from scan_world import clean_chain, found, hop, load, record, snapshot, write

from lineage.store import Store


def test_writes_outside_the_system_of_origin_are_one_finding_per_system(store: Store) -> None:
    load(store)
    record(
        store,
        *clean_chain(),
        write("BI", "order.total", "R-9", "70", 30, actor="analyst"),
        write("BI", "order.total", "R-10", "71", 31, actor="analyst"),
        write("BI", "order.total", "R-11", "72", 32, actor="intern"),
    )
    (finding,) = found(store, "competing-origin")
    assert finding.subject.system == "BI"
    assert finding.subject.element == "order.total"
    assert finding.owner == "controller@example.com"
    assert finding.evidence["count"] == 3
    assert finding.evidence["system_of_origin"] == "ERP"
    assert finding.evidence["records"] == ["R-9", "R-10", "R-11"]
    assert finding.evidence["actors"] == ["analyst", "intern"]
    assert finding.subject.event == finding.evidence["events"][0]
    assert "3 writes" in finding.message


def test_writes_at_the_origin_and_hops_into_copies_compete_with_nothing(store: Store) -> None:
    load(store)
    record(store, *clean_chain(), write("ERP", "order.total", "40018", "12", 40))
    assert found(store, "competing-origin") == []


def test_a_competing_write_after_the_as_of_moment_does_not_count(store: Store) -> None:
    load(store)
    record(store, *clean_chain(), write("BI", "order.total", "R-9", "70", 600))
    assert found(store, "competing-origin", as_of=500) == []
    assert len(found(store, "competing-origin", as_of=700)) == 1


def test_a_current_value_breaking_a_rule_is_reported_with_the_rule(store: Store) -> None:
    load(store)
    record(store, *clean_chain(), write("ERP", "order.total", "40020", "-5.00", 10))
    (finding,) = found(store, "rule-violation")
    assert (finding.subject.system, finding.subject.record) == ("ERP", "40020")
    assert finding.owner == "controller@example.com"
    assert finding.evidence["violations"] == ["-5.00 is below min 0"]
    assert "below min 0" in finding.message


def test_a_bad_value_corrected_since_is_no_violation(store: Store) -> None:
    load(store)
    record(
        store,
        *clean_chain(),
        write("ERP", "order.total", "40020", "-5.00", 10),
        write("ERP", "order.total", "40020", "5.00", 20),
    )
    assert found(store, "rule-violation") == []
    assert len(found(store, "rule-violation", as_of=15)) == 1


def test_null_values_and_values_of_the_wrong_type_break_their_rules(store: Store) -> None:
    load(store)
    record(
        store,
        *clean_chain(),
        write("ERP", "order.total", "40021", None, 10),
        snapshot("WMS", "order.status", "P-1", "lost", 20),
        write("ERP", "order.total", "40022", "abc", 10),
    )
    reasons = {f.subject.record: f.evidence["violations"] for f in found(store, "rule-violation")}
    assert reasons["40021"] == ["value is null but the element is not_null"]
    assert reasons["P-1"] == ["'lost' is not one of ['open', 'shipped']"]
    assert reasons["40022"] == ["'abc' is not a decimal"]


def test_a_failed_hop_never_left_its_bad_value(store: Store) -> None:
    load(store)
    record(
        store,
        *clean_chain(),
        hop(
            "h-9",
            "erp-to-wms",
            10,
            [("ERP", "order.status", "40017", "lost")],
            ("WMS", "order.status", "P-1", "lost"),
            status="failed",
            error="WMS down",
        ),
    )
    assert [f.code for f in found(store, "rule-violation")] == []


def test_elements_without_rules_are_not_checked(store: Store) -> None:
    load(store)
    record(store, *clean_chain(), write("CRM", "customer.address", "C-7", None, 10))
    assert found(store, "rule-violation") == []
