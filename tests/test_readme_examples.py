"""Every ``lineage ...`` command line of the README runs on the demo company.

The command lines are read from the README's shell code blocks (```sh, ```console: the ``$``
lines) and from the demo's "where to look first" list, then run as a user runs them in a
folder where ``lineage demo --no-serve`` made the default store, beside the repository's
files (``fixtures/``, ``tests/``) as in a clone. Each must exit 0 or 1 (an answer, or
findings), never 2 and never with a traceback; an example whose shown output is an error line
(``lineage: ...``) must exit 2 with exactly that line. ``serve`` and ``demo`` are not run
(they serve, or made the store).
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
SHELL_BLOCKS = ("sh", "console", "bash", "shell")
NOT_RUN = {"serve", "demo"}
OPERATORS = {"|", "||", "&&", ";", "&"}
REDIRECTS = {">", ">>", "<", "2>", "2>&1"}


@dataclass(frozen=True)
class Example:
    line: int
    argv: tuple[str, ...]
    shown_error: str | None  # the error line the README shows under the command, if any

    def __str__(self) -> str:
        return f"README.md:{self.line}: {shlex.join(self.argv)}"


def _commands(text: str) -> list[list[str]]:
    """The ``lineage`` invocations of one shell line (pipes, && and redirections undone)."""
    lexer = shlex.shlex(text, posix=True, punctuation_chars=True)
    lexer.whitespace_split = True
    lexer.commenters = "#"
    tokens = list(lexer)
    found: list[list[str]] = []
    current: list[str] = []
    for token in [*tokens, ";"]:
        if token in OPERATORS:
            if current and current[0] == "lineage":
                found.append(current)
            current = []
        else:
            current.append(token)
    cleaned = []
    for argv in found:
        out: list[str] = []
        skip = False
        for token in argv:
            if skip:
                skip = False
            elif token in REDIRECTS:
                skip = token != "2>&1"
            else:
                out.append(token)
        cleaned.append(out)
    return cleaned


def readme_examples() -> list[Example]:
    text = README.read_text(encoding="utf-8")
    examples: list[Example] = []
    for block in re.finditer(r"^```(\w*)\n(.*?)^```", text, re.S | re.M):
        lang, body = block.group(1), block.group(2)
        first = text[: block.start(2)].count("\n") + 1
        lines = body.splitlines()
        for index, raw in enumerate(lines):
            number = first + index
            if lang == "console":
                if not raw.startswith("$ "):
                    continue
                command = raw[2:]
                after = lines[index + 1] if index + 1 < len(lines) else ""
                shown = after if after.startswith("lineage: ") else None
            elif lang in SHELL_BLOCKS:
                if raw.startswith((" ", "#")) or not re.search(r"(?:^|[\s|&;])lineage\s", raw):
                    continue
                command, shown = raw.removesuffix("\\"), None
            elif lang == "":
                # the demo's "where to look first": `lineage ...` then two spaces and a note
                match = re.match(r"^\s+(lineage [^\s].*?)\s{2,}\S", raw)
                if not match:
                    continue
                command, shown = match.group(1), None
            else:
                continue
            for argv in _commands(command):
                if len(argv) > 1 and argv[1] not in NOT_RUN:
                    examples.append(Example(number, tuple(argv), shown))
    return examples


EXAMPLES = readme_examples()


def test_the_readme_examples_are_found() -> None:
    commands = {example.argv[1] for example in EXAMPLES}
    assert commands >= {"load", "ingest", "stats", "trace", "impact", "golden", "scan"}
    assert commands >= {"digest", "audit", "diff"}
    assert len(EXAMPLES) >= 20
    assert any(example.shown_error for example in EXAMPLES)


@pytest.fixture(scope="module")
def clone(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder like a user's clone after ``lineage demo --no-serve``."""
    where = tmp_path_factory.mktemp("readme")
    for name in ("lineage", "webapp", "fixtures", "tests"):
        (where / name).symlink_to(ROOT / name, target_is_directory=True)
    made = run(where, ("lineage", "demo", "--no-serve"))
    assert made.returncode == 0, made.stderr
    return where


def _expanded(cwd: Path, argv: tuple[str, ...]) -> list[str]:
    """``argv`` with its globs expanded in ``cwd`` as a shell expands them (one matching
    nothing stays as written)."""
    out: list[str] = []
    for arg in argv:
        found = sorted(str(p.relative_to(cwd)) for p in cwd.glob(arg)) if "*" in arg else []
        out += found or [arg]
    return out


def run(cwd: Path, argv: tuple[str, ...]) -> subprocess.CompletedProcess[str]:
    argv = tuple(_expanded(cwd, argv))
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    for name in ("LINEAGE_DATABASE_URL", "LINEAGE_API_TOKEN"):
        env.pop(name, None)
    return subprocess.run(
        [sys.executable, "-m", "lineage", *argv[1:]],
        cwd=cwd,
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def test_every_example_runs_on_the_demo(clone: Path) -> None:
    # In README order, in one folder: later examples use what earlier ones made (week.db).
    failures = []
    for example in EXAMPLES:
        result = run(clone, example.argv)
        if "Traceback" in result.stderr:
            failures.append(f"{example}: traceback\n{result.stderr[-1500:]}")
        elif example.shown_error is not None:
            if result.returncode != 2 or result.stderr.strip() != example.shown_error:
                failures.append(
                    f"{example}: exit {result.returncode}, README shows\n  {example.shown_error}"
                    f"\nbut it printed\n  {result.stderr.strip()}"
                )
        elif result.returncode not in (0, 1):
            failures.append(f"{example}: exit {result.returncode}: {result.stderr.strip()}")
    assert failures == [], "\n".join(failures)
