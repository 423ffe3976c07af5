"""The declared graph (``lineage.declared``): one ``networkx`` graph per registry version
answers the paths ``lineage golden`` follows, which copies ``lineage scan`` can compare, and
the reachability and backflow ``lineage check`` reports."""

from __future__ import annotations

import itertools
import json
import threading
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from golden_scenarios import hop, load, write

from lineage import declared
from lineage.cli import main
from lineage.declared import MAX_PATHS, DeclaredGraph, declared_graph
from lineage.detect.run import scan
from lineage.golden import golden
from lineage.model.registry import Carry, Element, Integration, Registry, System
from lineage.registry import check_registry
from lineage.store import Store

TOTAL = "order.total"


def _integration(name: str, source: str, target: str, transform: str = "identity") -> Integration:
    return Integration(
        name=name,
        source=source,
        target=target,
        owner=f"{name}@example.com",
        purpose="carries the order total on",
        carries=(Carry(element=TOTAL, transform=transform),),
    )


def _registry(
    integrations: tuple[Integration, ...],
    *,
    systems: tuple[str, ...] = (),
    origin: str = "Shop",
    record: str = "ERP",
) -> Registry:
    named = dict.fromkeys(systems)
    for integration in integrations:
        named.update(dict.fromkeys((integration.source, integration.target)))
    return Registry(
        systems=tuple(System(name=n, owner=f"{n.lower()}@example.com") for n in named),
        elements=(
            Element(
                name=TOTAL,
                system_of_origin=origin,
                system_of_record=record,
                owner="controller@example.com",
                type="decimal",
            ),
        ),
        integrations=integrations,
    )


# Shop -> ERP (the truth) -> BI -> Portal -> Tax, a transform on every step
CHAIN = _registry(
    (
        _integration("shop-to-erp", "Shop", "ERP", "round(2)"),
        _integration("erp-to-bi", "ERP", "BI", "multiply(1.2)"),
        _integration("bi-to-portal", "BI", "Portal", "round(2)"),
        _integration("portal-to-tax", "Portal", "Tax", "add(-5)"),
    ),
    systems=("Archive",),  # declared, and no integration reaches it
)


def test_a_path_through_several_integrations_names_each_integration_and_transform() -> None:
    [path] = declared_graph(CHAIN).paths(TOTAL, "ERP", "Tax")
    assert [(s.integration, s.source, s.target, s.transform) for s in path] == [
        ("erp-to-bi", "ERP", "BI", "multiply(1.2)"),
        ("bi-to-portal", "BI", "Portal", "round(2)"),
        ("portal-to-tax", "Portal", "Tax", "add(-5)"),
    ]
    assert [s.owner for s in path] == [
        "erp-to-bi@example.com",
        "bi-to-portal@example.com",
        "portal-to-tax@example.com",
    ]
    assert declared_graph(CHAIN).paths(TOTAL, "Tax", "ERP") == []  # transforms run one way


def test_golden_expects_the_far_copy_through_every_transform_on_the_declared_path(
    store: Store,
) -> None:
    order = ("ERP", TOTAL, "40017", "100.004")
    load(
        store,
        [
            write("ERP", TOTAL, "40017", "100.004", 0, "w-1"),
            hop("h-1", "erp-to-bi", order, ("BI", TOTAL, "R-9", "120.0048"), 1),
            hop(
                "h-2",
                "bi-to-portal",
                ("BI", TOTAL, "R-9", "120.0048"),
                ("Portal", TOTAL, "P-1", "120.00"),
                2,
            ),
            hop(
                "h-3",
                "portal-to-tax",
                ("Portal", TOTAL, "P-1", "120.00"),
                ("Tax", TOTAL, "T-1", "117.00"),
                3,
            ),
        ],
        CHAIN,
    )
    copies = {
        c["system"]: c for c in golden(store, "Tax", "T-1").to_json()["elements"][0]["copies"]
    }
    tax = copies["Tax"]
    assert tax["path"] == [
        "erp-to-bi multiply(1.2)",
        "bi-to-portal round(2)",
        "portal-to-tax add(-5)",
    ]
    assert (tax["status"], tax["expected"]) == ("divergent", "115.00")
    assert (copies["Portal"]["status"], copies["Portal"]["expected"]) == ("agrees", "120.00")


