"""What a registry change touches in the recorded data (``lineage diff --db``): indexed counts.

Every statement is a probe of one index: the clock is the right edge of ``ix_events_at``;
the counts of one place kind are a range of ``ix_events_place_at`` (system, element) or
``ix_events_system_record`` (system); the hops of one integration into one place kind a
range of ``ix_events_element_system`` (element, system, kind), bounded by time and by a
``LIMIT``. Nothing reads the event table whole.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import NamedTuple

from sqlalchemy import Connection, TextClause, text

from .database import Store
from .queries import CLOCK, FOREVER, InputRow, inputs_of
from .status import live_sql

__all__ = [
    "Held",
    "HopRow",
    "Recorded",
    "ValueRow",
    "held_in_place",
    "held_in_system",
    "hop_inputs",
    "hops_of",
    "hops_on_integration",
    "record_keys",
    "recorded",
    "store_clock",
    "values_in",
]


class Held(NamedTuple):
    """How many records, and value versions (events), a place kind or system holds."""

    records: int
    values: int


class ValueRow(NamedTuple):
    """One value recorded at a place (a write, a hop's output or a snapshot)."""

    event_id: str
    at: int
    record: str
    value: str | None


#: One recorded hop's output, as re-running a transform over it needs: a value at its place.
HopRow = ValueRow


_CLOCK = text(f"SELECT {CLOCK}")


def store_clock(conn: Connection) -> int | None:
    """The store's clock (:data:`lineage.store.queries.CLOCK`): the time of the latest event
    recorded, tracker or OpenLineage (microseconds), None for an empty store."""
    value = conn.execute(_CLOCK).scalar()
    return None if value is None else int(value)


_HELD_IN_PLACE = text(
    "SELECT COUNT(DISTINCT record), COUNT(*) FROM events WHERE system = :system "
    "AND element = :element"
)


def held_in_place(conn: Connection, system: str, element: str) -> Held:
    """Records and value versions of ``element`` recorded in ``system``."""
    row = conn.execute(_HELD_IN_PLACE, {"system": system, "element": element}).one()
    return Held(int(row[0]), int(row[1]))


_HELD_IN_SYSTEM = text("SELECT COUNT(DISTINCT record), COUNT(*) FROM events WHERE system = :system")


def held_in_system(conn: Connection, system: str) -> Held:
    """Records (keys) and value versions recorded in ``system``, every element."""
    row = conn.execute(_HELD_IN_SYSTEM, {"system": system}).one()
    return Held(int(row[0]), int(row[1]))


_RECORD_KEYS = text(
    "SELECT DISTINCT record FROM events WHERE system = :system AND element = :element "
    "ORDER BY record LIMIT :limit"
)


def record_keys(conn: Connection, system: str, element: str, limit: int) -> list[str]:
    """The first ``limit`` record keys (sorted) holding ``element`` in ``system``."""
    rows = conn.execute(_RECORD_KEYS, {"system": system, "element": element, "limit": limit})
    return [str(row[0]) for row in rows]


# the values of one element recorded in one system in a window: a range of ix_events_place_at
_VALUES_WINDOW = (
    "e.system = :system AND e.element = :element AND e.at >= :since AND e.at <= :until "
    f"AND {live_sql('e')}"
)
_VALUES = text(
    "SELECT e.event_id, e.at, e.record, e.value, COUNT(*) OVER () AS total "  # noqa: S608
    f"FROM events e WHERE {_VALUES_WINDOW} ORDER BY e.at DESC, e.seq DESC LIMIT :limit"
)


def values_in(
    conn: Connection, system: str, element: str, *, since: int, until: int, limit: int
) -> tuple[int, list[ValueRow]]:
    """Values of ``element`` recorded in ``system`` between two moments (failed hops left out).

    Returns:
        ``(how many there are, the latest ``limit`` of them, newest first)``.
    """
    params = {"system": system, "element": element, "since": since, "until": until}
    return _latest(conn, _VALUES, params, limit)


def _latest(
    conn: Connection, statement: TextClause, params: dict[str, object], limit: int
) -> tuple[int, list[ValueRow]]:
    """Run a window statement that counts its rows (``total``) beside the latest ``limit``."""
    rows = conn.execute(statement, {**params, "horizon": FOREVER, "limit": limit}).all()
    if not rows:
        return 0, []
    return int(rows[0].total), [ValueRow(r.event_id, int(r.at), r.record, r.value) for r in rows]


# the hops of one integration into one place kind, in a time window, that left their value
# (a failed hop delivered nothing); the same predicate as every question (status.live_sql)
_WINDOW = (
    "e.element = :element AND e.system = :system AND e.kind = 'hop' "
    "AND e.integration = :integration AND e.at >= :since AND e.at <= :until "
    f"AND {live_sql('e')}"
)
# one pass: the window's size comes with its latest rows (a count, then a select, read the
# range twice: half the time on a 1M-hop store)
_HOPS = text(
    "SELECT e.event_id, e.at, e.record, e.value, COUNT(*) OVER () AS total "  # noqa: S608
    f"FROM events e WHERE {_WINDOW} ORDER BY e.at DESC, e.seq DESC LIMIT :limit"
)
_HOPS_COUNT = text(f"SELECT COUNT(*) FROM events e WHERE {_WINDOW}")  # noqa: S608


def hops_of(
    conn: Connection,
    integration: str,
    system: str,
    element: str,
    *,
    since: int,
    until: int,
    limit: int,
) -> tuple[int, list[HopRow]]:
    """Hops of ``integration`` delivering ``element`` into ``system`` between two moments.

    Returns:
        ``(how many there are, the latest ``limit`` of them, newest first)``.
    """
    return _latest(conn, _HOPS, _hop_window(integration, system, element, since, until), limit)


def hops_on_integration(
    conn: Connection, integration: str, system: str, element: str, *, since: int, until: int
) -> int:
    """How many hops of ``integration`` delivered ``element`` into ``system`` in the window."""
    params = {**_hop_window(integration, system, element, since, until), "horizon": FOREVER}
    return int(conn.execute(_HOPS_COUNT, params).scalar_one())


def _hop_window(
    integration: str, system: str, element: str, since: int, until: int
) -> dict[str, object]:
    return {
        "integration": integration,
        "system": system,
        "element": element,
        "since": since,
        "until": until,
    }


def hop_inputs(conn: Connection, hop_ids: list[str]) -> dict[str, list[InputRow]]:
    """Each hop's inputs in order (see :func:`lineage.store.queries.inputs_of`)."""
    return inputs_of(conn, hop_ids)


class Recorded:
    """The questions above on one open read connection (the engine never sees SQLAlchemy)."""

    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    def clock(self) -> int | None:
        return store_clock(self._conn)

    def held_in_place(self, system: str, element: str) -> Held:
        return held_in_place(self._conn, system, element)

    def held_in_system(self, system: str) -> Held:
        return held_in_system(self._conn, system)

    def record_keys(self, system: str, element: str, limit: int) -> list[str]:
        return record_keys(self._conn, system, element, limit)

    def hops_of(
        self, integration: str, system: str, element: str, *, since: int, until: int, limit: int
    ) -> tuple[int, list[HopRow]]:
        return hops_of(
            self._conn, integration, system, element, since=since, until=until, limit=limit
        )

    def hops_on_integration(
        self, integration: str, system: str, element: str, *, since: int, until: int
    ) -> int:
        return hops_on_integration(
            self._conn, integration, system, element, since=since, until=until
        )

    def values_in(
        self, system: str, element: str, *, since: int, until: int, limit: int
    ) -> tuple[int, list[ValueRow]]:
        return values_in(self._conn, system, element, since=since, until=until, limit=limit)

    def hop_inputs(self, hop_ids: list[str]) -> dict[str, list[InputRow]]:
        return hop_inputs(self._conn, hop_ids)


@contextmanager
def recorded(store: Store) -> Iterator[Recorded]:
    """:class:`Recorded` on a read connection of ``store``, closed on exit."""
    with store.reader.connect() as conn:
        yield Recorded(conn)
