"""A fresh clone with nothing beside it runs its tests: nothing in the repository reads
``../shared``, and the OpenLineage corpus the tests use is the copy in the repository."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
COPY = ROOT / "tests" / "conformance" / "openlineage"


def _tracked() -> list[str]:
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    if listed.returncode != 0:
        pytest.skip("not a git checkout: no list of the repository's files")
    return [name for name in listed.stdout.splitlines() if (ROOT / name).is_file()]


def test_no_file_of_the_repository_reads_outside_it() -> None:
    offenders = []
    for name in _tracked():
        if name.startswith("tests/conformance/") or name == "tests/test_self_contained.py":
            continue
        text = (ROOT / name).read_text(errors="replace")
        if "../shared" in text or "/work/shared" in text or '/ "shared" /' in text:
            offenders.append(name)
    assert offenders == []


def test_the_corpus_is_in_the_repository_with_its_origin_and_licence() -> None:
    assert len(list(COPY.glob("*.jsonl"))) >= 10
    assert (COPY / "spec" / "OpenLineage.json").is_file()
    origin = (COPY / "ORIGIN.md").read_text()
    assert "OpenLineage" in origin and "Apache License, Version 2.0" in origin
    assert "Apache License" in (COPY / "LICENSE-Apache-2.0").read_text()


def test_the_tests_read_the_copy_unless_told_otherwise(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "LINEAGE_CONFORMANCE_DIR"}
    code = "import corpus; print(corpus.CONFORMANCE); print(len(corpus.CORPUS))"
    default = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT / "tests",
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    where, count = default.stdout.split()
    assert Path(where) == COPY and int(count) >= 10
    elsewhere = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT / "tests",
        env={**env, "LINEAGE_CONFORMANCE_DIR": str(tmp_path)},
        capture_output=True,
        text=True,
        check=True,
    )
    assert elsewhere.stdout.split() == [str(tmp_path), "0"]


@pytest.mark.slow
def test_a_clone_alone_passes_the_corpus_tests(tmp_path: Path) -> None:
    # The repository's files and nothing else, in a directory with no ../shared beside it.
    clone = tmp_path / "alone" / "lineage"
    for name in _tracked():
        target = clone / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / name, target)
    env = {k: v for k, v in os.environ.items() if k != "LINEAGE_CONFORMANCE_DIR"}
    env["PYTHONPATH"] = str(clone)
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "-p",
            "no:xdist",
            "-k",
            "corpus",
            "tests/test_openlineage.py",
            "tests/test_http_openlineage.py",
        ],
        cwd=clone,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert run.returncode == 0, run.stdout[-3000:]
    assert " passed" in run.stdout
