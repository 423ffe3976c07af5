"""Runtime detectors: one module per detector (or tight family), registered in one list.

Each detector is a function ``(ScanContext) -> Iterable[Finding]`` that answers with set-based,
indexed queries over the store and streams its findings; none loads the whole store. Adding a
detector is one new module and one line in :data:`DETECTORS`.
"""

from __future__ import annotations

from .base import Detector as Detector
from .base import ScanContext as ScanContext
from .conflicting_truth import conflicting_truth

DETECTORS: list[Detector] = [
    conflicting_truth,
]
"""Every registered detector, in the order the scan runs them."""

__all__ = ["DETECTORS", "Detector", "ScanContext"]
