"""lineage scan on the command line: formats, exit codes, filters, waivers."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET

import pytest
from click.testing import CliRunner
from scan_world import clean_chain, hop, load, record, registry, waiver, write

from lineage.cli import main
from lineage.store import Store, open_store

AS_OF = "2026-11-21T09:00:00Z"


@pytest.fixture
def clean_db(db_url: str) -> str:
    store = open_store(db_url)
    load(store)
    record(store, *clean_chain())
    store.close()
    return db_url


def _with(db_url: str, *events: dict[str, object], reg: object = None) -> str:
    store: Store = open_store(db_url)
    if reg is not None:
        store.save_registry(reg)  # type: ignore[arg-type]
    record(store, *events)
    store.close()
    return db_url


def _lost_and_competing(db_url: str) -> str:
    return _with(
        db_url,
        write("BI", "order.total", "R-9", "70", 70, actor="analyst"),
        hop(
            "h-24",
            "erp-to-bi",
            35,
            [("ERP", "order.total", "40017", "50.00")],
            ("BI", "order.total", "R-24", "60.00"),
            status="sent",
        ),
    )


def test_a_clean_store_exits_zero_with_no_findings(runner: CliRunner, clean_db: str) -> None:
    result = runner.invoke(main, ["scan", "--db", clean_db, "--as-of", AS_OF])
    assert result.exit_code == 0, result.output
    assert result.output.strip().splitlines() == [
        "lineage scan: no findings",
        f"judged as of {AS_OF} (--as-of)",
    ]


def test_errors_exit_one_and_are_listed_with_owner(runner: CliRunner, clean_db: str) -> None:
    _lost_and_competing(clean_db)
    result = runner.invoke(main, ["scan", "--db", clean_db, "--as-of", AS_OF])
    assert result.exit_code == 1
    assert "lost-delivery" in result.output
    assert "competing-origin" in result.output
    assert "(owner: bi-lead@example.com)" in result.output


def test_json_is_one_document_with_findings_and_summary(runner: CliRunner, clean_db: str) -> None:
    _lost_and_competing(clean_db)
    result = runner.invoke(
        main,
        ["scan", "--db", clean_db, "--as-of", AS_OF, "--format", "json", "--code", "lost-delivery"],
    )
    document = json.loads(result.output)
    (finding,) = document["findings"]
    assert finding["subject"] == {
        "element": "order.total",
        "system": "BI",
        "integration": "erp-to-bi",
        "record": "R-24",
        "event": "h-24",
    }
    assert finding["location"] is None
    assert finding["owner"] == "bi-lead@example.com"
    assert document["summary"] == {"error": 1, "warning": 0, "info": 0}


@pytest.mark.parametrize("fmt", ["junit", "sarif", "github"])
def test_ci_formats_carry_the_findings(runner: CliRunner, clean_db: str, fmt: str) -> None:
    _lost_and_competing(clean_db)
    result = runner.invoke(
        main,
        ["scan", "--db", clean_db, "--as-of", AS_OF, "--format", fmt, "--code", "lost-delivery"],
    )
    assert result.exit_code == 1
    if fmt == "junit":
        suite = ET.fromstring(result.output)
        assert "lost-delivery" in ET.tostring(suite, encoding="unicode")
    elif fmt == "sarif":
        (run,) = json.loads(result.output)["runs"]
        assert [r["ruleId"] for r in run["results"]] == ["lost-delivery"]
    else:
        assert result.output.startswith("::error")
        assert "lost-delivery" in result.output


def test_a_warning_fails_only_with_fail_on_warning(runner: CliRunner, clean_db: str) -> None:
    _with(
        clean_db,
        hop(
            "h-22",
            "erp-to-wms",
            33,
            [("ERP", "order.status", "40017", "shipped")],
            ("WMS", "order.status", "P-9", "shipped"),
        ),
    )
    args = ["scan", "--db", clean_db, "--as-of", AS_OF, "--code", "broken-chain"]
    assert runner.invoke(main, args).exit_code == 0
    failing = runner.invoke(main, [*args, "--fail-on", "warning"])
    assert failing.exit_code == 1
    assert "broken-chain" in failing.output


def test_filters_narrow_the_report(runner: CliRunner, clean_db: str) -> None:
    _lost_and_competing(clean_db)
    base = ["scan", "--db", clean_db, "--as-of", AS_OF, "--format", "json"]
    by_owner = json.loads(runner.invoke(main, [*base, "--owner", "controller@example.com"]).output)[
        "findings"
    ]
    assert [f["code"] for f in by_owner] == ["competing-origin"]
    by_system = json.loads(runner.invoke(main, [*base, "--system", "ERP"]).output)["findings"]
    assert by_system == []
    by_element = json.loads(
        runner.invoke(
            main, [*base, "--element", "order.total", "--code", "competing-origin"]
        ).output
    )
    assert len(by_element["findings"]) == 1


def test_as_of_before_the_defects_finds_nothing(runner: CliRunner, clean_db: str) -> None:
    _lost_and_competing(clean_db)
    result = runner.invoke(main, ["scan", "--db", clean_db, "--as-of", "2026-11-20T09:20:00Z"])
    assert result.exit_code == 0
    assert "no findings" in result.output


def test_a_hop_sent_recently_is_not_yet_lost(runner: CliRunner, clean_db: str) -> None:
    _lost_and_competing(clean_db)
    result = runner.invoke(
        main,
        ["scan", "--db", clean_db, "--as-of", "2026-11-20T11:00:00Z", "--code", "lost-delivery"],
    )
    assert result.exit_code == 0


def test_waivers_stored_with_the_registry_apply(runner: CliRunner, clean_db: str) -> None:
    _lost_and_competing(clean_db)
    _with(
        clean_db,
        reg=registry(
            waivers=(
                waiver("competing-origin", "2027-03-31", system="BI"),
                waiver("lost-delivery", None, integration="erp-to-bi"),
            )
        ),
    )
    result = runner.invoke(
        main,
        [
            "scan",
            "--db",
            clean_db,
            "--as-of",
            AS_OF,
            "--code",
            "competing-origin",
            "--code",
            "lost-delivery",
        ],
    )
    assert result.exit_code == 0, result.output
    assert "no findings (2 waived)" in result.output


def test_an_unknown_code_is_a_usage_error(runner: CliRunner, clean_db: str) -> None:
    result = runner.invoke(main, ["scan", "--db", clean_db, "--code", "no-such-code"])
    assert result.exit_code == 2
    assert "no-such-code" in result.output


def test_a_bad_time_is_a_usage_error(runner: CliRunner, clean_db: str) -> None:
    result = runner.invoke(main, ["scan", "--db", clean_db, "--as-of", "yesterday"])
    assert result.exit_code == 2
    assert "ISO 8601" in result.output


def test_an_unreadable_database_is_one_line_and_exit_two(
    runner: CliRunner, tmp_path: object
) -> None:
    result = runner.invoke(main, ["scan", "--db", f"sqlite:///{tmp_path}/no/such/dir/x.db"])
    assert result.exit_code == 2
    assert "Traceback" not in result.output
    assert len(result.output.strip().splitlines()) == 1


def test_a_store_without_registry_or_events_scans_clean(runner: CliRunner, db_url: str) -> None:
    open_store(db_url).close()  # created, as load or ingest would
    result = runner.invoke(main, ["scan", "--db", db_url])
    assert result.exit_code == 0
    assert "no findings" in result.output


def test_scan_help_names_every_option(runner: CliRunner) -> None:
    result = runner.invoke(main, ["scan", "--help"])
    for option in (
        "--format",
        "--fail-on",
        "--as-of",
        "--system",
        "--element",
        "--owner",
        "--code",
        "--db",
    ):
        assert option in result.output
