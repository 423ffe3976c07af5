"""Registry files a careless or hostile author writes: one line with file and line, exit 2.

Python tags, deep nesting, durations and numbers too large for anything, year 0 dates and
rule bounds that are not finite numbers used to give tracebacks, or to pass ``check`` and
then break every later command once loaded.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from recording import REGISTRY, hop_event, jsonl, write_registry

from lineage.cli import main
from lineage.store import open_store

DECIMAL_TYPE = "    type: decimal\n"
CARRIES = "    carries:\n      - {element: order.total, transform: multiply(1.2)}\n"
WAIVER = """\
waivers:
  - code: missing-fallback
    subject: {integration: erp-to-bi}
    reason: rebuilt nightly
    owner: bi@example.com
    expires: 0000-01-01
"""


def changed(old: str, new: str) -> str:
    assert old in REGISTRY
    return REGISTRY.replace(old, new, 1)


def line_of(text: str, needle: str) -> int:
    return text[: text.index(needle)].count("\n") + 1


# (registry text, the text on the line the error must name, what the message must say)
HOSTILE = {
    "python-tag": (
        REGISTRY + "lookups:\n  t: !!python/object/apply:os.system ['echo owned']\n",
        "!!python",
        "tag !!python/object/apply:os.system is not allowed",
    ),
    "custom-tag": (
        changed(DECIMAL_TYPE, DECIMAL_TYPE + "    description: !shell rm -rf /\n"),
        "!shell",
        "tag !shell is not allowed",
    ),
    "deep-flow": (
        changed(DECIMAL_TYPE, DECIMAL_TYPE + "    description: " + "[" * 3000 + "]" * 3000 + "\n"),
        "[[[",
        "nested deeper than 50 levels",
    ),
    "deep-mapping": (
        changed(
            DECIMAL_TYPE, DECIMAL_TYPE + "    description: " + "{a: " * 60 + "1" + "}" * 60 + "\n"
        ),
        "{a: ",
        "nested deeper than 50 levels",
    ),
    "huge-duration": (
        changed(CARRIES, "    timeout: 99999999999999999999w\n" + CARRIES),
        "timeout:",
        "is too long",
    ),
    "huge-seconds": (
        changed(CARRIES, "    timeout: 99999999999999999999\n" + CARRIES),
        "timeout:",
        "999,999,999 days",
    ),
    "5000-digit-integer": (
        changed(DECIMAL_TYPE, DECIMAL_TYPE + "    rules: [{max: " + "9" * 5000 + "}]\n"),
        "rules:",
        "5000 digits",
    ),
    "year-0": (REGISTRY + WAIVER, "expires:", "year 0 is out of range"),
    "rule-min-1e999999": (
        changed(DECIMAL_TYPE, DECIMAL_TYPE + "    rules: [{min: 1e999999}]\n"),
        "rules:",
        "rule min takes a finite number",
    ),
    "rule-nan": (
        changed(DECIMAL_TYPE, DECIMAL_TYPE + "    rules: [{min: .nan}]\n"),
        "rules:",
        "rule min takes a finite number",
    ),
    "rule-infinity": (
        changed(DECIMAL_TYPE, DECIMAL_TYPE + "    rules: [{max: -.inf}]\n"),
        "rules:",
        "rule max takes a finite number",
    ),
}


@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_check_answers_a_hostile_registry_with_one_line_naming_file_and_line(
    runner: CliRunner, tmp_path: Path, case: str
) -> None:
    text, needle, message = HOSTILE[case]
    path = write_registry(tmp_path, text)
    result = runner.invoke(main, ["check", str(path)])
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    assert len(result.stderr.splitlines()) == 1, result.stderr
    assert result.stderr.startswith(f"lineage: {path}:{line_of(text, needle)}: "), result.stderr
    assert message in result.stderr


@pytest.mark.parametrize("case", ["python-tag", "rule-nan", "huge-duration"])
def test_load_refuses_a_hostile_registry_and_stores_nothing(
    runner: CliRunner, db_url: str, tmp_path: Path, case: str
) -> None:
    text, needle, _ = HOSTILE[case]
    path = write_registry(tmp_path, text)
    result = runner.invoke(main, ["load", str(path), "--db", db_url])
    assert result.exit_code == 2
    assert result.stderr.startswith(f"lineage: {path}:{line_of(text, needle)}: ")
    store = open_store(db_url)
    try:
        assert store.registry_versions() == 0
    finally:
        store.close()


def test_the_longest_timeout_a_registry_may_declare_keeps_later_commands_working(
    runner: CliRunner, db_url: str, tmp_path: Path
) -> None:
    text = changed(CARRIES, "    timeout: 999999999d\n" + CARRIES)
    path = write_registry(tmp_path, text)
    assert runner.invoke(main, ["check", str(path)]).exit_code == 0
    assert runner.invoke(main, ["load", str(path), "--db", db_url]).exit_code == 0
    events = tmp_path / "events.jsonl"
    events.write_text(jsonl(hop_event("h-1", status="sent")), encoding="utf-8")
    assert runner.invoke(main, ["ingest", str(events), "--db", db_url]).exit_code == 0
    for command in (["scan"], ["audit"], ["digest"], ["trace", "BI", "order.total", "R-40017"]):
        result = runner.invoke(main, [*command, "--format", "json", "--db", db_url])
        assert result.exit_code in (0, 1), (command, result.output)
        json.loads(result.stdout)
