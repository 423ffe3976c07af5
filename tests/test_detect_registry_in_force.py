"""The registry in force decides: unknown systems and elements, and re-judged routes."""

from __future__ import annotations

import sqlalchemy as sa
from scan_world import clean_chain, found, hop, load, record, registry, write

from lineage.store import Store
from lineage.trace import trace


def test_a_write_to_an_undeclared_system_is_kept_and_reported(store: Store) -> None:
    load(store)
    record(store, *clean_chain(), write("Nowhere", "order.total", "X-1", "5", 10))
    (finding,) = found(store, "unknown-system")
    assert finding.severity.value == "error"
    assert finding.subject.system == "Nowhere"
    assert finding.subject.event is not None
    assert "'Nowhere'" in finding.message
    assert finding.owner == "controller@example.com"  # the element's, the system has none
    # kept: the place still traces
    assert trace(store, "Nowhere", "order.total", "X-1").subject.value == "5"


def test_an_undeclared_element_is_reported_owned_by_the_integration_that_sent_it(
    store: Store,
) -> None:
    load(store)
    nope = hop("h-9", "erp-to-bi", 20, [("ERP", "order.total", "40017", "50.00")],
               ("BI", "contract.nope", "R-9", "60.00"))  # fmt: skip
    record(store, *clean_chain(), nope)
    (finding,) = found(store, "unknown-element")
    assert finding.subject.element == "contract.nope"
    assert finding.subject.event == "h-9"
    assert finding.owner == "bi-lead@example.com"
    assert found(store, "unknown-system") == []


def test_declaring_the_system_later_makes_the_finding_go_away(store: Store) -> None:
    load(store)
    record(store, *clean_chain(), write("Nowhere", "order.total", "X-1", "5", 10))
    assert len(found(store, "unknown-system")) == 1
    reg = registry()
    systems = (*reg.systems, reg.systems[0].model_copy(update={"name": "Nowhere"}))
    load(store, reg.model_copy(update={"systems": systems}))
    assert found(store, "unknown-system") == []


def test_a_hop_undeclared_on_arrival_is_not_reported_once_its_route_is_declared(
    store: Store,
) -> None:
    reg = registry()
    without = tuple(i for i in reg.integrations if i.name != "erp-to-bi")
    load(store, reg.model_copy(update={"integrations": without}))
    record(store, *clean_chain())
    assert [f.subject.integration for f in found(store, "undeclared-integration")] == ["erp-to-bi"]
    load(store, reg)  # `lineage load` of a registry declaring it
    assert found(store, "undeclared-integration") == []
    edges = trace(store, "BI", "order.total", "R-9").edges
    assert all(e.verified for e in edges if e.event == "h-1")


def test_a_hop_declared_on_arrival_is_reported_once_its_route_is_withdrawn(
    store: Store,
) -> None:
    reg = registry()
    load(store, reg)
    record(store, *clean_chain())
    assert found(store, "undeclared-integration") == []
    without = tuple(i for i in reg.integrations if i.name != "erp-to-bi")
    load(store, reg.model_copy(update={"integrations": without}))
    (finding,) = found(store, "undeclared-integration")
    assert finding.subject.integration == "erp-to-bi"
    assert finding.subject.event == "h-1"
    result = trace(store, "BI", "order.total", "R-9")
    codes = {p.code for node in result.nodes for p in node.problems}
    assert "undeclared-integration" in codes


def test_earlier_registries_are_read_once_however_often_the_store_is_judged(
    store: Store,
) -> None:
    """A pipeline that loads its registry on every deploy keeps every version; a scan reads
    each earlier version's document once, not again on every judgement, and still reports a
    route that one of them declared and the one in force withdrew."""
    reg = registry()
    load(store, reg)
    record(store, *clean_chain())
    without = tuple(i for i in reg.integrations if i.name != "erp-to-bi")
    for n in range(3):  # three more versions, each withdrawing erp-to-bi
        load(store, reg.model_copy(update={"integrations": without, "waivers": ()}))
        load(store, reg.model_copy(update={"integrations": without[: len(without) - n]}))
    load(store, reg.model_copy(update={"integrations": without}))
    read: list[str] = []

    def count(conn: object, cursor: object, statement: str, *args: object) -> None:
        if "registry_versions.document" in statement:
            read.append(statement)

    sa.event.listen(store.engine, "before_cursor_execute", count)
    try:
        assert [f.subject.integration for f in found(store, "undeclared-integration")] == [
            "erp-to-bi"
        ]
        first = len(read)
        for _ in range(3):
            assert len(found(store, "undeclared-integration")) == 1
        assert len(read) == first  # nothing read again
    finally:
        sa.event.remove(store.engine, "before_cursor_execute", count)
