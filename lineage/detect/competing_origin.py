"""``competing-origin``: values written for an element in a system that is not its origin.

One finding per (system, element), with how many writes and a few of them, not one per write
(its statements: :mod:`lineage.store.detection.competing_origin`). A scoped judgement
recomputes only the (system, element) groups the scope names, each whole.
"""

from __future__ import annotations

from collections.abc import Iterator

from ..model.findings import Finding
from ..rules import competing_origin_message, value_owner
from ..store.detection.competing_origin import competing_writes
from .base import ScanContext
from .common import SAMPLES, when


def competing_origin(ctx: ScanContext) -> Iterator[Finding]:
    """Writes of an element outside its declared ``system_of_origin``."""
    scope = ctx.scope
    for element in ctx.registry.merged_elements:
        origin = element.system_of_origin
        if origin is None:
            continue
        systems = None
        if scope is not None:
            systems = {s for s, e in scope.pairs if e == element.name and s != origin}
            if not systems:
                continue
        groups = competing_writes(
            ctx.conn, element.name, origin, ctx.as_of, samples=SAMPLES, systems=systems
        )
        for group in groups:
            yield Finding.of(
                "competing-origin",
                competing_origin_message(element.name, group.system, group.writes, origin),
                owner=value_owner(ctx.registry, element.name, group.system),
                element=element.name,
                system=group.system,
                event=group.events[0] if group.events else None,
                evidence={
                    "system_of_origin": origin,
                    "count": group.writes,
                    "first_at": when(group.first_at),
                    "last_at": when(group.last_at),
                    "events": group.events,
                    "records": group.records,
                    "actors": sorted({a for a in group.actors if a}),
                },
            )
