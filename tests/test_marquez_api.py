"""Marquez's read API against a live ``lineage serve``-style server, read by the real
``marquez-python`` client, fed by the real ``openlineage-python`` client; every answer is
checked against Marquez's own component schemas (tests/conformance/marquez/openapi.yml)."""

from __future__ import annotations

import datetime as dt
import itertools
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
    assert answer["totalCount"] == 2  # the RunEvents: Marquez lists no JobEvent or DatasetEvent
    assert [e["eventTime"] for e in answer["events"]] == [
        "2026-11-20T09:05:00.000Z",
        "2026-11-20T09:00:00.000Z",
    ]
    missing = requests.get(f"{url}/api/v1/namespaces/nowhere/jobs/x", timeout=5)
    assert missing.status_code == 404
    assert missing.json()["code"] == 404  # Marquez's error shape
    assert "no job" in missing.json()["message"]
    bad = requests.get(f"{url}/api/v1/column-lineage", params={"nodeId": "table:x"}, timeout=5)
    assert bad.status_code == 400
    assert bad.json()["code"] == 400


def test_marquez_pythons_list_events_is_refused_and_the_events_are_at_events_lineage(
    served: tuple[Flask, str],
) -> None:
    """``list_events()`` asks /api/v1/events, which no Marquez server serves (its events are
    at /api/v1/events/lineage, README): a JSON refusal, never a 5xx, and the documented way
    round it answers."""
    _, url = served
    sending = transport(url, None)
    for event in events():
        assert sending.emit(event).status_code == 201
    client = marquez_client.MarquezClient(url)
    for namespace in (None, "airflow"):
        with pytest.raises(marquez_client.errors.APIError) as refused:
            client.list_events(namespace)
        cause = refused.value.__cause__
        assert isinstance(cause, requests.HTTPError)
        assert cause.response.status_code in (404, 405), namespace
        assert cause.response.json()["error"]
    listed = client._get(client._url("/events/lineage"))
    valid("LineageEventList", listed)
    assert listed["totalCount"] == 2


def test_the_events_page_lists_only_run_events_each_with_its_run_id(
    served: tuple[Flask, str],
) -> None:
    """Marquez's web UI reads ``run.runId`` of every event listed: a JobEvent or DatasetEvent
    on its events page blanked it (found driving the UI, scripts/marquez_ui_check.py)."""
    _, url = served
    sending = transport(url, None)
    for event in events():
        assert sending.emit(event).status_code == 201
    lineage_events = f"{url}/api/v1/events/lineage"
    answer = requests.get(lineage_events, timeout=5).json()
    valid("LineageEventList", answer)
    assert [(e["eventType"], e["run"]["runId"]) for e in answer["events"]] == [
        ("COMPLETE", RUN_ID),
        ("START", RUN_ID),
    ]
    assert answer["totalCount"] == 2
    # the UI's own window: after is inclusive, before exclusive, as Marquez's
    window = {"after": "2026-11-20T07:00:00.000Z", "before": "2026-11-20T09:05:00.000Z"}
    found = requests.get(lineage_events, params=window, timeout=5).json()
    assert [e["eventType"] for e in found["events"]] == ["START"]
    assert found["totalCount"] == 1
    # the hours of the DatasetEvent (07:00) and the JobEvent (08:00) list nothing
    static = {"after": "2026-11-20T07:00:00.000Z", "before": "2026-11-20T09:00:00.000Z"}
    assert requests.get(lineage_events, params=static, timeout=5).json() == {
        "events": [],
        "totalCount": 0,
    }


def test_what_only_the_registry_declares_is_dated_by_its_load(
    served: tuple[Flask, str],
) -> None:
    """Marquez's web UI shows a job's and a dataset's createdAt and updatedAt: a declared
    integration's page showed both blank (found driving the UI, scripts/marquez_ui_check.py).
    They are when the registry in force was loaded, wherever Marquez dates a thing."""
    _, url = served
    now = dt.datetime.now(dt.UTC)
    client = marquez_client.MarquezClient(url)
    job = client.get_job("registry", "crm-to-erp")
    valid("Job", job)
    dataset = client.get_dataset("CRM", "customer")
    valid("Dataset", dataset)
    namespace = client.get_namespace("registry")
    source = client.get_source("CRM")
    version = client._get(client._url("/namespaces/registry/jobs/crm-to-erp/versions"))
    search = requests.get(f"{url}/api/v1/search", params={"q": "crm-to"}, timeout=5).json()
    graph = requests.get(
        f"{url}/api/v1/lineage", params={"nodeId": "job:registry:crm-to-erp"}, timeout=5
    ).json()
    dated = [
        job["createdAt"],
        job["updatedAt"],
        dataset["createdAt"],
        dataset["updatedAt"],
        namespace["createdAt"],
        namespace["updatedAt"],
        source["createdAt"],
        version["versions"][0]["createdAt"],
        search["results"][0]["updatedAt"],
        *(node["data"]["updatedAt"] for node in graph["graph"]),
    ]
    assert len(set(dated)) == 1  # one moment: the load
    loaded = dt.datetime.fromisoformat(dated[0])
    assert now - dt.timedelta(minutes=5) < loaded <= now


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


