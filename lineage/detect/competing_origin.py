"""``competing-origin``: values written for an element in a system that is not its origin.

One finding per (system, element), with how many writes and a few of them, not one per write.
Each element is one indexed range scan of ``ix_events_element_system``.
"""

from __future__ import annotations

from collections.abc import Iterator

from sqlalchemy import func, select

from ..model.findings import Finding
from ..rules import value_owner
from ..store.schema import events
from .base import ScanContext
from .common import SAMPLES, WRITE, when


def competing_origin(ctx: ScanContext) -> Iterator[Finding]:
    """Writes of an element outside its declared ``system_of_origin``."""
    seen: set[str] = set()
    for element in ctx.registry.elements:
        origin = element.system_of_origin
        if origin is None or element.name in seen:
            continue
        seen.add(element.name)
        groups = ctx.conn.execute(
            select(
                events.c.system,
                func.count().label("writes"),
                func.min(events.c.at).label("first_at"),
                func.max(events.c.at).label("last_at"),
            )
            .where(
                events.c.element == element.name,
                events.c.system != origin,
                events.c.kind == WRITE,
                events.c.at <= ctx.as_of,
            )
            .group_by(events.c.system)
            .order_by(events.c.system)
        ).all()
        for group in groups:
            samples = ctx.conn.execute(
                select(events.c.event_id, events.c.record, events.c.actor)
                .where(
                    events.c.element == element.name,
                    events.c.system == group.system,
                    events.c.kind == WRITE,
                    events.c.at <= ctx.as_of,
                )
                .order_by(events.c.at, events.c.seq)
                .limit(SAMPLES)
            ).all()
            actors = sorted({s.actor for s in samples if s.actor})
            yield Finding.of(
                "competing-origin",
                f"{element.name} is written in {group.system} ({group.writes} "
                f"write{'s' if group.writes != 1 else ''}), but its system of origin is {origin}",
                owner=value_owner(ctx.registry, element.name, group.system),
                element=element.name,
                system=group.system,
                event=samples[0].event_id if samples else None,
                evidence={
                    "system_of_origin": origin,
                    "count": group.writes,
                    "first_at": when(group.first_at),
                    "last_at": when(group.last_at),
                    "events": [s.event_id for s in samples],
                    "records": [s.record for s in samples],
                    "actors": actors,
                },
            )
