"""``rule-violation``: a place's current value breaks its element's rules (or its type).

Rules are checked in Python with :func:`lineage.transforms.rule_violations`, the check the
rest of the engine uses, but once per distinct value rather than once per place: one pass
streams the distinct values of every element that has rules, and only the places whose
*current* value (the latest write, snapshot or live hop as of the scan) is one of the few
bad values are then looked up, through ``ix_events_place_at``. One finding per place. A
scoped judgement looks up the current value of the scope's places only (statements:
:mod:`lineage.store.detection.rule_violation`).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from ..model.findings import Finding
from ..model.registry import Element
from ..rules import rule_violation_message, value_owner
from ..store.detection.rule_violation import (
    current_at_scope_places,
    current_holding,
    distinct_values,
)
from ..transforms import rule_violations
from .base import ScanContext
from .common import batches, when

_CHUNK = 500


def rule_violation(ctx: ScanContext) -> Iterator[Finding]:
    """Current values that break their element's declared rules."""
    ruled: dict[str, Element] = {}
    for element in ctx.registry.merged_elements:
        if element.rules:
            ruled[element.name] = element
    if not ruled:
        return
    if ctx.scope is not None:
        for row in list(current_at_scope_places(ctx.conn, ruled, ctx.as_of)):
            element = ruled[row.element]
            reasons = rule_violations(row.value, element.rules, element.type)
            if reasons:
                yield _finding(ctx, element, row, reasons)
        return
    bad: dict[str, dict[str | None, list[str]]] = {}
    for row in distinct_values(ctx.conn, ruled, ctx.as_of):
        element = ruled[row.element]
        reasons = rule_violations(row.value, element.rules, element.type)
        if reasons:
            bad.setdefault(row.element, {})[row.value] = reasons
    for name, reasons_by_value in bad.items():
        for chunk in batches(list(reasons_by_value), _CHUNK):
            for row in current_holding(ctx.conn, name, chunk, ctx.as_of):
                yield _finding(ctx, ruled[name], row, reasons_by_value[row.value])


def _finding(ctx: ScanContext, element: Element, row: Any, reasons: list[str]) -> Finding:
    return Finding.of(
        "rule-violation",
        rule_violation_message(row.system, element.name, row.record, row.value, reasons),
        owner=value_owner(ctx.registry, element.name, row.system),
        element=element.name,
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
