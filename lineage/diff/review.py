"""One review: read BASE and HEAD, compare them, and measure the blast radius when a store
is given. ``lineage diff`` and ``lineage check --base`` both run it."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from ..model.findings import Finding
from ..model.registry import Registry
from .blast import Window, blast_radius, without_store
from .compare import diff_registries
from .renames import find_renames
from .source import read_side

if TYPE_CHECKING:
    from ..store import Store

__all__ = ["review", "review_registries"]


def review_registries(
    base: Registry, head: Registry, *, store: Store | None = None, window: Window | None = None
) -> list[Finding]:
    """The changes from ``base`` to ``head``, each with its blast radius (or what a store
    would have told)."""
    changes = diff_registries(base, head)
    if store is None:
        return without_store(changes)
    renamed, _ = find_renames(base, head)
    return blast_radius(changes, store, renamed, head, window or Window())


def review(
    base: str,
    head: str,
    paths: Sequence[str],
    *,
    store: Store | None = None,
    window: Window | None = None,
    cwd: Path | None = None,
) -> list[Finding]:
    """Read ``base`` and ``head`` (paths or git revisions, with ``paths`` inside them) and
    review the change between them (see :func:`review_registries`)."""
    before = read_side(base, paths, cwd=cwd).registry
    after = read_side(head, paths, cwd=cwd).registry
    return review_registries(before, after, store=store, window=window)
