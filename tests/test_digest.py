"""lineage digest: each owner's findings, most urgent first, each with where to see it."""

from __future__ import annotations

import json
from typing import Any

from click.testing import CliRunner
from scan_world import clean_chain, hop, load, record, registry, snapshot, write

from lineage.cli import main
from lineage.digest import digest, digest_text, show_command, show_page
from lineage.model import Finding
from lineage.store import Store

CLEAN_CHAIN_CLOCK = "2026-11-20T10:00:00Z"
"""The store's clock after clean_chain: its latest event, the BI snapshot an hour in."""


def _f(code: str, owner: str | None, **subject: str) -> Finding:
    return Finding.of(code, f"{code} on {subject}", owner=owner, **subject)


def test_errors_come_before_warnings_and_foundation_before_intelligence() -> None:
    findings = [
        _f("broken-chain", "dave@example.com", integration="crm-to-erp-customers"),
        _f("failed-delivery", "dave@example.com", integration="erp-to-bi"),
        _f("failed-delivery", "dave@example.com", integration="crm-to-erp-customers"),
    ]
    (entry,) = digest(findings, registry())
    assert [(f.code, f.subject.integration) for f in entry.findings] == [
        ("failed-delivery", "crm-to-erp-customers"),
        ("failed-delivery", "erp-to-bi"),
        ("broken-chain", "crm-to-erp-customers"),
    ]


def test_the_owner_with_the_most_urgent_finding_comes_first() -> None:
    findings = [
        _f("broken-chain", "a@example.com", integration="crm-to-erp-customers"),
        _f("failed-delivery", "b@example.com", integration="erp-to-bi"),
        _f("failed-delivery", "c@example.com", integration="crm-to-erp-customers"),
        _f("failed-delivery", "b@example.com", integration="erp-to-bi"),
    ]
    assert [d.owner for d in digest(findings, registry())] == [
        "c@example.com",
        "b@example.com",
        "a@example.com",
    ]


def test_findings_without_an_owner_go_to_an_unowned_entry() -> None:
    entries = digest([_f("undeclared-integration", None, system="CRM")], registry())
    assert [(d.owner, d.count) for d in entries] == [("(unowned)", 1)]


def test_one_owner_can_be_asked_for() -> None:
    findings = [_f("failed-delivery", "a@example.com"), _f("failed-delivery", "b@example.com")]
    assert [d.owner for d in digest(findings, registry(), owner="b@example.com")] == [
        "b@example.com"
    ]


def test_each_finding_names_the_command_and_page_that_show_it() -> None:
    placed = _f("rule-violation", "x", system="ERP", element="order.total", record="40 17")
    assert show_command(placed) == "lineage trace ERP order.total '40 17'"
    assert show_page(placed) == "/trace?system=ERP&element=order.total&record=40+17"
    grouped = _f("competing-origin", "x", system="BI", element="order.total")
    assert show_command(grouped) == (
        "lineage scan --code competing-origin --system BI --element order.total"
    )
    assert show_page(grouped) == "/elements/order.total"


def test_text_shows_the_few_that_matter_and_how_to_see_the_rest() -> None:
    findings = [
        _f("failed-delivery", "a@example.com", system="BI", element="order.total", record=f"R-{n}")
        for n in range(5)
    ]
    text = digest_text(digest(findings, registry()), top=2)
    assert text.startswith("a@example.com: 5 findings (5 errors)")
    # a failed hop left no value to trace: the narrowed scan shows it (a trace exited 2)
    assert text.count("see: lineage scan --code failed-delivery --system BI") == 2
    assert "... and 3 more: lineage scan --owner a@example.com" in text


def test_json_has_one_entry_per_owner_with_count_and_findings(
    runner: CliRunner, store: Store
) -> None:
    load(store)
    record(
        store,
        *clean_chain(),
        snapshot("ERP", "order.total", "40018", "99", 30),
        write("ERP", "order.status", "40030", "lost", 36),
        hop(
            "h-9",
            "erp-to-bi",
            40,
            [("ERP", "order.total", "40017", "50.00")],
            ("BI", "order.total", "R-9", "60.00"),
            status="failed",
            error="down",
        ),
    )
    url = store.engine.url.render_as_string(hide_password=False)
    result = runner.invoke(
        main, ["digest", "--db", url, "--format", "json", "--as-of", "2026-11-21T09:00:00Z"]
    )
    assert result.exit_code == 0, result.output
    document = json.loads(result.output)
    owners = {o["owner"]: o for o in document["owners"]}
    assert set(owners) >= {"controller@example.com", "ops@example.com", "bi-lead@example.com"}
    for entry in document["owners"]:
        assert entry["count"] == len(entry["findings"])
    (failed,) = [
        f for f in owners["bi-lead@example.com"]["findings"] if f["code"] == "failed-delivery"
    ]
    # the failed hop left no value to trace; the narrowed scan shows it and exits 1
    assert failed["show"] == "lineage scan --code failed-delivery --system BI --element order.total"
    assert failed["subject"]["event"] == "h-9"
    only = runner.invoke(
        main,
        [
            "digest",
            "--db",
            url,
            "--format",
            "json",
            "--owner",
            "ops@example.com",
            "--as-of",
            "2026-11-21",
        ],
    )
    assert [o["owner"] for o in json.loads(only.output)["owners"]] == ["ops@example.com"]


def test_digest_of_a_clean_store_says_there_is_nothing_to_do(
    runner: CliRunner, store: Store
) -> None:
    load(store)
    record(store, *clean_chain())
    url = store.engine.url.render_as_string(hide_password=False)
    result = runner.invoke(main, ["digest", "--db", url, "--as-of", "2026-11-21"])
    assert result.exit_code == 0
    assert result.output.strip().splitlines() == [
        "lineage digest: nothing to act on",
        "judged as of 2026-11-21T00:00:00Z (--as-of)",
    ]
    # without --as-of, the stored findings: judged as of the store's clock, its latest event
    as_json = runner.invoke(main, ["digest", "--db", url, "--format", "json"])
    assert json.loads(as_json.output) == {"owners": [], "as_of": CLEAN_CHAIN_CLOCK}
    as_text = runner.invoke(main, ["digest", "--db", url])
    assert as_text.output.strip().splitlines()[-1] == (
        f"judged as of {CLEAN_CHAIN_CLOCK} (the store's clock: its latest event)"
    )


def _places(findings: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    return sorted((f["code"], *sorted(f["subject"].items()), f["owner"]) for f in findings)


def test_the_digest_lists_exactly_the_stored_findings_the_scan_reports(
    runner: CliRunner, db_url: str
) -> None:
    loaded = runner.invoke(main, ["demo", "--no-serve", "--db", db_url], catch_exceptions=False)
    assert loaded.exit_code == 0, loaded.output
    scanned = json.loads(runner.invoke(main, ["scan", "--format", "json", "--db", db_url]).stdout)
    digested = json.loads(
        runner.invoke(main, ["digest", "--format", "json", "--db", db_url]).stdout
    )
    listed = [f for owner in digested["owners"] for f in owner["findings"]]
    assert listed and all(f["state"] == "open" for f in listed)  # the stored state, read
    assert _places(listed) == _places(scanned["findings"])
