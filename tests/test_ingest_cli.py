"""``lineage ingest``: files and stdin, bad lines, exit codes, re-ingest, OpenLineage."""

from __future__ import annotations

import fcntl
import json
import os
import pty
import select
import struct
import subprocess
import sys
import termios
from pathlib import Path

import pytest
from click.testing import CliRunner
from recording import hop_event, jsonl, status_history, write_event, write_registry

from lineage.cli import main
from lineage.store import open_store

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def db(runner: CliRunner, db_url: str, tmp_path: Path) -> str:
    """A database URL with the small test registry loaded through ``lineage load``."""
    loaded = runner.invoke(main, ["load", str(write_registry(tmp_path)), "--db", db_url])
    assert loaded.exit_code == 0, loaded.output
    return db_url


def write_file(tmp_path: Path, text: str, name: str = "events.jsonl") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def stats(runner: CliRunner, db: str) -> dict[str, object]:
    result = runner.invoke(main, ["stats", "--format", "json", "--db", db])
    assert result.exit_code == 0, result.output
    answer: dict[str, object] = json.loads(result.stdout)
    return answer


GOOD = jsonl(write_event(), hop_event("h-1"), hop_event("h-2", record="40018"))


def test_ingest_records_a_file_and_prints_the_summary_on_stdout(
    runner: CliRunner, db: str, tmp_path: Path
) -> None:
    path = write_file(tmp_path, GOOD)
    result = runner.invoke(main, ["ingest", str(path), "--db", db])
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == (
        f"ingested {path}: 3 accepted, 0 duplicate, 0 status updates, 0 rejected"
    )
    assert result.stderr == ""
    assert stats(runner, db)["events"] == {"write": 1, "hop": 2, "snapshot": 0}


def test_ingesting_a_file_again_counts_only_duplicates_and_changes_nothing(
    runner: CliRunner, db: str, tmp_path: Path
) -> None:
    path = write_file(tmp_path, GOOD)
    runner.invoke(main, ["ingest", str(path), "--db", db])
    before = stats(runner, db)
    again = runner.invoke(main, ["ingest", str(path), "--db", db])
    assert again.exit_code == 0
    assert "0 accepted, 3 duplicate, 0 status updates, 0 rejected" in again.stdout
    assert stats(runner, db) == before


def test_bad_lines_are_named_on_stderr_the_good_ones_kept_and_exit_is_1(
    runner: CliRunner, db: str, tmp_path: Path
) -> None:
    text = (
        jsonl(write_event())
        + '{"kind": "write", "system": "ERP"}\n'
        + "\n"
        + "this is not json\n"
        + jsonl(hop_event("h-1"), hop_event("h-1", output="61"))
    )
    path = write_file(tmp_path, text)
    result = runner.invoke(main, ["ingest", str(path), "--db", db])
    assert result.exit_code == 1
    errors = result.stderr.splitlines()
    assert [line.split(": ", 1)[0] for line in errors] == [f"{path}:2", f"{path}:4", f"{path}:6"]
    assert "write.element: Field required" in errors[0]
    assert "Invalid JSON" in errors[1]
    assert "event id 'h-1' was recorded before with different content" in errors[2]
    assert "2 accepted, 0 duplicate, 0 status updates, 3 rejected" in result.stdout
    assert "Traceback" not in result.output
    assert stats(runner, db)["events"] == {"write": 1, "hop": 1, "snapshot": 0}


def test_a_missing_file_exits_2_with_one_line_and_records_nothing(
    runner: CliRunner, db: str, tmp_path: Path
) -> None:
    good = write_file(tmp_path, GOOD)
    missing = tmp_path / "nope.jsonl"
    result = runner.invoke(main, ["ingest", str(good), str(missing), "--db", db])
    assert result.exit_code == 2
    assert result.stderr == f"lineage: {missing}: cannot read: No such file or directory\n"
    assert result.stdout == ""
    assert stats(runner, db)["events"] == {"write": 0, "hop": 0, "snapshot": 0}


