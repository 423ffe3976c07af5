"""``lineage diff`` and ``lineage check --base`` on real git repositories.

Each test commits the registry of ``tests/cases/diff/registry.yaml``, changes it one way,
commits again, and asks ``lineage diff HEAD~1 HEAD -- registry/`` what changed: the code,
the file and line (HEAD's, BASE's for removals) and the owners to ask.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from ruamel.yaml import YAML

from lineage.cli import main

CASES = Path(__file__).parent / "cases" / "diff"
REGISTRY = (CASES / "registry.yaml").read_text()
FILE = "registry/company.yaml"


def git(repo: Path, *args: str) -> str:
    done = subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True, text=True)
    return done.stdout


def commit(repo: Path, text: str, message: str) -> None:
    (repo / "registry").mkdir(exist_ok=True)
    (repo / FILE).write_text(text)
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", message)


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A git repository whose first commit holds the registry; the working directory."""
    root = tmp_path / "integrations"
    root.mkdir()
    git(root, "init", "-q", "-b", "main")
    git(root, "config", "user.email", "ci@example.com")
    git(root, "config", "user.name", "CI")
    git(root, "config", "commit.gpgsign", "false")
    commit(root, REGISTRY, "registry")
    monkeypatch.chdir(root)
    monkeypatch.delenv("LINEAGE_DATABASE_URL", raising=False)
    return root


def line_of(text: str, needle: str, after: str = "") -> int:
    """The 1-based line of the first ``needle`` at or after the line holding ``after``."""
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if after in line) if after else 0
    return next(i for i, line in enumerate(lines) if i >= start and needle in line) + 1


def diff_json(*args: str) -> tuple[int, list[dict[str, Any]]]:
    result = CliRunner().invoke(main, ["diff", "--format", "json", *args])
    assert result.exit_code in (0, 1), result.output
    return result.exit_code, json.loads(result.stdout)["findings"]


def changed(repo: Path, edit: Callable[[str], str]) -> tuple[str, int, list[dict[str, Any]]]:
    head = edit(REGISTRY)
    assert head != REGISTRY, "the edit changed nothing"
    commit(repo, head, "change")
    code, found = diff_json("HEAD~1", "HEAD", "--", "registry/")
    return head, code, found


def one(found: list[dict[str, Any]], code: str) -> dict[str, Any]:
    matching = [f for f in found if f["code"] == code]
    assert len(matching) == 1, [f["code"] for f in found]
    return matching[0]


def test_unchanged_registry_gives_nothing_and_exit_0(repo: Path) -> None:
    (repo / "README.md").write_text("docs only\n")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "docs")
    result = CliRunner().invoke(main, ["diff", "HEAD~1", "HEAD", "--", "registry/"])
    assert result.exit_code == 0
    assert result.stdout.strip() == "lineage diff: no findings"
    code, found = diff_json("HEAD~1", "HEAD", "--", "registry/")
    assert (code, found) == (0, [])


def test_system_of_record_moved_is_an_error_naming_every_owner(repo: Path) -> None:
    head, code, found = changed(
        repo, lambda t: t.replace("system_of_record: ERP", "system_of_record: BI")
    )
    change = one(found, "system-of-record-moved")
    assert code == 1
    assert change["severity"] == "error"
    assert change["location"] == {"file": FILE, "line": line_of(head, "- name: order.total")}
    assert change["evidence"]["owners"] == [
        "controller@example.com",
        "finance-systems@example.com",
        "data-team@example.com",
    ]
    assert (change["evidence"]["before"], change["evidence"]["after"]) == ("ERP", "BI")
    assert [f["code"] for f in found] == ["system-of-record-moved"]


def test_system_of_origin_moved_is_a_new_origin(repo: Path) -> None:
    head, code, found = changed(
        repo, lambda t: t.replace("system_of_origin: CRM", "system_of_origin: Shop")
    )
    change = one(found, "system-of-origin-moved")
    assert code == 0  # a warning: --fail-on error passes
    assert change["subject"]["element"] == "customer.address"
    assert change["location"]["line"] == line_of(head, "- name: customer.address")
    assert change["evidence"]["owners"] == [
        "carol@example.com",
        "sales-ops@example.com",
        "shop@example.com",
    ]


NEW_INTEGRATION = """
  - name: {name}
    source: {source}
    target: {target}
    owner: {owner}
    purpose: Added in the pull request
    carries:
      - element: order.total
"""


def _add_integration(text: str, **fields: str) -> str:
    block = NEW_INTEGRATION.format(**fields)
    return text.replace("\nwaivers:", block + "\nwaivers:")


