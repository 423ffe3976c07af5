"""The registry maps OpenLineage onto itself: namespaces -> systems, dataset fields -> elements,
jobs -> integrations; ``lineage check`` names the file and line of every bad mapping."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from lineage.cli import main
from lineage.registry import load_registry
from lineage.store import open_store

MAPPED = """\
systems:
  - name: CRM
    owner: crm@example.com
    openlineage_namespaces: [postgres://crm-db:5432]
  - name: BI
    owner: bi@example.com
    openlineage_namespaces:
      - bigquery
      - s3://lake-*
  - name: Lake
    owner: lake@example.com
    openlineage_namespaces: [s3://lake-raw]
elements:
  - name: customer.address
    system_of_record: CRM
    owner: carol@example.com
    openlineage_fields:
      - {system: CRM, dataset: public.contacts, field: street}
      - {system: BI, dataset: mock-project.test.upload, field: address}
integrations:
  - name: crm-to-bi
    source: CRM
    target: BI
    owner: dave@example.com
    purpose: reports
    openlineage_jobs: [airflow/crm_to_bi.*]
    carries:
      - {element: customer.address}
"""


def test_namespaces_fields_and_jobs_resolve_to_declarations(tmp_path: Path) -> None:
    path = tmp_path / "registry.yaml"
    path.write_text(MAPPED)
    registry = load_registry([path])
    assert registry.system_of_namespace("postgres://crm-db:5432") == "CRM"
    assert registry.system_of_namespace("s3://lake-curated") == "BI"
    # an exact name wins over a pattern that also matches it
    assert registry.system_of_namespace("s3://lake-raw") == "Lake"
    assert registry.system_of_namespace("postgres://crm-db:5433") is None
    assert registry.element_at("BI", "mock-project.test.upload", "address") == "customer.address"
    assert registry.element_at("CRM", "mock-project.test.upload", "address") is None
    assert [i.name for i in registry.integrations_of_job("airflow/crm_to_bi.load")] == ["crm-to-bi"]
    assert registry.integrations_of_job("airflow/other") == []


def test_the_mapping_survives_being_stored(tmp_path: Path) -> None:
    path = tmp_path / "registry.yaml"
    path.write_text(MAPPED)
    store = open_store(f"sqlite:///{tmp_path / 'l.db'}")
    try:
        store.save_registry(load_registry([path]))
        stored = store.registry()
    finally:
        store.close()
    assert stored.system_of_namespace("bigquery") == "BI"
    assert stored.integrations_of_job("airflow/crm_to_bi.x")[0].name == "crm-to-bi"


def test_check_names_the_line_of_a_namespace_two_systems_claim(tmp_path: Path) -> None:
    path = tmp_path / "registry.yaml"
    path.write_text(MAPPED.replace("[s3://lake-raw]", "[bigquery]"))
    result = CliRunner().invoke(main, ["check", "--format", "json", str(path)])
    assert result.exit_code == 1
    found = [f for f in json.loads(result.stdout)["findings"] if f["code"] == "ambiguous-namespace"]
    assert [(f["location"]["line"], f["subject"]["system"]) for f in found] == [(12, "Lake")]
    assert "'BI' claims as 'bigquery'" in found[0]["message"]
    assert found[0]["owner"] == "lake@example.com"


def test_a_malformed_mapping_entry_exits_2_naming_its_line(tmp_path: Path) -> None:
    path = tmp_path / "registry.yaml"
    path.write_text(MAPPED.replace("dataset: public.contacts, ", ""))
    result = CliRunner().invoke(main, ["check", str(path)])
    assert result.exit_code == 2
    assert result.stderr.strip() == (
        f"lineage: {path}:18: element 'customer.address' has no 'dataset': add it"
    )
    assert "Traceback" not in result.output
