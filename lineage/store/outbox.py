"""The webhook's outbox (``findings_outbox``, migration 0007): what is still to be told.

A row is written in the same transaction as the finding it announces (opened or resolved),
so nothing is told that was not committed and nothing committed is forgotten. Deliverers
(:mod:`lineage.webhook`) then work it off:

1. :func:`claim` takes up to ``limit`` due rows (``next_attempt_at <= now``, not delivered)
   in a short transaction and leases them (``next_attempt_at`` moved past the longest a
   POST can take), so that a
   second deliverer does not take them while the first one is sending. PostgreSQL skips rows
   another deliverer has locked (``FOR UPDATE SKIP LOCKED``); SQLite has one writer at a
   time (``BEGIN IMMEDIATE``). No transaction stays open while a row is being sent.
2. :func:`mark_delivered` or :func:`reschedule` records the outcome; a deliverer that dies
   in between leaves the row to come due again when its lease ends.

Times are wall-clock microseconds since the epoch (the outbox is about delivery, not about
the store's clock).
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, text
from sqlalchemy.exc import SQLAlchemyError

from ..errors import StoreError
from .database import Store, busy_error, lock_for_writing

#: SQLite: ``BEGIN IMMEDIATE``; the key only matters on PostgreSQL, where claims do not lock.
OUTBOX_LOCK = 0x6C696E656103


@dataclass(frozen=True, slots=True)
class OutboxRow:
    """One announcement to send: ``payload`` is the JSON document, ``seq`` its idempotency key."""

    seq: int
    finding_id: int
    event: str
    payload: str
    attempts: int


@dataclass(frozen=True, slots=True)
class Backlog:
    """What the outbox holds: rows not yet delivered, and when the next one is due."""

    pending: int
    delivered: int
    next_attempt_at: int | None
    last_error: str | None


ENQUEUE = """
INSERT INTO findings_outbox (finding_id, event, payload, created_at, attempts, next_attempt_at)
VALUES (:finding_id, :event, :payload, :now, 0, :now)
"""


def enqueue(
    conn: Connection, *, finding_id: int, event: str, payload: Mapping[str, Any] | str, now: int
) -> None:
    """Add an announcement to the outbox on ``conn``, inside the caller's transaction.

    Args:
        conn: the transaction that opens or resolves the finding.
        finding_id: ``findings.id`` of the occurrence.
        event: ``opened`` or ``resolved``.
        payload: the document to POST (the finding's contract JSON plus ``event``), as a
            mapping or as JSON text.
        now: wall clock, microseconds since the epoch: the row is due at once.
    """
    document = payload if isinstance(payload, str) else json.dumps(payload, sort_keys=True)
    conn.execute(
        text(ENQUEUE),
        {"finding_id": finding_id, "event": event, "payload": document, "now": now},
    )


DUE_SQLITE = """
SELECT seq, finding_id, event, payload, attempts FROM findings_outbox
WHERE delivered_at IS NULL AND next_attempt_at <= :due_by AND seq > :after
ORDER BY seq
LIMIT :limit
"""

ANY_DUE = """
SELECT 1 FROM findings_outbox
WHERE delivered_at IS NULL AND next_attempt_at <= :due_by AND seq > :after
LIMIT 1
"""

DUE_POSTGRES = """
SELECT seq, finding_id, event, payload, attempts FROM findings_outbox
WHERE delivered_at IS NULL AND next_attempt_at <= :due_by AND seq > :after
ORDER BY seq
LIMIT :limit
FOR UPDATE SKIP LOCKED
"""

LEASE = """
UPDATE findings_outbox SET next_attempt_at = :until
WHERE seq = :seq AND delivered_at IS NULL
"""


def claim(
    store: Store, *, due_by: int, lease_until: int, limit: int, after: int = 0
) -> list[OutboxRow]:
    """Take up to ``limit`` rows due by ``due_by`` after row ``after``, oldest first, leased
    until ``lease_until`` (no other deliverer takes them before).

    Raises:
        StoreError: the database failed, or another writer held SQLite's lock past the
            busy timeout.
    """
    params = {"due_by": due_by, "after": after, "limit": limit}
    if store.dialect == "sqlite":
        # a look without the lock first: an idle deliverer polling an empty outbox never
        # takes SQLite's one write lock from the writers
        with _errors(store), store.engine.connect() as conn:
            if conn.execute(text(ANY_DUE), params).first() is None:
                return []
    with _errors(store), store.engine.connect() as conn, conn.begin():
        if store.dialect == "sqlite":
            lock_for_writing(conn, OUTBOX_LOCK, store.busy_timeout)
            due = DUE_SQLITE
        else:
            due = DUE_POSTGRES
        rows = [
            OutboxRow(int(r.seq), int(r.finding_id), str(r.event), str(r.payload), int(r.attempts))
            for r in conn.execute(text(due), params)
        ]
        if rows:
            conn.execute(text(LEASE), [{"until": lease_until, "seq": row.seq} for row in rows])
    return rows


DELIVERED = """
UPDATE findings_outbox
SET delivered_at = :now, attempts = attempts + 1, last_error = NULL
WHERE seq = :seq AND delivered_at IS NULL
"""


def mark_delivered(store: Store, seq: int, *, now: int) -> None:
    """Record that the receiver accepted row ``seq``: it is never sent again."""
    with _errors(store), store.engine.begin() as conn:
        conn.execute(text(DELIVERED), {"seq": seq, "now": now})


RESCHEDULED = """
UPDATE findings_outbox
SET next_attempt_at = :next, attempts = attempts + 1, last_error = :error
WHERE seq = :seq AND delivered_at IS NULL
"""


def reschedule(store: Store, seq: int, *, next_attempt_at: int, error: str) -> None:
    """Record a failed attempt at row ``seq`` and when to try it again."""
    with _errors(store), store.engine.begin() as conn:
        conn.execute(text(RESCHEDULED), {"seq": seq, "next": next_attempt_at, "error": error})


RELEASED = """
UPDATE findings_outbox SET next_attempt_at = :now
WHERE seq = :seq AND delivered_at IS NULL
"""


def release(store: Store, seqs: list[int], *, now: int) -> None:
    """Give claimed rows back unsent (a deliverer out of time): due again at ``now``."""
    if seqs:
        with _errors(store), store.engine.begin() as conn:
            conn.execute(text(RELEASED), [{"seq": seq, "now": now} for seq in seqs])


BACKLOG = """
SELECT
  (SELECT count(*) FROM findings_outbox WHERE delivered_at IS NULL) AS pending,
  (SELECT count(*) FROM findings_outbox WHERE delivered_at IS NOT NULL) AS delivered,
  (SELECT min(next_attempt_at) FROM findings_outbox WHERE delivered_at IS NULL) AS next_at,
  (SELECT last_error FROM findings_outbox
   WHERE delivered_at IS NULL AND last_error IS NOT NULL
   ORDER BY seq DESC LIMIT 1) AS last_error
"""


def backlog(store: Store) -> Backlog:
    """How many rows wait, how many were delivered, the next due time and the latest error."""
    with _errors(store), store.engine.connect() as conn:
        row = conn.execute(text(BACKLOG)).one()
    return Backlog(
        int(row.pending),
        int(row.delivered),
        None if row.next_at is None else int(row.next_at),
        row.last_error,
    )


@contextlib.contextmanager
def _errors(store: Store) -> Iterator[None]:
    """Driver errors as one :class:`StoreError` naming the database."""
    try:
        yield
    except SQLAlchemyError as exc:
        busy = busy_error(exc, store.busy_timeout)
        if busy is not None:
            raise busy from exc
        url = store.engine.url.render_as_string(hide_password=True)
        lines = str(getattr(exc, "orig", None) or exc).strip().splitlines()
        reason = lines[0] if lines else type(exc).__name__
        raise StoreError(f"cannot read or update the webhook outbox of {url}: {reason}") from exc