def test_an_integration_into_a_system_already_fed_is_a_new_writer(repo: Path) -> None:
    head, _, found = changed(
        repo,
        lambda t: _add_integration(
            t, name="shop-to-bi-orders", source="Shop", target="BI", owner="sam@example.com"
        ),
    )
    change = one(found, "new-writer")
    assert change["subject"]["integration"] == "shop-to-bi-orders"
    assert change["subject"]["system"] == "BI"
    assert change["location"]["line"] == line_of(
        head, "- element: order.total", after="shop-to-bi-orders"
    )
    assert change["evidence"]["before"] == ["erp-to-bi-sales"]
    assert change["evidence"]["owners"] == [
        "sam@example.com",
        "controller@example.com",
        "data-team@example.com",
    ]
    assert "erp-to-bi-sales already feeds" in change["message"]


def test_an_integration_into_the_system_of_record_from_a_copy_is_backflow(repo: Path) -> None:
    head, code, found = changed(
        repo,
        lambda t: _add_integration(
            t, name="bi-to-erp-corrections", source="BI", target="ERP", owner="bianca@example.com"
        ),
    )
    change = one(found, "backflow-introduced")
    assert code == 1
    assert change["severity"] == "error"
    assert change["location"]["line"] == line_of(
        head, "- element: order.total", after="bi-to-erp-corrections"
    )
    assert change["evidence"]["owners"][:2] == ["bianca@example.com", "controller@example.com"]
    assert not [f for f in found if f["code"] == "new-writer"]
    assert one(found, "integration-added")["severity"] == "info"


def test_owner_removed_is_an_error_at_the_declaration(repo: Path) -> None:
    head, code, found = changed(
        repo,
        lambda t: t.replace(
            "    owner: bianca@example.com\n    purpose: Sales", "    purpose: Sales"
        ),
    )
    change = one(found, "owner-removed")
    assert code == 1
    assert change["subject"]["integration"] == "erp-to-bi-sales"
    assert change["location"]["line"] == line_of(head, "- name: erp-to-bi-sales")
    assert change["evidence"]["owners"][0] == "bianca@example.com"
    assert change["evidence"]["after"] is None


def test_owner_changed_on_a_system_asks_both_owners(repo: Path) -> None:
    head, code, found = changed(
        repo, lambda t: t.replace("finance-systems@example.com", "ledger@example.com")
    )
    change = one(found, "owner-changed")
    assert code == 0
    assert change["subject"]["system"] == "ERP"
    assert change["location"]["line"] == line_of(head, "- name: ERP")
    assert change["evidence"]["owners"] == ["ledger@example.com", "finance-systems@example.com"]


def test_transform_changed_points_at_the_carry(repo: Path) -> None:
    head, _, found = changed(repo, lambda t: t.replace("currency(rate=1.08)", "currency(rate=1.1)"))
    change = one(found, "transform-changed")
    assert change["location"]["line"] == line_of(head, "currency(rate=1.1)") - 1
    assert change["evidence"]["before"]["transform"] == "currency(rate=1.08)"
    assert change["evidence"]["after"]["transform"] == "currency(rate=1.1)"
    assert change["evidence"]["owners"][:2] == ["bianca@example.com", "controller@example.com"]
    assert change["evidence"]["blast"]["known"] is False
    assert [f["code"] for f in found] == ["transform-changed"]
    text = CliRunner().invoke(main, ["diff", "HEAD~1", "HEAD", "--", "registry/"])
    assert "no store given" in text.stderr
    assert "no store given" not in text.stdout


def test_an_integration_removed_points_at_base(repo: Path) -> None:
    start = REGISTRY.index("  - name: crm-to-erp-customers")
    end = REGISTRY.index("\nwaivers:")
    _, _, found = changed(repo, lambda t: t[:start] + t[end + 1 :])
    change = one(found, "integration-removed")
    assert change["location"] == {
        "file": FILE,
        "line": line_of(REGISTRY, "- name: crm-to-erp-customers"),
    }
    assert change["evidence"]["owners"][0] == "dave@example.com"


def test_an_element_removed_points_at_base_and_names_who_still_carries_it(repo: Path) -> None:
    start = REGISTRY.index("  - name: customer.address")
    end = REGISTRY.index("\nintegrations:")
    _, _, found = changed(repo, lambda t: t[:start] + t[end + 1 :])
    change = one(found, "element-removed")
    assert change["location"]["line"] == line_of(REGISTRY, "- name: customer.address")
    assert change["evidence"]["still_carried_by"] == ["crm-to-erp-customers"]
    assert change["evidence"]["owners"] == ["carol@example.com", "sales-ops@example.com"]


def test_rules_tightened_and_loosened(repo: Path) -> None:
    head, _, found = changed(
        repo, lambda t: t.replace("rules: [not_null, {min: 0}]", "rules: [{min: 1}]")
    )
    tightened = one(found, "rule-tightened")
    loosened = one(found, "rule-loosened")
    assert "raises min 0 -> 1" in tightened["message"]
    assert "drops not_null" in loosened["message"]
    line = line_of(head, "- name: order.total")
    assert tightened["location"]["line"] == loosened["location"]["line"] == line
    assert tightened["evidence"]["owners"][0] == "controller@example.com"


