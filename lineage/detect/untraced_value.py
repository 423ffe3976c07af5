"""``untraced-value`` from snapshots: a system was seen holding a value nothing put there.

A snapshot is explained by the latest write or live hop at its place at or before it; it is
untraced when there is none, or when that event left a different value (compared
canonically, by the element's type). One finding per place, naming the first unexplained
snapshot and how many there were (statements: :mod:`lineage.store.detection.untraced_value`).

The other half of ``untraced-value``, a hop reading a value from a place where nothing was
ever recorded, is found together with ``broken-chain`` (:mod:`lineage.detect.broken_chain`):
both come from the same look-up of what each hop input's place held.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from ..model.findings import Finding
from ..rules import untraced_snapshot_message, value_owner
from ..store.detection.common import holders
from ..store.detection.untraced_value import unexplained_snapshots
from .base import ScanContext
from .common import when


def untraced_snapshots(ctx: ScanContext) -> Iterator[Finding]:
    """Snapshots whose value no earlier write or hop at their place explains."""
    by_place: dict[tuple[str, str, str], list[Any]] = {}
    for row in unexplained_snapshots(ctx.conn, ctx.as_of, scoped=ctx.scope is not None):
        by_place.setdefault((row.system, row.element, row.record), []).append(row)
    for rows in by_place.values():
        rows.sort(key=lambda r: (r.at, r.seq))
    # what each place's first unexplained snapshot was held against, asked together (the
    # snapshot itself aside: it explains nothing anyway)
    asked = [(place, rows[0].at, rows[0].seq) for place, rows in by_place.items()]
    found = holders(ctx.conn, asked, explaining=True)
    for ((system, element, record), rows), held in zip(by_place.items(), found, strict=True):
        first = rows[0]
        said = None if held is None else (held.event_id, when(held.at), held.value)
        yield Finding.of(
            "untraced-value",
            untraced_snapshot_message(
                (system, element, record), first.value, snapshots=len(rows), held=said
            ),
            owner=value_owner(ctx.registry, element, system),
            element=element,
            system=system,
            record=record,
            event=first.event_id,
            evidence={
                "value": first.value,
                "observed_at": when(first.at),
                "expected": held.value if held else None,
                "explained_by": held.event_id if held else None,
                "snapshots": len(rows),
                "events": [r.event_id for r in rows[:5]],
            },
        )