# What Marquez's web UI calls beyond its spec. The shapes below are copied from Marquez's server
# (MarquezProject/marquez at a89b89ca, api/src/main/java/marquez/db/models/LineageMetric.java and
# IntervalMetric.java: every field @NonNull; Instants as ISO-8601 strings), as JSON schemas.
LINEAGE_METRICS = {
    "type": "array",
    "items": {
        "type": "object",
        "required": ["startInterval", "endInterval", "fail", "start", "complete", "abort"],
        "properties": {
            "startInterval": {"type": "string", "format": "date-time"},
            "endInterval": {"type": "string", "format": "date-time"},
            **{
                k: {"type": "integer", "minimum": 0} for k in ("fail", "start", "complete", "abort")
            },
        },
    },
}
INTERVAL_METRICS = {
    "type": "array",
    "items": {
        "type": "object",
        "required": ["startInterval", "endInterval", "count"],
        "properties": {
            "startInterval": {"type": "string", "format": "date-time"},
            "endInterval": {"type": "string", "format": "date-time"},
            "count": {"type": "integer", "minimum": 0},
        },
    },
}
# Marquez's errors (Dropwizard's io.dropwizard.jersey.errors.ErrorMessage, which its exception
# mappers answer, e.g. api/.../exceptions/JsonProcessingExceptionMapper.java)
MARQUEZ_ERROR = {
    "type": "object",
    "required": ["code", "message"],
    "properties": {"code": {"type": "integer"}, "message": {"type": "string"}},
}
# The spec's UpstreamRunLineage misspells "properties" inside its items, so it constrains
# nothing there: the same shape as Marquez's LineageService.UpstreamRun records, required.
UPSTREAM_RUN = {
    "type": "object",
    "required": ["job", "run", "inputs"],
    "properties": {
        "job": {"type": "object", "required": ["namespace", "name", "version"]},
        "run": {"type": "object", "required": ["id", "status"]},
        "inputs": {
            "type": "array",
            "items": {"type": "object", "required": ["namespace", "name", "version"]},
        },
    },
}
CHAIN = "0191b5f2-0000-7000-8000-0000000000bb"  # the run that reads what RUN_ID wrote


