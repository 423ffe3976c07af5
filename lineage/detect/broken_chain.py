"""What each hop read, against what its source place held at that moment.

For every hop input, the latest event at the input's place at or before the hop (see
:func:`disagreeing_inputs`): a write, a snapshot or a live hop (failed hops left
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

from sqlalchemy import Row, Select, and_, func, or_, select

from ..model.findings import Finding
from ..rules import hop_owner, value_owner
from ..store.schema import events, hop_inputs
from .base import ScanContext
from .common import (
    HOP,
    agrees_with_holder,
    failed_hops,
    holder,
    holds_value,
    shown,
    stream,
    when,
)


def disagreeing_inputs(ctx: ScanContext, *, intervals: bool | None = None) -> Select[Any]:
    """The hop inputs whose value is not what their place held at the hop (or held nothing).

    Two formulations of the same question, both plain portable SQL, chosen for the planner
    that runs them (the tests run both on both backends and compare):

    - probes (SQLite's best): one correlated probe of ``ix_events_place_at`` per input,
      answered from the index (:func:`~lineage.detect.common.agrees_with_holder`);
    - intervals (PostgreSQL's best): one window pass gives every held value the interval it
      was current in (``LEAD(at)``), and the inputs are hash-joined to the interval that
      contains the hop's time. PostgreSQL runs a correlated subquery per row as a sub-plan,
      several times slower than its hash join.

    Args:
        intervals: force one formulation (default: intervals on PostgreSQL).
    """
    if intervals is None:
        intervals = ctx.conn.dialect.name == "postgresql"
    hop = events.alias("hop")
    failed = failed_hops(ctx)
    columns = (
        hop.c.seq,
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
    )
    joined = hop_inputs.join(hop, hop.c.event_id == hop_inputs.c.event_id)
    live = (hop.c.kind == HOP, hop.c.at <= ctx.as_of, hop.c.seq.not_in(failed))
    if not intervals:
        place = (hop_inputs.c.system, hop_inputs.c.element, hop_inputs.c.record)
        agrees = agrees_with_holder(
            place,
            hop.c.at,
            hop_inputs.c.value_norm,
            failed,
            exclude_seq=hop.c.seq,
            correlate=(hop, hop_inputs),
        )
        return select(*columns).select_from(joined).where(*live, agrees.is_distinct_from(1))
    src = events.alias("src")
    partition = (src.c.system, src.c.element, src.c.record)
    order = (src.c.at, src.c.seq)
    held = (
        select(
            src.c.seq,
            src.c.system,
            src.c.element,
            src.c.record,
            src.c.at,
            src.c.value_norm,
            func.lead(src.c.at).over(partition_by=partition, order_by=order).label("until"),
            func.lead(src.c.seq).over(partition_by=partition, order_by=order).label("next_seq"),
        )
        .where(src.c.at <= ctx.as_of, holds_value(src, failed))
        .subquery("held")
    )
    current = and_(
        held.c.system == hop_inputs.c.system,
        held.c.element == hop_inputs.c.element,
        held.c.record == hop_inputs.c.record,
        held.c.seq != hop.c.seq,
        held.c.at <= hop.c.at,
        # current until a later event, the hop itself (reading its own place) aside
        or_(held.c.until.is_(None), held.c.until > hop.c.at, held.c.next_seq == hop.c.seq),
    )
    return (
        select(*columns)
        .select_from(joined.outerjoin(held, current))
        .where(
            *live,
            or_(held.c.seq.is_(None), held.c.value_norm.is_distinct_from(hop_inputs.c.value_norm)),
        )
    )


def hop_input_chain(ctx: ScanContext) -> Iterator[Finding]:
    """``broken-chain`` and untraced hop inputs (see the module docstring)."""
    query = disagreeing_inputs(ctx)
    untraced: dict[tuple[str, str, str], list[Row[Any]]] = {}
    broken: list[tuple[Row[Any], Any]] = []
    # the few inputs that do not agree, then each detailed (not while the cursor is open)
    for row in list(stream(ctx, query)):
        where = (row.in_system, row.in_element, row.in_record)
        found = holder(ctx, where, row.at, exclude_seq=row.seq)
        if found is None:
            untraced.setdefault(where, []).append(row)
        else:
            broken.append((row, found))
    for row, held in broken:
        yield Finding.of(
            "broken-chain",
            f"hop {row.event_id} on {row.integration or 'no declared integration'} carried "
            f"{row.in_element} = {shown(row.in_value)} from {row.in_system} record "
            f"{row.in_record}, but {row.in_system} held {shown(held.value)} then "
            f"({held.event_id} at {when(held.at)})",
            owner=hop_owner(ctx.registry, row.integration, row.element, row.system),
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
                "held": held.value,
                "held_by": held.event_id,
                "held_at": when(held.at),
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
