"""Deliveries that went wrong: ``failed-delivery``, ``lost-delivery``, ``duplicate-delivery``.

A hop's status is its latest status as of the scan (statements:
:mod:`lineage.store.detection.deliveries`).
Failed and lost hops are read through the partial index on undelivered hops plus the small
``hop_status`` table; duplicates are one grouped query over the hops of one-to-one
integrations.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from ..model.findings import Finding
from ..model.registry import Cardinality
from ..rules import (
    duplicate_delivery_message,
    duration_text,
    hop_owner,
    message,
    overdue_us,
    timeout_us,
)
from ..store.detection.deliveries import duplicated_sources, unfinished_hops
from .base import ScanContext
from .common import SAMPLES, when


def failed_or_lost_delivery(ctx: ScanContext) -> Iterator[Finding]:
    """``failed-delivery`` and ``lost-delivery`` (a hop still sent past its timeout)."""
    for row in unfinished_hops(ctx.conn, ctx.as_of, scoped=ctx.scope is not None):
        via = row.integration or "no declared integration"
        owner = hop_owner(ctx.registry, row.integration, row.element, row.system)
        place = {
            "element": row.element,
            "system": row.system,
            "integration": row.integration,
            "record": row.record,
            "event": row.event_id,
        }
        if row.current == "failed":
            yield Finding.of(
                "failed-delivery",
                message(
                    "failed-delivery",
                    event=row.event_id,
                    via=via,
                    element=row.element,
                    system=row.system,
                    record=row.record,
                    reason=row.error or "no reason given",
                ),
                owner=owner,
                evidence={
                    "hop": row.event_id,
                    "sent_at": when(row.at),
                    "failed_at": when(row.status_at),
                    "error": row.error,
                },
                **place,
            )
            continue
        timeout = timeout_us(ctx.registry, row.integration)
        overdue = overdue_us(row.current, row.at, timeout, ctx.as_of)
        if overdue <= 0:
            continue
        yield Finding.of(
            "lost-delivery",
            message(
                "lost-delivery",
                event=row.event_id,
                via=via,
                sent_at=when(row.at),
                element=row.element,
                system=row.system,
                record=row.record,
                timeout=duration_text(timeout),
            ),
            owner=owner,
            # nothing here names the moment judged: a later judgement that finds the hop
            # still lost finds the same finding (the scope contract)
            evidence={
                "hop": row.event_id,
                "sent_at": when(row.at),
                "timeout_seconds": timeout // 1_000_000,
                "due_at": when(row.at + timeout),
            },
            **place,
        )


def duplicate_delivery(ctx: ScanContext) -> Iterator[Finding]:
    """One source record delivered to several target records by a one-to-one integration."""
    one_to_one = sorted(
        i.name for i in ctx.registry.integrations if i.cardinality == Cardinality.ONE_TO_ONE
    )
    if not one_to_one:
        return
    detail = duplicated_sources(ctx.conn, ctx.as_of, one_to_one, scoped=ctx.scope is not None)
    current: tuple[Any, ...] | None = None
    rows: list[Any] = []
    for row in detail:
        group = tuple(row[:6])
        if group != current and rows:
            yield _duplicate(ctx, rows)
            rows = []
        current = group
        rows.append(row)
    if rows:
        yield _duplicate(ctx, rows)


def _duplicate(ctx: ScanContext, rows: list[Any]) -> Finding:
    integration, src_system, src_element, src_record, system, element = rows[0][:6]
    targets: dict[str, str] = {}
    for row in rows:
        targets.setdefault(row.record, row.event_id)
    last = rows[-1]
    source = (src_system, src_element, src_record)
    return Finding.of(
        "duplicate-delivery",
        duplicate_delivery_message(integration, source, system, targets),
        owner=hop_owner(ctx.registry, integration, element, system),
        element=element,
        system=system,
        integration=integration,
        record=last.record,
        event=last.event_id,
        evidence={
            "source": {"system": src_system, "element": src_element, "record": src_record},
            "targets": [{"record": r, "event": e} for r, e in targets.items()],
            "hops": len(rows),
            "events": [r.event_id for r in rows[-SAMPLES:]],
            "last_at": when(last.at),
        },
    )
