"""What changed in the store since a judgement: the watermark and the keys of what it touches.

Incremental detection (docs/CONTRACT.md, :mod:`lineage.detect.scope`) judges only what a batch
touches. This module reads, with indexed statements whose cost grows with the batch and never
with the store, the watermark of the store now and the keys of the rows recorded since an
earlier watermark: new events by ``seq``, new hop statuses, OpenLineage events, and the hops
whose delivery timeout the store clock passed between two judgements.

Every statement is one whole SQL text with bound parameters.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from itertools import groupby
from operator import itemgetter
from typing import NamedTuple

from sqlalchemy import Connection, bindparam, text

from ..queries import CLOCK


@dataclass(frozen=True, slots=True)
class Watermark:
    """How far a judgement saw: the last sequence numbers, the store's clock, the registry.

    Attributes:
        events_seq: the last ``events.seq`` (0 for none).
        status_seq: the last ``hop_status.seq`` (0 for none).
        openlineage_seq: the last ``openlineage_events.seq`` (0 for none).
        clock: the store's clock (the latest event's time, microseconds), None when empty.
        registry_version: the ``registry_versions.id`` in force, None before any load.
    """

    events_seq: int = 0
    status_seq: int = 0
    openlineage_seq: int = 0
    clock: int | None = None
    registry_version: int | None = None


class Touched(NamedTuple):
    """One event a batch touches: its place, how it travelled and one place it read.

    A hop with several inputs gives one row per input; a write or a snapshot one row with
    no input (``in_*`` None). A tuple: a batch's are made by the ten thousand (a frozen
    dataclass cost about 1.5 us more a row).
    """

    event_id: str
    kind: str
    system: str
    element: str
    record: str
    integration: str | None
    source: str | None  # a hop's first input system (the route's source), else None
    in_system: str | None
    in_element: str | None
    in_record: str | None


# CLOCK is a module constant (the store's clock, defined once)
_NOW = text(
    "SELECT (SELECT COALESCE(MAX(seq), 0) FROM events) AS events_seq, "  # noqa: S608
    "(SELECT COALESCE(MAX(seq), 0) FROM hop_status) AS status_seq, "
    "(SELECT COALESCE(MAX(seq), 0) FROM openlineage_events) AS openlineage_seq, "
    f"{CLOCK} AS clock, "
    "(SELECT MAX(id) FROM registry_versions) AS registry_version"
)

_STORED = text(
    "SELECT events_seq, status_seq, openlineage_seq, clock, registry_version "
    "FROM detection_state WHERE id = 1"
)


def watermark_now(conn: Connection) -> Watermark:
    """The store's watermark now: each sequence's last number, the clock, the registry."""
    row = conn.execute(_NOW).one()
    return Watermark(
        events_seq=int(row.events_seq),
        status_seq=int(row.status_seq),
        openlineage_seq=int(row.openlineage_seq),
        clock=None if row.clock is None else int(row.clock),
        registry_version=None if row.registry_version is None else int(row.registry_version),
    )


def stored_watermark(conn: Connection) -> Watermark | None:
    """The watermark the last judgement stored in ``detection_state``, None before any."""
    row = conn.execute(_STORED).first()
    if row is None:
        return None
    return Watermark(
        events_seq=int(row.events_seq),
        status_seq=int(row.status_seq),
        openlineage_seq=int(row.openlineage_seq),
        clock=None if row.clock is None else int(row.clock),
        registry_version=None if row.registry_version is None else int(row.registry_version),
    )


# The events recorded in (since, until], with what each hop read: the primary key's range
# and the hop inputs' event index, in the key's order (no sort: the range is read in it). A
# hop's source (its first input system) is taken over the rows of its event, which come
# together, in Python: not by probing the inputs again for every event (a 1,007-event batch
# at 1,000,000 events on PostgreSQL: about 2 ms of its 6), nor by a window over the join
# (SQLite, a 19,950-event batch: 11.3 us an event read with the window, 6.3 without).
_NEW_EVENTS = text(
    "SELECT e.seq, e.event_id, e.kind, e.system, e.element, e.record, e.integration, "
    "i.system AS in_system, i.element AS in_element, i.record AS in_record "
    "FROM events e LEFT JOIN hop_inputs i ON i.event_id = e.event_id "
    "WHERE e.seq > :since AND e.seq <= :until ORDER BY e.seq"
)

# The hops whose status changed: a status recorded in (since, until] by sequence, or one
# recorded earlier whose time the clock reached only now (a status dated after the latest
# event does not count until the clock passes it), through ix_hop_status_at; the status a
# hop dated back arrived with counts the same way, through ix_events_status_at.
_STATUS_CHANGED = text(
    "SELECT e.event_id, e.kind, e.system, e.element, e.record, e.integration, "
    "NULL AS source, i.system AS in_system, i.element AS in_element, i.record AS in_record "
    "FROM (SELECT event_id FROM hop_status WHERE seq > :since AND seq <= :until "
    "      UNION SELECT event_id FROM hop_status WHERE at > :since_clock AND at <= :clock "
    "      UNION SELECT event_id FROM events "
    "      WHERE status_at > :since_clock AND status_at <= :clock) s "
    "JOIN events e ON e.event_id = s.event_id "
    "LEFT JOIN hop_inputs i ON i.event_id = e.event_id"
)

# Hops still undelivered by their first status and sent early enough that a timeout of
# between :shortest and :longest may have run out between the two clocks: the partial index
# on undelivered hops, a time range; and the hops dated back that arrived delivered (in
# flight until that status's time), through ix_events_status_at. The caller keeps those
# whose own timeout ran out.
_MAYBE_TIMED_OUT = text(
    "SELECT event_id, at, integration FROM events "
    "WHERE status <> 'delivered' AND at >= :since_clock - :longest AND at < :clock - :shortest "
    "AND kind = 'hop' "
    "UNION ALL SELECT event_id, at, integration FROM events "
    "WHERE status_at IS NOT NULL AND status = 'delivered' "
    "AND at >= :since_clock - :longest AND at < :clock - :shortest AND kind = 'hop'"
)

# OpenLineage jobs with an event recorded in (since, until], or dated into the clock's step.
_JOBS = text(
    "SELECT DISTINCT job_namespace, job_name FROM openlineage_events "
    "WHERE seq > :since AND seq <= :until "
    "UNION SELECT DISTINCT job_namespace, job_name FROM openlineage_events "
    "WHERE event_time > :since_clock AND event_time <= :clock"
)


def _touched(rows: Iterator[object]) -> Iterator[Touched]:
    for row in rows:
        yield Touched(*row)  # type: ignore[misc]


def new_events(conn: Connection, since: Watermark, until: Watermark) -> Iterator[Touched]:
    """The events recorded after ``since`` up to ``until`` (one row per hop input)."""
    params = {"since": since.events_seq, "until": until.events_seq}
    rows = conn.execute(_NEW_EVENTS, params)
    for _seq, group in groupby(rows, key=itemgetter(0)):
        event = list(group)
        systems = [row[7] for row in event if row[7] is not None]
        source = min(systems) if systems else None
        for _, event_id, kind, system, element, record, integration, *read in event:
            yield Touched(event_id, kind, system, element, record, integration, source, *read)


def status_changed(conn: Connection, since: Watermark, until: Watermark) -> Iterator[Touched]:
    """The hops whose status changed between the watermarks (one row per hop input)."""
    params = {
        "since": since.status_seq,
        "until": until.status_seq,
        "since_clock": since.clock if since.clock is not None else until.clock,
        "clock": until.clock,
    }
    yield from _touched(iter(conn.execute(_STATUS_CHANGED, params)))


_BY_ID = text(
    "SELECT e.event_id, e.kind, e.system, e.element, e.record, e.integration, "
    "NULL AS source, i.system AS in_system, i.element AS in_element, i.record AS in_record "
    "FROM events e LEFT JOIN hop_inputs i ON i.event_id = e.event_id "
    "WHERE e.event_id IN :ids"
).bindparams(bindparam("ids", expanding=True))


def events_by_id(conn: Connection, event_ids: Iterable[str]) -> Iterator[Touched]:
    """The events ``event_ids`` (one row per hop input), in chunks of 500 ids."""
    ids = sorted(event_ids)
    for start in range(0, len(ids), 500):
        yield from _touched(iter(conn.execute(_BY_ID, {"ids": ids[start : start + 500]})))


def maybe_timed_out(
    conn: Connection, since_clock: int, clock: int, shortest: int, longest: int
) -> Iterator[tuple[str, int, str | None]]:
    """Undelivered hops that a timeout between ``shortest`` and ``longest`` (microseconds)
    may have made lost between ``since_clock`` and ``clock``: ``(event_id, at, integration)``."""
    params = {"since_clock": since_clock, "clock": clock, "shortest": shortest, "longest": longest}
    for row in conn.execute(_MAYBE_TIMED_OUT, params):
        yield str(row.event_id), int(row.at), row.integration


def jobs_touched(conn: Connection, since: Watermark, until: Watermark) -> set[str]:
    """OpenLineage jobs (``namespace/name``) with events recorded or dated since ``since``."""
    params = {
        "since": since.openlineage_seq,
        "until": until.openlineage_seq,
        "since_clock": since.clock if since.clock is not None else until.clock,
        "clock": until.clock,
    }
    return {f"{row.job_namespace}/{row.job_name}" for row in conn.execute(_JOBS, params)}
