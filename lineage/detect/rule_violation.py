"""``rule-violation``: a place's current value breaks its element's rules (or its type).

Rules are checked in Python with :func:`lineage.transforms.rule_violations`, the check the
rest of the engine uses, but once per distinct value rather than once per place: one pass
streams the distinct values of every element that has rules, and only the places whose
*current* value (the latest write, snapshot or live hop as of the scan) is one of the few
bad values are then looked up, through ``ix_events_place_at``. One finding per place.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from sqlalchemy import Select, and_, exists, not_, or_, select

from ..model.findings import Finding
from ..model.registry import Element
from ..rules import value_owner
from ..store.schema import events
from ..transforms import rule_violations
from .base import ScanContext
from .common import batches, failed_hops, holds_value, shown, stream, when

_CHUNK = 500


def rule_violation(ctx: ScanContext) -> Iterator[Finding]:
    """Current values that break their element's declared rules."""
    ruled: dict[str, Element] = {}
    for element in ctx.registry.elements:
        if element.rules:
            ruled.setdefault(element.name, element)
    if not ruled:
        return
    bad: dict[str, dict[str | None, list[str]]] = {}
    values = (
        select(events.c.element, events.c.value)
        .where(events.c.element.in_(sorted(ruled)), events.c.at <= ctx.as_of)
        .distinct()
    )
    for row in stream(ctx, values):
        element = ruled[row.element]
        reasons = rule_violations(row.value, element.rules, element.type)
        if reasons:
            bad.setdefault(row.element, {})[row.value] = reasons
    failed = failed_hops(ctx)
    for name, reasons_by_value in bad.items():
        element = ruled[name]
        for chunk in batches(list(reasons_by_value), _CHUNK):
            for row in stream(ctx, _current_with(ctx, name, chunk, failed)):
                reasons = reasons_by_value[row.value]
                yield Finding.of(
                    "rule-violation",
                    f"{row.system} holds {name} = {shown(row.value)} for record "
                    f"{row.record}: {'; '.join(reasons)}",
                    owner=value_owner(ctx.registry, name, row.system),
                    element=name,
                    system=row.system,
                    record=row.record,
                    event=row.event_id,
                    evidence={
                        "value": row.value,
                        "violations": reasons,
                        "rules": [str(rule) for rule in element.rules],
                        "kind": row.kind,
                        "at": when(row.at),
                    },
                )


def _current_with(
    ctx: ScanContext, element: str, values: list[str | None], failed: Select[Any]
) -> Select[Any]:
    """Events of ``element`` holding one of ``values`` that are still current at their place."""
    later = events.alias("later")
    texts = [v for v in values if v is not None]
    matches = []
    if texts:
        matches.append(events.c.value.in_(texts))
    if len(texts) < len(values):
        matches.append(events.c.value.is_(None))
    superseded = exists().where(
        later.c.system == events.c.system,
        later.c.element == events.c.element,
        later.c.record == events.c.record,
        later.c.at <= ctx.as_of,
        or_(later.c.at > events.c.at, and_(later.c.at == events.c.at, later.c.seq > events.c.seq)),
        holds_value(later, failed),
    )
    return select(
        events.c.event_id,
        events.c.kind,
        events.c.at,
        events.c.system,
        events.c.record,
        events.c.value,
    ).where(
        events.c.element == element,
        events.c.at <= ctx.as_of,
        or_(*matches),
        holds_value(events, failed),
        not_(superseded),
    )
