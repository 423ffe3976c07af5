"""The registry: read declarations from YAML (with file and line) and check them.

>>> registry = load_registry(["fixtures/demo/registry"])  # doctest: +SKIP
>>> [f.code for f in check_registry(registry) if f.severity == "error"]  # doctest: +SKIP
[]
"""

from __future__ import annotations

import datetime as dt

from ..model.findings import CODES, Finding
from ..model.registry import Registry
from .checks import CHECKS as CHECKS
from .checks import run_checks as run_checks
from .loader import load_registry as load_registry
from .waivers import apply_waivers as apply_waivers

REGISTRY_CODES: frozenset[str] = frozenset(code for code, info in CODES.items() if info.registry)
"""The finding codes ``lineage check`` reports (waivers for other codes are left to scan)."""


def check_registry_waived(
    registry: Registry, *, today: dt.date | None = None
) -> tuple[list[Finding], list[Finding]]:
    """Like :func:`check_registry`, but also return the findings waivers silenced."""
    kept, waived = apply_waivers(
        run_checks(registry), registry.waivers, today, codes=REGISTRY_CODES
    )
    return sorted(kept, key=Finding.sort_key), waived


def check_registry(registry: Registry, *, today: dt.date | None = None) -> list[Finding]:
    """Every registry finding (CONTRACT.md §3-4) after waivers, sorted by severity, file and line.

    Args:
        registry: the merged declarations, as :func:`load_registry` reads them.
        today: the date waiver expiry is judged on (default: today).

    Returns:
        The findings still reported, including ``expired-waiver`` and ``unused-waiver``.
    """
    return check_registry_waived(registry, today=today)[0]


__all__ = [
    "CHECKS",
    "REGISTRY_CODES",
    "apply_waivers",
    "check_registry",
    "check_registry_waived",
    "load_registry",
    "run_checks",
]
