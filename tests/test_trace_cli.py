"""``lineage trace`` and ``lineage impact`` on the command line: formats and exit codes."""

from __future__ import annotations

import json

import pygraphviz
import pytest
from click.testing import CliRunner
from steward_scenarios import order_chain, record

from lineage.cli import main
from lineage.store import open_store


@pytest.fixture
def db(db_url: str) -> str:
    """A database holding the order chain with a wrong VAT hop into BI."""
    store = open_store(db_url)
    record(store, *order_chain(bi_value="65.00"))
    store.close()
    return db_url


def _run(runner: CliRunner, *args: str) -> tuple[int, str, str]:
    result = runner.invoke(main, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_trace_text_marks_the_culprit_and_exits_zero(runner: CliRunner, db: str) -> None:
    code, out, err = _run(runner, "trace", "Portal", "order.total", "P-9", "--db", db)
    assert code == 0, err
    assert "ROOT CAUSE: unexplained-transformation, ask bi@example.com" in out
    assert out.index("ERP") < out.index("Portal  ")  # origin first


def test_trace_json_is_one_contract_document(runner: CliRunner, db: str) -> None:
    code, out, err = _run(
        runner, "trace", "Portal", "order.total", "P-9", "--format", "json", "--db", db
    )
    assert code == 0, err
    data = json.loads(out)
    assert data["root_cause"]["code"] == "unexplained-transformation"
    assert data["root_cause"]["owner"] == "bi@example.com"
    assert data["origin"] == ["n0"]


def test_trace_dot_and_svg_formats(runner: CliRunner, db: str) -> None:
    code, out, _ = _run(
        runner, "trace", "Portal", "order.total", "P-9", "--format", "dot", "--db", db
    )
    assert code == 0
    assert len(pygraphviz.AGraph(string=out).nodes()) == 3
    code, out, _ = _run(
        runner, "trace", "Portal", "order.total", "P-9", "--format", "svg", "--db", db
    )
    assert code == 0
    assert out.lstrip().startswith("<?xml") and out.rstrip().endswith("</svg>")


def test_trace_as_of_answers_for_the_value_held_then(runner: CliRunner, db: str) -> None:
    code, out, _ = _run(
        runner,
        "trace",
        "Portal",
        "order.total",
        "P-9",
        "--format",
        "json",
        "--as-of",
        "2026-11-20T09:12:00Z",
        "--db",
        db,
    )
    assert code == 0
    assert json.loads(out)["subject"]["value"] == "65.00"
    code, _, err = _run(
        runner,
        "trace",
        "Portal",
        "order.total",
        "P-9",
        "--as-of",
        "2026-11-20T09:08:00",
        "--db",
        db,
    )
    assert code == 2
    assert err.strip().splitlines() == [
        "lineage: no value recorded for Portal/order.total/P-9 as of 2026-11-20T09:08:00Z: "
        "check the system, the element and the record key (keys are per system), or ingest "
        "its events first"
    ]


def test_unknown_place_exits_two_with_one_line(runner: CliRunner, db: str) -> None:
    for command in ("trace", "impact"):
        code, out, err = _run(runner, command, "BI", "order.total", "R-404", "--db", db)
        assert code == 2
        assert out == ""
        lines = err.strip().splitlines()
        assert len(lines) == 1
        assert lines[0].startswith("lineage: no value recorded for BI/order.total/R-404")
        assert "Traceback" not in err


def test_bad_as_of_is_a_usage_error(runner: CliRunner, db: str) -> None:
    code, _, err = _run(
        runner, "trace", "BI", "order.total", "R-9", "--as-of", "yesterday", "--db", db
    )
    assert code == 2
    assert "'yesterday' is not a time" in err


def test_impact_formats(runner: CliRunner, db: str) -> None:
    code, out, err = _run(runner, "impact", "ERP", "order.total", "40017", "--db", db)
    assert code == 0, err
    assert "reached 2 places in 2 systems: BI 1, Portal 1" in out
    code, out, _ = _run(
        runner, "impact", "ERP", "order.total", "40017", "--format", "json", "--db", db
    )
    assert code == 0
    assert json.loads(out)["counts"] == {"BI": 1, "Portal": 1}
    code, out, _ = _run(
        runner, "impact", "ERP", "order.total", "40017", "--format", "dot", "--db", db
    )
    assert code == 0 and "digraph" in out
    code, out, _ = _run(
        runner, "impact", "ERP", "order.total", "40017", "--format", "svg", "--db", db
    )
    assert code == 0 and "</svg>" in out


def test_database_from_the_environment(
    runner: CliRunner, db: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LINEAGE_DATABASE_URL", db)
    code, out, _ = _run(runner, "trace", "BI", "order.total", "R-9", "--format", "json")
    assert code == 0
    assert json.loads(out)["subject"]["record"] == "R-9"
