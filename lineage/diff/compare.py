"""Comparing two registries: renames first, then every change detector, sorted."""

from __future__ import annotations

from ..model.findings import Finding
from ..model.registry import Registry
from .detect import run_detectors
from .pair import Pair, Side
from .renames import find_renames

__all__ = ["diff_registries"]


def diff_registries(base: Registry, head: Registry) -> list[Finding]:
    """The semantic changes from ``base`` to ``head``, as findings with ``DIFF_CODES``.

    Renames are recognised first (one ``*-renamed`` change each), so a renamed declaration is
    compared with itself under its new name, never reported as removed and added. Changes
    are sorted by severity, then file and line (HEAD's, or BASE's for removals).

    >>> diff_registries(load_registry(["old/"]), load_registry(["new/"]))  # doctest: +SKIP
    [Finding(code='system-of-record-moved', ...)]
    """
    renamed, renames = find_renames(base, head)
    pair = Pair(base=Side(renamed), head=Side(head), original=base)
    found = renames.changes + run_detectors(pair)
    return sorted(found, key=Finding.sort_key)
