"""lineage export: PROV-JSON read back by prov, OpenLineage that validates, DOT."""

from __future__ import annotations

import datetime as dt
import io
import json
from collections import Counter
from pathlib import Path
from typing import Any

import jsonschema
import pygraphviz
import pytest
from click.testing import CliRunner
from corpus import SPEC
from golden_scenarios import company, hop, load, snapshot
from prov.model import ProvDocument
from referencing import Registry, Resource

from lineage.cli import main
from lineage.errors import NotFoundError
from lineage.interop.export import (
    Place,
    export_dot,
    export_openlineage,
    export_prov,
    openlineage_events,
)
from lineage.interop.openlineage import ingest_openlineage_data, observed_flows
from lineage.render import to_dot
from lineage.store import Store
from lineage.trace import trace


def prov_records(text: str) -> Counter[str]:
    document = ProvDocument.deserialize(content=text, format="json")
    return Counter(type(record).__name__ for record in document.get_records())


@pytest.fixture(scope="module")
def run_event_validator() -> jsonschema.protocols.Validator:
    core = json.loads((SPEC / "OpenLineage.json").read_text())
    facet = json.loads((SPEC / "ColumnLineageDatasetFacet.json").read_text())
    registry: Registry[Any] = Registry().with_resources(
        [(core["$id"], Resource.from_contents(core)), (facet["$id"], Resource.from_contents(facet))]
    )
    schema = {"$ref": core["$id"] + "#/$defs/RunEvent"}
    return jsonschema.Draft202012Validator(schema, registry=registry)


@pytest.fixture(scope="module")
def column_lineage_validator() -> jsonschema.protocols.Validator:
    core = json.loads((SPEC / "OpenLineage.json").read_text())
    facet = json.loads((SPEC / "ColumnLineageDatasetFacet.json").read_text())
    registry: Registry[Any] = Registry().with_resources(
        [(core["$id"], Resource.from_contents(core)), (facet["$id"], Resource.from_contents(facet))]
    )
    schema = {"$ref": facet["$id"] + "#/$defs/ColumnLineageDatasetFacet"}
    return jsonschema.Draft202012Validator(schema, registry=registry)


# -- PROV -----------------------------------------------------------------------------------


def test_whole_store_prov_reads_back_with_every_value_version_and_hop(store: Store) -> None:
    company(store)
    out = io.StringIO()
    export_prov(store, out)
    records = prov_records(out.getvalue())
    assert records["ProvEntity"] == 13  # every event is a value version
    assert records["ProvActivity"] == 7  # every hop is an activity
    assert records["ProvUsage"] == 7 and records["ProvGeneration"] == 7
    assert records["ProvDerivation"] == 7  # one per hop input
    assert records["ProvAttribution"] == 6  # every write, to its actor
    assert records["ProvAgent"] >= 1


def test_whole_store_export_as_of_leaves_out_later_events(store: Store) -> None:
    company(store)
    out = io.StringIO()
    export_prov(store, out, as_of=dt.datetime(2026, 11, 20, 9, 5, tzinfo=dt.UTC))
    records = prov_records(out.getvalue())
    assert records["ProvEntity"] == 6  # the events up to 09:05
    assert records["ProvActivity"] == 3


def test_trace_prov_has_the_traced_versions_linked_by_derivation(store: Store) -> None:
    company(store)
    out = io.StringIO()
    export_prov(store, out, Place("Portal", "order.total", "P-1"))
    document = ProvDocument.deserialize(content=out.getvalue(), format="json")
    records = Counter(type(r).__name__ for r in document.get_records())
    # ERP write -> BI hop -> portal hop
    assert records["ProvEntity"] == 3
    assert records["ProvActivity"] == 2
    assert records["ProvDerivation"] == 2
    derived = {
        (str(r.formal_attributes[0][1]), str(r.formal_attributes[1][1]))
        for r in document.get_records()
        if type(r).__name__ == "ProvDerivation"
    }
    assert ("value:h-portal", "value:h-bi") in derived
    assert ("value:h-bi", "value:w-total-1") in derived
    agents = {str(r.identifier) for r in document.get_records() if type(r).__name__ == "ProvAgent"}
    assert "agent:bi_40example.com" in agents  # the integration owner runs the hop
    assert "agent:carol" in agents  # the write's actor