def test_a_directory_given_as_a_file_exits_2(runner: CliRunner, db: str, tmp_path: Path) -> None:
    result = runner.invoke(main, ["ingest", str(tmp_path), "--db", db])
    assert result.exit_code == 2
    assert result.stderr.startswith(f"lineage: {tmp_path}: cannot read: ")
    assert len(result.stderr.splitlines()) == 1


def test_dash_reads_events_from_stdin(runner: CliRunner, db: str) -> None:
    result = runner.invoke(main, ["ingest", "-", "--db", db], input=GOOD + "oops\n")
    assert result.exit_code == 1
    assert result.stderr.startswith("<stdin>:4: Invalid JSON")
    assert "ingested <stdin>: 3 accepted" in result.stdout


def test_a_status_update_in_a_later_file_is_recorded(
    runner: CliRunner, db: str, tmp_path: Path
) -> None:
    first = write_file(tmp_path, jsonl(hop_event("h-7", status="sent")), "first.jsonl")
    later = jsonl(hop_event("h-7", status="delivered", at="2026-11-20T09:07:00Z"))
    second = write_file(tmp_path, later, "second.jsonl")
    runner.invoke(main, ["ingest", str(first), "--db", db])
    result = runner.invoke(main, ["ingest", str(first), str(second), "--db", db])
    assert result.exit_code == 0
    assert "0 accepted, 1 duplicate, 1 status updates, 0 rejected" in result.stdout
    store = open_store(db)
    try:
        assert status_history(store, "h-7") == ["sent", "delivered"]
    finally:
        store.close()


def test_ingest_without_a_loaded_registry_warns_that_hops_go_unchecked(
    runner: CliRunner, db_url: str, tmp_path: Path
) -> None:
    result = runner.invoke(main, ["ingest", str(write_file(tmp_path, GOOD)), "--db", db_url])
    assert result.exit_code == 0
    assert "no registry is loaded" in result.stderr
    assert "lineage load" in result.stderr


def test_no_progress_bar_when_stderr_is_not_a_terminal(
    runner: CliRunner, db: str, tmp_path: Path
) -> None:
    big = jsonl(*(write_event(record=f"R{n}") for n in range(5000)))
    result = runner.invoke(main, ["ingest", str(write_file(tmp_path, big)), "--db", db])
    assert result.exit_code == 0
    assert result.stderr == ""


def test_openlineage_events_are_ingested_with_format_openlineage(
    runner: CliRunner, db: str, tmp_path: Path
) -> None:
    event = {
        "eventType": "COMPLETE", "eventTime": "2026-11-20T09:00:00Z",
        "run": {"runId": "3f5e8f36-8f0a-4d3c-9d36-0d5f2f1f2a11"},
        "job": {"namespace": "etl", "name": "load_orders"},
        "producer": "https://example.com/producer", "schemaURL": "https://openlineage.io/spec",
        "inputs": [], "outputs": [],
    }  # fmt: skip
    path = write_file(tmp_path, json.dumps(event) + "\nnot json\n", "ol.jsonl")
    result = runner.invoke(main, ["ingest", "--format", "openlineage", str(path), "--db", db])
    assert result.exit_code == 1, result.output
    assert "1 accepted" in result.stdout
    assert result.stderr.startswith(f"{path}:2: ")
    again = runner.invoke(main, ["ingest", "--format", "openlineage", str(path), "--db", db])
    assert "0 accepted, 1 duplicate" in again.stdout


def test_an_unknown_format_is_a_usage_error(runner: CliRunner, db: str, tmp_path: Path) -> None:
    path = write_file(tmp_path, GOOD)
    result = runner.invoke(main, ["ingest", "--format", "csv", str(path), "--db", db])
    assert result.exit_code == 2
    assert "'csv' is not one of 'jsonl', 'openlineage'" in result.stderr


def test_an_unreachable_database_exits_2_with_one_line(runner: CliRunner, tmp_path: Path) -> None:
    path = write_file(tmp_path, GOOD)
    result = runner.invoke(
        main, ["ingest", str(path), "--db", f"sqlite:///{tmp_path / 'no' / 'x.db'}"]
    )
    assert result.exit_code == 2
    assert len(result.stderr.splitlines()) == 1
    assert "does not exist" in result.stderr


