"""Runtime detectors: one module per detector (or tight family), registered in one list.

Each detector is a function ``(ScanContext) -> Iterable[Finding]`` that answers with set-based,
indexed queries over the store and streams its findings; none loads the whole store. Adding a
detector is one new module and one line in :data:`DETECTORS`. :func:`lineage.detect.run.scan`
runs them all, applies waivers and filters, and sorts.
"""

from __future__ import annotations

from .base import Detector as Detector
from .base import ScanContext as ScanContext
from .broken_chain import hop_input_chain
from .competing_origin import competing_origin
from .conflicting_truth import conflicting_truth
from .deliveries import duplicate_delivery, failed_or_lost_delivery
from .observed_flows import observed_flows
from .rule_violation import rule_violation
from .undeclared_integration import undeclared_integration
from .unexplained_transformation import unexplained_transformation
from .unknown_names import unknown_names
from .untraced_value import untraced_snapshots

DETECTORS: list[Detector] = [
    competing_origin,  # competing-origin
    untraced_snapshots,  # untraced-value (snapshots)
    unexplained_transformation,  # unexplained-transformation
    undeclared_integration,  # undeclared-integration
    hop_input_chain,  # broken-chain, untraced-value (hop inputs)
    failed_or_lost_delivery,  # failed-delivery, lost-delivery
    duplicate_delivery,  # duplicate-delivery
    rule_violation,  # rule-violation
    observed_flows,  # undeclared-integration, failed-delivery (OpenLineage jobs)
    unknown_names,  # unknown-system, unknown-element
    # last: it streams on the shared connection with connection-wide options
    conflicting_truth,  # conflicting-truth (with the golden record, lineage/golden.py)
]
"""Every registered detector, in the order the scan runs them."""

__all__ = ["DETECTORS", "Detector", "ScanContext"]
