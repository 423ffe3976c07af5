"""``broken-chain`` and untraced hop inputs' statement: the hop inputs whose value is not
what their place held at the hop (or held nothing).

Two formulations of the same question, both plain portable SQL, chosen for the planner that
runs them (the tests run both on both backends and compare):

- probes (SQLite's best, and every scoped judgement's): one correlated probe of
  ``ix_events_place_at`` per input, answered from the index
  (:func:`~lineage.store.detection.common.agrees_with_holder`);
- intervals (PostgreSQL's best over a whole store): one window pass gives every held value
  the interval it was current in (``LEAD(at)``), and the inputs are hash-joined to the
  interval that contains the hop's time. PostgreSQL runs a correlated subquery per row as a
  sub-plan, several times slower than its hash join.

A scoped judgement reads only the inputs of the scope's hops and the inputs read from the
scope's places (``ix_hop_inputs_event``, ``ix_hop_inputs_place``).
"""

from __future__ import annotations

from collections.abc import Iterator
from functools import cache
from typing import Any

from sqlalchemy import Connection, Row, Select, and_, func, or_, select, union_all

from ..schema import events, hop_inputs
from .common import (
    AS_OF,
    FAILED,
    HOP,
    agrees_with_holder,
    holds_value,
    in_scope_events,
    in_scope_places,
    stream,
)


def disagreeing_inputs(
    conn: Connection, as_of: int, *, scoped: bool = False, intervals: bool | None = None
) -> Iterator[Row[Any]]:
    """Rows ``seq, event_id, at, integration, system, element, record, position, in_system,
    in_element, in_record, in_value`` of the live hops' inputs that disagree with their place.

    Args:
        scoped: only the inputs of the scope's events and those read at the scope's places.
        intervals: force one formulation (default: intervals on PostgreSQL, unless scoped).
    """
    if intervals is None:
        intervals = conn.dialect.name == "postgresql" and not scoped
    return stream(conn, _statement(scoped=scoped, intervals=intervals), {"as_of": as_of})


@cache
def _statement(*, scoped: bool, intervals: bool) -> Select[Any]:
    if scoped:
        return _scoped_statement()
    hop = events.alias("hop")
    inputs: Any = hop_inputs
    columns = (
        hop.c.seq,
        hop.c.event_id,
        hop.c.at,
        hop.c.integration,
        hop.c.system,
        hop.c.element,
        hop.c.record,
        inputs.c.position,
        inputs.c.system.label("in_system"),
        inputs.c.element.label("in_element"),
        inputs.c.record.label("in_record"),
        inputs.c.value.label("in_value"),
    )
    joined = inputs.join(hop, hop.c.event_id == inputs.c.event_id)
    live = [hop.c.kind == HOP, hop.c.at <= AS_OF, hop.c.seq.not_in(FAILED)]
    if not intervals:
        # read the inputs in their table's order, each hop found by its id: driven from the
        # hops (by time, or whole), SQLite probed the inputs' index at random (1,000,000
        # hops: 8.2 s of CPU against 11.5 s). An expression of the inputs' event id keeps
        # that index out of the join.
        joined = inputs.join(hop, hop.c.event_id == inputs.c.event_id.op("||")(""))
        place = (inputs.c.system, inputs.c.element, inputs.c.record)
        agrees = agrees_with_holder(
            place,
            hop.c.at,
            inputs.c.value_norm,
            exclude_seq=hop.c.seq,
            correlate=(hop, inputs),
        )
        return select(*columns).select_from(joined).where(*live, agrees.is_distinct_from(1))
    src = events.alias("src")
    partition = (src.c.system, src.c.element, src.c.record)
    order = (src.c.at, src.c.seq)
    held = (
        select(
            src.c.seq,
            src.c.system,
            src.c.element,
            src.c.record,
            src.c.at,
            src.c.value_norm,
            func.lead(src.c.at).over(partition_by=partition, order_by=order).label("until"),
            func.lead(src.c.seq).over(partition_by=partition, order_by=order).label("next_seq"),
        )
        .where(src.c.at <= AS_OF, holds_value(src))
        .subquery("held")
    )
    current = and_(
        held.c.system == inputs.c.system,
        held.c.element == inputs.c.element,
        held.c.record == inputs.c.record,
        held.c.seq != hop.c.seq,
        held.c.at <= hop.c.at,
        # current until a later event, the hop itself (reading its own place) aside
        or_(held.c.until.is_(None), held.c.until > hop.c.at, held.c.next_seq == hop.c.seq),
    )
    return (
        select(*columns)
        .select_from(joined.outerjoin(held, current))
        .where(
            *live,
            or_(held.c.seq.is_(None), held.c.value_norm.is_distinct_from(inputs.c.value_norm)),
        )
    )


def _scoped_statement() -> Select[Any]:
    """The probes formulation over the inputs of the scope's hops and those read at the
    scope's places: a union of two, each driven from its scope table through the indexes
    (hop inputs by event or place, then the hop by id), then one probe per input."""
    branches = []
    for drive in ("events", "places"):
        hop = events.alias("hop")
        columns = (
            hop.c.seq,
            hop.c.event_id,
            hop.c.at,
            hop.c.integration,
            hop.c.system,
            hop.c.element,
            hop.c.record,
            hop_inputs.c.position,
            hop_inputs.c.system.label("in_system"),
            hop_inputs.c.element.label("in_element"),
            hop_inputs.c.record.label("in_record"),
            hop_inputs.c.value.label("in_value"),
            hop_inputs.c.value_norm.label("in_norm"),
        )
        # IN lists of the scope tables: both planners drive the index look-ups from them
        # (joined, SQLite walked every hop by time and every input); the inputs of the
        # scope's own hops come from the first branch only, so the two never share a row
        wanted = (
            in_scope_events(hop_inputs.c.event_id)
            if drive == "events"
            else and_(in_scope_places(hop_inputs), ~in_scope_events(hop_inputs.c.event_id))
        )
        branches.append(
            select(*columns)
            .select_from(hop_inputs.join(hop, hop.c.event_id == hop_inputs.c.event_id))
            .where(wanted, hop.c.kind == HOP, hop.c.at <= AS_OF, hop.c.seq.not_in(FAILED))
        )
    read = union_all(*branches).subquery("read")
    agrees = agrees_with_holder(
        (read.c.in_system, read.c.in_element, read.c.in_record),
        read.c.at,
        read.c.in_norm,
        exclude_seq=read.c.seq,
        correlate=(read,),
    )
    shown = [c for c in read.c if c.name != "in_norm"]
    return select(*shown).where(agrees.is_distinct_from(1))
