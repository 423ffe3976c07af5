"""OpenLineage in: the conformance corpus, the mapping to observed flows, rejections."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from corpus import CONFORMANCE, CORPUS
from referencing import Registry, Resource
from sqlalchemy import func, select

from lineage.interop.openlineage import (
    ingest_openlineage,
    ingest_openlineage_data,
    observed_flows,
)
from lineage.store import Store
from lineage.store.schema import observed_flows as flows_table
from lineage.store.schema import openlineage_events


def test_the_conformance_corpus_is_there() -> None:
    # Without it the corpus tests below would have nothing to run: that must fail, not pass.
    assert len(CORPUS) >= 10, f"no OpenLineage corpus at {CONFORMANCE}"
    assert (CONFORMANCE / "spec" / "OpenLineage.json").is_file()


def spec_validator() -> jsonschema.Draft202012Validator:
    spec = json.loads((CONFORMANCE / "spec" / "OpenLineage.json").read_text())
    facet = json.loads((CONFORMANCE / "spec" / "ColumnLineageDatasetFacet.json").read_text())
    registry: Registry[Any] = Registry().with_resources(
        [(spec["$id"], Resource.from_contents(spec)), (facet["$id"], Resource.from_contents(facet))]
    )
    return jsonschema.Draft202012Validator(
        {"$ref": spec["$id"] + "#/$defs/RunEvent"}, registry=registry
    )


def assert_valid_openlineage(event: dict[str, Any]) -> None:
    """The event is a RunEvent by the spec shipped with the corpus (tests only)."""
    spec_validator().validate(event)


def numbered(path: Path) -> list[tuple[str, int, bytes]]:
    with path.open("rb") as lines:
        return [(path.name, number, line) for number, line in enumerate(lines, start=1)]


def count(store: Store, table: Any) -> int:
    with store.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(table)).scalar_one())


def input_fields_in(path: Path) -> int:
    """Counted straight from the JSON: every columnLineage input field of every output."""
    total = 0
    for line in path.read_text().splitlines():
        if not line.strip():
            continue
        for output in json.loads(line).get("outputs", []):
            facet = output.get("facets", {}).get("columnLineage", {})
            for field in facet.get("fields", {}).values():
                total += len(field["inputFields"])
            total += len(facet.get("dataset", []))
    return total


def event(**overrides: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "eventType": "COMPLETE",
        "eventTime": "2026-11-20T09:00:00Z",
        "producer": "https://example.com/etl",
        "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent",
        "run": {"runId": "0191b5f2-0000-7000-8000-000000000001"},
        "job": {"namespace": "etl", "name": "crm_to_erp"},
        "inputs": [{"namespace": "CRM", "name": "customer"}],
        "outputs": [
            {
                "namespace": "ERP",
                "name": "customer",
                "facets": {
                    "columnLineage": {
                        "_producer": "https://example.com/etl",
                        "_schemaURL": "https://openlineage.io/spec/facets/1-2-0/ColumnLineageDatasetFacet.json",
                        "fields": {
                            "address": {
                                "inputFields": [
                                    {
                                        "namespace": "CRM",
                                        "name": "customer",
                                        "field": "address",
                                        "transformations": [
                                            {
                                                "type": "DIRECT",
                                                "subtype": "TRANSFORMATION",
                                                "description": "upper(address)",
                                            }
                                        ],
                                    }
                                ]
                            }
                        },
                    }
                },
            }
        ],
    }
    base.update(overrides)
    assert_valid_openlineage(base)
    return base


def test_the_corpus_is_valid_openlineage() -> None:
    validator = spec_validator()
    for path in CORPUS:
        for name, number, line in numbered(path):
            errors = list(validator.iter_errors(json.loads(line)))
            assert not errors, f"{name}:{number}: {errors[0].message}"


@pytest.mark.parametrize("path", CORPUS, ids=lambda p: p.stem)
def test_every_corpus_file_is_ingested_and_every_input_field_becomes_a_flow(
    store: Store, path: Path
) -> None:
    result = ingest_openlineage(store, numbered(path))
    assert [str(r) for r in result.rejected] == []
    assert result.accepted == len(numbered(path))
    assert count(store, openlineage_events) == result.accepted
    assert count(store, flows_table) == input_fields_in(path)


def test_the_whole_corpus_in_one_store_keeps_every_flow(store: Store) -> None:
    for path in CORPUS:
        assert ingest_openlineage(store, numbered(path)).rejected == []
    assert count(store, flows_table) == sum(input_fields_in(p) for p in CORPUS)
    assert count(store, flows_table) > 40


def test_ingesting_the_corpus_again_changes_nothing(store: Store) -> None:
    for path in CORPUS:
        ingest_openlineage(store, numbered(path))
    events_before, flows_before = count(store, openlineage_events), count(store, flows_table)
    for path in CORPUS:
        again = ingest_openlineage(store, numbered(path))
        assert (again.accepted, again.duplicate) == (0, len(numbered(path)))
    assert (count(store, openlineage_events), count(store, flows_table)) == (
        events_before,
        flows_before,
    )


def test_namespace_is_the_system_and_name_dot_field_the_element(store: Store) -> None:
    ingest_openlineage_data(store, [("test", 1, event())])
    [flow] = observed_flows(store)
    assert (flow.source_system, flow.source_element) == ("CRM", "customer.address")
    assert (flow.target_system, flow.target_element) == ("ERP", "customer.address")
    assert flow.job == "etl/crm_to_erp"
    assert flow.transformations == (
        {"type": "DIRECT", "subtype": "TRANSFORMATION", "description": "upper(address)"},
    )
    assert flow.direct


def test_hive_union_gives_one_flow_per_input_field(store: Store) -> None:
    ingest_openlineage(store, numbered(CONFORMANCE / "hive_cllUnionComplete.jsonl"))
    sources = {
        (f.source_element, f.target_element)
        for f in observed_flows(store, target_system="hive://localhost:9083")
    }
    assert sources == {
        ("test.t1.a", "test.xxx.a"),
        ("test.t2.a", "test.xxx.a"),
        ("test.t1.b", "test.xxx.b"),
        ("test.t2.c", "test.xxx.b"),
    }


def test_whole_dataset_dependencies_flow_into_dataset_star(store: Store) -> None:
    ingest_openlineage(store, numbered(CONFORMANCE / "hive_cllSimpleQueryIndirectComplete.jsonl"))
    [indirect] = observed_flows(store, target_element="test.xxx.*")
    assert indirect.source_element == "test.t1.b"
    assert indirect.transformations is not None
    assert indirect.transformations[0]["subtype"] == "FILTER"
    assert not indirect.direct


def test_the_deprecated_transformation_type_is_read_as_one_transformation(store: Store) -> None:
    old = event()
    facet = old["outputs"][0]["facets"]["columnLineage"]
    facet["fields"] = {
        "address": {
            "inputFields": [{"namespace": "CRM", "name": "customer", "field": "address"}],
            "transformationType": "IDENTITY",
            "transformationDescription": "copied as is",
        }
    }
    ingest_openlineage_data(store, [("old", 1, old)])
    [flow] = observed_flows(store)
    assert flow.transformations == (
        {"type": "DIRECT", "subtype": "IDENTITY", "description": "copied as is"},
    )


def test_flows_seen_by_many_runs_are_one_observed_flow(store: Store) -> None:
    first = event()
    second = event(
        eventTime="2026-11-21T09:00:00Z", run={"runId": "0191b5f2-0000-7000-8000-000000000002"}
    )
    result = ingest_openlineage_data(store, [("a", 1, first), ("a", 2, second)])
    assert result.accepted == 2
    assert count(store, flows_table) == 2
    [flow] = observed_flows(store, job="etl/crm_to_erp")
    assert flow.observations == 2
    assert flow.first_seen.isoformat() == "2026-11-20T09:00:00+00:00"
    assert flow.last_seen.isoformat() == "2026-11-21T09:00:00+00:00"
    assert observed_flows(store, job="etl/other") == []


def test_the_raw_event_is_kept_as_sent(store: Store) -> None:
    sent = event()
    ingest_openlineage_data(store, [("a", 1, sent)])
    with store.engine.connect() as conn:
        row = conn.execute(select(openlineage_events)).one()
    assert json.loads(row.payload) == sent
    assert (row.job_namespace, row.job_name, row.event_type) == ("etl", "crm_to_erp", "COMPLETE")


def test_bad_events_are_rejected_with_file_and_line_and_good_ones_kept(store: Store) -> None:
    no_job = copy.deepcopy(event())
    del no_job["job"]
    naive = event()
    naive["eventTime"] = "2026-11-20T09:00:00"
    lines = [
        ("runs.jsonl", 1, json.dumps(event())),
        ("runs.jsonl", 2, json.dumps(no_job)),
        ("runs.jsonl", 3, "{not json"),
        ("runs.jsonl", 4, ""),
        ("runs.jsonl", 5, json.dumps(naive)),
        (
            "runs.jsonl",
            6,
            json.dumps(
                {"dataset": {"namespace": "a", "name": "b"}, "eventTime": "2026-11-20T09:00:00Z"}
            ),
        ),
    ]
    result = ingest_openlineage(store, lines)
    # the good one, the one without an offset (read as UTC) and the DatasetEvent
    assert result.accepted == 3
    reasons = [str(r) for r in result.rejected]
    assert reasons == [
        "runs.jsonl:2: job: a RunEvent names its job; add job.namespace and job.name",
        reasons[1],
    ]
    assert reasons[1].startswith("runs.jsonl:3: not JSON")
    assert [str(w) for w in result.warnings] == [
        "runs.jsonl:5: eventTime has no offset: read as UTC (add Z or +00:00 to say so)"
    ]
    assert count(store, openlineage_events) == 3


def test_an_input_field_without_a_field_name_is_rejected(store: Store) -> None:
    broken = event()
    del broken["outputs"][0]["facets"]["columnLineage"]["fields"]["address"]["inputFields"][0][
        "field"
    ]
    result = ingest_openlineage_data(store, [("x.jsonl", 7, broken)])
    assert result.accepted == 0
    [rejection] = result.rejected
    assert str(rejection).startswith("x.jsonl:7: outputs.0.facets.columnLineage.fields")
    assert count(store, flows_table) == 0
