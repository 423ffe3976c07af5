"""`lineage demo`: the demo company loads, tells where to look, and shows every planted defect."""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from lineage.cli import main
from lineage.demo import demo_events, events_file_text, events_text

ROOT = Path(__file__).resolve().parent.parent
DEMO = ROOT / "lineage" / "fixtures" / "demo"

RUNTIME_CODES = {
    "conflicting-truth",
    "competing-origin",
    "untraced-value",
    "unexplained-transformation",
    "undeclared-integration",
    "broken-chain",
    "failed-delivery",
    "lost-delivery",
    "duplicate-delivery",
    "rule-violation",
}

# (code, system, element, record) of every defect planted in the demo week, and nothing else.
PLANTED = {
    ("competing-origin", "ERP", "customer.address", None),
    ("conflicting-truth", "ERP", "customer.address", "10233"),  # the same edit, divergent
    ("conflicting-truth", "WMS", "customer.address", "SHP-7006"),  # ...and on the parcel label
    ("conflicting-truth", "Portal", "order.total", "PO-40017"),  # stale
    ("conflicting-truth", "Portal", "invoice.total", "PO-40017"),  # stale
    ("conflicting-truth", "BI", "order.total", "R-17"),  # divergent
    ("unexplained-transformation", "BI", "order.total", "R-17"),
    ("untraced-value", "Portal", "invoice.open_amount", "PO-40013"),
    ("undeclared-integration", "ERP", "stock.on_hand", None),
    ("broken-chain", "ERP", "order.line_amount", "40018-2"),
    ("failed-delivery", "CRM", "customer.email", "C-1049"),
    ("lost-delivery", "Bank", "payment.amount", "DD-40019"),
    ("duplicate-delivery", "ERP", "order.total", "40022"),
    ("rule-violation", "WMS", "stock.on_hand", "SKU-1004"),
    ("rule-violation", "BI", "stock.on_hand", "STK-1004"),
    ("rule-violation", "Shop", "customer.email", "acct-3108"),
}


def run(runner: CliRunner, *args: str) -> Result:
    return runner.invoke(main, list(args), catch_exceptions=False)


def load(runner: CliRunner, db: str) -> Result:
    result = run(runner, "demo", "--no-serve", "--db", db)
    assert result.exit_code == 0, result.output
    return result


def as_json(result: Result) -> Any:
    return json.loads(result.stdout)


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'demo.db'}"


@pytest.fixture
def demo_db(runner: CliRunner, sqlite_url: str) -> str:
    load(runner, sqlite_url)
    return sqlite_url


def test_committed_events_file_is_what_the_generator_writes() -> None:
    committed = (DEMO / "events.jsonl").read_text(encoding="utf-8")
    assert committed == events_text(), "run: python -m lineage.demo --write"
    assert events_file_text() == committed  # what the installed package reads


def test_demo_events_are_a_few_hundred_with_ids_and_status_updates() -> None:
    events = demo_events()
    ids = {event["id"] for event in events}
    assert 300 <= len(ids) <= 600
    assert all(event.get("id") for event in events)
    statuses = {event["status"] for event in events if event["kind"] == "hop"}
    assert statuses == {"sent", "delivered", "failed"}
    week = [event["at"] for event in events if event["at"] >= "2026-11-16"]
    assert min(week) >= "2026-11-16" and max(week) < "2026-11-22"


def test_demo_registry_passes_lineage_check(runner: CliRunner) -> None:
    result = run(runner, "check", str(DEMO / "registry"))
    assert result.exit_code == 0, result.output


def test_demo_loads_and_prints_where_to_look(runner: CliRunner, db_url: str) -> None:
    result = load(runner, db_url)
    assert "Loaded Lumen & Co." in result.stdout
    for command in (
        "lineage trace BI order.total R-17",
        "lineage golden ERP 40017",
        "lineage scan",
        "lineage digest --owner",
    ):
        assert command in result.stdout
    stats = as_json(run(runner, "stats", "--format", "json", "--db", db_url))
    assert stats["systems"] == 8
    assert sum(stats["events"].values()) == len({e["id"] for e in demo_events()})


def test_demo_twice_changes_nothing_and_says_so(runner: CliRunner, demo_db: str) -> None:
    before = as_json(run(runner, "stats", "--format", "json", "--db", demo_db))
    again = load(runner, demo_db)
    assert "already loaded" in again.stdout and "nothing changed" in again.stdout
    after = as_json(run(runner, "stats", "--format", "json", "--db", demo_db))
    assert after == before
    scan = as_json(run(runner, "scan", "--format", "json", "--db", demo_db))
    assert len(scan["findings"]) == len(PLANTED)


