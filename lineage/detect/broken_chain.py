"""What each hop read, against what its source place held at that moment.

For every hop input, one indexed look-up (``ix_events_place_at``) finds the latest event at
the input's place at or before the hop: a write, a snapshot or a live hop (failed hops left
nothing). A hop that failed delivered nothing and is only a ``failed-delivery``. Two codes
come from that one look-up:

- ``broken-chain``: the hop carried a value its source did not hold then (compared by the
  element's type). One finding per hop input.
- ``untraced-value``: nothing at all was recorded at the source place before the hop: the
  value entered the chain without a trail. One finding per source place.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from sqlalchemy import Row, or_, select

from ..model.findings import Finding
from ..store.schema import events, hop_inputs
from .base import ScanContext
from .common import (
    HOP,
    failed_hops,
    holds_value,
    hop_owner,
    shown,
    stream,
    value_owner,
    when,
)


def hop_input_chain(ctx: ScanContext) -> Iterator[Finding]:
    """``broken-chain`` and untraced hop inputs (see the module docstring)."""
    hop = events.alias("hop")
    src = events.alias("src")
    failed = failed_hops(ctx)
    held_by = (
        select(src.c.seq)
        .where(
            src.c.system == hop_inputs.c.system,
            src.c.element == hop_inputs.c.element,
            src.c.record == hop_inputs.c.record,
            src.c.at <= hop.c.at,
            src.c.seq != hop.c.seq,
            holds_value(src, failed),
        )
        .order_by(src.c.at.desc(), src.c.seq.desc())
        .limit(1)
        .correlate(hop, hop_inputs)
        .scalar_subquery()
    )
    checked = (
        select(
            hop.c.event_id,
            hop.c.at,
            hop.c.integration,
            hop.c.system,
            hop.c.element,
            hop.c.record,
            hop_inputs.c.position,
            hop_inputs.c.system.label("in_system"),
            hop_inputs.c.element.label("in_element"),
            hop_inputs.c.record.label("in_record"),
            hop_inputs.c.value.label("in_value"),
            hop_inputs.c.value_norm.label("in_norm"),
            held_by.label("held_by"),
        )
        .select_from(hop_inputs.join(hop, hop.c.event_id == hop_inputs.c.event_id))
        .where(hop.c.kind == HOP, hop.c.at <= ctx.as_of, hop.c.event_id.not_in(failed))
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
        .select_from(checked.outerjoin(held, held.c.seq == checked.c.held_by))
        .where(
            or_(checked.c.held_by.is_(None), held.c.value_norm.is_distinct_from(checked.c.in_norm))
        )
    )
    untraced: dict[tuple[str, str, str], list[Row[Any]]] = {}
    for row in stream(ctx, query):
        if row.held_event is None:
            untraced.setdefault((row.in_system, row.in_element, row.in_record), []).append(row)
            continue
        yield Finding.of(
            "broken-chain",
            f"hop {row.event_id} on {row.integration or 'no declared integration'} carried "
            f"{row.in_element} = {shown(row.in_value)} from {row.in_system} record "
            f"{row.in_record}, but {row.in_system} held {shown(row.held_value)} then "
            f"({row.held_event} at {when(row.held_at)})",
            owner=hop_owner(ctx.registry, row.integration, row.system),
            element=row.element,
            system=row.system,
            integration=row.integration,
            record=row.record,
            event=row.event_id,
            evidence={
                "hop": row.event_id,
                "at": when(row.at),
                "input": {
                    "system": row.in_system,
                    "element": row.in_element,
                    "record": row.in_record,
                    "value": row.in_value,
                },
                "held": row.held_value,
                "held_by": row.held_event,
                "held_at": when(row.held_at),
            },
        )
    for (system, element, record), rows in untraced.items():
        rows.sort(key=lambda r: (r.at, r.event_id))
        first = rows[0]
        more = (
            f" (and {len(rows) - 1} later hop{'s' if len(rows) > 2 else ''})"
            if len(rows) > 1
            else ""
        )
        yield Finding.of(
            "untraced-value",
            f"hop {first.event_id} read {element} = {shown(first.in_value)} from {system} "
            f"record {record}{more}, where no write, hop or snapshot was ever recorded "
            "before it",
            owner=value_owner(ctx.registry, element, system),
            element=element,
            system=system,
            record=record,
            event=first.event_id,
            evidence={
                "value": first.in_value,
                "read_at": when(first.at),
                "hops": [r.event_id for r in rows[:5]],
                "count": len(rows),
                "integration": first.integration,
            },
        )
