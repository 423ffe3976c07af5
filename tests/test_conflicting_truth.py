"""The conflicting-truth detector: copies that disagree with what the golden value yields."""

from __future__ import annotations

import datetime as dt
import sys
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from golden_scenarios import company, hop, load, refresh, snapshot, write

from lineage.detect import DETECTORS, ScanContext
from lineage.detect.conflicting_truth import conflicting_truth
from lineage.golden import golden
from lineage.model.findings import Finding
from lineage.store import Store
from lineage.store.schema import to_us
from lineage.verify import HopVerifier


@contextmanager
def context(store: Store, as_of: dt.datetime | None = None) -> Iterator[ScanContext]:
    registry = store.registry()
    moment = to_us(as_of) if as_of else to_us(dt.datetime(2030, 1, 1, tzinfo=dt.UTC))
    with store.engine.connect() as conn, conn.begin():
        yield ScanContext(store, registry, moment, conn, HopVerifier(registry))


def findings(store: Store, as_of: dt.datetime | None = None) -> list[Finding]:
    with context(store, as_of) as ctx:
        return list(conflicting_truth(ctx))


def by_place(found: list[Finding]) -> dict[tuple[str | None, str | None, str | None], Finding]:
    return {(f.subject.system, f.subject.element, f.subject.record): f for f in found}


def test_detector_is_registered() -> None:
    assert conflicting_truth in DETECTORS


def test_stale_copy_is_a_conflict_with_the_golden_value_as_evidence(store: Store) -> None:
    company(store)
    found = by_place(findings(store))
    stale = found[("BI", "order.total", "R-9")]
    assert stale.code == "conflicting-truth"
    assert stale.severity == "error"
    assert stale.owner == "bi@example.com"  # owner of the integration delivering into BI
    assert stale.subject.event == "h-bi"
    assert stale.subject.integration == "erp-to-bi"
    assert {
        k: stale.evidence[k]
        for k in ("status", "golden_value", "value", "expected", "system_of_record")
    } == {
        "status": "stale",
        "golden_value": "80.004",
        "value": "60.00",
        "expected": "96.0048",
        "system_of_record": "ERP",
    }
    assert "stale" in stale.message and "R-9" in stale.message


def test_stale_value_passed_further_down_is_found_through_the_copy_that_fed_it(
    store: Store,
) -> None:
    company(store)
    portal = by_place(findings(store))[("Portal", "order.total", "P-1")]
    # the portal's hop read BI's current value (nothing wrong with that hop): only the
    # golden value shows the portal is behind
    assert portal.evidence["status"] == "stale"
    assert portal.evidence["expected"] == "96.00"
    assert portal.owner == "portal@example.com"


def test_divergent_copy_is_a_conflict(store: Store) -> None:
    company(store)
    divergent = by_place(findings(store))[("BI", "order.status", "R-9")]
    assert divergent.evidence["status"] == "divergent"
    assert divergent.evidence["value"] == "cancelled"
    assert divergent.evidence["expected"] == "shipped"


def test_agreeing_and_unknown_copies_are_no_conflict(store: Store) -> None:
    company(store)
    found = by_place(findings(store))
    assert ("ERP", "customer.name", "40017") not in found  # agrees
    assert ("BI", "order.lines_total", "R-9") not in found  # unknown (sum): no guess
    assert len(found) == 3


def test_stale_copy_refreshed_since_is_no_conflict(store: Store) -> None:
    company(store)
    refresh(store)
    found = by_place(findings(store))
    assert ("BI", "order.total", "R-9") not in found
    assert ("Portal", "order.total", "P-1") not in found
    assert set(found) == {("BI", "order.status", "R-9")}


def test_failed_refresh_leaves_the_copy_stale(store: Store) -> None:
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
    assert by_place(findings(store))[("BI", "order.total", "R-9")].subject.event == "h-bi"


def test_as_of_ignores_later_events(store: Store) -> None:
    company(store)
    before_change = dt.datetime(2026, 11, 20, 9, 20, tzinfo=dt.UTC)
    assert set(by_place(findings(store, before_change))) == {("BI", "order.status", "R-9")}
    before_everything = dt.datetime(2026, 11, 20, 8, 0, tzinfo=dt.UTC)
    assert findings(store, before_everything) == []


def test_copy_edited_in_place_is_divergent(store: Store) -> None:
    company(store)
    refresh(store)
    load(store, [write("BI", "order.total", "R-9", "99.00", 50, "w-bi-edit")])
    edited = by_place(findings(store))[("BI", "order.total", "R-9")]
    assert edited.evidence["status"] == "divergent"
    assert edited.subject.event == "w-bi-edit"


def test_snapshot_showing_another_value_in_a_copy_is_a_conflict(store: Store) -> None:
    company(store)
    refresh(store)
    load(store, [snapshot("Portal", "order.total", "P-1", "95.00", 60)])
    observed = by_place(findings(store))[("Portal", "order.total", "P-1")]
    assert observed.evidence["status"] == "divergent"
    assert observed.evidence["value"] == "95.00"


def test_snapshot_confirming_the_copy_is_no_conflict(store: Store) -> None:
    company(store)
    refresh(store)
    load(store, [snapshot("Portal", "order.total", "P-1", "96.0", 60)])
    assert ("Portal", "order.total", "P-1") not in by_place(findings(store))


def test_detector_judges_in_batches_with_the_same_findings(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    company(store)
    load(store, [write("ERP", "order.carrier", "40017", "UPS", 45, "w-carrier-2")])
    whole = sorted(by_place(findings(store)))
    module = sys.modules["lineage.detect.conflicting_truth"]
    monkeypatch.setattr(module, "BATCH", 1)
    monkeypatch.setattr("lineage.store.conflicts.BATCH", 1)  # one row per VALUES list
    assert sorted(by_place(findings(store))) == whole
    # the carrier change left both shipments behind
    assert ("WMS", "order.carrier", "S-1") in whole and ("WMS", "order.carrier", "S-2") in whole


def test_detector_leaves_the_shared_connection_as_it_found_it(store: Store) -> None:
    company(store)
    settings = "SELECT current_setting('jit'), current_setting('enable_nestloop')"
    with context(store) as ctx:
        before = dict(ctx.conn.get_execution_options())
        planner = ctx.conn.exec_driver_sql(settings).one() if store.dialect == "postgresql" else ()
        assert list(conflicting_truth(ctx))
        assert dict(ctx.conn.get_execution_options()) == before
        if store.dialect == "postgresql":  # planner settings changed for one query, restored
            assert ctx.conn.exec_driver_sql(settings).one() == planner


def test_detector_and_golden_record_agree_on_every_copy(store: Store) -> None:
    company(store)
    record = golden(store, "ERP", "40017").to_json()
    conflicted = {
        (c["system"], e["element"], c["record"]): c["status"]
        for e in record["elements"]
        for c in e["copies"]
        if c["status"] in ("stale", "divergent")
    }
    found = {place: f.evidence["status"] for place, f in by_place(findings(store)).items()}
    assert found == conflicted
