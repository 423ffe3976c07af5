"""``untraced-value`` from snapshots: a system was seen holding a value nothing put there.

A snapshot is explained by the latest write or live hop at its place at or before it (see
:mod:`lineage.detect.common`); it is untraced when there is none, or when that event left a
different value (compared canonically, by the element's type). One finding per place, naming
the first unexplained snapshot and how many there were.

The other half of ``untraced-value``, a hop reading a value from a place where nothing was
ever recorded, is found together with ``broken-chain`` (:mod:`lineage.detect.broken_chain`):
both come from the same look-up of what each hop input's place held.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from sqlalchemy import Row, select

from ..model.findings import Finding
from ..rules import value_owner
from ..store.schema import events
from .base import ScanContext
from .common import (
    SNAPSHOT,
    agrees_with_holder,
    failed_hops,
    holder,
    shown,
    stream,
    when,
)


def untraced_snapshots(ctx: ScanContext) -> Iterator[Finding]:
    """Snapshots whose value no earlier write or hop at their place explains."""
    snap = events.alias("snap")
    failed = failed_hops(ctx)
    place = (snap.c.system, snap.c.element, snap.c.record)
    agrees = agrees_with_holder(
        place, snap.c.at, snap.c.value_norm, failed, explaining=True, correlate=(snap,)
    )
    query = select(
        snap.c.seq,
        snap.c.event_id,
        snap.c.at,
        snap.c.system,
        snap.c.element,
        snap.c.record,
        snap.c.value,
    ).where(snap.c.kind == SNAPSHOT, snap.c.at <= ctx.as_of, agrees.is_distinct_from(1))
    by_place: dict[tuple[str, str, str], list[Row[Any]]] = {}
    for row in stream(ctx, query):
        by_place.setdefault((row.system, row.element, row.record), []).append(row)
    for (system, element, record), rows in by_place.items():
        rows.sort(key=lambda r: (r.at, r.seq))
        first = rows[0]
        held = holder(ctx, (system, element, record), first.at, explaining=True)
        if held is None:
            why = "no write or hop ever put a value there"
        else:
            why = (
                f"the latest write or hop there ({held.event_id} at "
                f"{when(held.at)}) left {shown(held.value)}"
            )
        more = f" (seen in {len(rows)} snapshots)" if len(rows) > 1 else ""
        yield Finding.of(
            "untraced-value",
            f"{system} holds {element} = {shown(first.value)} for record {record}{more}, but {why}",
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
