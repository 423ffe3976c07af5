"""``undeclared-integration``: hops that travelled on no declared integration.

The writer matched each hop against the registry when it arrived (``declared``); the registry
in force decides now (:func:`lineage.rules.declared_route`): a hop undeclared on arrival whose
route a later registry declares is no longer reported, and a hop declared on arrival on a
route the registry in force no longer declares is. Undeclared hops are grouped per
integration name when the hop gave one, else per route (source system,
target system, element): one finding per group with the count and a few example hops.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Select, func, select, true

from ..model.findings import Finding
from ..model.registry import Registry
from ..rules import declared_route, hop_owner
from ..store.schema import UNDECLARED, events, hop_inputs, registry_versions
from .base import ScanContext
from .common import HOP, SAMPLES, batches, inputs_of, stream, when


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


def _judged_now(ctx: ScanContext, undeclared: Select[Any], source: Any) -> Iterator[Any]:
    """The hops the registry in force does not declare: those undeclared on arrival that it
    still does not declare, then those declared on arrival on a route it no longer declares.
    """
    registry = ctx.registry
    for chunk in batches(stream(ctx, undeclared), 500):
        inputs = inputs_of(ctx, [row.event_id for row in chunk])
        for row in chunk:
            read = inputs.get(row.event_id, [])
            route = declared_route(
                registry,
                row.integration,
                sources=(i["system"] for i in read),
                target=row.system,
                element=row.element,
                input_elements=(i["element"] for i in read),
            )
            if route is None:
                yield row
    for name, target, element in _withdrawn_routes(ctx):
        yield from ctx.conn.execute(
            select(
                events.c.event_id,
                events.c.at,
                events.c.integration,
                events.c.system,
                events.c.element,
                events.c.record,
                source.label("source"),
            ).where(
                events.c.element == element,
                events.c.system == target,
                events.c.kind == HOP,
                events.c.integration == name,
                events.c.declared == true(),
                events.c.at <= ctx.as_of,
            )
        )


def _withdrawn_routes(ctx: ScanContext) -> list[tuple[str, str, str]]:
    """Routes (integration, target, element) an earlier registry declared and the registry in
    force does not: hops recorded on them as declared are undeclared now."""
    documents = ctx.conn.execute(
        select(registry_versions.c.document).order_by(registry_versions.c.id.desc()).offset(1)
    ).scalars()
    current = ctx.registry
    withdrawn: set[tuple[str, str, str]] = set()
    for document in documents:
        earlier = Registry.model_validate_json(document)
        for integ in earlier.integrations:
            now = current.integration(integ.name)
            for carry in integ.carries:
                if (
                    now is None
                    or now.target != integ.target
                    or now.source != integ.source
                    or now.carry(carry.element) is None
                ):
                    withdrawn.add((integ.name, integ.target, carry.element))
    return sorted(withdrawn)


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
    for row in _judged_now(ctx, query, source):
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
