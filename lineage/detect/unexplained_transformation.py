"""``unexplained-transformation``: a hop's output is not what its transform makes of its inputs.

The writer re-ran the transform when the hop arrived and kept the answer (``verified``,
``expected_norm``); this reads the hops that failed that check through a partial index, so it
costs nothing when there are none (statements:
:mod:`lineage.store.detection.unexplained_transformation`). One finding per hop; a hop that
failed delivered nothing and is only a ``failed-delivery``.
"""

from __future__ import annotations

from collections.abc import Iterator

from ..model.findings import Finding
from ..rules import hop_owner, unexplained_transformation_message
from ..store.detection.common import inputs_of
from ..store.detection.unexplained_transformation import unverified_hops
from .base import ScanContext
from .common import batches, when


def unexplained_transformation(ctx: ScanContext) -> Iterator[Finding]:
    """Hops whose output differs from the transform re-run on their inputs."""
    rows = unverified_hops(ctx.conn, ctx.as_of, scoped=ctx.scope is not None)
    for chunk in batches(rows, 500):
        inputs = inputs_of(ctx.conn, [row.event_id for row in chunk])
        for row in chunk:
            carried = inputs.get(row.event_id, [])
            yield Finding.of(
                "unexplained-transformation",
                unexplained_transformation_message(
                    row.event_id,
                    row.integration,
                    (row.system, row.element, row.record),
                    row.value,
                    transform=row.transform,
                    inputs=(i["value"] for i in carried),
                    expected=row.expected_norm,
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
                    "transform": row.transform,
                    "inputs": carried,
                    "output": row.value,
                    "expected": row.expected_norm,
                },
            )
