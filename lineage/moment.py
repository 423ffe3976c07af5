"""The moment an answer judges as of: ``--as-of`` when given, else the store's clock.

One function for every question (trace, impact, golden, scan, digest, audit, health), so
that two answers read together were judged by the same clock; the words and the JSON form
are :func:`lineage.rules.judged_text` and :func:`lineage.rules.judged_iso`.
"""

from __future__ import annotations

import time

from .rules import Judged, judged
from .store.detection import Connection
from .store.queries import clock

__all__ = ["judged_now", "now_us"]


def now_us() -> int:
    """The wall clock in microseconds since the epoch (only an empty store is judged by it)."""
    return time.time_ns() // 1000


def judged_now(conn: Connection, as_of: int | None) -> Judged:
    """The moment judged on ``conn``: ``as_of`` (microseconds) when given, else the store's
    clock (the latest event recorded, tracker or OpenLineage), else the wall clock."""
    return judged(as_of, clock(conn) if as_of is None else None, now_us())
