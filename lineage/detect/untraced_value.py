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

from sqlalchemy import Row, or_, select

from ..model.findings import Finding
from ..store.schema import events
from .base import ScanContext
from .common import SNAPSHOT, explains_value, failed_hops, shown, stream, value_owner, when


def untraced_snapshots(ctx: ScanContext) -> Iterator[Finding]:
    """Snapshots whose value no earlier write or hop at their place explains."""
    snap = events.alias("snap")
    prev = events.alias("prev")
    failed = failed_hops(ctx)
    explained_by = (
        select(prev.c.seq)
        .where(
            prev.c.system == snap.c.system,
            prev.c.element == snap.c.element,
            prev.c.record == snap.c.record,
            prev.c.at <= snap.c.at,
            explains_value(prev, failed),
        )
        .order_by(prev.c.at.desc(), prev.c.seq.desc())
        .limit(1)
        .correlate(snap)
        .scalar_subquery()
    )
    checked = (
        select(
            snap.c.seq,
            snap.c.event_id,
            snap.c.at,
            snap.c.system,
            snap.c.element,
            snap.c.record,
            snap.c.value,
            snap.c.value_norm,
            explained_by.label("explained_by"),
        )
        .where(snap.c.kind == SNAPSHOT, snap.c.at <= ctx.as_of)
        .subquery("checked")
    )
    held = events.alias("held")
    query = (
        select(
            checked,
            held.c.event_id.label("held_event"),
            held.c.value.label("held_value"),
            held.c.at.label("held_at"),
        )
        .select_from(checked.outerjoin(held, held.c.seq == checked.c.explained_by))
        .where(
            or_(
                checked.c.explained_by.is_(None),
                held.c.value_norm.is_distinct_from(checked.c.value_norm),
            )
        )
    )
    by_place: dict[tuple[str, str, str], list[Row[Any]]] = {}
    for row in stream(ctx, query):
        by_place.setdefault((row.system, row.element, row.record), []).append(row)
    for (system, element, record), rows in by_place.items():
        rows.sort(key=lambda r: (r.at, r.seq))
        first = rows[0]
        if first.held_event is None:
            why = "no write or hop ever put a value there"
        else:
            why = (
                f"the latest write or hop there ({first.held_event} at "
                f"{when(first.held_at)}) left {shown(first.held_value)}"
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
                "expected": first.held_value,
                "explained_by": first.held_event,
                "snapshots": len(rows),
                "events": [r.event_id for r in rows[:5]],
            },
        )
