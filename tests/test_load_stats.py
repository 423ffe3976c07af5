"""``lineage load`` and ``lineage stats``: registry history, one-line errors, the counts."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner
from recording import REGISTRY, hop_event, jsonl, write_event, write_registry
from sqlalchemy import select

from lineage.cli import main
from lineage.store import open_store
from lineage.store.schema import events as events_table


def test_load_prints_what_it_stored(runner: CliRunner, db_url: str, tmp_path: Path) -> None:
    result = runner.invoke(main, ["load", str(write_registry(tmp_path)), "--db", db_url])
    assert result.exit_code == 0, result.output
    assert result.stdout == (
        "loaded 3 systems, 2 elements, 2 integrations, 0 waivers from 1 file "
        "as registry version 1\n"
    )


def test_loading_an_unchanged_registry_adds_no_version(
    runner: CliRunner, db_url: str, tmp_path: Path
) -> None:
    path = str(write_registry(tmp_path))
    runner.invoke(main, ["load", path, "--db", db_url])
    again = runner.invoke(main, ["load", path, "--db", db_url])
    assert again.exit_code == 0
    assert again.stdout.startswith("registry unchanged (version 1): 3 systems")
    store = open_store(db_url)
    try:
        assert store.registry_versions() == 1
    finally:
        store.close()


def test_loading_a_changed_registry_keeps_the_earlier_version(
    runner: CliRunner, db_url: str, tmp_path: Path
) -> None:
    runner.invoke(main, ["load", str(write_registry(tmp_path)), "--db", db_url])
    extra = REGISTRY.replace(
        "  - {name: BI, owner: bi@example.com}\n",
        "  - {name: BI, owner: bi@example.com}\n  - {name: WMS, owner: wms@example.com}\n",
    )
    folder = tmp_path / "v2"
    folder.mkdir()
    result = runner.invoke(main, ["load", str(write_registry(folder, extra)), "--db", db_url])
    assert result.stdout.startswith("loaded 4 systems")
    assert result.stdout.rstrip().endswith("as registry version 2")
    store = open_store(db_url)
    try:
        assert store.registry_versions() == 2
        assert store.registry().system("WMS") is not None
    finally:
        store.close()


def test_a_directory_of_registry_files_is_loaded_whole(
    runner: CliRunner, db_url: str, tmp_path: Path
) -> None:
    (tmp_path / "a.yaml").write_text("systems:\n  - {name: A, owner: a@example.com}\n")
    (tmp_path / "b.yaml").write_text("systems:\n  - {name: B, owner: b@example.com}\n")
    result = runner.invoke(main, ["load", str(tmp_path), "--db", db_url])
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("loaded 2 systems, 0 elements")
    assert "from 2 files" in result.stdout


def test_a_bad_registry_exits_2_naming_file_and_line(
    runner: CliRunner, db_url: str, tmp_path: Path
) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("systems:\n  - name: CRM\n    colour: blue\n")
    result = runner.invoke(main, ["load", str(path), "--db", db_url])
    assert result.exit_code == 2
    assert len(result.stderr.splitlines()) == 1
    assert result.stderr.startswith(f"lineage: {path}:3")
    assert "Traceback" not in result.output
    store = open_store(db_url)
    try:
        assert store.registry_versions() == 0
    finally:
        store.close()


def test_a_missing_registry_file_exits_2(runner: CliRunner, db_url: str, tmp_path: Path) -> None:
    result = runner.invoke(main, ["load", str(tmp_path / "none.yaml"), "--db", db_url])
    assert result.exit_code == 2
    assert str(tmp_path / "none.yaml") in result.stderr
    assert len(result.stderr.splitlines()) == 1


def test_stats_json_counts_the_registry_and_distinct_events(
    runner: CliRunner, db_url: str, tmp_path: Path
) -> None:
    runner.invoke(main, ["load", str(write_registry(tmp_path)), "--db", db_url])
    events = tmp_path / "events.jsonl"
    snapshot = {
        "kind": "snapshot", "system": "BI", "element": "order.total", "record": "R-40017",
        "value": "60", "at": "2026-11-21T00:00:00Z",
    }  # fmt: skip
    failed = hop_event("h-1", status="failed", at="2026-11-20T09:09:00Z")
    lines = jsonl(write_event(), write_event(record="2"), hop_event("h-1"), failed, snapshot)
    events.write_text(lines)
    runner.invoke(main, ["ingest", str(events), "--db", db_url])
    runner.invoke(main, ["ingest", str(events), "--db", db_url])
    result = runner.invoke(main, ["stats", "--format", "json", "--db", db_url])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == {
        "systems": 3,
        "elements": 2,
        "integrations": 2,
        "events": {"write": 2, "hop": 1, "snapshot": 1},
        "openlineage": {
            "RunEvent": 0,
            "JobEvent": 0,
            "DatasetEvent": 0,
            "observed_flows": 0,
            "unmapped": {"namespaces": [], "jobs": []},
        },
    }


def test_stats_of_an_empty_store_are_zero(runner: CliRunner, db_url: str) -> None:
    open_store(db_url).close()  # created, as load or ingest would
    result = runner.invoke(main, ["stats", "--format", "json", "--db", db_url])
    assert json.loads(result.stdout) == {
        "systems": 0, "elements": 0, "integrations": 0,
        "events": {"write": 0, "hop": 0, "snapshot": 0},
        "openlineage": {"RunEvent": 0, "JobEvent": 0, "DatasetEvent": 0, "observed_flows": 0,
                        "unmapped": {"namespaces": [], "jobs": []}},
    }  # fmt: skip


def test_stats_text_is_aligned_for_people(runner: CliRunner, db_url: str, tmp_path: Path) -> None:
    runner.invoke(main, ["load", str(write_registry(tmp_path)), "--db", db_url])
    result = runner.invoke(main, ["stats", "--db", db_url])
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert lines[:4] == [
        "systems       3",
        "elements      2",
        "integrations  2",
        "events        0",
    ]
    assert lines[-1] == "registry versions loaded: 1"


def test_loading_a_changed_registry_after_ingest_says_stored_hops_keep_their_check(
    runner: CliRunner, db_url: str, tmp_path: Path
) -> None:
    events = tmp_path / "events.jsonl"
    events.write_text(jsonl(write_event(), hop_event("h-1")))
    runner.invoke(main, ["ingest", str(events), "--db", db_url])
    result = runner.invoke(main, ["load", str(write_registry(tmp_path)), "--db", db_url])
    assert result.exit_code == 0
    assert "the 1 hops already stored keep the check made when they were recorded" in (
        result.stderr
    )
    store = open_store(db_url)
    try:
        with store.engine.connect() as conn:
            declared = conn.execute(
                select(events_table.c.declared).where(events_table.c.event_id == "h-1")
            ).scalar_one()
        assert declared is False  # checked at entry against no registry: not rewritten
    finally:
        store.close()
    quiet = runner.invoke(main, ["load", str(write_registry(tmp_path)), "--db", db_url])
    assert quiet.stderr == ""  # unchanged: nothing to say
