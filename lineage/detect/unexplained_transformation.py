"""``unexplained-transformation``: a hop's output is not what its transform makes of its inputs.

The writer re-ran the transform when the hop arrived and kept the answer (``verified``,
``expected_norm``); this reads the hops that failed that check through a partial index, so it
costs nothing when there are none. One finding per hop; a hop that failed delivered nothing
and is only a ``failed-delivery``.
"""

from __future__ import annotations

from collections.abc import Iterator

from sqlalchemy import select

from ..model.findings import Finding
from ..rules import hop_owner
from ..store.schema import UNVERIFIED, events
from .base import ScanContext
from .common import HOP, batches, failed_hops, inputs_of, shown, stream, when


def unexplained_transformation(ctx: ScanContext) -> Iterator[Finding]:
    """Hops whose output differs from the transform re-run on their inputs."""
    query = select(
        events.c.event_id,
        events.c.at,
        events.c.integration,
        events.c.transform,
        events.c.system,
        events.c.element,
        events.c.record,
        events.c.value,
        events.c.expected_norm,
    ).where(
        UNVERIFIED,
        events.c.kind == HOP,
        events.c.at <= ctx.as_of,
        events.c.seq.not_in(failed_hops(ctx)),
    )
    for chunk in batches(stream(ctx, query), 500):
        inputs = inputs_of(ctx, [row.event_id for row in chunk])
        for row in chunk:
            carried = inputs.get(row.event_id, [])
            values = ", ".join(shown(i["value"]) for i in carried)
            yield Finding.of(
                "unexplained-transformation",
                f"hop {row.event_id} on {row.integration or 'no declared integration'} "
                f"delivered {row.element} = {shown(row.value)} to {row.system} record "
                f"{row.record}, but {row.transform} of [{values}] gives "
                f"{shown(row.expected_norm)}",
                owner=hop_owner(ctx.registry, row.integration, row.element, row.system),
                element=row.element,
                system=row.system,
                integration=row.integration,
                record=row.record,
                event=row.event_id,
                evidence={
                    "hop": row.event_id,
                    "at": when(row.at),
                    "transform": row.transform,
                    "inputs": carried,
                    "output": row.value,
                    "expected": row.expected_norm,
                },
            )
