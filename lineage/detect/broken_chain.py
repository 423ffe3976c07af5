"""What each hop read, against what its source place held at that moment.

For every hop input, the latest event at the input's place at or before the hop (statements:
:mod:`lineage.store.detection.broken_chain`): a write, a snapshot or a live hop (failed hops
left nothing). A hop that failed delivered nothing and is only a ``failed-delivery``. Two
codes come from that one look-up:

- ``broken-chain``: the hop carried a value its source did not hold then (compared by the
  element's type). One finding per hop input.
- ``untraced-value``: nothing at all was recorded at the source place before the hop: the
  value entered the chain without a trail. One finding per source place.

A scoped judgement looks at the inputs of the scope's hops and at every input read from the
scope's places (so an untraced place's hops are counted whole).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from ..model.findings import Finding
from ..rules import broken_chain_message, hop_owner, untraced_input_message, value_owner
from ..store.detection.broken_chain import disagreeing_inputs
from ..store.detection.common import holders
from .base import ScanContext
from .common import when


def hop_input_chain(ctx: ScanContext) -> Iterator[Finding]:
    """``broken-chain`` and untraced hop inputs (see the module docstring)."""
    rows = disagreeing_inputs(ctx.conn, ctx.as_of, scoped=ctx.scope is not None)
    untraced: dict[tuple[str, str, str], list[Any]] = {}
    broken: list[tuple[Any, Any]] = []
    # the inputs that do not agree, then detailed together (not while the cursor is open):
    # one statement per batch, not one per input
    disagreeing = list(rows)
    asked = [((r.in_system, r.in_element, r.in_record), r.at, r.seq) for r in disagreeing]
    for row, found in zip(disagreeing, holders(ctx.conn, asked), strict=True):
        where = (row.in_system, row.in_element, row.in_record)
        if found is None:
            untraced.setdefault(where, []).append(row)
        else:
            broken.append((row, found))
    for row, held in broken:
        source = (row.in_system, row.in_element, row.in_record)
        yield Finding.of(
            "broken-chain",
            broken_chain_message(
                row.event_id,
                row.integration,
                source,
                row.in_value,
                (held.event_id, when(held.at), held.value),
            ),
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
    for (system, element, record), reads in untraced.items():
        reads.sort(key=lambda r: (r.at, r.event_id))
        first = reads[0]
        yield Finding.of(
            "untraced-value",
            untraced_input_message(
                first.event_id, (system, element, record), first.in_value, hops=len(reads)
            ),
            owner=value_owner(ctx.registry, element, system),
            element=element,
            system=system,
            record=record,
            event=first.event_id,
            evidence={
                "value": first.in_value,
                "read_at": when(first.at),
                "hops": [r.event_id for r in reads[:5]],
                "count": len(reads),
                "integration": first.integration,
            },
        )