def test_the_installed_command_reads_a_pipe_without_a_progress_bar(db: str, tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "lineage", "ingest", "-", "--db", db],
        input=GOOD.encode(),
        capture_output=True,
        cwd=ROOT,
        check=False,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert done.stderr == b""
    summary = done.stdout.decode().strip()
    assert summary.endswith("3 accepted, 0 duplicate, 0 status updates, 0 rejected")


def test_a_progress_bar_shows_on_stderr_when_it_is_a_terminal(db: str, tmp_path: Path) -> None:
    path = write_file(tmp_path, jsonl(*(write_event(record=f"R{n}") for n in range(30_000))))
    leader, follower = pty.openpty()
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 100, 0, 0))  # 100 wide
    shown = b""
    try:
        process = subprocess.Popen(
            [sys.executable, "-m", "lineage", "ingest", str(path), "--db", db],
            stdout=subprocess.PIPE,
            stderr=follower,
            cwd=ROOT,
        )
        while process.poll() is None or select.select([leader], [], [], 0.2)[0]:
            if select.select([leader], [], [], 0.2)[0]:
                shown += os.read(leader, 65536)
        stdout = process.stdout.read() if process.stdout else b""
        if process.stdout:
            process.stdout.close()
    finally:
        os.close(follower)
        os.close(leader)
    assert process.returncode == 0
    assert b"ingest:" in shown and b"B/s" in shown  # the bar, counting bytes read
    summary = stdout.decode().strip()
    assert summary.endswith("30000 accepted, 0 duplicate, 0 status updates, 0 rejected")


def test_a_malformed_line_among_fast_path_hops_is_named_and_the_good_lines_are_kept(
    db: str, tmp_path: Path
) -> None:
    # Enough well-formed hops that the fast path takes nearly all of them and worker
    # processes prepare the later ones (past the lines ingest handles in its own process):
    # a bad line in either part is one line naming the file and the line, the rest is kept.
    # (Each hop's input is written first, so the judgement after the load finds nothing.)
    lines = []
    for n in range(11_000):
        lines.append(json.dumps(write_event(value="10", record=f"{n}")))
        lines.append(json.dumps(hop_event(f"h-{n}", "10", "12", record=f"{n}")))
    bad = {
        3: '{"kind": "hop", "id": "cut", "at": "2026-11-20T09:05:00Z", "inputs": [',
        5_000: json.dumps(hop_event("extra", "10", "12", colour="red")),
        20_500: json.dumps(hop_event("nul", "10", "1\u00002")),
        21_500: json.dumps(hop_event("no-zone", "10", "12", at="2026-11-20T09:05:00")),
    }
    for index in sorted(bad):
        lines.insert(index, bad[index])  # file line index + 1
    path = write_file(tmp_path, "\n".join(lines) + "\n")
    done = subprocess.run(
        [sys.executable, "-m", "lineage", "ingest", str(path), "--db", db],
        capture_output=True,
        cwd=ROOT,
        check=False,
        timeout=600,
    )
    errors = done.stderr.decode().splitlines()
    assert done.returncode == 1, done.stderr
    assert [line.split(": ", 1)[0] for line in errors] == [f"{path}:{i + 1}" for i in sorted(bad)]
    assert "Invalid JSON" in errors[0]
    assert "Extra inputs are not permitted" in errors[1]
    assert "NUL" in errors[2]
    assert "a time needs a timezone" in errors[3]
    assert "Traceback" not in done.stderr.decode()
    summary = done.stdout.decode().strip()
    assert summary.endswith("22000 accepted, 0 duplicate, 0 status updates, 4 rejected")
    store = open_store(db)
    try:
        with store.engine.connect() as conn:
            from sqlalchemy import text  # noqa: PLC0415

            verified = conn.execute(
                text("SELECT count(*) FROM events WHERE kind = 'hop' AND verified")
            ).scalar_one()
    finally:
        store.close()
    assert verified == 11_000  # 10 * 1.2 is 12: every kept hop was checked
