"""An element declared in pieces by two teams, from the steward's side (issue 11: one verdict).

The registry keeps every declaration of a repeated element (one team names its system of
record and owner, another its type and rules). Every answer must take the element as all of
them together say it: ``lineage scan`` (each detector), ``trace``, ``golden``, the pages and
``lineage diff`` name the same system of origin, system of record, rules and owner.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from lineage.cli import main
from lineage.model.registry import Element, ElementType, Registry, Rule

TEAM_A = """\
systems:
  - name: ERP
    owner: erp@example.com
  - name: BI
    owner: bi@example.com
elements:
  - name: order.total
    description: what the customer pays
"""

TEAM_B = """\
elements:
  - name: order.total
    type: decimal
    system_of_origin: ERP
    system_of_record: ERP
    owner: finance@example.com
    rules:
      - min: 0
integrations:
  - name: erp-to-bi
    source: ERP
    target: BI
    owner: data@example.com
    purpose: reporting
    carries:
      - element: order.total
"""


def _event(**fields: Any) -> str:
    return json.dumps(fields)


EVENTS = [
    _event(
        kind="write",
        system="ERP",
        element="order.total",
        record="40017",
        value="50.00",
        at="2026-11-20T09:00:00Z",
    ),
    # written in BI, not its system of origin, and below the rule's minimum
    _event(
        kind="write",
        system="BI",
        element="order.total",
        record="R-1",
        value="-5",
        at="2026-11-20T09:05:00Z",
    ),
    # a copy that disagrees with the golden value
    _event(
        kind="hop",
        id="h-1",
        integration="erp-to-bi",
        at="2026-11-20T09:10:00Z",
        inputs=[{"system": "ERP", "element": "order.total", "record": "40017", "value": "50.00"}],
        output={"system": "BI", "element": "order.total", "record": "R-2", "value": "49.00"},
    ),
    _event(
        kind="write",
        system="ERP",
        element="order.total",
        record="40017",
        value="50.0",
        at="2026-11-20T09:20:00Z",
    ),
    # a copy that agrees as a decimal (team B's type), not as a string
    _event(
        kind="hop",
        id="h-2",
        integration="erp-to-bi",
        at="2026-11-20T09:25:00Z",
        inputs=[{"system": "ERP", "element": "order.total", "record": "40017", "value": "50.0"}],
        output={"system": "BI", "element": "order.total", "record": "R-3", "value": "50.00"},
    ),
]


@pytest.fixture
def loaded(runner: CliRunner, db_url: str, tmp_path: Path) -> str:
    folder = tmp_path / "registry"
    folder.mkdir()
    (folder / "a.yaml").write_text(TEAM_A)
    (folder / "b.yaml").write_text(TEAM_B)
    events = tmp_path / "events.jsonl"
    events.write_text("\n".join(EVENTS) + "\n")
    for args in (["load", str(folder)], ["ingest", str(events)]):
        done = runner.invoke(main, [*args, "--db", db_url], catch_exceptions=False)
        assert done.exit_code == 0, done.output
    return db_url


def _json(runner: CliRunner, db: str, *args: str) -> Any:
    result: Result = runner.invoke(main, [*args, "--format", "json", "--db", db])
    assert result.exit_code in (0, 1), result.output
    return json.loads(result.stdout)


def test_every_answer_takes_the_element_as_both_teams_declared_it(
    runner: CliRunner, loaded: str
) -> None:
    findings = _json(runner, loaded, "scan")["findings"]
    said = {(f["code"], f["subject"]["record"]): f for f in findings}
    # the system of origin and the rules come from team B, the owner too (not BI's owner)
    origin = [f for f in findings if f["code"] == "competing-origin"]
    assert [(f["subject"]["system"], f["owner"]) for f in origin] == [("BI", "finance@example.com")]
    assert said["rule-violation", "R-1"]["owner"] == "finance@example.com"
    # the golden value compares as a decimal (team B's type): 50.0 is 50.00, 49.00 is not
    assert ("conflicting-truth", "R-3") not in said
    truth = said["conflicting-truth", "R-2"]
    assert truth["owner"] == "data@example.com"  # a copy: the integration that delivered it
    # the trace of each place shows scan's findings in scan's words, with scan's owner
    for record in ("R-1", "R-2"):
        trace = _json(runner, loaded, "trace", "BI", "order.total", record)
        shown = {(f["code"], f["message"], f["owner"]) for f in trace["findings"]}
        for finding in findings:
            if finding["subject"]["record"] == record:
                assert (finding["code"], finding["message"], finding["owner"]) in shown
    golden = _json(runner, loaded, "golden", "ERP", "40017")
    (element,) = golden["elements"]
    assert element["system_of_record"] == "ERP"
    assert (element["golden_value"], element["owner"]) == ("50.0", "finance@example.com")
    copies = {c["record"]: c["status"] for c in element["copies"]}
    assert copies == {"R-2": "divergent", "R-3": "agrees"}


def test_the_registry_answers_with_the_element_all_declarations_make() -> None:
    first = Element(name="order.total", description="what the customer pays")
    second = Element(name="order.total", type=ElementType.DECIMAL, system_of_record="ERP",
                     owner="finance@example.com", rules=(Rule(kind="min", arg=0),))  # fmt: skip
    third = Element(name="order.total", owner="late@example.com", rules=(Rule(kind="min", arg=0),
                    Rule(kind="max", arg=10)))  # fmt: skip
    registry = Registry(elements=(first, second, third))
    merged = registry.element("order.total")
    assert merged is not None
    assert merged.system_of_record == "ERP"
    assert merged.owner == "finance@example.com"  # the first that names somebody
    assert merged.type is ElementType.DECIMAL
    assert merged.description == "what the customer pays"
    assert [(r.kind, r.arg) for r in merged.rules] == [("min", 0), ("max", 10)]
    assert registry.merged_elements == (merged,)
    assert len(registry.elements) == 3  # the declarations themselves are kept
