"""Blast radius: what each change touches in the recorded data.

With a store, every change says how many records and values live in the systems concerned;
a changed transform is re-run over the hops its integration recorded in the last ``days``
days (measured from the store's clock, the latest event), at most ``max_hops`` of them,
counting the values that would differ and the hops that would verify differently, with a few
examples; a moved system of record names the golden records whose truth moves; a removed
integration counts the hops that become undeclared. Without a store, each change says what
cannot be known.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..model.findings import Finding
from ..model.registry import Registry

if TYPE_CHECKING:
    from ..store import Store

__all__ = ["Window", "blast_radius", "without_store"]


@dataclass(frozen=True)
class Window:
    """How far back and how many hops a transform is re-run over, and examples shown."""

    days: int = 30
    max_hops: int = 10_000
    examples: int = 3


_UNKNOWN = {
    "system-of-record-moved": "which golden records move their truth",
    "transform-changed": "how many recorded hops would give another value",
    "integration-removed": "how many recorded hops become undeclared",
    "carry-removed": "how many recorded hops become undeclared",
    "integration-renamed": "how many recorded hops use the old name",
    "rule-tightened": "how many recorded values the new rules would reject",
    "rule-loosened": "how many recorded values the new rules would accept",
    "type-changed": "how many recorded values the new type would reject",
}


def without_store(changes: list[Finding]) -> list[Finding]:
    """The changes, each saying what its blast radius would have told with a store."""
    result = []
    for found in changes:
        unknown = ["how many records and values the systems concerned hold"]
        if found.code in _UNKNOWN:
            unknown.append(_UNKNOWN[found.code])
        blast = {"known": False, "reason": "no store given (--db)", "unknown": unknown}
        result.append(found.model_copy(update={"evidence": {**found.evidence, "blast": blast}}))
    return result


def blast_radius(
    changes: list[Finding], store: Store, base: Registry, head: Registry, window: Window
) -> list[Finding]:
    """The changes with ``evidence["blast"]`` filled from the store, and a line of it in the
    message.

    Args:
        changes: what :func:`~lineage.diff.diff_registries` found.
        store: the recorded data.
        base: BASE as compared (renames applied), for the old transforms.
        head: HEAD, for the new transforms.
        window: how far back and how many hops to re-run.
    """
    from ..store.blast import recorded  # noqa: PLC0415  (the database layer only with a store)
    from .measure import Measure  # noqa: PLC0415

    with recorded(store) as data:
        measure = Measure(data, data.clock(), base, head, window)
        return [measure.one(found) for found in changes]
