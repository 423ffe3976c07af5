"""Marquez's read API against a live ``lineage serve``-style server, read by the real
``marquez-python`` client, fed by the real ``openlineage-python`` client; every answer is
checked against Marquez's own component schemas (tests/conformance/marquez/openapi.yml)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import requests
from flask import Flask
from live_server import serving
from ruamel.yaml import YAML

from lineage.model import Carry, Element, Integration, Registry, System
from lineage.model.registry import DatasetField, Pattern
from lineage.stats import count_store
from webapp import create_app

marquez_client = pytest.importorskip("marquez_client")
ol_client = pytest.importorskip("openlineage.client")
ol = pytest.importorskip("openlineage.client.event_v2")
ol_http = pytest.importorskip("openlineage.client.transport.http")
ol_facets = pytest.importorskip("openlineage.client.facet_v2")

SPEC = Path(__file__).resolve().parent / "conformance" / "marquez" / "openapi.yml"


def _untyped_nulls(node: Any) -> Any:
    """The spec writes ``type:`` with no value on two search fields: read as no constraint."""
    if isinstance(node, dict):
        return {k: _untyped_nulls(v) for k, v in node.items() if not (k == "type" and v is None)}
    if isinstance(node, list):
        return [_untyped_nulls(v) for v in node]
    return node


COMPONENTS = _untyped_nulls(YAML(typ="safe").load(SPEC.read_text())["components"])
TOKEN = "ol-token"
CRM = "postgres://crm-db:5432"
ERP = "postgres://erp-db:5432"
RUN_ID = "0191b5f2-0000-7000-8000-0000000000aa"
PRODUCER = "https://github.com/apache/airflow/tree/providers-openlineage/2.1.0"


def valid(name: str, answer: Any) -> None:
    """``answer`` is a valid Marquez ``name`` (its component schema)."""
    schema = {"$ref": f"#/components/schemas/{name}", "components": COMPONENTS}
    jsonschema.Draft4Validator(schema).validate(answer)


@pytest.fixture
def served(db_url: str) -> Iterator[tuple[Flask, str]]:
    app = create_app({"DATABASE_URL": db_url, "API_TOKEN": TOKEN})
    app.extensions["lineage"].store().save_registry(
        Registry(
            systems=(
                System(
                    name="CRM",
                    owner="crm@example.com",
                    openlineage_namespaces=(Pattern(pattern=CRM),),
                ),
                System(
                    name="ERP",
                    owner="erp@example.com",
                    openlineage_namespaces=(Pattern(pattern=ERP),),
                ),
            ),
            elements=(
                Element(
                    name="customer.address",
                    system_of_record="CRM",
                    owner="carol@example.com",
                    openlineage_fields=(
                        DatasetField(system="ERP", dataset="public.customers", field="address"),
                    ),
                ),
            ),
            integrations=(
                Integration(
                    name="crm-to-erp",
                    source="CRM",
                    target="ERP",
                    owner="dave@example.com",
                    purpose="invoices",
                    carries=(Carry(element="customer.address", transform="upper"),),
                ),
            ),
        )
    )
    try:
        with serving(app) as url:
            yield app, url
    finally:
        app.extensions["lineage"].close()


def transport(url: str, compression: str | None) -> Any:
    config: dict[str, Any] = {
        "url": url,
        "timeout": 5,
        "auth": {"type": "api_key", "apiKey": TOKEN},
    }
    if compression:
        config["compression"] = compression
    return ol_http.HttpTransport(ol_http.HttpConfig.from_dict(config))


def events() -> list[Any]:
    lineage = ol_facets.column_lineage_dataset.ColumnLineageDatasetFacet(
        fields={
            "address": ol_facets.column_lineage_dataset.Fields(
                inputFields=[
                    ol_facets.column_lineage_dataset.InputField(
                        namespace=CRM, name="public.contacts", field="street"
                    )
                ],
                transformationDescription="upper(street)",
                transformationType="TRANSFORMATION",
            )
        }
    )
    schema = ol_facets.schema_dataset.SchemaDatasetFacet(
        fields=[ol_facets.schema_dataset.SchemaDatasetFacetFields(name="address", type="VARCHAR")]
    )
    job = ol.Job(namespace="airflow", name="crm_sync.export_customers")
    inputs = [ol.InputDataset(namespace=CRM, name="public.contacts")]
    outputs = [
        ol.OutputDataset(
            namespace=ERP,
            name="public.customers",
            facets={"columnLineage": lineage, "schema": schema},
        )
    ]
    return [
        ol.RunEvent(
            eventType=ol.RunState.START,
            eventTime="2026-11-20T09:00:00.000Z",
            run=ol.Run(runId=RUN_ID),
            job=job,
            producer=PRODUCER,
            inputs=inputs,
            outputs=outputs,
        ),
        ol.RunEvent(
            eventType=ol.RunState.COMPLETE,
            eventTime="2026-11-20T09:05:00.000Z",
            run=ol.Run(runId=RUN_ID),
            job=job,
            producer=PRODUCER,
            inputs=inputs,
            outputs=outputs,
        ),
        ol.JobEvent(
            eventTime="2026-11-20T08:00:00.000Z",
            job=job,
            producer=PRODUCER,
            inputs=inputs,
            outputs=outputs,
        ),
        ol.DatasetEvent(
            eventTime="2026-11-20T07:00:00.000Z",
            dataset=ol.StaticDataset(
                namespace=CRM, name="public.contacts", facets={"schema": schema}
            ),
            producer=PRODUCER,
        ),
    ]


@pytest.mark.parametrize("compression", [None, "gzip"])
def test_openlineage_python_emits_every_kind_and_each_is_created(
    served: tuple[Flask, str], compression: str | None
) -> None:
    app, url = served
    sending = transport(url, compression)
    statuses = [sending.emit(event).status_code for event in events()]
    assert statuses == [201, 201, 201, 201]
    counted = count_store(app.extensions["lineage"].store()).openlineage
    assert (counted["RunEvent"], counted["JobEvent"], counted["DatasetEvent"]) == (2, 1, 1)
    # and through the client itself, which raises on any answer but 2xx
    client = ol_client.OpenLineageClient(transport=transport(url, compression))
    for event in events():
        client.emit(event)


def test_without_the_api_key_the_client_is_refused(served: tuple[Flask, str]) -> None:
    _, url = served
    config = ol_http.HttpConfig.from_dict({"url": url, "timeout": 5})
    with pytest.raises(Exception):  # noqa: B017 - the client raises its own HTTP error
        ol_http.HttpTransport(config).emit(events()[0])


def test_marquez_python_lists_namespaces_jobs_datasets_and_reads_lineage(
    served: tuple[Flask, str],
) -> None:
    _, url = served
    sending = transport(url, "gzip")
    for event in events():
        assert sending.emit(event).status_code == 201
    client = marquez_client.MarquezClient(url)

    namespaces = client.list_namespaces()
    valid("NamespaceList", namespaces)
    names = {n["name"]: n for n in namespaces["namespaces"]}
    assert {"airflow", CRM, ERP, "CRM", "ERP", "registry"} <= set(names)
    assert names[ERP]["ownerName"] == "erp@example.com"  # the mapped system's owner
    valid("Namespace", client.get_namespace(ERP))

    jobs = client.list_jobs("airflow")
    valid("JobList", jobs)
    [job] = jobs["jobs"]
    assert job["id"] == {"namespace": "airflow", "name": "crm_sync.export_customers"}
    assert job["inputs"] == [{"namespace": CRM, "name": "public.contacts"}]
    assert job["latestRun"]["state"] == "COMPLETED"
    assert job["latestRun"]["durationMs"] == 300_000
    valid("Job", client.get_job("airflow", "crm_sync.export_customers"))
    declared = client.list_jobs("registry")["jobs"]
    assert [j["name"] for j in declared] == ["crm-to-erp"]

    runs = client.list_job_runs("airflow", "crm_sync.export_customers")
    valid("RunList", runs)
    assert [r["id"] for r in runs["runs"]] == [RUN_ID]
    run = client.get_job_run(RUN_ID)
    valid("Run", run)
    assert run["outputDatasetVersions"][0]["datasetVersionId"]["name"] == "public.customers"

    datasets = client.list_datasets(ERP)
    valid("DatasetList", datasets)
    [dataset] = datasets["datasets"]
    assert dataset["fields"] == [{"name": "address", "type": "VARCHAR", "tags": []}]
    valid("Dataset", client.get_dataset(ERP, "public.customers"))
    versions = client.list_dataset_versions(ERP, "public.customers")
    valid("DatasetVersionList", versions)
    assert versions["versions"][0]["createdByRun"]["id"] == RUN_ID

    columns = client.get_column_lineage_by_dataset(ERP, "public.customers")
    valid("LineageGraph", {"graph": []})  # Marquez's column graph nodes are not in its spec
    by_id = {node["id"]: node for node in columns["graph"]}
    target = by_id[f"datasetField:{ERP}:public.customers:address"]
    assert target["data"]["inputFields"] == [
        {
            "namespace": CRM,
            "dataset": "public.contacts",
            "field": "street",
            "transformationDescription": "upper(street)",
            "transformationType": "TRANSFORMATION",
        }
    ]
    assert f"datasetField:{CRM}:public.contacts:street" in by_id

    graph = client._get(
        client._url("/lineage"), params={"nodeId": f"dataset:{ERP}:public.customers"}
    )
    for found in graph["graph"]:  # the spec's oneOf cannot tell a dataset from a job: by type
        valid("Dataset" if found["type"] == "DATASET" else "Job", found["data"])
    assert "job:airflow:crm_sync.export_customers" in {node["id"] for node in graph["graph"]}


def test_search_and_events_in_marquez_shapes(served: tuple[Flask, str]) -> None:
    _, url = served
    sending = transport(url, None)
    for event in events():
        assert sending.emit(event).status_code == 201
    found = requests.get(f"{url}/api/v1/search", params={"q": "customers"}, timeout=5).json()
    valid("SearchResultList", found)
    assert {(r["type"], r["nodeId"]) for r in found["results"]} >= {
        ("DATASET", f"dataset:{ERP}:public.customers"),
        ("JOB", "job:airflow:crm_sync.export_customers"),
    }
    answer = requests.get(f"{url}/api/v1/events/lineage", params={"limit": 2}, timeout=5).json()
    valid("LineageEventList", answer)
    assert answer["totalCount"] == 4
    assert [e["eventTime"] for e in answer["events"]] == [
        "2026-11-20T09:05:00.000Z",
        "2026-11-20T09:00:00.000Z",
    ]
    missing = requests.get(f"{url}/api/v1/namespaces/nowhere/jobs/x", timeout=5)
    assert missing.status_code == 404
    assert "no job" in missing.json()["error"]
    bad = requests.get(f"{url}/api/v1/column-lineage", params={"nodeId": "table:x"}, timeout=5)
    assert bad.status_code == 400


def test_job_and_dataset_versions_run_facets_and_a_jobs_column_lineage(
    served: tuple[Flask, str],
) -> None:
    _, url = served
    sending = transport(url, None)
    for event in events():
        assert sending.emit(event).status_code == 201
    client = marquez_client.MarquezClient(url)
    name = "crm_sync.export_customers"

    listed = client.list_dataset_versions(ERP, "public.customers")["versions"][0]
    version = client.get_dataset_version(ERP, "public.customers", listed["version"])
    valid("DatasetVersion", version)
    assert version["version"] == listed["version"]
    assert version["createdByRun"]["id"] == RUN_ID

    job = client.get_job("airflow", name)
    jobs_url = f"{url}/api/v1/namespaces/airflow/jobs/{name}/versions"
    versions = requests.get(jobs_url, timeout=5).json()
    valid("JobVersionList", versions)
    assert [v["version"] for v in versions["versions"]] == [job["currentVersion"]]
    one = requests.get(f"{jobs_url}/{job['currentVersion']}", timeout=5).json()
    valid("JobVersion", one)
    assert one["inputs"] == [{"namespace": CRM, "name": "public.contacts"}]
    assert one["latestRun"]["id"] == RUN_ID
    assert client.get_job_run(RUN_ID)["jobVersion"]["version"] == job["currentVersion"]
    assert requests.get(f"{jobs_url}/not-a-version", timeout=5).status_code == 404

    facets = requests.get(f"{url}/api/v1/jobs/runs/{RUN_ID}/facets", timeout=5).json()
    # the spec types FacetsResult.facets as one CustomFacet; Marquez's server answers a map of
    # them, by facet name, as here: each one is checked
    assert facets["runId"] == RUN_ID
    for facet in facets["facets"].values():
        valid("CustomFacet", facet)

    tags = client.list_tags()
    valid("TagList", tags)
    assert tags == {"tags": []}

    columns = client.get_column_lineage_by_job("airflow", name)
    ids = {node["id"] for node in columns["graph"]}
    assert f"datasetField:{ERP}:public.customers:address" in ids
    assert f"datasetField:{CRM}:public.contacts:street" in ids
