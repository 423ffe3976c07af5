"""failed-, lost- and duplicate-delivery: hops that did not arrive, or arrived twice."""

from __future__ import annotations

from typing import Any

from scan_world import at, clean_chain, found, hop, load, record

from lineage.store import Store


def _to_bi(hop_id: str, minutes: float, target: str = "R-9", **extra: Any) -> dict[str, Any]:
    return hop(
        hop_id,
        "erp-to-bi",
        minutes,
        [("ERP", "order.total", "40017", "50.00")],
        ("BI", "order.total", target, "60.00"),
        **extra,
    )


def test_a_failed_hop_is_reported_with_its_reason(store: Store) -> None:
    load(store)
    record(store, *clean_chain(), _to_bi("h-9", 30, status="failed", error="BI rejected it"))
    (finding,) = found(store, "failed-delivery")
    assert finding.subject.event == "h-9"
    assert finding.subject.integration == "erp-to-bi"
    assert finding.owner == "bi-lead@example.com"
    assert finding.evidence["error"] == "BI rejected it"
    assert "BI rejected it" in finding.message


def test_a_failed_hop_delivered_on_retry_is_no_longer_failed(store: Store) -> None:
    load(store)
    record(store, *clean_chain(), _to_bi("h-9", 30, status="failed", error="timeout"))
    record(store, _to_bi("h-9", 35, status="delivered"))
    assert found(store, "failed-delivery") == []
    # as of the moment between the two, it had failed
    assert len(found(store, "failed-delivery", as_of=32)) == 1


def test_a_delivered_hop_reported_failed_later_is_failed(store: Store) -> None:
    load(store)
    record(store, *clean_chain())
    record(
        store,
        hop(
            "h-1",
            "erp-to-bi",
            40,
            [("ERP", "order.total", "40017", "50.00")],
            ("BI", "order.total", "R-9", "60.00"),
            status="failed",
            error="rolled back",
        ),
    )
    (finding,) = found(store, "failed-delivery")
    assert finding.evidence["error"] == "rolled back"


def test_a_hop_sent_past_its_integration_timeout_is_lost(store: Store) -> None:
    load(store)
    record(store, *clean_chain(), _to_bi("h-9", 30, status="sent"))
    (finding,) = found(store, "lost-delivery", as_of=30 + 121)  # erp-to-bi: timeout 2h
    assert finding.subject.event == "h-9"
    assert finding.evidence["timeout_seconds"] == 7200
    assert finding.evidence["due_at"] == at(30 + 120)
    assert "as of" not in finding.message  # the same finding whenever it is judged
    assert "within 2h" in finding.message


def test_a_hop_sent_within_its_timeout_is_not_lost(store: Store) -> None:
    load(store)
    record(store, *clean_chain(), _to_bi("h-9", 30, status="sent"))
    assert found(store, "lost-delivery", as_of=30 + 119) == []


def test_the_default_timeout_is_one_hour(store: Store) -> None:
    load(store)
    record(
        store,
        *clean_chain(),
        hop(
            "h-9",
            "crm-to-erp-customers",
            30,
            [("CRM", "customer.address", "C-1042", "12 Main St")],
            ("ERP", "customer.address", "40017", "12 MAIN ST"),
            status="sent",
        ),
    )
    assert found(store, "lost-delivery", as_of=30 + 59) == []
    assert len(found(store, "lost-delivery", as_of=30 + 61)) == 1


def test_a_sent_hop_confirmed_delivered_later_is_not_lost(store: Store) -> None:
    load(store)
    record(store, *clean_chain(), _to_bi("h-9", 30, status="sent"))
    record(store, _to_bi("h-9", 31, status="delivered"))
    assert found(store, "lost-delivery", as_of=24 * 60) == []


def test_one_source_record_delivered_to_two_records_is_a_duplicate(store: Store) -> None:
    load(store)
    record(store, *clean_chain(), _to_bi("h-9", 30, target="R-10"))
    (finding,) = found(store, "duplicate-delivery")
    assert finding.subject.integration == "erp-to-bi"
    assert finding.subject.record == "R-10"
    assert finding.subject.event == "h-9"
    assert finding.owner == "bi-lead@example.com"
    assert finding.evidence["source"] == {
        "system": "ERP",
        "element": "order.total",
        "record": "40017",
    }
    assert [t["record"] for t in finding.evidence["targets"]] == ["R-9", "R-10"]


def test_redelivering_to_the_same_record_is_no_duplicate(store: Store) -> None:
    load(store)
    record(store, *clean_chain(), _to_bi("h-9", 30), _to_bi("h-10", 40))
    assert found(store, "duplicate-delivery") == []


def test_a_fan_out_integration_delivering_to_several_records_is_no_duplicate(
    store: Store,
) -> None:
    load(store)
    record(
        store,
        *clean_chain(),
        hop(
            "h-4",
            "erp-to-wms",
            3,
            [("ERP", "order.status", "40017", "open")],
            ("WMS", "order.status", "P-2", "open"),
        ),
    )
    assert found(store, "duplicate-delivery") == []


def test_a_second_delivery_that_failed_is_no_duplicate(store: Store) -> None:
    load(store)
    record(
        store,
        *clean_chain(),
        _to_bi("h-9", 30, target="R-10", status="failed", error="no such record"),
    )
    assert found(store, "duplicate-delivery") == []


def test_a_delivered_status_arriving_before_its_sent_hop_still_ends_delivered(
    store: Store,
) -> None:
    # retried requests arrive out of order: the hop's `delivered` is recorded first
    load(store)
    record(store, *clean_chain(), _to_bi("h-9", 31, status="delivered"))
    record(store, _to_bi("h-9", 30, status="sent"))
    assert found(store, "lost-delivery", as_of=24 * 60) == []
    assert found(store, "failed-delivery") == []


def test_between_final_statuses_the_later_event_time_wins_not_the_later_arrival(
    store: Store,
) -> None:
    load(store)
    record(store, *clean_chain(), _to_bi("h-9", 30, status="sent"))
    record(store, _to_bi("h-9", 40, status="failed", error="rolled back"))
    record(store, _to_bi("h-9", 35, status="delivered"))  # older news, arriving last
    (finding,) = found(store, "failed-delivery")
    assert finding.evidence["error"] == "rolled back"