def _at(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def recent_events(now: dt.datetime) -> list[Any]:
    """RUN_ID writes public.customers (START an hour and a half ago, COMPLETE an hour ago);
    CHAIN, a report job, reads it and fails half an hour ago; with run and job facets."""
    export = ol.Job(
        namespace="airflow",
        name="crm_sync.export_customers",
        facets={
            "jobType": ol_facets.job_type_job.JobTypeJobFacet(
                processingType="BATCH", integration="AIRFLOW", jobType="TASK"
            )
        },
    )
    report = ol.Job(namespace="airflow", name="reports.customers")
    customers = ol.OutputDataset(namespace=ERP, name="public.customers")
    nominal = ol_facets.nominal_time_run.NominalTimeRunFacet(nominalStartTime=_at(now))
    failed = ol_facets.error_message_run.ErrorMessageRunFacet(
        message="relation does not exist", programmingLanguage="python"
    )
    run = ol.Run(runId=RUN_ID, facets={"nominalTime": nominal})
    return [
        ol.RunEvent(
            eventType=ol.RunState.START,
            eventTime=_at(now - dt.timedelta(minutes=90)),
            run=run,
            job=export,
            producer=PRODUCER,
            inputs=[ol.InputDataset(namespace=CRM, name="public.contacts")],
            outputs=[customers],
        ),
        ol.RunEvent(
            eventType=ol.RunState.COMPLETE,
            eventTime=_at(now - dt.timedelta(minutes=60)),
            run=run,
            job=export,
            producer=PRODUCER,
            outputs=[customers],
        ),
        ol.RunEvent(
            eventType=ol.RunState.FAIL,
            eventTime=_at(now - dt.timedelta(minutes=30)),
            run=ol.Run(runId=CHAIN, facets={"errorMessage": failed}),
            job=report,
            producer=PRODUCER,
            inputs=[ol.InputDataset(namespace=ERP, name="public.customers")],
        ),
    ]


@pytest.fixture
def recent(served: tuple[Flask, str]) -> tuple[str, dt.datetime]:
    """The server, fed ``recent_events`` by openlineage-python; and when."""
    _, url = served
    now = dt.datetime.now(dt.UTC)
    sending = transport(url, None)
    for event in recent_events(now):
        assert sending.emit(event).status_code == 201
    return url, now


def test_every_job_most_recently_updated_first_paged_and_filtered_by_its_last_run(
    recent: tuple[str, dt.datetime],
) -> None:
    url, _ = recent
    jobs = requests.get(f"{url}/api/v1/jobs", timeout=5).json()
    valid("JobList", jobs)
    # most recently updated first, as Marquez lists them (its dashboard shows the first ten as
    # the jobs that ran last): the declared integration is dated by the registry's load
    assert [(j["namespace"], j["name"]) for j in jobs["jobs"]] == [
        ("registry", "crm-to-erp"),  # declared: the registry's integration, loaded just now
        ("airflow", "reports.customers"),  # failed 30 minutes ago
        ("airflow", "crm_sync.export_customers"),  # completed an hour ago
    ]
    assert jobs["totalCount"] == 3
    assert [j["latestRun"]["state"] for j in jobs["jobs"][1:]] == ["FAILED", "COMPLETED"]
    assert [len(j["latestRuns"]) for j in jobs["jobs"][1:]] == [1, 1]
    # a job never run has no latestRuns, as in Marquez: its web UI's dashboard reduces the
    # list with no initial value, and an empty one stopped the home page (found driving it)
    assert "latestRuns" not in jobs["jobs"][0]
    assert "latestRun" not in jobs["jobs"][0]
    second = requests.get(f"{url}/api/v1/jobs", params={"limit": 1, "offset": 1}, timeout=5)
    assert [j["name"] for j in second.json()["jobs"]] == ["reports.customers"]
    # an offset no database integer holds is a 400 naming it, never a server error (found
    # by the schema's property test: SQLite's OverflowError, PostgreSQL's bigint out of range)
    for path in ("/api/v1/jobs", "/api/v1/events/lineage", "/api/v1/findings"):
        huge = requests.get(f"{url}{path}", params={"offset": 10**21}, timeout=5)
        assert huge.status_code == 400, (path, huge.status_code)
        assert "offset" in huge.text, path
    airflow = requests.get(f"{url}/api/v1/namespaces/airflow/jobs", timeout=5).json()
    assert [j["name"] for j in airflow["jobs"]] == [
        "reports.customers",
        "crm_sync.export_customers",
    ]
    assert [
        j["name"]
        for j in marquez_client.MarquezClient(url).list_jobs("airflow", limit=1, offset=1)["jobs"]
    ] == ["crm_sync.export_customers"]

    failed = requests.get(f"{url}/api/v1/jobs", params={"lastRunStates": "FAILED"}, timeout=5)
    # as Marquez: the jobs whose latest run failed, and those never run (the declared one)
    assert [j["name"] for j in failed.json()["jobs"]] == ["crm-to-erp", "reports.customers"]
    both = requests.get(
        f"{url}/api/v1/jobs", params=[("lastRunStates", "FAILED"), ("lastRunStates", "COMPLETED")]
    )
    assert len(both.json()["jobs"]) == 3

    bad = requests.get(f"{url}/api/v1/jobs", params={"lastRunStates": "LOST"}, timeout=5)
    assert bad.status_code == 400
    jsonschema.validate(bad.json(), MARQUEZ_ERROR)
    assert bad.json()["code"] == 400
    assert "lastRunStates" in bad.json()["message"]
    # a path under Marquez's that no route reads (a run id with a newline) answers its shape too
    unrouted = requests.get(f"{url}/api/v1/jobs/runs/a%0A", timeout=5)
    assert unrouted.status_code == 404
    jsonschema.validate(unrouted.json(), MARQUEZ_ERROR)


def test_marquez_python_lists_and_reads_sources(recent: tuple[str, dt.datetime]) -> None:
    url, now = recent
    client = marquez_client.MarquezClient(url)
    sources = client.list_sources()
    valid("SourceList", sources)
    by_name = {s["name"]: s for s in sources["sources"]}
    # each namespace holding datasets, observed or the registry's systems; not a job namespace
    assert set(by_name) == {CRM, ERP, "CRM", "ERP"}
    assert by_name[ERP]["type"] == "POSTGRESQL"
    assert by_name[ERP]["connectionUrl"] == ERP
    assert by_name[ERP]["description"] == "system ERP"
    assert dt.datetime.fromisoformat(by_name[ERP]["createdAt"]) <= now
    one = client.get_source(ERP)
    valid("Source", one)
    assert one == by_name[ERP]
    assert [s["name"] for s in client.list_sources(limit=1, offset=1)["sources"]] == ["ERP"]
    with pytest.raises(marquez_client.errors.APIError):
        client.get_source("airflow")
    missing = requests.get(f"{url}/api/v1/sources/airflow", timeout=5)
    assert missing.status_code == 404
    jsonschema.validate(missing.json(), MARQUEZ_ERROR)
    assert missing.json() == {"code": 404, "message": "no source 'airflow' is known"}


def test_a_runs_facets_or_its_jobs_as_marquez_ui_asks(recent: tuple[str, dt.datetime]) -> None:
    url, _ = recent
    facets = f"{url}/api/v1/jobs/runs/{RUN_ID}/facets"
    run = requests.get(facets, params={"type": "run"}, timeout=5).json()
    assert run["runId"] == RUN_ID
    assert set(run["facets"]) == {"nominalTime"}
    job = requests.get(facets, params={"type": "job"}, timeout=5).json()
    assert job["runId"] == RUN_ID
    assert job["facets"]["jobType"]["integration"] == "AIRFLOW"
    for answer in (run, job):
        for facet in answer["facets"].values():
            valid("CustomFacet", facet)
    failed = requests.get(
        f"{url}/api/v1/jobs/runs/{CHAIN}/facets", params={"type": "run"}, timeout=5
    ).json()
    assert failed["facets"]["errorMessage"]["message"] == "relation does not exist"
    bad = requests.get(facets, params={"type": "dataset"}, timeout=5)
    assert bad.status_code == 400
    jsonschema.validate(bad.json(), MARQUEZ_ERROR)


def test_a_runs_upstream_runs(recent: tuple[str, dt.datetime]) -> None:
    url, _ = recent
    answer = requests.get(f"{url}/api/v1/runlineage/upstream", params={"runId": CHAIN}, timeout=5)
    lineage = answer.json()
    valid("UpstreamRunLineage", lineage)
    for run in lineage["runs"]:
        jsonschema.validate(run, UPSTREAM_RUN)
    failed, wrote = lineage["runs"]
    assert failed["job"]["name"] == "reports.customers"
    assert failed["run"]["id"] == CHAIN
    assert failed["run"]["status"] == "FAILED"
    [read] = failed["inputs"]
    assert (read["namespace"], read["name"], read["producedByRunId"]) == (
        ERP,
        "public.customers",
        RUN_ID,
    )
    assert wrote["run"]["id"] == RUN_ID
    assert wrote["run"]["status"] == "COMPLETED"
    assert (
        wrote["job"]["version"]
        == marquez_client.MarquezClient(url).get_job("airflow", "crm_sync.export_customers")[
            "currentVersion"
        ]
    )
    # the version read is the one the writing run made: the dataset's listed version
    versions = requests.get(
        f"{url}/api/v1/namespaces/{ERP}/datasets/public.customers/versions", timeout=5
    ).json()["versions"]
    assert read["version"] == versions[0]["version"]
    assert [i["name"] for i in wrote["inputs"]] == ["public.contacts"]
    assert "producedByRunId" not in wrote["inputs"][0]  # nothing observed wrote it

    alone = requests.get(
        f"{url}/api/v1/runlineage/upstream", params={"runId": CHAIN, "depth": "0"}, timeout=5
    ).json()
    assert [r["run"]["id"] for r in alone["runs"]] == [CHAIN]
    unknown = requests.get(
        f"{url}/api/v1/runlineage/upstream", params={"runId": "no-such-run"}, timeout=5
    )
    assert unknown.status_code == 404
    jsonschema.validate(unknown.json(), MARQUEZ_ERROR)


def _interval_of(metrics: list[dict[str, Any]], moment: dt.datetime) -> int:
    """The index of the interval ``moment`` falls in."""
    for index, metric in enumerate(metrics):
        start = dt.datetime.fromisoformat(metric["startInterval"])
        end = dt.datetime.fromisoformat(metric["endInterval"])
        if start <= moment < end:
            return index
    raise AssertionError(f"{moment} is in no interval")


def test_the_dashboard_counts_of_the_last_day_and_week(recent: tuple[str, dt.datetime]) -> None:
    url, now = recent
    stats = f"{url}/api/v1/stats"
    day = requests.get(f"{stats}/lineage-events", params={"period": "DAY"}, timeout=5).json()
    jsonschema.validate(day, LINEAGE_METRICS)
    assert len(day) == 24
    for before, after in itertools.pairwise(day):
        assert before["endInterval"] == after["startInterval"]
        assert dt.datetime.fromisoformat(after["startInterval"]) - dt.datetime.fromisoformat(
            before["startInterval"]
        ) == dt.timedelta(hours=1)
    assert _interval_of(day, now) == 23  # the current hour is last
    started = _interval_of(day, now - dt.timedelta(minutes=90))
    assert day[started]["start"] == 1
    assert day[_interval_of(day, now - dt.timedelta(minutes=30))]["fail"] == 1
    assert sum(m["start"] for m in day) == 1
    assert sum(m["complete"] for m in day) == 1
    assert sum(m["fail"] for m in day) == 1
    assert sum(m["abort"] for m in day) == 0

    week = requests.get(
        f"{stats}/lineage-events", params={"period": "WEEK", "timezone": "Asia/Kolkata"}, timeout=5
    ).json()
    jsonschema.validate(week, LINEAGE_METRICS)
    assert len(week) == 7
    # each day starts at midnight in Kolkata (UTC+05:30)
    assert dt.datetime.fromisoformat(week[0]["startInterval"]).time() == dt.time(18, 30)
    assert sum(m["start"] + m["complete"] + m["fail"] for m in week) == 3

    for asset, known in (("jobs", 2), ("datasets", 2), ("sources", 2)):
        for params in ({"period": "DAY"}, {"period": "WEEK", "timezone": "Europe/Paris"}):
            counts = requests.get(f"{stats}/{asset}", params=params, timeout=5).json()
            jsonschema.validate(counts, INTERVAL_METRICS)
            assert len(counts) == (24 if params["period"] == "DAY" else 7)
            declared = 1 if asset == "jobs" else 2  # crm-to-erp; customer at CRM and at ERP
            assert counts[-1]["count"] == known + declared, (asset, params)
        # three hours ago no event had been received yet: only what the registry declares
        day_counts = requests.get(f"{stats}/{asset}", params={"period": "DAY"}, timeout=5).json()
        early = _interval_of(day_counts, now - dt.timedelta(hours=3))
        assert day_counts[early]["count"] == declared, asset

    for params, why in (
        ({}, "period"),
        ({"period": "MONTH"}, "period"),
        ({"period": "WEEK"}, "timezone"),
        ({"period": "WEEK", "timezone": "Mars/Olympus"}, "Mars/Olympus"),
    ):
        refused = requests.get(f"{stats}/jobs", params=params, timeout=5)
        assert refused.status_code == 400, params
        jsonschema.validate(refused.json(), MARQUEZ_ERROR)
        assert why in refused.json()["message"]


# The documents Marquez's web UI reads from /api/v2beta/search (MarquezProject/marquez at
# a89b89ca, web/src/types/api.ts: JobHit, DatasetHit, OpenSearchResultJobs/Datasets; the
# documents are api/.../service/SearchService.java's buildJobIndexRequest and
# buildDatasetIndexRequest), as JSON schemas of the keys the UI reads.
def _hits(required: list[str]) -> dict[str, Any]:
    return {
        "type": "object",
        "required": ["hits", "highlights"],
        "properties": {
            "hits": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": required,
                    "properties": {k: {"type": "string"} for k in required},
                },
            },
            "highlights": {
                "type": "array",
                "items": {
                    "type": "object",
                    "additionalProperties": {"type": "array", "items": {"type": "string"}},
                },
            },
        },
    }


