"""``undeclared-integration``: hops that travelled on no declared integration.

The writer matched each hop against the registry when it arrived (``declared``); the registry
in force decides now (:func:`lineage.rules.declared_route`): a hop undeclared on arrival whose
route a later registry declares is no longer reported, and a hop declared on arrival on a
route the registry in force no longer declares is. Undeclared hops are grouped per
integration name when the hop gave one, else per route (source system, target system,
element): one finding per group with the count and a few example hops. A scoped judgement
recomputes the groups its scope names, each whole (statements:
:mod:`lineage.store.detection.undeclared_integration`).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from ..model.findings import Finding
from ..model.registry import Registry
from ..rules import declared_route, hop_owner, undeclared_hops_message, undeclared_route
from ..store.detection import Connection
from ..store.detection.common import inputs_of
from ..store.detection.undeclared_integration import (
    declared_hops_on,
    earlier_registry_digests,
    registry_document,
    undeclared_hops,
)
from .base import ScanContext
from .common import SAMPLES, batches, when


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


def _judged_now(ctx: ScanContext) -> Iterator[Any]:
    """The hops the registry in force does not declare: those undeclared on arrival that it
    still does not declare, then those declared on arrival on a route it no longer declares.
    """
    registry = ctx.registry
    scope = ctx.scope
    if scope is None:
        rows = undeclared_hops(ctx.conn, ctx.as_of)
    else:
        targets = {(target, element) for _, target, element in scope.routes}
        rows = undeclared_hops(
            ctx.conn, ctx.as_of, integrations=scope.integrations, targets=targets
        )
    for chunk in batches(rows, 500):
        inputs = inputs_of(ctx.conn, [row.event_id for row in chunk])
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
        if scope is None or name in scope.integrations:
            yield from declared_hops_on(ctx.conn, ctx.as_of, name, target, element)


def _withdrawn_routes(ctx: ScanContext) -> list[tuple[str, str, str]]:
    """Routes (integration, target, element) an earlier registry declared and the registry in
    force does not: hops recorded on them as declared are undeclared now."""
    current = ctx.registry
    withdrawn: set[tuple[str, str, str]] = set()
    for digest in earlier_registry_digests(ctx.conn):
        for name, source, target, element in _declared_routes(ctx.conn, digest):
            now = current.integration(name)
            if (
                now is None
                or now.target != target
                or now.source != source
                or now.carry(element) is None
            ):
                withdrawn.add((name, target, element))
    return sorted(withdrawn)


Route = tuple[str, str, str, str]
"""``(integration, source, target, element)``: a carry an integration declared."""

_ROUTES: dict[str, frozenset[Route]] = {}
"""The routes each earlier registry document declared, by its digest, read and parsed once a
process: every judgement parsed every earlier version's document again, its cost growing
with each registry loaded (a pipeline that loads its registry on every deploy)."""

_ROUTES_KEPT = 1024
"""Documents :data:`_ROUTES` keeps before it starts again."""


def _declared_routes(conn: Connection, digest: str) -> frozenset[Route]:
    routes = _ROUTES.get(digest)
    if routes is None:
        document = registry_document(conn, digest)
        earlier = Registry() if document is None else Registry.model_validate_json(document)
        routes = frozenset(
            (integ.name, integ.source, integ.target, carry.element)
            for integ in earlier.integrations
            for carry in integ.carries
        )
        if len(_ROUTES) >= _ROUTES_KEPT:
            _ROUTES.clear()
        _ROUTES[digest] = routes
    return routes


def undeclared_integration(ctx: ScanContext) -> Iterator[Finding]:
    """Hops on an integration the registry does not declare for their route."""
    groups: dict[tuple[str | None, ...], _Group] = {}
    for row in _judged_now(ctx):
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
        route = undeclared_route(group.sources, group.targets, group.elements)
        name = group.integration
        declared = name is not None and ctx.registry.integration(name) is not None
        target = next(iter(group.targets)) if len(group.targets) == 1 else None
        element = next(iter(group.elements)) if len(group.elements) == 1 else None
        yield Finding.of(
            "undeclared-integration",
            undeclared_hops_message(group.count, name, declared, route),
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