def test_prov_marks_an_input_no_event_explains_as_its_own_entity(store: Store) -> None:
    load(
        store,
        [
            hop(
                "h-ghost",
                "erp-to-bi",
                ("ERP", "order.total", "404", "10"),
                ("BI", "order.total", "R-404", "12"),
                1,
            ),
            snapshot("BI", "order.total", "R-404", "12", 2),
        ],
    )
    out = io.StringIO()
    export_prov(store, out)
    document = json.loads(out.getvalue())
    assert "input:h-ghost.0" in document["entity"]
    assert document["entity"]["input:h-ghost.0"]["lineage:record"] == "404"
    observation = [
        r for r in document["wasDerivedFrom"].values() if r["prov:usedEntity"] == "value:h-ghost"
    ]
    assert len(observation) == 1  # the snapshot shows the value the hop delivered
    assert prov_records(out.getvalue())["ProvEntity"] == 3


def test_prov_identifiers_survive_unusual_event_ids(store: Store) -> None:
    load(
        store,
        [
            {
                "kind": "write",
                "id": "w 1/ä:x",
                "system": "ERP",
                "element": "order.total",
                "record": "1",
                "value": "5",
                "at": "2026-11-20T09:00:00Z",
            },
        ],
    )
    out = io.StringIO()
    export_prov(store, out)
    records = prov_records(out.getvalue())  # warnings are errors here: prov accepts the ids
    assert records["ProvEntity"] == 1


# -- OpenLineage ----------------------------------------------------------------------------


def test_openlineage_export_validates_against_the_spec(
    store: Store,
    run_event_validator: jsonschema.protocols.Validator,
    column_lineage_validator: jsonschema.protocols.Validator,
) -> None:
    company(store)
    out = io.StringIO()
    count = export_openlineage(store, out)
    lines = out.getvalue().splitlines()
    assert count == len(lines) == 7  # one RunEvent per hop
    for line in lines:
        event = json.loads(line)
        run_event_validator.validate(event)
        for output in event["outputs"]:
            column_lineage_validator.validate(output["facets"]["columnLineage"])


def test_openlineage_event_names_the_integration_datasets_and_transform(store: Store) -> None:
    company(store)
    events = list(openlineage_events(store, Place("BI", "order.total", "R-9")))
    assert len(events) == 1
    event = events[0]
    assert event["eventType"] == "COMPLETE"
    assert event["job"] == {"namespace": "lineage", "name": "erp-to-bi"}
    assert event["inputs"] == [{"namespace": "ERP", "name": "order"}]
    output = event["outputs"][0]
    assert (output["namespace"], output["name"]) == ("BI", "order")
    field = output["facets"]["columnLineage"]["fields"]["total"]["inputFields"][0]
    assert (field["namespace"], field["name"], field["field"]) == ("ERP", "order", "total")
    assert field["transformations"][0]["description"] == "multiply(1.2)"
    assert event["run"]["facets"]["lineage_hop"]["event"] == "h-bi"
    again = list(openlineage_events(store, Place("BI", "order.total", "R-9")))
    assert again[0]["run"]["runId"] == event["run"]["runId"]  # stable per hop


def test_failed_hop_is_a_fail_run_event(store: Store) -> None:
    load(
        store,
        [
            hop(
                "h-f",
                "erp-to-bi",
                ("ERP", "order.total", "1", "10"),
                ("BI", "order.total", "R-1", "12"),
                1,
                status="failed",
            ),
        ],
    )
    (event,) = list(openlineage_events(store))
    assert event["eventType"] == "FAIL"