def test_waiver_extended_and_added(repo: Path) -> None:
    extra = """  - code: missing-fallback
    subject: {integration: shop-to-erp-orders}
    reason: Orders are re-sent by the shop
    owner: erin@example.com
"""
    head, _, found = changed(
        repo, lambda t: t.replace("expires: 2027-01-31", "expires: 2027-12-31") + extra
    )
    extended = one(found, "waiver-extended")
    added = one(found, "waiver-added")
    assert extended["location"]["line"] == line_of(head, "- code: missing-purpose")
    assert (extended["evidence"]["before"], extended["evidence"]["after"]) == (
        "2027-01-31",
        "2027-12-31",
    )
    assert extended["evidence"]["owners"] == ["bianca@example.com"]
    assert added["location"]["line"] == line_of(head, "- code: missing-fallback")
    assert added["evidence"]["owners"] == ["erin@example.com"]
    assert "no expiry" in added["message"]


def test_a_renamed_integration_is_one_change(repo: Path) -> None:
    head, code, found = changed(repo, lambda t: t.replace("erp-to-bi-sales", "erp-to-bi-revenue"))
    assert [f["code"] for f in found] == ["integration-renamed"]
    assert code == 0
    change = found[0]
    assert (change["evidence"]["before"], change["evidence"]["after"]) == (
        "erp-to-bi-sales",
        "erp-to-bi-revenue",
    )
    assert change["location"]["line"] == line_of(head, "- name: erp-to-bi-revenue")


def test_a_renamed_element_is_one_change_and_its_carries_follow(repo: Path) -> None:
    _, _, found = changed(repo, lambda t: t.replace("order.total", "order.amount"))
    assert [f["code"] for f in found] == ["element-renamed"]
    assert found[0]["subject"]["element"] == "order.amount"


def test_a_renamed_integration_with_a_new_owner_is_a_rename_and_an_owner_change(
    repo: Path,
) -> None:
    _, _, found = changed(
        repo,
        lambda t: t.replace("erp-to-bi-sales", "erp-to-bi-revenue").replace(
            "owner: bianca@example.com\n    purpose", "owner: bo@example.com\n    purpose"
        ),
    )
    assert sorted(f["code"] for f in found) == ["integration-renamed", "owner-changed"]


def test_a_revision_against_the_working_tree(repo: Path) -> None:
    (repo / FILE).write_text(REGISTRY.replace("type: decimal", "type: integer"))
    code, found = diff_json("HEAD", ".", "--", "registry")
    assert code == 0
    assert one(found, "type-changed")["location"] == {
        "file": FILE,
        "line": line_of(REGISTRY, "- name: order.total"),
    }


def test_check_base_reports_checks_and_changes_in_one_document(repo: Path) -> None:
    git(repo, "checkout", "-q", "-b", "feature")
    commit(repo, REGISTRY.replace("system_of_record: ERP", "system_of_record: BI"), "move")
    result = CliRunner().invoke(main, ["check", "registry", "--base", "main", "--format", "json"])
    assert result.exit_code == 1, result.output
    codes = [f["code"] for f in json.loads(result.stdout)["findings"]]
    assert "system-of-record-moved" in codes
    assert "backflow-into-system-of-record" in codes  # ERP -> BI is now a copy flowing home
    same = CliRunner().invoke(main, ["check", "registry", "--base", "feature"])
    assert "moved" not in same.stdout


def test_markdown_lists_a_summary_table_then_each_change_with_its_owners(repo: Path) -> None:
    commit(repo, REGISTRY.replace("system_of_record: ERP", "system_of_record: BI"), "move")
    result = CliRunner().invoke(
        main, ["diff", "HEAD~1", "HEAD", "--format", "markdown", "--", "registry/"]
    )
    assert result.exit_code == 1
    text = result.stdout
    assert text.startswith("<!-- lineage-report: lineage diff -->\n### lineage diff: 1 error")
    assert "| ❌ | `system-of-record-moved` | 1 | registry/company.yaml:17 |" in text
    assert (
        "Owners to ask: controller@example.com, finance-systems@example.com, "
        "data-team@example.com" in text
    )
    assert "no store was given" in text


@pytest.mark.parametrize("fmt", ["text", "junit", "sarif", "github"])
def test_every_format_names_the_change(repo: Path, fmt: str) -> None:
    commit(repo, REGISTRY.replace("currency(rate=1.08)", "round(0)"), "round")
    result = CliRunner().invoke(
        main, ["diff", "HEAD~1", "HEAD", "--format", fmt, "--fail-on", "warning", "--", "registry"]
    )
    assert result.exit_code == 1
    assert "transform-changed" in result.stdout
    if fmt == "sarif":
        rules = json.loads(result.stdout)["runs"][0]["tool"]["driver"]["rules"]
        assert "transform-changed" in [r["id"] for r in rules]


