"""A plain ``pip install .`` (not only an editable one) must carry everything the tool reads:
templates, static files, migrations and the demo company."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.slow
def test_the_wheel_carries_every_file_the_tool_reads(tmp_path: Path) -> None:
    tracked = subprocess.run(
        ["git", "ls-files", "lineage", "webapp"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    if tracked.returncode != 0:
        pytest.skip("not a git checkout: no list of tracked files to compare with")
    build = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "-q",
            "-w",
            str(tmp_path),
            str(ROOT),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert build.returncode == 0, build.stderr
    (wheel,) = tmp_path.glob("lineage-*.whl")
    shipped = set(zipfile.ZipFile(wheel).namelist())
    missing = [name for name in tracked.stdout.split() if name not in shipped]
    assert missing == []