JOB_HITS = _hits(["run_id", "name", "namespace", "eventType", "type"])
DATASET_HITS = _hits(["run_id", "name", "namespace", "eventType"])


def test_the_web_uis_search_box_finds_what_the_registry_declares_as_v1_search_does(
    recent: tuple[str, dt.datetime],
) -> None:
    """Marquez's web UI built with REACT_APP_ADVANCED_SEARCH=true searches only /api/v2beta:
    the registry's integrations and its elements in each system were missing there, while
    /api/v1/search listed them."""
    url, _ = recent
    search = f"{url}/api/v2beta/search"
    jobs = requests.get(f"{search}/jobs", params={"q": "CRM-to"}, timeout=5).json()
    jsonschema.validate(jobs, _hits(["name", "namespace", "type"]))
    assert jobs["hits"] == [
        {"name": "crm-to-erp", "namespace": "registry", "type": "BATCH", "facets": {}}
    ]  # never run: no run_id, no eventType, as the declared job's page shows no run
    assert jobs["highlights"] == [{"name": ["<em>crm-to</em>-erp"]}]
    datasets = requests.get(f"{search}/datasets", params={"q": "Custom"}, timeout=5).json()
    jsonschema.validate(datasets, _hits(["name", "namespace"]))
    assert [(h["namespace"], h["name"], h.get("run_id")) for h in datasets["hits"]] == [
        ("CRM", "customer", None),  # the element in each system that holds it
        ("ERP", "customer", None),
        (ERP, "public.customers", RUN_ID),
    ]
    assert datasets["hits"][0]["facets"] == {
        "schema": {"fields": [{"name": "address", "type": "string"}]}
    }  # the element's type
    assert datasets["highlights"][0] == {"name": ["<em>custom</em>er"]}
    # the same declared items as /api/v1/search finds for the same words
    for q, kind, found in (("CRM-to", "JOB", jobs), ("Custom", "DATASET", datasets)):
        v1 = requests.get(f"{url}/api/v1/search", params={"q": q, "filter": kind}, timeout=5).json()
        assert {(r["namespace"], r["name"]) for r in v1["results"]} == {
            (h["namespace"], h["name"]) for h in found["hits"]
        }, q


