"""The indexed lookups trace, impact and the golden record share (lineage.store.queries)."""

from __future__ import annotations

import datetime as dt

from steward_scenarios import hop, order_chain, record, snapshot, write

from lineage.store import Store
from lineage.store.queries import (
    PlaceKey,
    current_event,
    downstream_hops,
    events_by_id,
    explaining_event,
    input_source,
    inputs_of,
    value_at,
    version_start,
)
from lineage.store.schema import to_us

ERP = PlaceKey("ERP", "order.total", "40017")


def _at(minute: int) -> int:
    return to_us(dt.datetime(2026, 11, 20, 9, 0, tzinfo=dt.UTC) + dt.timedelta(minutes=minute))


def _history() -> list[dict[str, object]]:
    return [
        *order_chain(),
        snapshot("s-erp", "ERP", "order.total", "40017", "50", 15),
        write("w-erp-2", "ERP", "order.total", "40017", "80.00", 20),
        hop("h-bi-2", [("ERP", "order.total", "40017", "80.00")],
            ("BI", "order.total", "R-9", "96.00"), 25),
    ]  # fmt: skip


def test_current_event_is_the_latest_as_of_a_time(store: Store) -> None:
    record(store, *_history())
    with store.engine.connect() as conn:
        latest = current_event(conn, "ERP", "order.total", "40017")
        then = current_event(conn, "ERP", "order.total", "40017", _at(16))
        before = current_event(conn, "ERP", "order.total", "40017", _at(-1))
    assert latest is not None and latest.event_id == "w-erp-2" and latest.value == "80.00"
    assert then is not None and then.event_id == "s-erp" and then.value_norm == "50"
    assert before is None


def test_value_at_a_place_includes_the_event_at_that_very_moment(store: Store) -> None:
    record(store, *_history())
    with store.engine.connect() as conn:
        at_write = value_at(conn, ERP, _at(20))
    assert at_write is not None and at_write.event_id == "w-erp-2"


def test_input_source_is_the_version_that_fed_the_hop(store: Store) -> None:
    record(store, *_history())
    with store.engine.connect() as conn:
        hops = events_by_id(conn, ["h-bi", "h-bi-2"])
        inputs = inputs_of(conn, hops)
        first = input_source(conn, hops["h-bi"], inputs["h-bi"][0])
        second = input_source(conn, hops["h-bi-2"], inputs["h-bi-2"][0])
    assert first is not None and first.event_id == "w-erp"
    assert second is not None and second.event_id == "w-erp-2"


def test_snapshot_is_explained_by_the_last_write_or_hop_before_it(store: Store) -> None:
    record(store, *_history())
    with store.engine.connect() as conn:
        observed = events_by_id(conn, ["s-erp"])["s-erp"]
        explained = explaining_event(conn, observed)
    assert explained is not None and explained.event_id == "w-erp"


def test_version_starts_where_the_place_last_changed_value(store: Store) -> None:
    record(store, *_history())
    with store.engine.connect() as conn:
        observed = events_by_id(conn, ["s-erp", "w-erp-2"])
        assert version_start(conn, observed["s-erp"]).event_id == "w-erp"
        assert version_start(conn, observed["w-erp-2"]).event_id == "w-erp-2"


def test_downstream_hops_read_the_place_within_the_window(store: Store) -> None:
    record(store, *_history())
    with store.engine.connect() as conn:
        every = downstream_hops(conn, ERP, since=_at(0))
        first_version = downstream_hops(conn, ERP, since=_at(0), until=_at(20))
    assert [(i.value, h.event_id) for i, h in every] == [("50.00", "h-bi"), ("80.00", "h-bi-2")]
    assert [h.event_id for _, h in first_version] == ["h-bi"]
