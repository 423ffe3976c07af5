"""Rules issue 11 says are defined once, checked from the steward's side: one owner order
for every answer (a blank owner names nobody), one severity order, and one SQL definition of a
hop's status as of a moment."""

from __future__ import annotations

import re
from pathlib import Path

from golden_scenarios import company, hop, registry

from lineage.detect.run import scan
from lineage.findings import read_findings
from lineage.golden import golden
from lineage.model.findings import Severity
from lineage.model.registry import Registry
from lineage.registry import check_registry
from lineage.store import Store
from lineage.store.writer import Writer
from lineage.trace import trace


def _unowned(reg: Registry) -> Registry:
    """erp-to-bi's owner left blank, order.status's owner left out."""
    return reg.model_copy(
        update={
            "integrations": tuple(
                i.model_copy(update={"owner": "  "}) if i.name == "erp-to-bi" else i
                for i in reg.integrations
            ),
            "elements": tuple(
                e.model_copy(update={"owner": None}) if e.name == "order.status" else e
                for e in reg.elements
            ),
        }
    )


def test_with_no_integration_or_element_owner_every_answer_names_the_copys_system_owner(
    store: Store,
) -> None:
    company(store)
    store.save_registry(_unowned(registry()))
    found = {f.code: f for f in scan(store, elements=["order.status"])}
    # the divergent BI copy and the hop that made it: BI answers, in scan and in trace
    assert found["conflicting-truth"].owner == "bi-team@example.com"
    assert found["unexplained-transformation"].owner == "bi-team@example.com"
    traced = trace(store, "BI", "order.status", "R-9")
    assert traced.root_cause is not None
    assert traced.root_cause.owner == "bi-team@example.com"
    # the golden record's element owner: the system of record's, as lineage check says
    [status] = [
        e
        for e in golden(store, "BI", "R-9").to_json()["elements"]
        if e["element"] == "order.status"
    ]
    assert status["owner"] == "erp-team@example.com"
    checked = {
        (f.subject.integration or f.subject.element): f.owner
        for f in check_registry(store.registry())
        if f.code == "missing-owner"
    }
    assert checked == {"erp-to-bi": "bi-team@example.com", "order.status": "erp-team@example.com"}


def test_stored_findings_are_read_errors_first_then_warnings(store: Store) -> None:
    company(store)
    with Writer(store) as writer:  # a hop that read 45.00 where ERP held 50.00
        writer.add_data(
            hop(
                "h-broken",
                "erp-to-bi",
                ("ERP", "order.total", "40017", "45.00"),
                ("BI", "order.total", "R-9", "54.00"),
                20,
            ),
            source="scenario",
            line=1,
        )
    for limit in (None, 50):  # all of them, and one page (ordered by the store)
        severities = [f.severity for f in read_findings(store, limit=limit).findings]
        assert {Severity.ERROR, Severity.WARNING} <= set(severities)
        assert severities == sorted(severities, key=lambda s: s.rank)


#: The forms the live-hop rule takes in SQL and in Python: the latest later status by event
#: time, a later status against the hop's own time, the negated "a failed hop" test, and the
#: status of a hop recorded with none.
_LIVE_HOP_RULE = re.compile(
    r"ORDER BY\s+hs\.at\s+DESC|hop_status\.c\.at\.desc\(|hs\.at\s*>=|"
    r"hop_status\.c\.at\s*>=\s*\w+\.c\.|NOT\s*\(\s*\{?\w+\}?\.kind\s*=\s*'hop'\s+AND|"
    r"status_updated\s+THEN|COALESCE\(\s*\{?\w+\}?\.status,\s*'delivered'\)|"
    r"status\s+or\s+[\"'](?:delivered|sent)[\"']",
    re.IGNORECASE,
)
_LINEAGE = Path(__file__).resolve().parent.parent / "lineage"


def test_a_hops_status_as_of_a_moment_is_written_once_in_the_store() -> None:
    """The rule "a hop counts unless it failed by the moment; a later status beats the one it
    arrived with" is SQL in lineage/store/status.py only (lineage/rules.py says it in Python):
    a copy anywhere else in the engine fails here (migrations, the record of past schemas,
    aside)."""
    holders = {
        str(path.relative_to(_LINEAGE))
        for path in _LINEAGE.rglob("*.py")
        if "migrations" not in path.parts and _LIVE_HOP_RULE.search(path.read_text())
    }
    assert holders == {"store/status.py"}
