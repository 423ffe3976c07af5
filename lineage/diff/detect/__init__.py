"""Change detectors: one small module per family, all registered in :data:`DETECTORS`.

Each is a function ``(Pair) -> Iterable[Finding]`` (see :data:`Detector`). Adding one is a new
module and a line here.
"""

from __future__ import annotations

from ...model.findings import Finding
from ..pair import Pair
from .base import Detector as Detector
from .carries import carries_removed_or_added, integration_rerouted, transform_changed
from .owners import owner_changes
from .removals import added, removed
from .rules import rules_changed, type_changed
from .truth import system_of_origin_moved, system_of_record_moved
from .waivers import waivers_changed
from .writers import new_writers

DETECTORS: list[Detector] = [
    system_of_record_moved,
    system_of_origin_moved,
    new_writers,
    owner_changes,
    transform_changed,
    integration_rerouted,
    carries_removed_or_added,
    removed,
    added,
    rules_changed,
    type_changed,
    waivers_changed,
]
"""Every registered change detector, in the order ``lineage diff`` runs them."""


def run_detectors(pair: Pair) -> list[Finding]:
    """Every change every detector finds, unsorted."""
    return [found for detector in DETECTORS for found in detector(pair)]


__all__ = ["DETECTORS", "Detector", "run_detectors"]
