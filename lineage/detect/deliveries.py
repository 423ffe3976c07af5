"""Deliveries that went wrong: ``failed-delivery``, ``lost-delivery``, ``duplicate-delivery``.

A hop's status is its latest status as of the scan (see :mod:`lineage.detect.common`).
Failed and lost hops are read through the partial index on undelivered hops plus the small
``hop_status`` table; duplicates are one grouped query over the hops of one-to-one
integrations.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

from sqlalchemy import Select, and_, case, func, not_, select, union_all

from ..model.findings import Finding
from ..model.registry import Cardinality
from ..rules import hop_owner, message, overdue_us, timeout_us
from ..store.schema import UNDELIVERED, events, hop_inputs
from .base import ScanContext
from .common import (
    FAILED,
    HOP,
    SAMPLES,
    SENT,
    failed_hops,
    latest_status,
    stream,
    when,
)


def _current(ctx: ScanContext) -> Select[Any]:
    """Hops whose status as of the scan is ``failed`` or ``sent``, with that status."""
    later = latest_status(ctx)
    columns = (
        events.c.event_id,
        events.c.at,
        events.c.integration,
        events.c.system,
        events.c.element,
        events.c.record,
        events.c.value,
    )
    sent_undelivered = (
        select(
            *columns,
            func.coalesce(later.c.status, events.c.status).label("current"),
            case((later.c.status.is_(None), events.c.error), else_=later.c.error).label("error"),
            func.coalesce(later.c.at, events.c.at).label("status_at"),
        )
        .select_from(events.outerjoin(later, later.c.event_id == events.c.event_id))
        .where(UNDELIVERED, events.c.kind == HOP, events.c.at <= ctx.as_of)
    )
    sent_delivered = (
        select(
            *columns,
            later.c.status.label("current"),
            later.c.error.label("error"),
            later.c.at.label("status_at"),
        )
        .select_from(later.join(events, events.c.event_id == later.c.event_id))
        .where(not_(UNDELIVERED), events.c.at <= ctx.as_of)
    )
    both = union_all(sent_undelivered, sent_delivered).subquery("current")
    return select(both).where(both.c.current.in_([FAILED, SENT]))


def failed_or_lost_delivery(ctx: ScanContext) -> Iterator[Finding]:
    """``failed-delivery`` and ``lost-delivery`` (a hop still sent past its timeout)."""
    for row in stream(ctx, _current(ctx)):
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
                timeout=_duration_text(timedelta(microseconds=timeout)),
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


def _duration_text(delta: timedelta) -> str:
    seconds = int(delta.total_seconds())
    for unit, size in (("d", 86_400), ("h", 3600), ("m", 60)):
        if seconds >= size and seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def duplicate_delivery(ctx: ScanContext) -> Iterator[Finding]:
    """One source record delivered to several target records by a one-to-one integration."""
    one_to_one = sorted(
        i.name for i in ctx.registry.integrations if i.cardinality == Cardinality.ONE_TO_ONE
    )
    if not one_to_one:
        return
    failed = failed_hops(ctx)
    # Only a source place read by two hops or more can be duplicated: found on the covering
    # index ix_hop_inputs_place alone, before any hop is joined.
    shared = (
        select(hop_inputs.c.system, hop_inputs.c.element, hop_inputs.c.record)
        .group_by(hop_inputs.c.system, hop_inputs.c.element, hop_inputs.c.record)
        .having(func.count() > 1)
        .subquery("shared")
    )
    read = hop_inputs.alias("read")
    joined = shared.join(
        read,
        and_(
            read.c.system == shared.c.system,
            read.c.element == shared.c.element,
            read.c.record == shared.c.record,
        ),
    ).join(events, events.c.event_id == read.c.event_id)
    key = (
        events.c.integration,
        read.c.system,
        read.c.element,
        read.c.record,
        events.c.system,
        events.c.element,
    )
    live = (
        events.c.kind == HOP,
        events.c.integration.in_(one_to_one),
        events.c.at <= ctx.as_of,
        not_(events.c.seq.in_(failed)),
    )
    groups = (
        select(*(c.label(f"k{n}") for n, c in enumerate(key)))
        .select_from(joined)
        .where(*live)
        .group_by(*key)
        .having(func.min(events.c.record) != func.max(events.c.record))
        .subquery("duplicated")
    )
    again = hop_inputs.alias("again")
    detail = (
        select(
            *(groups.c[f"k{n}"] for n in range(len(key))),
            events.c.event_id,
            events.c.at,
            events.c.record,
        )
        .select_from(
            groups.join(
                again,
                and_(
                    again.c.system == groups.c.k1,
                    again.c.element == groups.c.k2,
                    again.c.record == groups.c.k3,
                ),
            ).join(events, events.c.event_id == again.c.event_id)
        )
        .where(
            *live,
            events.c.integration == groups.c.k0,
            events.c.system == groups.c.k4,
            events.c.element == groups.c.k5,
        )
        .order_by(*(groups.c[f"k{n}"] for n in range(len(key))), events.c.at, events.c.seq)
    )
    current: tuple[Any, ...] | None = None
    rows: list[Any] = []
    for row in stream(ctx, detail):
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
    listed = ", ".join(targets)
    return Finding.of(
        "duplicate-delivery",
        f"{integration} is one-to-one but delivered {src_system} record {src_record} "
        f"({src_element}) to {len(targets)} {system} records: {listed}",
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
