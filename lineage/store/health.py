"""The SQL of health over time: per day, hops delivered, failed and lost, findings opened and
resolved (see :mod:`lineage.health` for what each count means).

Every count is made by the database, grouped by day and by the columns asked for; nothing
here reads the rows themselves. Days are numbered from ``origin`` (the midnight, UTC, that
starts the first day shown): an event at ``at`` falls on day ``(at - origin) // DAY``.

- Hops delivered and failed: the status records (a hop's own, then ``hop_status``) in the
  window, by the day of their event time. The window's hops are read through ``ix_events_at``,
  the later statuses through their join on ``ix_hop_status_event``.
- Hops lost: the hops still ``sent`` whose timeout ran out in the window, through the partial
  index on undelivered hops (``ix_events_undelivered``), one statement per distinct timeout.
- Findings opened and resolved: ``ix_findings_first_seen`` and ``ix_findings_resolved``; the
  findings open when the window starts are one more grouped count.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Literal

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Connection,
    exists,
    func,
    literal,
    not_,
    or_,
    select,
    union_all,
)

from .schema import (
    UNDELIVERED,
    detection_state,
    events,
    findings,
    hop_status,
    registry_versions,
)

DAY = 86_400_000_000
"""A day in microseconds (the store's unit of time)."""

HOP_KEYS = ("integration", "system", "element")
"""What a hop is grouped by: its integration, and the place it delivers to."""

FindingKey = Literal["integration", "system", "element", "owner"]

FINAL = ("delivered", "failed")


def _us(value: int) -> ColumnElement[int]:
    """A moment or a duration as a bound BIGINT (PostgreSQL would bind a small int as INTEGER
    and overflow on microseconds since the epoch)."""
    return literal(value, BigInteger)


@dataclass(frozen=True, slots=True)
class Window:
    """The days asked about: ``origin`` (the first day's midnight) to ``as_of`` (inclusive)."""

    origin: int
    as_of: int

    def day_of(self, column: ColumnElement[int]) -> ColumnElement[int]:
        """The day number of a moment ``column`` (0 the first day)."""
        return ((column - _us(self.origin)) // _us(DAY)).label("day")


@dataclass(frozen=True, slots=True)
class HopCount:
    """Hops of one (integration, system, element) with one outcome on one day."""

    day: int
    integration: str | None
    system: str
    element: str
    count: int
    outcome: str = "lost"


def delivery_counts(conn: Connection, window: Window) -> Iterator[HopCount]:
    """Status records ``delivered`` and ``failed`` per day of their event time, per hop
    integration and place (``outcome`` says which).

    A hop recorded as delivered counts on the day of its event; a hop sent and later reported
    delivered (or failed) counts on the day of that later status. A hop that failed and was
    then delivered on a retry counts once on each day. One pass over the window's events
    (``ix_events_at``) and one over its later statuses (``ix_hop_status_at``).
    """
    own_at = func.coalesce(events.c.status_at, events.c.at)
    columns = (
        window.day_of(own_at),
        events.c.status,
        events.c.integration,
        events.c.system,
        events.c.element,
    )
    own = select(*columns).where(
        events.c.at >= window.origin,
        events.c.at <= window.as_of,
        events.c.kind == "hop",
        events.c.status.in_(FINAL),
        own_at <= window.as_of,
    )
    # a hop dated back before the window by an earlier status that arrived after the one it
    # arrived with, which falls in the window (ix_events_status_at: those few hops)
    moved = select(*columns).where(
        events.c.status_at >= window.origin,
        events.c.status_at <= window.as_of,
        events.c.at < window.origin,
        events.c.kind == "hop",
        events.c.status.in_(FINAL),
    )
    later = (
        select(
            window.day_of(hop_status.c.at),
            hop_status.c.status,
            events.c.integration,
            events.c.system,
            events.c.element,
        )
        .select_from(hop_status.join(events, events.c.event_id == hop_status.c.event_id))
        .where(
            hop_status.c.at >= window.origin,
            hop_status.c.at <= window.as_of,
            hop_status.c.status.in_(FINAL),
        )
    )
    both = union_all(own, moved, later).subquery("outcomes")
    keys = (both.c.day, both.c.status, both.c.integration, both.c.system, both.c.element)
    statement = select(*keys, func.count()).group_by(*keys)
    for row in conn.execute(statement):
        yield HopCount(int(row[0]), row[2], row[3], row[4], int(row[5]), row[1])


def lost_counts(
    conn: Connection,
    window: Window,
    timeout: int,
    integrations: Sequence[str],
    *,
    others: bool = False,
) -> Iterator[HopCount]:
    """Hops that became lost in the window, per day, for the integrations of one timeout.

    ``integrations``: the names whose timeout is ``timeout`` (microseconds); with ``others``
    the hops on any other integration, or none (undeclared ones take the default timeout).

    A hop still ``sent`` is lost once the moment judged is past its timeout
    (:func:`lineage.rules.overdue_us`): its ``deadline`` is ``at + timeout`` and it is lost at
    any moment after it. It is counted on the day whose end (the day's last microsecond, or
    ``as_of`` on the last day) is the first judged past the deadline, when no final status
    (delivered or failed) was recorded for it by that moment. So each hop is lost on one day
    at most, and a day's count is what a scan as of the day's end finds newly lost.
    """
    deadline = events.c.at + _us(timeout)
    day = ((deadline + _us(1 - window.origin)) // _us(DAY)).label("day")
    # the last microsecond of the hop's lost day (as_of caps it on the last day, below)
    day_end = _us(window.origin - 1) + (day + _us(1)) * _us(DAY)
    settled = exists().where(
        hop_status.c.event_id == events.c.event_id,
        hop_status.c.status.in_(FINAL),
        hop_status.c.at <= window.as_of,
        hop_status.c.at <= day_end,
    )
    named: ColumnElement[bool] = events.c.integration.in_(list(integrations))
    if others:
        named = or_(events.c.integration.is_(None), not_(named))
    # origin - 1 <= deadline < as_of, said of `at` itself: a range scan of an index
    terms = (
        events.c.at >= window.origin - 1 - timeout,
        events.c.at < window.as_of - timeout,
        events.c.kind == "hop",
        named,
        not_(settled),
    )
    keys = (day, events.c.integration, events.c.system, events.c.element)
    sent = select(*keys).where(
        UNDELIVERED,  # the partial index's own predicate, so that the index is used
        events.c.status == "sent",
        *terms,
    )
    # a hop that arrived with a final status dated after its earlier `sent` (which arrived
    # later): in flight from its time until that status's (ix_events_status_at)
    arrived_later = select(*keys).where(
        events.c.status_at.is_not(None),
        events.c.status.in_(FINAL),
        or_(events.c.status_at > window.as_of, events.c.status_at > day_end),
        *terms,
    )
    both = union_all(sent, arrived_later).subquery("lost")
    grouped = (both.c.day, both.c.integration, both.c.system, both.c.element)
    statement = select(*grouped, func.count()).group_by(*grouped)
    for row in conn.execute(statement):
        yield HopCount(int(row[0]), row[1], row[2], row[3], int(row[4]))


@dataclass(frozen=True, slots=True)
class FindingCount:
    """Findings of one group (``key``) opened or resolved on one day (-1: open before it)."""

    day: int
    key: str | None
    count: int


def findings_opened(conn: Connection, window: Window, key: FindingKey) -> Iterator[FindingCount]:
    """Occurrences first seen on each day of the window, per ``key``."""
    column = findings.c[key]
    day = window.day_of(findings.c.first_seen_at)
    statement = (
        select(day, column, func.count())
        .where(findings.c.first_seen_at >= window.origin, findings.c.first_seen_at <= window.as_of)
        .group_by(day, column)
    )
    for row in conn.execute(statement):
        yield FindingCount(int(row[0]), row[1], int(row[2]))


def findings_resolved(conn: Connection, window: Window, key: FindingKey) -> Iterator[FindingCount]:
    """Occurrences resolved on each day of the window, per ``key``."""
    column = findings.c[key]
    day = window.day_of(findings.c.resolved_at)
    statement = (
        select(day, column, func.count())
        .where(findings.c.resolved_at >= window.origin, findings.c.resolved_at <= window.as_of)
        .group_by(day, column)
    )
    for row in conn.execute(statement):
        yield FindingCount(int(row[0]), row[1], int(row[2]))


def findings_open_before(
    conn: Connection, window: Window, key: FindingKey
) -> Iterator[FindingCount]:
    """Occurrences open when the window starts (first seen before it, not resolved by then),
    per ``key``, as day -1."""
    column = findings.c[key]
    statement = (
        select(column, func.count())
        .where(
            findings.c.first_seen_at < window.origin,
            or_(findings.c.resolved_at.is_(None), findings.c.resolved_at >= window.origin),
        )
        .group_by(column)
    )
    for row in conn.execute(statement):
        yield FindingCount(-1, row[0], int(row[1]))


def change_marker(conn: Connection) -> tuple[int | None, ...]:
    """What moves whenever a health answer may change: the newest event, hop status, finding,
    resolution, judgement and registry version (each one step at an index's edge)."""
    statement = select(
        select(func.max(events.c.seq)).scalar_subquery(),
        select(func.max(hop_status.c.seq)).scalar_subquery(),
        select(func.max(findings.c.id)).scalar_subquery(),
        select(func.max(findings.c.resolved_at)).scalar_subquery(),
        select(func.max(detection_state.c.judged_at)).scalar_subquery(),
        select(func.max(registry_versions.c.id)).scalar_subquery(),
    )
    return tuple(conn.execute(statement).one())


__all__ = [
    "DAY",
    "HOP_KEYS",
    "FindingCount",
    "FindingKey",
    "HopCount",
    "Window",
    "change_marker",
    "delivery_counts",
    "findings_open_before",
    "findings_opened",
    "findings_resolved",
    "lost_counts",
]
