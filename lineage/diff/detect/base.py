"""What every change detector is."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from ...model.findings import Finding
from ..pair import Pair

Detector = Callable[[Pair], Iterable[Finding]]
"""A change detector: compares BASE (renamed into HEAD's names) with HEAD, yields changes."""