def test_demo_uses_lineage_database_url(
    runner: CliRunner, sqlite_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LINEAGE_DATABASE_URL", sqlite_url)
    result = run(runner, "demo", "--no-serve")
    assert result.exit_code == 0, result.output
    assert "export LINEAGE_DATABASE_URL" not in result.stdout  # the commands work as printed
    golden = run(runner, "golden", "ERP", "40017", "--format", "json")
    assert golden.exit_code == 0, golden.output


def test_scan_finds_every_planted_defect_and_nothing_else(runner: CliRunner, db_url: str) -> None:
    load(runner, db_url)
    result = run(runner, "scan", "--format", "json", "--db", db_url)
    assert result.exit_code == 1  # errors were found
    findings = as_json(result)["findings"]
    found = {
        (f["code"], f["subject"]["system"], f["subject"]["element"], f["subject"]["record"])
        for f in findings
    }
    assert {code for code, *_ in found} == RUNTIME_CODES
    assert found == PLANTED
    assert len(findings) == len(PLANTED)
    assert all(f["owner"] for f in findings)


def test_printed_trace_finds_the_unexplained_transformation_and_its_owner(
    runner: CliRunner, sqlite_url: str
) -> None:
    printed = load(runner, sqlite_url).stdout
    line = next(line for line in printed.splitlines() if "lineage trace" in line)
    command = shlex.split(re.split(r"\s{3,}", line.strip())[0])
    trace = as_json(run(runner, *command[1:], "--format", "json", "--db", sqlite_url))
    assert trace["subject"]["value"] == "115.20"
    root = trace["root_cause"]
    assert root["code"] == "unexplained-transformation"
    assert root["owner"] == "bianca@example.com"
    systems = [node["system"] for node in trace["nodes"]]
    assert systems == ["Shop", "ERP", "BI"]  # back to the shop's write, its origin


def test_golden_order_40017_has_a_stale_and_a_divergent_copy(
    runner: CliRunner, demo_db: str
) -> None:
    record = as_json(run(runner, "golden", "ERP", "40017", "--format", "json", "--db", demo_db))
    total = next(e for e in record["elements"] if e["element"] == "order.total")
    assert total["system_of_record"] == "ERP"
    assert float(total["golden_value"]) == 96
    copies = {(c["system"], c["record"]): c for c in total["copies"]}
    assert copies[("Portal", "PO-40017")]["status"] == "stale"
    assert copies[("BI", "R-17")]["status"] == "divergent"
    assert float(copies[("BI", "R-17")]["expected"]) == pytest.approx(103.68)


def test_digest_gives_each_owner_a_few_findings(runner: CliRunner, demo_db: str) -> None:
    digest = as_json(run(runner, "digest", "--format", "json", "--db", demo_db))
    owners = {entry["owner"]: entry for entry in digest["owners"]}
    assert set(owners) == {
        "bianca@example.com",
        "carol@example.com",
        "dave@example.com",
        "erin@example.com",
        "pat@example.com",
        "sam@example.com",
        "tina@example.com",
        "walter@example.com",
    }
    for entry in owners.values():
        assert 1 <= entry["count"] <= 3
        assert len(entry["findings"]) == entry["count"]
        assert all(f["owner"] == entry["owner"] for f in entry["findings"])
    text = run(runner, "digest", "--owner", "bianca@example.com", "--db", demo_db).stdout
    assert "R-17" in text and len(text.strip().splitlines()) <= 8


def test_loading_the_demo_does_not_import_the_web_app(sqlite_url: str) -> None:
    probe = (
        "import sys; from lineage.cli import main\n"
        f"main(['demo', '--no-serve', '--db', {sqlite_url!r}], standalone_mode=False)\n"
        "print(sorted(m for m in ('flask', 'webapp', 'waitress') if m in sys.modules))"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, timeout=120,
        check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == "[]"


@pytest.mark.slow
def test_demo_serves_the_web_ui_on_the_loaded_store(sqlite_url: str) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "PYTHONUNBUFFERED": "1"}
    env.pop("LINEAGE_API_TOKEN", None)
    server = subprocess.Popen(
        [sys.executable, "-m", "lineage", "demo", "--port", "0", "--db", sqlite_url],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert server.stderr is not None
        url = None
        for line in server.stderr:
            match = re.search(r"serving (http://\S+?)/? ", line)
            if match:
                url = match.group(1).rstrip("/")
                break
        assert url, "lineage demo did not start serving"
        with urllib.request.urlopen(f"{url}/", timeout=30) as page:
            assert page.status == 200
        with urllib.request.urlopen(f"{url}/api/v1/openapi.json", timeout=30) as api:
            assert json.load(api)["openapi"].startswith("3.")
    finally:
        server.terminate()
        printed, _ = server.communicate(timeout=30)
    assert "lineage trace BI order.total R-17" in printed


def test_the_readmes_table_of_the_demos_defects_names_each_findings_owner(
    runner: CliRunner, demo_db: str
) -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    start = readme.index("| what happened | finding | owner | see it with |")
    table = readme[start : readme.index("\n\n", start)].splitlines()[2:]
    findings = as_json(run(runner, "scan", "--db", demo_db, "--format", "json"))["findings"]
    found = {(f["code"], f["owner"]) for f in findings}
    named: set[tuple[str, str]] = set()
    for row in table:
        _, finding, owners, _ = (cell.strip() for cell in row.strip().strip("|").split(" | "))
        codes = set(re.findall(r"`([a-z-]+)`", finding))
        for owner in owners.split(", "):
            mine = {(code, owner) for code in codes} & found
            assert mine, f"{owner!r} owns none of {sorted(codes)} in the demo"
            named |= mine
    assert found - named == set()  # every finding's owner is in the table