def test_unknown_side_is_one_line_and_exit_2(repo: Path) -> None:
    result = CliRunner().invoke(main, ["diff", "no-such-branch", "HEAD", "--", "registry"])
    assert result.exit_code == 2
    assert result.stderr.strip().splitlines() == [
        "lineage: 'no-such-branch' is neither a file or directory nor a git revision of the "
        "repository here: name a registry path, or a commit, branch or tag"
    ]


def test_a_broken_registry_at_base_names_file_line_and_revision(repo: Path) -> None:
    commit(repo, REGISTRY.replace("  - name: BI\n", "  - name: BI\n    colour: red\n"), "bad")
    commit(repo, REGISTRY, "fixed")
    result = CliRunner().invoke(main, ["diff", "HEAD~1", "HEAD", "--", "registry"])
    assert result.exit_code == 2
    message = result.stderr.strip()
    assert message.startswith(f"lineage: {FILE}:")
    assert "unknown key 'colour'" in message
    assert message.endswith("(at HEAD~1)")


def _hook() -> dict[str, Any]:
    root = Path(__file__).resolve().parent.parent
    hooks = YAML(typ="safe").load((root / ".pre-commit-hooks.yaml").read_text())
    found: dict[str, Any] = next(h for h in hooks if h["id"] == "lineage-diff")
    return found


def test_the_pre_commit_diff_hook_refuses_a_commit_that_drops_an_owner(repo: Path) -> None:
    hook = _hook()
    assert re.compile(hook["files"]).search(FILE)
    entry = hook["entry"].split()
    assert entry[0] == "lineage"
    command = [sys.executable, "-m", "lineage", *entry[1:], *hook["args"]]
    clean = subprocess.run(command, cwd=repo, capture_output=True, text=True, check=False)
    assert clean.returncode == 0, clean.stderr
    (repo / FILE).write_text(REGISTRY.replace("    owner: dave@example.com\n", ""))
    git(repo, "add", FILE)
    staged = subprocess.run(command, cwd=repo, capture_output=True, text=True, check=False)
    assert staged.returncode == 1
    assert f"{FILE}:" in staged.stdout
    assert "owner-removed integration 'crm-to-erp-customers'" in staged.stdout


def test_markdown_escapes_names_that_could_break_the_comment() -> None:
    from lineage.diff.codes import change  # noqa: PLC0415
    from lineage.diff.markdown import render_markdown  # noqa: PLC0415

    found = change(
        "owner-changed",
        "system 'a|b<script>' changes owner",
        owners=["x@example.com"],
        location=None,
        system="a|b<script>",
    )
    text = render_markdown([found])
    # as text it is escaped; as a place it stands in a code span, which shows it literally
    assert "a\\|b&lt;script&gt;" in text
    assert text.count("<script>") == text.count("`a|b<script>`") == 1
    table = [line for line in text.splitlines() if line.startswith("| ")]
    assert all(line.count(" | ") == 3 for line in table[1:]), table


def test_machine_formats_still_get_one_document_when_a_side_cannot_be_read(repo: Path) -> None:
    result = CliRunner().invoke(
        main, ["diff", "--format", "json", "no-such-branch", "HEAD", "--", "registry"]
    )
    assert result.exit_code == 2
    [finding] = json.loads(result.stdout)["findings"]
    assert finding["code"] == "unreadable-registry"
    assert "neither a file or directory nor a git revision" in finding["message"]
    check = CliRunner().invoke(
        main, ["check", "registry", "--base", "no-such-branch", "--format", "sarif"]
    )
    assert check.exit_code == 2
    assert json.loads(check.stdout)["runs"][0]["results"][0]["ruleId"] == "unreadable-registry"


def test_declarations_moved_between_files_are_no_change(repo: Path) -> None:
    start = REGISTRY.index("waivers:")
    (repo / FILE).write_text(REGISTRY[:start])
    (repo / "registry" / "waivers.yaml").write_text(REGISTRY[start:])
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "split")
    assert diff_json("HEAD~1", "HEAD", "--", "registry/") == (0, [])


def test_a_registry_new_at_head_is_all_additions(repo: Path) -> None:
    (repo / "teams").mkdir()
    (repo / "teams" / "bi.yaml").write_text(
        "systems:\n  - name: BI\n    owner: data-team@example.com\n"
    )
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "teams")
    code, found = diff_json("HEAD~1", "HEAD", "--", "teams")
    assert code == 0
    assert [(f["code"], f["location"]) for f in found] == [
        ("system-added", {"file": "teams/bi.yaml", "line": 2})
    ]
