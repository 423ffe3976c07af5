"""The scan as a whole: every code found, as of a moment, waivers, filters and order."""

from __future__ import annotations

from typing import Any

from scan_world import (
    OWN_DETECTORS,
    clean_chain,
    hop,
    load,
    record,
    registry,
    run,
    snapshot,
    us,
    waiver,
    write,
)

from lineage.detect import DETECTORS
from lineage.detect.run import RUNTIME_CODES, scan
from lineage.store import Store


def defects() -> list[dict[str, Any]]:
    """One of each defect this area's detectors look for."""
    return [
        write("BI", "order.total", "R-9", "70", 30, actor="analyst"),  # competing-origin
        snapshot("ERP", "order.total", "40018", "99", 30),  # untraced-value
        hop(
            "h-20",
            "erp-to-bi",
            31,
            [("ERP", "order.total", "40017", "50.00")],
            ("BI", "order.total", "R-20", "99.00"),
        ),  # unexplained-transformation
        hop(
            "h-21",
            "shadow",
            32,
            [("ERP", "order.total", "40017", "50.00")],
            ("CRM", "order.total", "X-1", "50.00"),
        ),  # undeclared-integration
        hop(
            "h-22",
            "erp-to-wms",
            33,
            [("ERP", "order.status", "40017", "shipped")],
            ("WMS", "order.status", "P-9", "shipped"),
        ),  # broken-chain
        hop(
            "h-23",
            "erp-to-bi",
            34,
            [("ERP", "order.total", "40017", "50.00")],
            ("BI", "order.total", "R-23", "60.00"),
            status="failed",
            error="down",
        ),
        hop(
            "h-24",
            "erp-to-bi",
            35,
            [("ERP", "order.total", "40017", "50.00")],
            ("BI", "order.total", "R-24", "60.00"),
            status="sent",
        ),  # lost, duplicate
        write("ERP", "order.status", "40030", "lost", 36),  # rule-violation
        snapshot("Nowhere", "order.total", "N-1", "1", 37),  # unknown-system
        write("ERP", "contract.nope", "40017", "x", 38),  # unknown-element
    ]


def test_every_runtime_code_of_this_area_is_found_when_planted(store: Store) -> None:
    load(store)
    record(store, *clean_chain(), *defects())
    codes = {f.code for f in run(store).findings}
    assert codes == RUNTIME_CODES - {"conflicting-truth"}


def test_every_detector_is_registered_once() -> None:
    names = [d.__name__ for d in DETECTORS]
    assert len(names) == len(set(names))
    assert len(OWN_DETECTORS) == len(DETECTORS) - 1


def test_events_after_the_as_of_moment_do_not_exist(store: Store) -> None:
    load(store)
    record(store, *clean_chain(), *defects())
    assert run(store, as_of=29).findings == []


def test_findings_come_errors_first_then_by_code(store: Store) -> None:
    load(store)
    record(store, *clean_chain(), *defects())
    findings = run(store).findings
    ranks = [f.severity.rank for f in findings]
    assert ranks == sorted(ranks)
    assert findings[-1].code == "broken-chain"
    errors = [f.code for f in findings if f.severity.value == "error"]
    assert errors == sorted(errors)


def test_filters_keep_only_the_asked_system_element_owner_and_code(store: Store) -> None:
    load(store)
    record(store, *clean_chain(), *defects())
    by_system = run(store, systems=["WMS"]).findings
    assert {f.subject.system for f in by_system} == {"WMS"}
    by_element = run(store, elements=["order.status"]).findings
    assert {f.code for f in by_element} == {"rule-violation", "broken-chain"}
    by_owner = run(store, owners=["bi-lead@example.com"]).findings
    assert {f.owner for f in by_owner} == {"bi-lead@example.com"}
    assert sorted(f.code for f in by_owner) == [
        "duplicate-delivery",
        "failed-delivery",
        "lost-delivery",
        "unexplained-transformation",
    ]
    by_code = run(store, codes=["lost-delivery", "failed-delivery"]).findings
    assert sorted(f.code for f in by_code) == ["failed-delivery", "lost-delivery"]


def test_findings_without_an_owner_are_asked_for_as_unowned(store: Store) -> None:
    reg = registry()
    reg = reg.model_copy(
        update={
            "systems": tuple(
                s.model_copy(update={"owner": None}) if s.name == "CRM" else s for s in reg.systems
            ),
            # the hop on no declared integration is the element's, then the system's
            "elements": tuple(
                e.model_copy(update={"owner": None}) if e.name == "order.total" else e
                for e in reg.elements
            ),
        }
    )
    load(store, reg)
    record(store, *clean_chain(), *defects())
    unowned = run(store, owners=["(unowned)"]).findings
    assert "undeclared-integration" in [f.code for f in unowned]
    assert all(f.owner is None for f in unowned)


def test_a_live_waiver_silences_its_findings_and_is_counted(store: Store) -> None:
    load(store, registry(waivers=(waiver("competing-origin", "2027-03-31", system="BI"),)))
    record(store, *clean_chain(), *defects())
    result = run(store)
    assert "competing-origin" not in {f.code for f in result.findings}
    assert [f.code for f in result.waived] == ["competing-origin"]
    assert not {"expired-waiver", "unused-waiver"} & {f.code for f in result.findings}


def test_an_expired_waiver_silences_nothing_and_is_reported(store: Store) -> None:
    load(store, registry(waivers=(waiver("competing-origin", "2026-11-01", system="BI"),)))
    record(store, *clean_chain(), *defects())
    codes = [f.code for f in run(store).findings]
    assert "competing-origin" in codes
    assert "expired-waiver" in codes


def test_waiver_expiry_is_judged_on_the_as_of_date(store: Store) -> None:
    load(store, registry(waivers=(waiver("competing-origin", "2026-11-20", system="BI"),)))
    record(store, *clean_chain(), *defects())
    assert "expired-waiver" not in {f.code for f in run(store, as_of=60).findings}
    assert "expired-waiver" in {f.code for f in run(store, as_of=24 * 60 + 60).findings}


def test_a_runtime_waiver_matching_nothing_is_reported_unused(store: Store) -> None:
    load(store, registry(waivers=(waiver("lost-delivery", None, integration="erp-to-wms"),)))
    record(store, *clean_chain())
    (finding,) = run(store).findings
    assert finding.code == "unused-waiver"
    assert finding.subject.integration == "erp-to-wms"


def test_registry_waivers_are_left_to_lineage_check(store: Store) -> None:
    load(
        store,
        registry(waivers=(waiver("missing-fallback", "2020-01-01", integration="erp-to-bi"),)),
    )
    record(store, *clean_chain())
    assert run(store).findings == []


def test_scan_runs_every_registered_detector_by_default(store: Store) -> None:
    load(store)
    record(store, *clean_chain(), write("ERP", "order.status", "40030", "lost", 36))
    findings = scan(store, as_of=us(60), codes=["rule-violation"])
    assert [f.subject.record for f in findings] == ["40030"]
