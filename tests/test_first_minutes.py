"""The first ten minutes, from the outside: the ``lineage`` command run as a user runs it.

A store that does not exist is never created by a command that only reads; a filter naming
nothing known is an error listing what exists; ``check`` writes a valid document in every
machine format even when the registry cannot be read; stdin is read without deprecated click
calls (warnings are errors here).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import click
import jsonschema
import pytest
from lxml import etree
from sqlalchemy import inspect

from lineage.cli import main
from lineage.store import open_store

ROOT = Path(__file__).resolve().parent.parent
SCHEMAS = ROOT / "tests" / "schemas"
READING = [
    ["stats"],
    ["scan"],
    ["digest"],
    ["audit"],
    ["health"],
    ["trace", "BI", "order.total", "R-17"],
    ["impact", "ERP", "customer.address", "10233"],
    ["golden", "ERP", "40017"],
    ["export", "prov"],
    ["webhook", "--status"],
]


def lineage(
    *args: str, cwd: Path | None = None, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("LINEAGE_DATABASE_URL", None)
    return subprocess.run(
        [sys.executable, "-W", "error", "-m", "lineage", *args],
        cwd=cwd,
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def one_line(result: subprocess.CompletedProcess[str]) -> str:
    assert "Traceback" not in result.stderr
    [line] = result.stderr.splitlines()
    assert line.startswith("lineage: ")
    return line


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> str:
    where = tmp_path_factory.mktemp("demo")
    loaded = lineage("demo", "--no-serve", cwd=where)
    assert loaded.returncode == 0, loaded.stderr
    return str(where / "lineage.db")


# --- a store that does not exist --------------------------------------------------------------


def test_every_command_is_judged_as_reading_or_writing() -> None:
    # A new command is added here: reading ones must refuse a missing store (below).
    writing = {"load", "ingest", "demo", "serve"}
    no_store = {"check", "diff"}  # --db is optional; covered by the diff test below
    commands = set(main.list_commands(click.Context(main)))
    assert commands - writing - no_store == {command[0] for command in READING}


@pytest.mark.parametrize("command", READING, ids=lambda c: c[0])
def test_a_reading_command_on_a_missing_store_exits_2_and_creates_nothing(
    command: list[str], tmp_path: Path
) -> None:
    missing = tmp_path / "typo.db"
    result = lineage(*command, "--db", str(missing))
    assert result.returncode == 2
    assert result.stdout == ""
    line = one_line(result)
    assert f"no store at {missing}: the file does not exist" in line
    assert "lineage load" in line
    assert not missing.exists()


def test_diff_and_check_base_with_a_missing_store_exit_2(tmp_path: Path) -> None:
    # Blast radius read from an empty store made by mistake would say "0 hops affected".
    missing = tmp_path / "typo.db"
    registry = str(ROOT / "fixtures" / "demo" / "registry")
    release = str(ROOT / "fixtures" / "demo" / "next-release")
    for args in (
        ["diff", registry, release, "--db", str(missing)],
        ["check", release, "--base", registry, "--db", str(missing)],
    ):
        result = lineage(*args)
        assert result.returncode == 2, result.stdout[-500:]
        assert f"no store at {missing}" in one_line(result)
        assert not missing.exists()


def test_the_default_store_missing_in_this_folder_is_named(tmp_path: Path) -> None:
    result = lineage("scan", cwd=tmp_path)
    assert result.returncode == 2
    assert "no store at lineage.db" in one_line(result)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.postgres
def test_a_postgresql_database_without_a_store_is_not_made_one(postgres_url: str) -> None:
    result = lineage("scan", "--db", postgres_url)
    assert result.returncode == 2
    assert "the database holds no lineage store" in one_line(result)
    store = open_store(postgres_url, migrate=False)
    try:
        with store.engine.connect() as conn:  # still empty: the read made no store of it
            assert not inspect(conn).has_table("registry_versions")
    finally:
        store.close()


def test_writing_commands_still_create_the_store(tmp_path: Path) -> None:
    new = tmp_path / "new.db"
    event = {
        "kind": "write",
        "system": "CRM",
        "element": "customer.address",
        "record": "C-1",
        "value": "12 Main St",
        "at": "2026-11-20T09:00:00Z",
    }
    # stdin read with click.open_file: no deprecation warning on click 8.5 (-W error).
    result = lineage("ingest", "-", "--db", str(new), stdin=json.dumps(event) + "\n")
    assert result.returncode == 0, result.stderr
    assert "ingested <stdin>: 1 accepted" in result.stdout
    stats = lineage("stats", "--format", "json", "--db", str(new))
    assert json.loads(stats.stdout)["events"]["write"] == 1


# --- filters naming nothing known -------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["scan", "--system", "Nope"], "--system 'Nope' names no system this store knows; "
         "known systems: Bank, BI, CRM, ERP, Portal, Shop, Tax, WMS"),
        (["scan", "--system", "erp"], "did you mean 'ERP'? (names are case-sensitive)"),
        (["scan", "--element", "order.totl"], "--element 'order.totl' names no element this "
         "store knows; nearest of the 20 known elements: order.total"),
        (["scan", "--integration", "erp-to-bi"], "--integration 'erp-to-bi' names no "
         "integration this store knows; nearest of the 15 known integrations: erp-to-bi-sales"),
        (["scan", "--owner", "nobody"], "--owner 'nobody' names no owner this store knows"),
        (["digest", "--owner", "nobody"], "--owner 'nobody' names no owner this store knows"),
        (["trace", "Nope", "order.total", "R-17"], "system 'Nope' names no system"),
        (["impact", "ERP", "customer.adress", "10233"], "nearest of the 20 known elements: "
         "customer.address"),
        (["golden", "Nope", "40017"], "known systems: Bank, BI, CRM"),
        (["export", "prov", "BI", "order.totl", "R-17"], "nearest of the 20 known elements"),
    ],
    ids=lambda v: "-".join(v) if isinstance(v, list) else "",
)  # fmt: skip
def test_a_filter_naming_nothing_known_exits_2_saying_what_exists(
    demo: str, args: list[str], says: str
) -> None:
    result = lineage(*args, "--db", demo)
    assert result.returncode == 2
    assert result.stdout == ""
    assert says in one_line(result)


def test_owners_are_listed_when_none_is_near(demo: str) -> None:
    line = one_line(lineage("digest", "--owner", "nobody", "--db", demo))
    assert "owners are known, none near it; first: bianca@example.com" in line


def test_a_known_filter_still_answers(demo: str) -> None:
    result = lineage("scan", "--integration", "erp-to-bi-sales", "--format", "json", "--db", demo)
    assert result.returncode == 1
    findings = json.loads(result.stdout)["findings"]
    assert findings
    assert {f["subject"]["integration"] for f in findings} == {"erp-to-bi-sales"}
    # a system that only events name (no declaration) is known too
    owned = lineage("scan", "--owner", "(unowned)", "--system", "BI", "--db", demo)
    assert owned.returncode in (0, 1)
    assert owned.stderr == ""


def test_a_wrong_record_key_keeps_its_own_message(demo: str) -> None:
    line = one_line(lineage("trace", "BI", "order.total", "NOPE", "--db", demo))
    assert "no value recorded for BI/order.total/NOPE" in line


# --- check on a registry that cannot be read --------------------------------------------------

UNKNOWN_KEY = "systems:\n  - name: CRM\n    ownr: sales@example.com\n"
BAD_YAML = "systems:\n  - name: CRM\n    owner: [sales@example.com\n"


@pytest.fixture(params=["unknown-key", "bad-yaml"])
def unreadable(request: pytest.FixtureRequest, tmp_path: Path) -> tuple[Path, int]:
    path = tmp_path / "registry.yaml"
    path.write_text(UNKNOWN_KEY if request.param == "unknown-key" else BAD_YAML)
    return path, 3 if request.param == "unknown-key" else 4


def test_check_text_keeps_one_line_on_stderr(unreadable: tuple[Path, int]) -> None:
    path, _ = unreadable
    result = lineage("check", str(path))
    assert result.returncode == 2
    assert result.stdout == ""
    assert one_line(result).startswith(f"lineage: {path}:")


@pytest.mark.parametrize("fmt", ["json", "sarif", "junit", "github"])
def test_check_writes_a_valid_document_naming_file_and_line(
    unreadable: tuple[Path, int], fmt: str
) -> None:
    path, line = unreadable
    result = lineage("check", str(path), "--format", fmt)
    assert result.returncode == 2
    assert one_line(result).startswith(f"lineage: {path}:")
    out = result.stdout
    if fmt == "json":
        [finding] = json.loads(out)["findings"]
        assert finding["code"] == "unreadable-registry"
        assert finding["severity"] == "error"
        assert finding["location"]["file"] == str(path)
        assert finding["location"]["line"] == line
    elif fmt == "sarif":
        sarif = json.loads(out)
        schema = json.loads((SCHEMAS / "sarif" / "sarif-schema-2.1.0.json").read_text())
        jsonschema.validators.validator_for(schema)(schema).validate(sarif)
        [run] = sarif["runs"]
        [res] = run["results"]
        assert res["ruleId"] == "unreadable-registry" and res["level"] == "error"
        region = res["locations"][0]["physicalLocation"]
        assert region["artifactLocation"]["uri"].endswith("registry.yaml")
        assert region["region"]["startLine"] == line
        assert "unreadable-registry" in {rule["id"] for rule in run["tool"]["driver"]["rules"]}
    elif fmt == "junit":
        xsd = etree.XMLSchema(etree.parse(str(SCHEMAS / "junit" / "junit-10.xsd")))
        xsd.assertValid(etree.fromstring(out.encode()))
        root = ET.fromstring(out)
        assert root.get("failures") == "1"
        [failure] = root.iter("failure")
        assert "unreadable-registry" in (failure.text or "")
    else:
        [annotation] = out.splitlines()
        match = re.match(r"::error file=(.+?),line=(\d+),title=unreadable-registry::", annotation)
        assert match and match.group(1) == str(path) and int(match.group(2)) == line


def test_check_on_a_missing_file_still_writes_its_document(tmp_path: Path) -> None:
    missing = tmp_path / "nope.yaml"
    result = lineage("check", str(missing), "--format", "json")
    assert result.returncode == 2
    [finding] = json.loads(result.stdout)["findings"]
    assert finding["code"] == "unreadable-registry"
    assert finding["location"]["file"] == str(missing)


# --- pip install . alone ----------------------------------------------------------------------


@pytest.mark.slow
def test_pip_install_alone_gives_a_working_demo(tmp_path: Path) -> None:
    # A fresh environment (dependencies from the system's site-packages), the project
    # installed from a wheel, not editable; run from a folder with nothing of the repository.
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", str(venv)], check=True)
    python = venv / "bin" / "python"
    installed = subprocess.run(
        [str(python), "-m", "pip", "install", "-q", "--no-deps", str(ROOT)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert installed.returncode == 0, installed.stderr[-3000:]
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "LINEAGE_DATABASE_URL")}
    where = tmp_path / "elsewhere"
    where.mkdir()

    def tool(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(venv / "bin" / "lineage"), *args],
            cwd=where,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )

    origin = subprocess.run(
        [str(python), "-c", "import lineage, webapp; print(lineage.__file__, webapp.__file__)"],
        cwd=where,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    assert all(path.startswith(str(venv)) for path in origin.stdout.split())
    demo = tool("demo", "--no-serve")
    assert demo.returncode == 0, demo.stderr
    assert "Loaded Lumen & Co., the demo company" in demo.stdout
    trace = tool("trace", "BI", "order.total", "R-17")
    assert trace.returncode == 0, trace.stderr
    assert "root cause: unexplained-transformation at h-0225" in trace.stdout
    page = tool("export", "dot")
    assert page.returncode == 0 and page.stdout.startswith("digraph")
