"""The public names of ``lineage`` are pinned: removing one breaks users' code."""

from __future__ import annotations

import subprocess
import sys

import lineage

PUBLIC = {
    "ConflictError",
    "EventError",
    "Finding",
    "Hop",
    "InputError",
    "LineageError",
    "NotFoundError",
    "Recorder",
    "Registry",
    "RegistryError",
    "Severity",
    "Snapshot",
    "Store",
    "StoreError",
    "TransformError",
    "Write",
    "check_registry",
    "diff_registries",
    "golden",
    "impact",
    "load_registry",
    "open_store",
    "parse_transform",
    "register_transform",
    "scan",
    "trace",
}


def test_all_lists_exactly_the_public_names() -> None:
    assert set(lineage.__all__) == PUBLIC


def test_every_public_name_resolves() -> None:
    for name in lineage.__all__:
        assert getattr(lineage, name) is not None, name


def test_the_ci_gate_starts_without_the_database_layer() -> None:
    code = (
        "import sys, lineage.cli, lineage.cli.check; "
        "heavy = [m for m in ('sqlalchemy', 'alembic', 'flask') if m in sys.modules]; "
        "print(','.join(heavy))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert out == ""
