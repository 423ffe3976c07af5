"""OpenLineage jobs judged through the registry's mapping: an Airflow-shaped job moving a
column between two mapped systems on no declared integration is reported until the
integration and its job are declared; a FAIL run is a failed delivery; a claimed job writing
outside what its integration carries is reported; unmapped namespaces and jobs are listed."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from click.testing import CliRunner

from lineage.cli import main

SYSTEMS = """\
systems:
  - name: CRM
    owner: crm@example.com
    openlineage_namespaces: [postgres://crm-db:5432]
  - name: ERP
    owner: erp@example.com
    openlineage_namespaces: [postgres://erp-db:5432]
elements:
  - name: customer.address
    system_of_origin: CRM
    system_of_record: CRM
    owner: carol@example.com
    openlineage_fields:
      - {system: CRM, dataset: public.contacts, field: street}
      - {system: ERP, dataset: public.customers, field: address}
  - name: customer.credit_limit
    system_of_origin: ERP
    system_of_record: ERP
    owner: finance@example.com
    openlineage_fields:
      - {system: ERP, dataset: public.credit, field: credit_limit}
"""

INTEGRATION = """\
integrations:
  - name: crm-to-erp-customers
    source: CRM
    target: ERP
    owner: dave@example.com
    purpose: invoices go to the current address
    openlineage_jobs: [airflow/crm_sync.*]
    carries:
      - {element: customer.address, transform: upper}
"""

RUN = "01934a6e-0000-7000-8000-00000000000"


def airflow_event(
    n: int, state: str, *, task: str = "export_customers", minute: int = 0, **extra: Any
) -> dict[str, Any]:
    """An event shaped like the Airflow provider's: namespace, dag.task name, parent DAG run."""
    output: dict[str, Any] = {
        "namespace": "postgres://erp-db:5432",
        "name": "public.customers",
        "facets": {
            "columnLineage": {
                "_producer": "https://github.com/apache/airflow/tree/providers-openlineage/2.1.0",
                "_schemaURL": "https://openlineage.io/spec/facets/1-2-0/ColumnLineageDatasetFacet.json",
                "fields": {
                    "address": {
                        "inputFields": [
                            {
                                "namespace": "postgres://crm-db:5432",
                                "name": "public.contacts",
                                "field": "street",
                                "transformations": [
                                    {"type": "DIRECT", "subtype": "TRANSFORMATION"}
                                ],
                            }
                        ]
                    }
                },
            }
        },
    }
    run: dict[str, Any] = {
        "runId": f"{RUN}{n}",
        "facets": {
            "parent": {
                "_producer": "https://github.com/apache/airflow/tree/providers-openlineage/2.1.0",
                "_schemaURL": "https://openlineage.io/spec/facets/1-1-0/ParentRunFacet.json",
                "run": {"runId": f"{RUN}0"},
                "job": {"namespace": "airflow", "name": "crm_sync"},
            }
        },
    }
    run["facets"].update(extra.pop("run_facets", {}))
    return {
        "eventType": state,
        "eventTime": f"2026-11-20T09:{minute:02d}:00Z",
        "producer": "https://github.com/apache/airflow/tree/providers-openlineage/2.1.0",
        "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent",
        "run": run,
        "job": {"namespace": "airflow", "name": f"crm_sync.{task}"},
        "inputs": [{"namespace": "postgres://crm-db:5432", "name": "public.contacts"}],
        "outputs": extra.pop("outputs", [output]),
    }


def world(tmp_path: Path, db: str, registry: str, *events: dict[str, Any]) -> tuple[CliRunner, str]:
    """A store (``db``: SQLite and PostgreSQL, from ``db_url``) holding ``registry`` and the
    OpenLineage ``events``."""
    runner = CliRunner()
    path = tmp_path / "registry.yaml"
    path.write_text(registry)
    assert runner.invoke(main, ["load", str(path), "--db", db]).exit_code == 0
    lines = tmp_path / "events.jsonl"
    lines.write_text("".join(json.dumps(e) + "\n" for e in events))
    done = runner.invoke(main, ["ingest", "--format", "openlineage", str(lines), "--db", db])
    assert done.exit_code == 0, done.output
    return runner, db


def scanned(runner: CliRunner, db: str, code: str) -> list[dict[str, Any]]:
    result = runner.invoke(
        main, ["scan", "--format", "json", "--db", db, "--as-of", "2027-01-01T00:00:00Z"]
    )
    assert result.exit_code in (0, 1), result.output
    return [f for f in json.loads(result.stdout)["findings"] if f["code"] == code]


def test_an_airflow_job_between_mapped_systems_is_an_undeclared_integration(
    tmp_path: Path,
    db_url: str,
) -> None:
    runner, db = world(
        tmp_path, db_url, SYSTEMS, airflow_event(1, "START"), airflow_event(1, "COMPLETE", minute=5)
    )
    [finding] = scanned(runner, db, "undeclared-integration")
    assert finding["message"].startswith(
        "OpenLineage job airflow/crm_sync.export_customers moved data from CRM to ERP, "
        "carrying customer.address (postgres://crm-db:5432/public.contacts -> "
        "postgres://erp-db:5432/public.customers), on no declared integration: declare an "
        "integration CRM -> ERP"
    )
    assert finding["subject"]["system"] == "ERP"
    assert finding["subject"]["element"] == "customer.address"
    assert finding["owner"] == "carol@example.com"
    assert finding["evidence"]["job"] == "airflow/crm_sync.export_customers"
    assert finding["evidence"]["runs"] == 1


def test_once_the_integration_and_its_job_are_declared_it_is_not(
    tmp_path: Path, db_url: str
) -> None:
    # the same store: reported while undeclared, gone once the registry in force declares it
    runner, db = world(
        tmp_path,
        db_url,
        SYSTEMS,
        airflow_event(1, "START"),
        airflow_event(1, "COMPLETE", minute=5),
    )
    assert len(scanned(runner, db, "undeclared-integration")) == 1
    declared = tmp_path / "declared.yaml"
    declared.write_text(SYSTEMS + INTEGRATION)
    assert runner.invoke(main, ["load", str(declared), "--db", db]).exit_code == 0
    assert scanned(runner, db, "undeclared-integration") == []
    assert scanned(runner, db, "failed-delivery") == []


def test_an_integration_declared_without_the_job_is_named_in_the_hint(
    tmp_path: Path, db_url: str
) -> None:
    registry = SYSTEMS + INTEGRATION.replace("    openlineage_jobs: [airflow/crm_sync.*]\n", "")
    runner, db = world(tmp_path, db_url, registry, airflow_event(1, "COMPLETE"))
    [finding] = scanned(runner, db, "undeclared-integration")
    assert finding["message"].endswith(
        "list the job under openlineage_jobs of crm-to-erp-customers"
    )


def test_a_fail_run_is_a_failed_delivery_with_its_error_message(
    tmp_path: Path, db_url: str
) -> None:
    error = {
        "errorMessage": {
            "_producer": "https://github.com/apache/airflow/tree/providers-openlineage/2.1.0",
            "_schemaURL": "https://openlineage.io/spec/facets/1-0-1/ErrorMessageRunFacet.json",
            "message": "psycopg2.errors.UniqueViolation: duplicate key value",
            "programmingLanguage": "python",
        }
    }
    runner, db = world(
        tmp_path,
        db_url,
        SYSTEMS + INTEGRATION,
        airflow_event(1, "START"),
        airflow_event(1, "FAIL", minute=3, run_facets=error),
        airflow_event(2, "START", minute=10),
        airflow_event(2, "COMPLETE", minute=12),
        airflow_event(3, "START", minute=20),
        airflow_event(3, "ABORT", minute=21),
    )
    found = scanned(runner, db, "failed-delivery")
    assert [f["subject"]["event"] for f in found] == [f"{RUN}1", f"{RUN}3"]
    first = found[0]
    assert first["subject"]["integration"] == "crm-to-erp-customers"
    assert first["owner"] == "dave@example.com"
    assert first["evidence"]["error"] == "psycopg2.errors.UniqueViolation: duplicate key value"
    assert first["message"] == (
        f"run {RUN}1 of OpenLineage job airflow/crm_sync.export_customers on "
        "crm-to-erp-customers ended FAIL at 2026-11-20T09:03:00Z: "
        "psycopg2.errors.UniqueViolation: duplicate key value"
    )
    assert found[1]["evidence"]["state"] == "ABORT"
    assert "no errorMessage facet" in found[1]["message"]


def test_a_claimed_job_writing_outside_what_its_integration_carries_is_reported(
    tmp_path: Path,
    db_url: str,
) -> None:
    credit = {
        "namespace": "postgres://erp-db:5432",
        "name": "public.credit",
        "facets": {},
    }
    runner, db = world(
        tmp_path,
        db_url,
        SYSTEMS + INTEGRATION,
        airflow_event(1, "COMPLETE", task="export_credit", outputs=[credit]),
    )
    [finding] = scanned(runner, db, "undeclared-integration")
    assert finding["subject"]["integration"] == "crm-to-erp-customers"
    assert finding["evidence"]["outside"] == [
        "writes postgres://erp-db:5432/public.credit in ERP, which holds nothing it carries"
    ]
    assert finding["owner"] == "dave@example.com"


def test_stats_list_unmapped_namespaces_and_jobs_with_counts(tmp_path: Path, db_url: str) -> None:
    s3 = {"namespace": "s3://lake-raw", "name": "contacts.parquet"}
    runner, db = world(
        tmp_path,
        db_url,
        SYSTEMS,
        airflow_event(1, "START"),
        airflow_event(1, "COMPLETE", minute=5),
        airflow_event(2, "COMPLETE", task="dump", outputs=[s3]),
    )
    result = runner.invoke(main, ["stats", "--format", "json", "--db", db])
    unmapped = json.loads(result.stdout)["openlineage"]["unmapped"]
    assert unmapped == {
        "namespaces": [{"namespace": "s3://lake-raw", "events": 1}],
        "jobs": [
            {"job": "airflow/crm_sync.export_customers", "events": 2},
            {"job": "airflow/crm_sync.dump", "events": 1},
        ],
    }
    text = runner.invoke(main, ["stats", "--db", db]).stdout
    assert "unmapped namespace s3://lake-raw (1 event)" in text
    assert "unmapped job airflow/crm_sync.export_customers (2 events)" in text


def snapshot(value: str) -> dict[str, Any]:
    return {
        "kind": "snapshot",
        "id": "s-1",
        "system": "ERP",
        "element": "customer.address",
        "record": "40017",
        "value": value,
        "at": "2026-11-21T00:00:00Z",
    }


def test_a_trace_reaching_a_place_fed_only_by_openlineage_shows_the_job(
    tmp_path: Path, db_url: str
) -> None:
    runner, db = world(
        tmp_path,
        db_url,
        SYSTEMS + INTEGRATION,
        airflow_event(1, "START"),
        airflow_event(1, "COMPLETE", minute=5),
    )
    events = tmp_path / "snapshot.jsonl"
    events.write_text(json.dumps(snapshot("12 MAIN ST")) + "\n")
    assert runner.invoke(main, ["ingest", str(events), "--db", db]).exit_code == 0
    result = runner.invoke(
        main, ["trace", "ERP", "customer.address", "40017", "--format", "json", "--db", db]
    )
    assert result.exit_code in (0, 1), result.output
    [feed] = json.loads(result.stdout)["observed"]
    assert feed["job"] == "airflow/crm_sync.export_customers"
    assert feed["level"] == "field"
    assert (feed["dataset"], feed["field"]) == ("public.customers", "address")
    assert feed["last_run"]["id"] == f"{RUN}1"
    assert feed["last_run"]["state"] == "COMPLETE"
    assert feed["inputs"] == [
        {
            "namespace": "postgres://crm-db:5432",
            "dataset": "public.contacts",
            "system": "CRM",
            "fields": ["street"],
            "elements": ["customer.address"],
        }
    ]
    text = runner.invoke(main, ["trace", "ERP", "customer.address", "40017", "--db", db]).stdout
    assert "is written by OpenLineage job airflow/crm_sync.export_customers" in text
    assert "field-level, reads postgres://crm-db:5432/public.contacts (street)" in text


def test_without_column_lineage_the_feed_is_marked_dataset_level(
    tmp_path: Path, db_url: str
) -> None:
    plain = {"namespace": "postgres://erp-db:5432", "name": "public.customers"}
    runner, db = world(
        tmp_path, db_url, SYSTEMS + INTEGRATION, airflow_event(1, "FAIL", outputs=[plain])
    )
    events = tmp_path / "snapshot.jsonl"
    events.write_text(json.dumps(snapshot("12 MAIN ST")) + "\n")
    assert runner.invoke(main, ["ingest", str(events), "--db", db]).exit_code == 0
    result = runner.invoke(
        main, ["trace", "ERP", "customer.address", "40017", "--format", "json", "--db", db]
    )
    [feed] = json.loads(result.stdout)["observed"]
    assert feed["level"] == "dataset"
    assert feed["last_run"]["state"] == "FAIL"
    assert feed["inputs"][0]["fields"] == ["street"]  # the fields the registry maps there


def audited(runner: CliRunner, db: str) -> dict[str, Any]:
    result = runner.invoke(
        main, ["audit", "--format", "json", "--db", db, "--as-of", "2026-11-21T00:00:00"]
    )
    assert result.exit_code == 0, result.output
    [row] = json.loads(result.stdout)["integrations"]
    return dict(row)


def test_the_audit_counts_job_runs_as_deliveries(tmp_path: Path, db_url: str) -> None:
    runner, db = world(
        tmp_path,
        db_url,
        SYSTEMS + INTEGRATION,
        airflow_event(1, "START"),
        airflow_event(1, "COMPLETE", minute=5),
        airflow_event(2, "START", minute=10),
        airflow_event(2, "FAIL", minute=11),
    )
    row = audited(runner, db)
    assert row["answers"]["deliveries"] == "partial"
    assert row["details"]["deliveries"].startswith("1 of 2 job runs in the last 7d failed")


def test_the_audit_answers_no_when_its_jobs_never_ran(tmp_path: Path, db_url: str) -> None:
    other = airflow_event(1, "COMPLETE")
    other["job"]["name"] = "unrelated.task"
    runner, db = world(tmp_path, db_url, SYSTEMS + INTEGRATION, other)
    row = audited(runner, db)
    assert row["answers"]["deliveries"] == "no"
    assert "none of its OpenLineage jobs ran" in row["details"]["deliveries"]


def test_a_fail_run_of_a_claimed_job_counts_once_in_the_stored_audit(
    tmp_path: Path, db_url: str
) -> None:
    # a hop on the integration sets the store's clock (OpenLineage events do not), so the
    # audit reads the stored findings, where the FAIL run is also a failed-delivery finding
    runner = CliRunner()
    registry = tmp_path / "registry.yaml"
    registry.write_text(SYSTEMS + INTEGRATION)
    assert runner.invoke(main, ["load", str(registry), "--db", db_url]).exit_code == 0
    lines = tmp_path / "events.jsonl"
    runs = [
        airflow_event(1, "START"),
        airflow_event(1, "COMPLETE", minute=5),
        airflow_event(2, "START", minute=10),
        airflow_event(2, "FAIL", minute=11),
    ]
    lines.write_text("".join(json.dumps(e) + "\n" for e in runs))
    done = runner.invoke(main, ["ingest", "--format", "openlineage", str(lines), "--db", db_url])
    assert done.exit_code == 0, done.output
    hop = {
        "kind": "hop",
        "id": "h-1",
        "integration": "crm-to-erp-customers",
        "at": "2026-11-20T09:30:00Z",
        "inputs": [{"system": "CRM", "element": "customer.address", "record": "C-1", "value": "a"}],
        "output": {"system": "ERP", "element": "customer.address", "record": "C-1", "value": "A"},
    }
    lines.write_text(json.dumps(hop) + "\n")
    done = runner.invoke(main, ["ingest", str(lines), "--db", db_url])
    assert done.exit_code == 0, done.output
    [failed] = [
        f
        for f in json.loads(
            runner.invoke(main, ["scan", "--format", "json", "--db", db_url]).stdout
        )["findings"]
        if f["code"] == "failed-delivery"
    ]
    assert failed["subject"]["event"] == f"{RUN}2"
    result = runner.invoke(main, ["audit", "--format", "json", "--db", db_url])
    assert result.exit_code == 0, result.output
    [row] = json.loads(result.stdout)["integrations"]
    assert row["answers"]["deliveries"] == "partial"
    assert row["details"]["deliveries"] == (
        "1 of 3 hops and job runs in the last 7d failed, were lost or duplicated (33.3%)"
    )
