"""``undeclared-integration``: hops that travelled on no declared integration.

The writer matched each hop against the registry when it arrived (``declared``). Undeclared
hops are grouped per integration name when the hop gave one, else per route (source system,
target system, element): one finding per group with the count and a few example hops.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

from sqlalchemy import func, select

from ..model.findings import Finding
from ..rules import hop_owner
from ..store.schema import UNDECLARED, events, hop_inputs
from .base import ScanContext
from .common import HOP, SAMPLES, stream, when


@dataclass(slots=True)
class _Group:
    integration: str | None
    sources: set[str] = field(default_factory=set)
    targets: set[str] = field(default_factory=set)
    elements: set[str] = field(default_factory=set)
    count: int = 0
    first_at: int = 0
    last_at: int = 0
    samples: list[tuple[int, str, str, str, str]] = field(default_factory=list)


def undeclared_integration(ctx: ScanContext) -> Iterator[Finding]:
    """Hops on an integration the registry does not declare for their route."""
    source = (
        select(func.min(hop_inputs.c.system))
        .where(hop_inputs.c.event_id == events.c.event_id)
        .correlate(events)
        .scalar_subquery()
    )
    query = select(
        events.c.event_id,
        events.c.at,
        events.c.integration,
        events.c.system,
        events.c.element,
        events.c.record,
        source.label("source"),
    ).where(UNDECLARED, events.c.kind == HOP, events.c.at <= ctx.as_of)
    groups: dict[tuple[str | None, ...], _Group] = {}
    for row in stream(ctx, query):
        key: tuple[str | None, ...] = (
            (row.integration,) if row.integration else (None, row.source, row.system, row.element)
        )
        group = groups.get(key)
        if group is None:
            group = groups[key] = _Group(row.integration, first_at=row.at, last_at=row.at)
        group.count += 1
        group.sources.add(row.source or "?")
        group.targets.add(row.system)
        group.elements.add(row.element)
        group.first_at = min(group.first_at, row.at)
        group.last_at = max(group.last_at, row.at)
        group.samples.append((row.at, row.event_id, row.system, row.record, row.element))
        if len(group.samples) > 4 * SAMPLES:  # keep the earliest few, bounded
            group.samples.sort()
            del group.samples[SAMPLES:]
    for group in groups.values():
        group.samples.sort()
        samples = group.samples[:SAMPLES]
        route = (
            f"{'+'.join(sorted(group.sources))} -> {'+'.join(sorted(group.targets))}, "
            f"{', '.join(sorted(group.elements))}"
        )
        hops = f"{group.count} hop{'s' if group.count != 1 else ''}"
        name = group.integration
        if name is None:
            message = f"{hops} travelled on no declared integration ({route})"
        elif ctx.registry.integration(name) is None:
            message = f"{hops} name integration {name!r}, which is not declared ({route})"
        else:
            message = f"{hops} on {name} travelled a route it does not declare ({route})"
        target = next(iter(group.targets)) if len(group.targets) == 1 else None
        element = next(iter(group.elements)) if len(group.elements) == 1 else None
        yield Finding.of(
            "undeclared-integration",
            message,
            owner=hop_owner(ctx.registry, name, samples[0][4], samples[0][2]),
            element=element,
            system=target,
            integration=name,
            event=samples[0][1],
            evidence={
                "count": group.count,
                "sources": sorted(group.sources),
                "targets": sorted(group.targets),
                "elements": sorted(group.elements),
                "first_at": when(group.first_at),
                "last_at": when(group.last_at),
                "events": [s[1] for s in samples],
                "records": [s[3] for s in samples],
            },
        )
