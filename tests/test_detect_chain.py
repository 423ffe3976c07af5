"""untraced-value and broken-chain: values that no event explains, hops that read the wrong one."""

from __future__ import annotations

from scan_world import clean_chain, found, hop, load, record, run, snapshot, us, write

from lineage.detect.run import scan_context
from lineage.store import Store
from lineage.store.detection.broken_chain import disagreeing_inputs


def test_a_clean_chain_gives_no_finding_at_all(store: Store) -> None:
    load(store)
    record(store, *clean_chain())
    assert run(store).findings == []


def test_a_snapshot_equal_to_the_delivered_value_is_traced(store: Store) -> None:
    load(store)
    # delivered "60.00", observed "60": the same decimal
    record(store, *clean_chain(), snapshot("BI", "order.total", "R-9", "60.0", 120))
    assert found(store, "untraced-value") == []


def test_a_snapshot_differing_from_the_latest_write_is_untraced(store: Store) -> None:
    load(store)
    record(store, *clean_chain(), snapshot("ERP", "order.total", "40017", "55", 30))
    (finding,) = found(store, "untraced-value")
    assert (finding.subject.system, finding.subject.record) == ("ERP", "40017")
    assert finding.owner == "controller@example.com"
    assert finding.evidence["value"] == "55"
    assert finding.evidence["expected"] == "50.00"
    assert "left '50.00'" in finding.message


def test_a_snapshot_where_nothing_was_ever_written_is_untraced(store: Store) -> None:
    load(store)
    record(
        store,
        *clean_chain(),
        snapshot("BI", "order.total", "R-77", "13", 30),
        snapshot("BI", "order.total", "R-77", "13", 90),
        write("BI", "order.total", "R-77", "13", 200),
    )
    (finding,) = found(store, "untraced-value", as_of=100)
    assert finding.evidence["explained_by"] is None
    assert finding.evidence["snapshots"] == 2
    assert "no write or hop ever put a value there" in finding.message
    # the write that comes later explains neither earlier observation
    assert len(found(store, "untraced-value")) == 1


def test_a_snapshot_after_a_failed_hop_shows_the_old_value_and_is_traced(store: Store) -> None:
    load(store)
    record(
        store,
        *clean_chain(),
        write("ERP", "order.total", "40017", "70.00", 100),
        hop(
            "h-5",
            "erp-to-bi",
            105,
            [("ERP", "order.total", "40017", "70.00")],
            ("BI", "order.total", "R-9", "84.00"),
            status="failed",
            error="BI down",
        ),
        snapshot("BI", "order.total", "R-9", "60", 120),
    )
    assert found(store, "untraced-value") == []


def test_a_hop_reading_from_a_place_with_no_history_is_untraced(store: Store) -> None:
    load(store)
    record(
        store,
        *clean_chain(),
        write("ERP", "order.total", "40099", "10", 60),  # too late for the hops below
        hop(
            "h-7",
            "erp-to-bi",
            50,
            [("ERP", "order.total", "40099", "10")],
            ("BI", "order.total", "R-50", "12"),
        ),
        hop(
            "h-8",
            "erp-to-bi",
            55,
            [("ERP", "order.total", "40099", "10")],
            ("BI", "order.total", "R-50", "12"),
        ),
    )
    (finding,) = found(store, "untraced-value")
    assert (finding.subject.system, finding.subject.record) == ("ERP", "40099")
    assert finding.subject.event == "h-7"
    assert finding.evidence["hops"] == ["h-7", "h-8"]
    assert found(store, "broken-chain") == []


def test_a_hop_carrying_a_value_its_source_did_not_hold_breaks_the_chain(store: Store) -> None:
    load(store)
    record(
        store,
        *clean_chain(),
        hop(
            "h-6",
            "erp-to-bi",
            30,
            [("ERP", "order.total", "40017", "45.00")],
            ("BI", "order.total", "R-9", "54.00"),
        ),
    )
    (finding,) = found(store, "broken-chain")
    assert finding.subject.event == "h-6"
    assert (finding.subject.system, finding.subject.record) == ("BI", "R-9")
    assert finding.subject.integration == "erp-to-bi"
    assert finding.owner == "bi-lead@example.com"
    assert finding.evidence["input"]["value"] == "45.00"
    assert finding.evidence["held"] == "50.00"
    assert finding.severity.value == "warning"


def test_a_value_the_source_changed_after_the_hop_does_not_break_it(store: Store) -> None:
    load(store)
    record(
        store,
        *clean_chain(),
        write("ERP", "order.total", "40017", "70", 100),
        hop(
            "h-6",
            "erp-to-bi",
            110,
            [("ERP", "order.total", "40017", "70.0")],
            ("BI", "order.total", "R-9", "84"),
        ),
    )
    assert found(store, "broken-chain") == []
    assert found(store, "untraced-value") == []


def test_a_hop_reading_an_observed_value_reads_what_the_source_held(store: Store) -> None:
    load(store)
    record(
        store,
        *clean_chain(),
        snapshot("ERP", "order.total", "40017", "51", 30),
        hop(
            "h-6",
            "erp-to-bi",
            70,
            [("ERP", "order.total", "40017", "51")],
            ("BI", "order.total", "R-9", "61.2"),
        ),
    )
    assert found(store, "broken-chain") == []
    # the observation itself is what nobody explains
    assert [f.subject.record for f in found(store, "untraced-value")] == ["40017"]


def test_probes_and_intervals_find_the_same_disagreeing_inputs(store: Store) -> None:
    load(store)
    record(
        store,
        *clean_chain(),
        # source changed after a first hop: the second hop reads the new value
        write("ERP", "order.total", "40017", "70", 100),
        hop(
            "ok-1",
            "erp-to-bi",
            110,
            [("ERP", "order.total", "40017", "70.0")],
            ("BI", "order.total", "R-9", "84"),
        ),
        # a write at the very moment of the hop counts as held
        write("ERP", "order.total", "40040", "5", 120),
        hop(
            "ok-2",
            "erp-to-bi",
            120,
            [("ERP", "order.total", "40040", "5")],
            ("BI", "order.total", "R-40", "6"),
        ),
        # a failed hop into the source left nothing: the older write is what it held
        hop(
            "f-1",
            "erp-to-bi",
            125,
            [("ERP", "order.total", "40040", "5")],
            ("BI", "order.total", "R-40", "6"),
            status="failed",
            error="x",
        ),
        hop(
            "ok-3",
            "erp-to-bi",
            126,
            [("BI", "order.total", "R-40", "6")],
            ("ERP", "order.total", "X-1", "7.2"),
        ),
        # wrong input, and an input from nowhere
        hop(
            "bad-1",
            "erp-to-bi",
            130,
            [("ERP", "order.total", "40017", "50")],
            ("BI", "order.total", "R-9", "60"),
        ),
        hop(
            "bad-2",
            "erp-to-bi",
            131,
            [("ERP", "order.total", "40099", "1")],
            ("BI", "order.total", "R-99", "1.2"),
        ),
    )
    with scan_context(store, us(24 * 60)) as ctx:
        answers = [
            sorted(row.event_id for row in disagreeing_inputs(ctx.conn, ctx.as_of, intervals=flag))
            for flag in (False, True)
        ]
    assert answers[0] == answers[1] == ["bad-1", "bad-2"]