def test_a_system_no_declared_path_joins_is_not_comparable_and_golden_says_why(
    store: Store,
) -> None:
    graph = declared_graph(CHAIN)
    assert dict(graph.sides(TOTAL)) == {
        "Shop": "upstream",
        "BI": "downstream",
        "Portal": "downstream",
        "Tax": "downstream",
    }
    assert graph.direction(TOTAL, "Archive") is None
    assert "Archive" not in graph.supplied(TOTAL)
    load(
        store,
        [
            write("ERP", TOTAL, "40017", "100.00", 0, "w-1"),
            hop("h-1", None, ("ERP", TOTAL, "40017", "100.00"), ("Archive", TOTAL, "A-1", "1"), 1),
        ],
        CHAIN,
    )
    [archived] = [
        c
        for c in golden(store, "ERP", "40017").to_json()["elements"][0]["copies"]
        if c["system"] == "Archive"
    ]
    assert archived["status"] == "unknown"
    assert archived["direction"] is None
    assert "no declared integration path carries order.total" in archived["reason"]
    assert "ERP to Archive" in archived["reason"]
    truth = [f for f in scan(store) if f.code == "conflicting-truth"]
    assert truth == []  # a copy nothing declared joins is never reported, nor walked from


def test_an_integration_reading_from_an_unreachable_system_is_an_unreachable_copy() -> None:
    registry = _registry((*CHAIN.integrations, _integration("archive-to-bi", "Archive", "BI")))
    found = [f for f in check_registry(registry) if f.code == "unreachable-copy"]
    assert [(f.subject.integration, f.subject.system) for f in found] == [
        ("archive-to-bi", "Archive")
    ]
    assert found[0].evidence["supplied_to"] == ["BI", "ERP", "Portal", "Tax"]


def _yaml_registry(tmp_path: Path) -> Path:
    path = tmp_path / "registry.yaml"
    path.write_text(
        """\
systems:
  - {name: Shop, owner: shop@example.com}
  - {name: ERP, owner: erp@example.com}
  - {name: BI, owner: bi@example.com}
  - {name: Portal, owner: portal@example.com}
elements:
  - {name: order.total, system_of_origin: Shop, system_of_record: ERP, owner: c@example.com}
integrations:
  - {name: shop-to-erp, source: Shop, target: ERP, owner: a@example.com, purpose: orders,
     carries: [{element: order.total}]}
  - {name: erp-to-bi, source: ERP, target: BI, owner: b@example.com, purpose: reports,
     carries: [{element: order.total}]}
  - {name: bi-to-portal, source: BI, target: Portal, owner: p@example.com, purpose: show,
     carries: [{element: order.total}]}
  - {name: portal-to-shop, source: Portal, target: Shop, owner: s@example.com,
     purpose: corrections, carries: [{element: order.total}]}
"""
    )
    return path


def test_check_reports_a_backflow_cycle_through_the_origin_with_every_system_on_it(
    runner: CliRunner, tmp_path: Path
) -> None:
    path = _yaml_registry(tmp_path)
    result = runner.invoke(main, ["check", str(path), "--format", "json"])
    assert result.exit_code == 1, result.output
    findings: list[dict[str, Any]] = json.loads(result.output)["findings"]
    [backflow] = [f for f in findings if f["code"] == "backflow-into-system-of-record"]
    assert backflow["subject"]["integration"] == "shop-to-erp"
    assert backflow["evidence"]["cycle"] == ["ERP", "BI", "Portal", "Shop", "ERP"]
    assert (
        "Shop receives it from ERP (ERP -> BI -> Portal -> Shop -> ERP), a cycle"
        in (backflow["message"])
    )
    # without the way back, the origin feeding its system of record is no backflow
    path.write_text(path.read_text().split("  - {name: portal-to-shop")[0])
    result = runner.invoke(main, ["check", str(path), "--format", "json"])
    codes = [f["code"] for f in json.loads(result.output)["findings"]]
    assert "backflow-into-system-of-record" not in codes


