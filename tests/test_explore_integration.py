"""An integration's page, declared beside observed, on SQLite and PostgreSQL: the hops
recorded on it per element by status (delivered, failed, lost at the store's clock, in
flight), its OpenLineage jobs with their last run and the datasets they touched outside
what it declares; a declared carry never observed and an element carried undeclared stand
out."""

from __future__ import annotations

import re
from pathlib import Path

from flask import Flask
from flask.testing import FlaskClient
from steward_scenarios import hop, record, write
from test_detect_observed_flows import INTEGRATION, SYSTEMS, airflow_event

from lineage.interop import ingest_openlineage_data
from lineage.registry import load_registry

EMAIL = """\
  - name: customer.email
    system_of_origin: CRM
    system_of_record: CRM
    owner: carol@example.com
"""
CARRIES_EMAIL = "      - {element: customer.email}\n"
PAGE = "/integrations/crm-to-erp-customers"
CAPTION = "What crm-to-erp-customers declares and what was recorded of it, per element"


def _rows(body: str, caption: str) -> list[str]:
    table = body.split(f"<caption>{caption}</caption>", 1)[1].split("</table>", 1)[0]
    found = re.findall(r"<tr[^>]*>(.*?)</tr>", table, re.S)[1:]
    return [" ".join(re.sub(r"<[^>]+>", " ", row).split()) for row in found]


def _address(eid: str, minute: int, **extra: str) -> dict[str, object]:
    return hop(
        eid,
        [("CRM", "customer.address", "C-1", "1 Main St")],
        ("ERP", "customer.address", f"E-{eid}", "1 MAIN ST"),
        minute,
        integration="crm-to-erp-customers",
        transform="upper",
        **extra,
    )


def _world(app: Flask, tmp_path: Path) -> None:
    path = tmp_path / "registry.yaml"
    path.write_text(SYSTEMS + EMAIL + INTEGRATION + CARRIES_EMAIL)
    registry = load_registry([path])
    store = app.extensions["lineage"].store()
    credit = hop(
        "h-credit",
        [("CRM", "customer.credit_limit", "C-1", "100")],
        ("ERP", "customer.credit_limit", "E-9", "100"),
        30,
        integration="crm-to-erp-customers",
    )
    record(
        store,
        write("w-1", "CRM", "customer.address", "C-1", "1 Main St", 0),
        _address("h-1", 10),
        _address("h-2", 20),
        _address("h-3", 25, status="failed", error="ERP API 503"),
        _address("h-4", 40, status="sent"),  # never confirmed: lost an hour later
        _address("h-5", 170, status="sent"),  # within its hour at the clock: in flight
        credit,  # carried on it, but the integration does not declare the element
        write("w-late", "CRM", "customer.address", "C-2", "2 Main St", 200),  # the clock
        registry=registry,
    )
    event = airflow_event(1, "COMPLETE", minute=50)
    credit_table = {"namespace": "postgres://erp-db:5432", "name": "public.credit"}
    event["outputs"].append(credit_table)  # ERP's credit limits: nothing it carries
    result = ingest_openlineage_data(store, [("test", 1, event)])
    assert not result.rejected, result.rejected


def test_an_integration_page_shows_what_was_observed_beside_what_it_declares(
    app: Flask, client: FlaskClient, tmp_path: Path
) -> None:
    _world(app, tmp_path)
    response = client.get(PAGE)
    assert response.status_code == 200
    body = response.get_data(as_text=True)
    assert _rows(body, CAPTION) == [
        "customer.address ✓ carried 5 2 1 1 1 2026-11-20T11:50:00Z 1",
        "customer.email ! declared, never observed 0 0 0 0 0 never 0",
        "customer.credit_limit ! observed, not declared 1 1 0 0 0 2026-11-20T09:30:00Z 0",
    ]
    text = " ".join(re.sub(r"<[^>]+>", " ", body).split())
    assert "6 hops recorded on crm-to-erp-customers, the last at 2026-11-20T11:50:00Z" in text
    assert "lost ones judged against the timeout of 1h." in text
    # the moment is said once, under the chart, in the words of every answer
    assert text.count("judged as of") == 1
    assert "judged as of 2026-11-20T12:20:00Z (the store&#39;s clock: its latest event)" in text
    job = text.split("OpenLineage jobs mapped to it", 1)[1]
    assert "airflow/crm_sync.export_customers" in job
    assert f"1 run; the last, {airflow_event(1, 'COMPLETE')['run']['runId']} , COMPLETE" in job
    assert "reads postgres://crm-db:5432/public.contacts" in job
    assert "writes postgres://erp-db:5432/public.customers" in job
    assert (
        "! outside what crm-to-erp-customers declares writes postgres://erp-db:5432/public.credit"
        " in ERP, which holds nothing it carries" in job
    )


def test_an_integration_nothing_was_recorded_on_says_so(
    app: Flask, client: FlaskClient, tmp_path: Path
) -> None:
    path = tmp_path / "registry.yaml"
    path.write_text(SYSTEMS + EMAIL + INTEGRATION + CARRIES_EMAIL)
    app.extensions["lineage"].store().save_registry(load_registry([path]))
    body = client.get(PAGE).get_data(as_text=True)
    assert "No hop is recorded on crm-to-erp-customers yet." in body
    assert _rows(body, CAPTION) == [
        "customer.address ! declared, never observed 0 0 0 0 0 never 0",
        "customer.email ! declared, never observed 0 0 0 0 0 never 0",
    ]
    assert "No OpenLineage job named like airflow/crm_sync.* was seen yet." in " ".join(
        re.sub(r"<[^>]+>", " ", body).split()
    )


def test_an_integration_page_words_its_timeout_as_findings_do(
    app: Flask, client: FlaskClient, tmp_path: Path
) -> None:
    path = tmp_path / "registry.yaml"
    declared = INTEGRATION.replace(
        "    owner: dave@example.com\n", "    owner: dave@example.com\n    timeout: 1d\n"
    )
    path.write_text(SYSTEMS + EMAIL + declared + CARRIES_EMAIL)
    store = app.extensions["lineage"].store()
    record(store, _address("h-1", 10, status="sent"), registry=load_registry([path]))
    text = " ".join(re.sub(r"<[^>]+>", " ", client.get(PAGE).get_data(as_text=True)).split())
    assert "Delivery timeout 1d " in text
    assert "lost ones judged against the timeout of 1d." in text
    assert "day," not in text  # not Python's "1 day, 0:00:00"