def test_the_web_uis_search_box(recent: tuple[str, dt.datetime]) -> None:
    url, _ = recent
    search = f"{url}/api/v2beta/search"
    jobs = requests.get(f"{search}/jobs", params={"q": "CUSTOMERS"}, timeout=5).json()
    jsonschema.validate(jobs, JOB_HITS)
    assert [(h["name"], h["run_id"], h["eventType"]) for h in jobs["hits"]] == [
        ("crm_sync.export_customers", RUN_ID, "COMPLETE"),
        ("reports.customers", CHAIN, "FAIL"),
    ]
    assert jobs["hits"][0]["facets"]["jobType"]["integration"] == "AIRFLOW"
    assert jobs["hits"][0]["runFacets"]["nominalTime"]
    assert jobs["highlights"] == [
        {"name": ["crm_sync.export_<em>customers</em>"]},
        {"name": ["reports.<em>customers</em>"]},
    ]
    datasets = requests.get(f"{search}/datasets", params={"q": "public.c"}, timeout=5).json()
    jsonschema.validate(
        {"hits": [h for h in datasets["hits"] if "run_id" in h], "highlights": []}, DATASET_HITS
    )
    assert [(h["namespace"], h["name"], h.get("run_id")) for h in datasets["hits"]] == [
        (CRM, "public.contacts", None),  # read, never written: no run made a version of it
        (ERP, "public.customers", RUN_ID),
    ]
    assert datasets["highlights"][1] == {"name": ["<em>public.c</em>ustomers"]}
    assert requests.get(f"{search}/jobs", params={"q": "nothing"}, timeout=5).json() == {
        "hits": [],
        "highlights": [],
    }
    blank = requests.get(f"{search}/jobs", params={"q": " "}, timeout=5)
    assert blank.status_code == 400
    jsonschema.validate(blank.json(), MARQUEZ_ERROR)
    # a NUL character names nothing (PostgreSQL cannot hold one): 400, not the store's 503
    for nul in (f"{search}/datasets?q=a%00b", f"{url}/api/v1/sources/a%00b"):
        refused = requests.get(nul, timeout=5)
        assert refused.status_code == 400, nul
        assert "NUL" in refused.json()["message"]