def test_more_declared_paths_than_considered_make_the_expectation_ambiguous() -> None:
    # ERP fans out to ten hubs that all feed the portal: ten simple paths
    hubs = [f"Hub{n}" for n in range(10)]
    integrations = (
        *(_integration(f"erp-to-{h.lower()}", "ERP", h) for h in hubs),
        *(_integration(f"{h.lower()}-to-portal", h, "Portal") for h in hubs),
    )
    graph = declared_graph(_registry(integrations))
    found = graph.paths(TOTAL, "ERP", "Portal")
    assert len(found) == MAX_PATHS + 1  # one more than used: too many is visible
    assert [s.integration for s in found[0]] == ["erp-to-hub0", "hub0-to-portal"]


def _long_chain(systems: int) -> Registry:
    names = [f"Sys{n}" for n in range(systems)]
    return _registry(
        tuple(
            _integration(f"sys{n}-to-sys{n + 1}", a, b, "round(2)")
            for n, (a, b) in enumerate(itertools.pairwise(names))
        ),
        origin="Sys99",
        record="Sys100",
    )


def test_a_registry_of_200_systems_is_built_once_and_reused_by_every_question(
    monkeypatch: pytest.MonkeyPatch, store: Store
) -> None:
    builds: list[Registry] = []

    class Counted(DeclaredGraph):
        def __init__(self, registry: Registry) -> None:
            builds.append(registry)
            super().__init__(registry)

    monkeypatch.setattr(declared, "DeclaredGraph", Counted)
    store.save_registry(_long_chain(200))
    registry = store.registry()
    assert len(declared_graph(registry).systems) == 200
    findings = check_registry(registry)
    assert [f.code for f in findings if f.severity == "error"] == []
    [path] = declared_graph(registry).paths(TOTAL, "Sys100", "Sys199")
    assert len(path) == 99
    assert declared_graph(registry).direction(TOTAL, "Sys3") == "upstream"
    load(
        store,
        [
            write("Sys99", TOTAL, "K-1", "1.004", 0, "w-1"),
            hop(
                "h-1",
                "sys99-to-sys100",
                ("Sys99", TOTAL, "K-1", "1.004"),
                ("Sys100", TOTAL, "K-1", "1.00"),
                1,
            ),
        ],
        registry,
    )
    [total] = golden(store, "Sys100", "K-1").to_json()["elements"]
    assert total["golden_value"] == "1.00"
    assert [(c["system"], c["status"]) for c in total["copies"]] == [("Sys99", "agrees")]
    assert [f.code for f in scan(store) if f.severity == "error"] == []
    # check, golden and scan each asked again and again: one build for the version
    assert builds == [registry]
    assert store.registry() is registry

    # many threads asking at once about a version nobody asked about yet: still one build
    fresh = _long_chain(200)
    answers: list[DeclaredGraph] = []
    threads = [
        threading.Thread(target=lambda: answers.append(declared_graph(fresh))) for _ in range(8)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(answers) == 8 and all(a is answers[0] for a in answers)
    assert builds == [registry, fresh]


def test_a_new_registry_version_gets_its_own_graph(store: Store) -> None:
    store.save_registry(CHAIN)
    before = declared_graph(store.registry())
    assert before.paths(TOTAL, "ERP", "Portal")
    shorter = _registry(CHAIN.integrations[:2])
    store.save_registry(shorter)
    after = declared_graph(store.registry())
    assert after is not before
    assert after.paths(TOTAL, "ERP", "Portal") == []
    assert [i.name for i in after.integrations_into("BI")] == ["erp-to-bi"]
    assert [i.name for i in before.integrations_from("BI")] == ["bi-to-portal"]