def test_exported_openlineage_reads_back_as_the_same_flows(store: Store) -> None:
    company(store)
    events = list(openlineage_events(store))
    result = ingest_openlineage_data(store, [("export", n, e) for n, e in enumerate(events, 1)])
    assert result.rejected == []
    flows = {
        (f.source_system, f.source_element, f.target_system, f.target_element)
        for f in observed_flows(store)
    }
    assert ("ERP", "order.total", "BI", "order.total") in flows
    assert ("BI", "order.total", "Portal", "order.total") in flows
    assert ("CRM", "customer.name", "ERP", "customer.name") in flows


# -- DOT ------------------------------------------------------------------------------------


def test_whole_store_dot_draws_each_route_with_its_hop_count(store: Store) -> None:
    company(store)
    out = io.StringIO()
    export_dot(store, out)
    graph = pygraphviz.AGraph(string=out.getvalue())
    edge = graph.get_edge("ERP", "WMS")
    assert "2 hops" in edge.attr["label"]
    unverified = [e for e in graph.edges() if "unverified" in (e.attr["label"] or "")]
    assert [(e[0], e[1]) for e in unverified] == [("ERP", "BI")]  # the divergent status hop


def test_trace_dot_is_the_trace_drawing(store: Store) -> None:
    company(store)
    out = io.StringIO()
    export_dot(store, out, Place("BI", "order.total", "R-9"))
    assert out.getvalue() == to_dot(trace(store, "BI", "order.total", "R-9"))


def test_export_of_an_unknown_place_is_not_found(store: Store) -> None:
    company(store)
    with pytest.raises(NotFoundError):
        export_prov(store, io.StringIO(), Place("BI", "order.total", "NOPE"))


# -- the command line -----------------------------------------------------------------------


def test_export_command_writes_prov_the_prov_library_reads(
    store: Store, db_url: str, runner: CliRunner
) -> None:
    company(store)
    result = runner.invoke(main, ["export", "prov", "--db", db_url])
    assert result.exit_code == 0, result.output
    assert prov_records(result.output)["ProvActivity"] == 7


def test_export_command_writes_openlineage_lines_of_one_trace(
    store: Store, db_url: str, runner: CliRunner, tmp_path: Path
) -> None:
    company(store)
    target = tmp_path / "trace.jsonl"
    result = runner.invoke(
        main,
        [
            "export",
            "openlineage",
            "Portal",
            "order.total",
            "P-1",
            "--db",
            db_url,
            "-o",
            str(target),
        ],
    )
    assert result.exit_code == 0, result.output
    jobs = [json.loads(line)["job"]["name"] for line in target.read_text().splitlines()]
    assert jobs == ["erp-to-bi", "bi-to-portal"]


def test_export_command_dot(store: Store, db_url: str, runner: CliRunner) -> None:
    company(store)
    result = runner.invoke(main, ["export", "dot", "--db", db_url])
    assert result.exit_code == 0, result.output
    assert result.output.startswith("digraph")


def test_export_command_needs_a_whole_place(store: Store, db_url: str, runner: CliRunner) -> None:
    result = runner.invoke(main, ["export", "prov", "BI", "order.total", "--db", db_url])
    assert result.exit_code == 2
    assert "SYSTEM ELEMENT RECORD" in result.output


def test_export_command_unknown_place_exits_2_with_one_line(
    store: Store, db_url: str, runner: CliRunner
) -> None:
    company(store)
    result = runner.invoke(main, ["export", "prov", "BI", "order.total", "NOPE", "--db", db_url])
    assert result.exit_code == 2
    assert result.output.strip().count("\n") == 0 and "Traceback" not in result.output


def test_export_command_rejects_an_unknown_format(db_url: str, runner: CliRunner) -> None:
    result = runner.invoke(main, ["export", "rdf", "--db", db_url])
    assert result.exit_code == 2
    assert "prov" in result.output
