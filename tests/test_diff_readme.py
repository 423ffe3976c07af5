"""The README shows the Markdown comment ``lineage diff`` makes for the demo's next release;
this test regenerates it from the tool (on both stores) and compares.

Run ``PYTHONPATH=$PWD python3 tests/test_diff_readme.py`` to rewrite the README's copy after
a deliberate change of the output.
"""

from __future__ import annotations

import re
import sys
import tempfile
from pathlib import Path

import pytest
from click.testing import CliRunner

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
START, END = "<!-- diff-example-start -->", "<!-- diff-example-end -->"
COMMAND = ["diff", "fixtures/demo/registry", "fixtures/demo/next-release", "--format", "markdown"]


def generated(db_url: str) -> str:
    """The comment for the demo's next release, as the README quotes it."""
    from lineage.cli import main  # noqa: PLC0415

    result = CliRunner().invoke(main, [*COMMAND, "--db", db_url])
    assert result.exit_code == 1, result.output  # two error-level changes
    quoted = [f"> {line}".rstrip() for line in result.stdout.rstrip("\n").splitlines()]
    return "\n".join([START, *quoted, END])


def in_readme() -> str:
    text = README.read_text(encoding="utf-8")
    match = re.search(re.escape(START) + r".*?" + re.escape(END), text, re.DOTALL)
    assert match, "the README lost its diff example markers"
    return match.group(0)


def test_readme_shows_the_markdown_the_tool_makes(
    db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from lineage.demo import load_demo  # noqa: PLC0415
    from lineage.store import open_store  # noqa: PLC0415

    store = open_store(db_url)
    try:
        load_demo(store)
    finally:
        store.close()
    monkeypatch.chdir(ROOT)
    expected = generated(db_url)
    assert in_readme() == expected
    assert "| ❌ | `system-of-record-moved` | 1 | fixtures/demo/next-release/portal.yaml:3 |" in (
        expected
    )
    assert "13 values would differ" in expected


def _rewrite() -> None:
    from lineage.demo import load_demo  # noqa: PLC0415
    from lineage.store import open_store  # noqa: PLC0415

    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{tmp}/lineage.db"
        store = open_store(url)
        load_demo(store)
        store.close()
        text = README.read_text(encoding="utf-8")
        README.write_text(text.replace(in_readme(), generated(url)), encoding="utf-8")


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    _rewrite()
