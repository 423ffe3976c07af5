"""Every generated document validates against its official schema (copies in tests/schemas,
origins in its README): W3C prov.xsd for PROV-XML made from our PROV-JSON, the PROV-JSON
schema, Jenkins' junit-10.xsd, SARIF 2.1.0 and OpenLineage 2-0-2."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from click.testing import CliRunner
from corpus import SPEC
from golden_scenarios import hop, load, snapshot, write
from lxml import etree
from prov.model import ProvDocument
from referencing import Registry, Resource

from lineage.cli import main
from lineage.interop.export import export_prov
from lineage.interop.prov import local_name
from lineage.store import Store

SCHEMAS = Path(__file__).parent / "schemas"
DEMO = Path(__file__).resolve().parent.parent / "lineage" / "fixtures" / "demo"


@pytest.fixture(scope="module")
def prov_xsd() -> etree.XMLSchema:
    return etree.XMLSchema(etree.parse(str(SCHEMAS / "prov" / "prov.xsd")))


@pytest.fixture(scope="module")
def junit_xsd() -> etree.XMLSchema:
    return etree.XMLSchema(etree.parse(str(SCHEMAS / "junit" / "junit-10.xsd")))


def json_validator(path: Path) -> jsonschema.protocols.Validator:
    schema = json.loads(path.read_text(encoding="utf-8"))
    cls = jsonschema.validators.validator_for(schema)
    return cls(schema, format_checker=cls.FORMAT_CHECKER)


def xml_errors(schema: etree.XMLSchema, text: str) -> list[str]:
    schema.validate(etree.fromstring(text.encode("utf-8")))
    return [f"line {e.line}: {e.message}" for e in schema.error_log]


def json_errors(validator: jsonschema.protocols.Validator, document: Any) -> list[str]:
    return [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(document)]


@pytest.fixture(scope="module")
def demo_db(tmp_path_factory: pytest.TempPathFactory) -> str:
    """The demo company loaded into SQLite through the commands a user runs."""
    url = f"sqlite:///{tmp_path_factory.mktemp('demo') / 'lineage.db'}"
    runner = CliRunner()
    for args in (
        ["load", "--db", url, str(DEMO / "registry")],
        ["ingest", "--db", url, str(DEMO / "events.jsonl")],
    ):
        result = runner.invoke(main, args)
        assert result.exit_code == 0, result.output
    return url


# -- PROV -----------------------------------------------------------------------------------

TROUBLE = [
    write("ERP", "order.total", "40017", "50.00", 0, "42"),
    {**write("ERP", "order.total", "40018", "1E+2", 0, "w ä/x:1"), "actor": "erin@example.com"},
    write("ERP", "order.total", "40019", "not a number", 0, "w.odd."),
    write("CRM", "customer.name", "C-1", "Ada", 0, "_w"),
    write("CRM", "customer.name", "C-2", "bell\x07ring", 0, "w-bell"),
    hop(
        "h-ok",
        "erp-to-bi",
        ("ERP", "order.total", "40017", "50.00"),
        ("BI", "order.total", "R-1", "60"),
        1,
    ),
    hop(
        "h-failed",
        "erp-to-bi",
        ("ERP", "order.total", "40018", "100"),
        ("BI", "order.total", "R-2", "120"),
        2,
        status="failed",
    ),
    hop(
        "h-sent",
        "erp-to-bi",
        ("ERP", "order.total", "40017", "50.00"),
        ("BI", "order.total", "R-3", "60"),
        3,
        status="sent",
    ),
    snapshot("BI", "order.total", "R-3", "60", 4),
]


def _prov(store: Store) -> str:
    load(store, TROUBLE)
    out = io.StringIO()
    export_prov(store, out)
    return out.getvalue()


def test_prov_json_validates_against_the_prov_json_schema(store: Store) -> None:
    document = json.loads(_prov(store))
    assert json_errors(json_validator(SCHEMAS / "prov" / "prov-json.schema.json"), document) == []
    assert "agent:erin_40example.com" in document["agent"]


def test_prov_xml_from_the_export_validates_against_w3c_prov_xsd(
    store: Store, prov_xsd: etree.XMLSchema
) -> None:
    document = ProvDocument.deserialize(content=_prov(store), format="json")
    xml = document.serialize(format="xml")
    assert xml_errors(prov_xsd, xml) == []
    assert 'prov:id="hop:_342"' not in xml  # a hop id, not the write "42"
    assert 'prov:id="value:_342"' in xml  # event "42": a local part may not start with a digit
    assert ProvDocument.deserialize(content=xml, format="xml") == document  # read back whole


def test_prov_of_the_demo_store_validates_as_json_and_as_xml(
    demo_db: str, runner: CliRunner, prov_xsd: etree.XMLSchema
) -> None:
    result = runner.invoke(main, ["export", "prov", "--db", demo_db])
    assert result.exit_code == 0, result.output
    document = json.loads(result.output)
    assert json_errors(json_validator(SCHEMAS / "prov" / "prov-json.schema.json"), document) == []
    xml = ProvDocument.deserialize(content=result.output, format="json").serialize(format="xml")
    assert xml_errors(prov_xsd, xml) == []
    statuses = {a["lineage:status"] for a in document["activity"].values()}
    assert statuses == {"delivered", "failed", "sent"}


def test_a_failed_hop_generates_nothing(store: Store) -> None:
    document = json.loads(_prov(store))
    activity = document["activity"]["hop:h-failed"]
    assert activity["lineage:status"] == "failed"
    assert activity["lineage:value"] == {"$": "120", "type": "xsd:decimal"}
    assert activity["lineage:record"] == "R-2"
    assert "value:h-failed" not in document["entity"]
    relations = [r for section in document.values() for r in section.values()]
    assert not any("value:h-failed" in r.values() for r in relations if isinstance(r, dict))
    used = [r["prov:entity"] for r in document["used"].values()]
    assert "value:w_20_C3_A4_2Fx_3A1" in used  # it did read its input


def test_a_hop_never_confirmed_did_not_generate_its_value(store: Store) -> None:
    document = json.loads(_prov(store))
    assert "prov:endTime" not in document["activity"]["hop:h-sent"]  # still under way
    generated = {r["prov:entity"] for r in document["wasGeneratedBy"].values()}
    assert generated == {"value:h-ok"}
    derivations = list(document["wasDerivedFrom"].values())
    assert not any(r.get("prov:activity") == "hop:h-sent" for r in derivations)
    (influence,) = document["wasInfluencedBy"].values()
    assert influence == {"prov:influencee": "value:h-sent", "prov:influencer": "hop:h-sent"}
    assert document["entity"]["value:h-sent"]["lineage:delivery"] == "unconfirmed"
    # the later snapshot shows the value it carried
    assert any(r["prov:usedEntity"] == "value:h-sent" for r in derivations)


def test_values_and_times_are_typed_literals(store: Store) -> None:
    entities = json.loads(_prov(store))["entity"]
    first = entities["value:_342"]
    assert first["prov:value"] == {"$": "50", "type": "xsd:decimal"}
    assert first["lineage:text"] == "50.00"  # as written
    assert first["lineage:at"] == {"$": "2026-11-20T09:00:00Z", "type": "xsd:dateTime"}
    assert entities["value:w_20_C3_A4_2Fx_3A1"]["prov:value"]["$"] == "100"
    assert entities["value:w.odd_2E"]["prov:value"] == "not a number"  # not a decimal: a string
    assert entities["value:_5Fw"]["prov:value"] == "Ada"  # a string element
    # XML 1.0 cannot hold a control character, even escaped: base64 of the UTF-8, not lost
    assert entities["value:w-bell"]["prov:value"] == {
        "$": "YmVsbAdyaW5n",
        "type": "xsd:base64Binary",
    }


@pytest.mark.parametrize(
    ("text", "local"),
    [
        ("h-1", "h-1"),
        ("42", "_342"),
        ("erin@example.com", "erin_40example.com"),
        ("a_b", "a_5Fb"),
        ("x.", "x_2E"),
        ("w ä/x:1", "w_20_C3_A4_2Fx_3A1"),
        ("", "_"),
    ],
)
def test_local_names_are_ncnames_one_to_one(text: str, local: str) -> None:
    assert local_name(text) == local
    etree.QName("urn:x", local)  # raises for anything that is not an NCName


# -- JUnit and SARIF ------------------------------------------------------------------------


def test_check_junit_validates_against_jenkins_junit_10_xsd(
    runner: CliRunner, junit_xsd: etree.XMLSchema
) -> None:
    result = runner.invoke(main, ["check", str(DEMO / "pull-request"), "--format", "junit"])
    assert result.exit_code == 1
    assert xml_errors(junit_xsd, result.output) == []
    summary = json.loads(
        runner.invoke(main, ["check", str(DEMO / "pull-request"), "--format", "json"]).output
    )["summary"]
    root = etree.fromstring(result.output.encode())
    assert root.get("failures") == str(summary["error"] + summary["warning"])
    assert root.get("time") == "0"
    assert root.find("testsuite").get("skipped") == str(summary["info"])


def test_scan_and_clean_check_junit_validate_too(
    runner: CliRunner, junit_xsd: etree.XMLSchema, demo_db: str
) -> None:
    scan = runner.invoke(main, ["scan", "--db", demo_db, "--format", "junit"])
    assert scan.exit_code == 1
    assert xml_errors(junit_xsd, scan.output) == []
    clean = runner.invoke(main, ["check", str(DEMO / "registry"), "--format", "junit"])
    assert clean.exit_code == 0
    assert xml_errors(junit_xsd, clean.output) == []


def test_check_and_scan_sarif_validate_against_sarif_2_1_0(runner: CliRunner, demo_db: str) -> None:
    validator = json_validator(SCHEMAS / "sarif" / "sarif-schema-2.1.0.json")
    check = runner.invoke(main, ["check", str(DEMO / "pull-request"), "--format", "sarif"])
    scan = runner.invoke(main, ["scan", "--db", demo_db, "--format", "sarif"])
    for result in (check, scan):
        assert result.exit_code == 1
        document = json.loads(result.output)
        assert json_errors(validator, document) == []
        assert document["runs"][0]["results"]


# -- OpenLineage ----------------------------------------------------------------------------


def test_openlineage_export_of_the_demo_validates_against_2_0_2(
    runner: CliRunner, demo_db: str
) -> None:
    core = json.loads((SPEC / "OpenLineage.json").read_text())
    facet = json.loads((SPEC / "ColumnLineageDatasetFacet.json").read_text())
    registry: Registry[Any] = Registry().with_resources(
        [(core["$id"], Resource.from_contents(core)), (facet["$id"], Resource.from_contents(facet))]
    )
    # the whole spec: RunEvent, JobEvent or DatasetEvent (oneOf)
    validator = jsonschema.Draft202012Validator(
        {"$ref": core["$id"]},
        registry=registry,
        format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER,
    )
    result = runner.invoke(main, ["export", "openlineage", "--db", demo_db])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert len(lines) > 100
    for line in lines:
        assert json_errors(validator, json.loads(line)) == []
