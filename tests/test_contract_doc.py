"""docs/CONTRACT.md is the contract kept in the repository: it names every finding code (with
its severity), every command and every HTTP route the code has, its examples are accepted by
the code, and the README points at it instead of a design file the repository lacks."""

from __future__ import annotations

import json
import re
from pathlib import Path

import click
import pytest
from click.testing import CliRunner
from flask.testing import FlaskClient

from lineage.cli import main
from lineage.diff import DIFF_CODES
from lineage.model.findings import CODES

ROOT = Path(__file__).resolve().parent.parent
CONTRACT = ROOT / "docs" / "CONTRACT.md"
README = ROOT / "README.md"


def text() -> str:
    return CONTRACT.read_text(encoding="utf-8")


def code_rows() -> dict[str, str]:
    """``| `code` | severity | ...`` rows of the code tables: code -> severity."""
    return dict(re.findall(r"^\| `([a-z-]+)` \| (error|warning|info) \|", text(), re.M))


def test_every_finding_code_is_documented_with_its_severity() -> None:
    rows = code_rows()
    for code, info in {**CODES, **DIFF_CODES}.items():
        assert code in rows, f"document finding code {code!r} in docs/CONTRACT.md section 3"
        assert rows[code] == info.severity.value, code


def test_no_documented_code_is_unknown_to_the_code() -> None:
    assert set(code_rows()) <= set(CODES) | set(DIFF_CODES)


def test_every_command_is_in_the_command_table() -> None:
    section = text().split("## 5. Command line", 1)[1].split("## 6.", 1)[0]
    listed = set(re.findall(r"^\| `lineage ([a-z]+)", section, re.M))
    assert listed == set(main.list_commands(click.Context(main)))


def test_every_http_route_is_documented(client: FlaskClient) -> None:
    section = text().split("## 6. HTTP", 1)[1].split("## 7.", 1)[0]
    paths = client.get("/api/v1/openapi.json").get_json()["paths"]
    for path, operations in paths.items():
        if not path.startswith("/api/"):
            shown = re.sub(r"\{(\w+)\}", r"<\1>", path)
            assert f"`{shown}" in section, path
            continue
        documented = re.sub(r"\{(\w+)\}", r"<\1>", path)
        documented = re.sub(r"\.(svg|dot)$", "", documented)
        for method in operations:
            assert f"`{method.upper()} {documented}" in section, f"{method.upper()} {path}"


def _block(lang: str, after: str) -> str:
    start = text().index(after)
    match = re.search(rf"```{lang}\n(.*?)```", text()[start:], re.S)
    assert match
    return match.group(1)


def test_the_registry_example_is_a_registry_check_reads(tmp_path: Path) -> None:
    path = tmp_path / "registry.yaml"
    path.write_text(_block("yaml", "## 1. The registry"), encoding="utf-8")
    result = CliRunner().invoke(main, ["check", str(path), "--format", "json"])
    assert result.exit_code in (0, 1), result.output
    codes = {f["code"] for f in json.loads(result.stdout)["findings"]}
    assert "unreadable-registry" not in codes


def test_the_event_examples_are_recorded(tmp_path: Path) -> None:
    events = tmp_path / "events.jsonl"
    lines = _block("json", "## 2. Runtime events").replace("\n ", " ").strip()
    events.write_text(lines + "\n", encoding="utf-8")
    assert len(lines.splitlines()) == 3
    db = f"sqlite:///{tmp_path / 'lineage.db'}"
    result = CliRunner().invoke(main, ["ingest", str(events), "--db", db])
    assert result.exit_code == 0, result.output
    assert "3 accepted" in result.stdout


@pytest.mark.parametrize("path", [README, *sorted((ROOT / "docs").glob("*.md"))])
def test_the_docs_cite_no_design_file_the_repository_lacks(path: Path) -> None:
    body = path.read_text(encoding="utf-8")
    if path == CONTRACT:
        body = body.split("*Origin*", 1)[0]
    assert "DESIGN.md" not in body
    if path == README:
        assert "(docs/CONTRACT.md)" in body
