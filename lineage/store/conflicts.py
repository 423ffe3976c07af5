"""Set-based lookups for the ``conflicting-truth`` scan: the candidate copies, and batched
versions of the per-copy questions (where a copy's data came from, what a place held, what
a place fed), so that judging thousands of copies costs a few queries per batch and not a
few round trips per copy.

Every query here is SQL assembled from module constants and bound parameters only (S608 is
silenced for that reason); a batch is a ``VALUES`` list of at most :data:`BATCH` rows.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from sqlalchemy import Connection, text

from .queries import EventRow
from .records import EVENT_SQL_COLUMNS, LIVE_SQL, SINGLE_RECORD_SQL, bound

BATCH = 250
"""Rows per ``VALUES`` list (well under every backend's limit on bound parameters)."""

Place = tuple[str, str, str]
"""``(system, element, record)``."""

_PLANNER_SETTINGS = ("jit", "enable_nestloop")


# The conflict prefilter on SQLite (see conflict_candidates). {sor} is the VALUES list of
# bound parameters (element, system of record).
# Which value a place holds follows the full rule (status updates included, looked up only
# for the hops that have some); the probes of a source's or a snapshot's previous value take
# a hop's first status as final, so a hop whose delivery was later reported failed can hide
# a candidate behind it (the judgement of each candidate applies the full rule).
_CANDIDATES = """
WITH sor(element, system) AS (VALUES {sor}),
ranked AS (
    SELECT x.event_id, x.kind, x.system, x.element, x.record, x.value_norm, x.verified,
           x.declared, x.at, x.seq, ROW_NUMBER() OVER w AS rn
    FROM events x
    WHERE x.at <= :as_of AND NOT (x.kind = 'hop' AND (CASE
        WHEN x.event_id IN (SELECT event_id FROM hop_status WHERE at <= :as_of)
        THEN COALESCE((SELECT s.status FROM hop_status s WHERE s.event_id = x.event_id
                       AND s.at <= :as_of ORDER BY s.seq DESC LIMIT 1), x.status)
        ELSE x.status END) = 'failed')
    WINDOW w AS (PARTITION BY x.system, x.element, x.record ORDER BY x.at DESC, x.seq DESC)
)
SELECT {columns}
FROM ranked c
JOIN sor ON sor.element = c.element AND sor.system <> c.system
JOIN events e ON e.event_id = c.event_id
WHERE c.rn = 1 AND (
    c.kind = 'write'
    OR (c.kind = 'snapshot' AND COALESCE((
        SELECT p.value_norm FROM events p
        WHERE p.system = c.system AND p.element = c.element AND p.record = c.record
          AND p.at <= c.at AND p.seq <> c.seq AND NOT (p.kind = 'hop' AND p.status = 'failed')
        ORDER BY p.at DESC, p.seq DESC LIMIT 1), '\x1f<none>') IS NOT c.value_norm)
    OR (c.kind = 'hop' AND (c.verified IS NOT TRUE OR c.declared IS NOT TRUE OR EXISTS (
        SELECT 1 FROM hop_inputs i WHERE i.event_id = c.event_id AND (
            SELECT v.value_norm FROM events v
            WHERE v.system = i.system AND v.element = i.element AND v.record = i.record
              AND v.at <= :as_of AND NOT (v.kind = 'hop' AND v.status = 'failed')
            ORDER BY v.at DESC, v.seq DESC LIMIT 1) IS NOT i.value_norm)))
)
ORDER BY c.element, c.system, c.record
"""


# The same question for PostgreSQL, set-based throughout: the source of every current hop
# is looked up by a hash join with the current values (one probe per hop costs too much
# over a million hops), the value before a snapshot by LEAD. Run with nested loops off (the
# planner misjudges how few rows "rn = 1" leaves and would loop over the CTE).
_CANDIDATES_POSTGRES = """
WITH sor(element, system) AS (VALUES {sor}),
ranked AS (
    SELECT x.event_id, x.kind, x.system, x.element, x.record, x.value_norm, x.verified,
           x.declared, ROW_NUMBER() OVER w AS rn,
           LEAD(x.value_norm, 1, '\x1f<none>') OVER w AS before
    FROM events x
    WHERE x.at <= :as_of AND NOT (x.kind = 'hop' AND (CASE
        WHEN x.event_id IN (SELECT event_id FROM hop_status WHERE at <= :as_of)
        THEN COALESCE((SELECT s.status FROM hop_status s WHERE s.event_id = x.event_id
                       AND s.at <= :as_of ORDER BY s.seq DESC LIMIT 1), x.status)
        ELSE x.status END) = 'failed')
    WINDOW w AS (PARTITION BY x.system, x.element, x.record ORDER BY x.at DESC, x.seq DESC)
),
cur AS MATERIALIZED (SELECT * FROM ranked WHERE rn = 1),
moved AS (
    SELECT DISTINCT i.event_id FROM cur h
    JOIN hop_inputs i ON i.event_id = h.event_id
    LEFT JOIN cur src ON src.system = i.system AND src.element = i.element
                     AND src.record = i.record
    WHERE h.kind = 'hop' AND src.value_norm IS DISTINCT FROM i.value_norm
)
SELECT {columns}
FROM cur c
JOIN sor ON sor.element = c.element AND sor.system <> c.system
JOIN events e ON e.event_id = c.event_id
LEFT JOIN moved m ON m.event_id = c.event_id
WHERE c.kind = 'write'
   OR (c.kind = 'snapshot' AND c.before IS DISTINCT FROM c.value_norm)
   OR (c.kind = 'hop' AND (c.verified IS NOT TRUE OR c.declared IS NOT TRUE
                           OR m.event_id IS NOT NULL))
ORDER BY c.element, c.system, c.record
"""


def conflict_candidates(
    conn: Connection,
    systems_of_record: Mapping[str, str],
    *,
    as_of: int | None = None,
    batch: int = 1000,
) -> Iterator[EventRow]:
    """Copies whose current value may disagree with the golden value, streamed (one query).

    A copy is a place of an element outside the element's system of record. It is a
    candidate when its current value (the newest held event, found with ``ROW_NUMBER()``
    over the place) is:

    - a write (a copy edited in place),
    - a snapshot that differs from the value held before it (or has none before it),
    - a hop that did not verify, or travelled on no declared path, or whose input is no
      longer the value its source place holds.

    Copies that are current and came from an unchanged source through a verified, declared
    hop are left out: they agree unless their source is itself out of date, which
    :func:`consumers` finds from the candidates downstream.

    Args:
        conn: an open connection (results are streamed from a server-side cursor).
        systems_of_record: each element's system of record; other elements are skipped.
        as_of: judge the store as it was at this moment.
        batch: rows fetched per round trip.
    """
    if not systems_of_record:
        return
    params: dict[str, Any] = {"as_of": bound(as_of)}
    pairs = []
    for number, (element, system) in enumerate(sorted(systems_of_record.items())):
        params[f"e{number}"], params[f"s{number}"] = element, system
        pairs.append(f"(CAST(:e{number} AS VARCHAR), CAST(:s{number} AS VARCHAR))")
    postgres = conn.dialect.name == "postgresql"
    if postgres:
        sql = _CANDIDATES_POSTGRES.format(sor=", ".join(pairs), columns=EVENT_SQL_COLUMNS)
        # for this query only, then restored: no JIT (compiling costs seconds and saves less)
        # and no nested loops (see _CANDIDATES_POSTGRES)
        saved = {
            name: conn.execute(text("SELECT current_setting(:name)"), {"name": name}).scalar()
            for name in _PLANNER_SETTINGS
        }
        for name in _PLANNER_SETTINGS:
            conn.execute(text("SELECT set_config(:name, 'off', true)"), {"name": name})
    else:
        sql = _CANDIDATES.format(sor=", ".join(pairs), columns=EVENT_SQL_COLUMNS)
    query = text(sql)
    # options on the statement, not the connection: the scan shares the connection
    streamed = query.execution_options(stream_results=True, yield_per=batch)
    try:
        result = conn.execute(streamed, params)
    finally:
        if postgres:
            # the cursor is planned: restore now, the lookups made while it streams need
            # their nested loops
            for name, value in saved.items():
                conn.execute(
                    text("SELECT set_config(:name, :value, true)"), {"name": name, "value": value}
                )
    try:
        for row in result:
            yield EventRow.from_row(row)
    finally:
        result.close()


def _values(rows: Sequence[tuple[str, ...]], params: dict[str, Any], *, cast: bool = False) -> str:
    """A ``VALUES`` list of numbered rows ``(n, col1, col2, ...)`` as bound parameters.

    ``cast`` types the values as VARCHAR (a recursive query needs its columns typed alike on
    PostgreSQL); otherwise they stay untyped, which lets SQLite drive the join from the list
    into the indexes (a CAST makes its planner scan the table instead).
    """
    parts = []
    for number, row in enumerate(rows):
        cells = [f"{number}"]
        for column, value in enumerate(row):
            name = f"v{number}_{column}"
            params[name] = value
            cells.append(f"CAST(:{name} AS VARCHAR)" if cast else f":{name}")
        parts.append(f"({', '.join(cells)})")
    return ", ".join(parts)


def _chunks(items: Sequence[Any]) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), BATCH):
        yield items[start : start + BATCH]


# Where each start key's data came from: walk the hops into it upstream (single-record hops,
# fan-out ones included), not past the target system, and answer the keys in the target.
_UPSTREAM_MANY = """
WITH RECURSIVE seeds(n, system, record, target) AS (VALUES {seeds}),
up(n, target, system, record, depth) AS (
    SELECT n, target, system, record, 0 FROM seeds
  UNION
    SELECT up.n, up.target, i.system, i.record, up.depth + 1 FROM up
    JOIN events e ON e.system = up.system AND e.record = up.record
    JOIN hop_inputs i ON i.event_id = e.event_id
    WHERE e.kind = 'hop' AND e.at <= :as_of AND up.depth < :max_depth
      AND up.system <> up.target AND {single}
)
SELECT n, record, MIN(depth) AS depth FROM up WHERE system = target
GROUP BY n, record ORDER BY n, MIN(depth), record
"""


def upstream_keys_many(
    conn: Connection,
    starts: Sequence[tuple[str, str, str]],
    *,
    as_of: int | None = None,
    max_depth: int = 64,
) -> list[list[tuple[str, int]]]:
    """For each ``(system, record, target)``: the keys in ``target`` its data came from.

    The batched :func:`lineage.store.records.upstream_keys`: one recursive query per
    :data:`BATCH` starts; answers ``(record, hops)`` lists in the order of ``starts``.
    """
    found: list[list[tuple[str, int]]] = [[] for _ in starts]
    offset = 0
    for chunk in _chunks(starts):
        params: dict[str, Any] = {"as_of": bound(as_of), "max_depth": max_depth}
        single = SINGLE_RECORD_SQL.format(hop="e.event_id", system="i.system", record="i.record")
        query = _UPSTREAM_MANY.format(seeds=_values(chunk, params, cast=True), single=single)
        for row in conn.execute(text(query), params):
            found[offset + int(row.n)].append((row.record, int(row.depth)))
        offset += len(chunk)
    return found


# The newest held events of each place, newest first (the first is the current value).
_VERSIONS_MANY = """
WITH places(n, system, element, record) AS (VALUES {places})
SELECT * FROM (
    SELECT p.n AS place_n, {columns},
           ROW_NUMBER() OVER (PARTITION BY p.n ORDER BY e.at DESC, e.seq DESC) AS version
    FROM places p
    JOIN events e ON e.system = p.system AND e.element = p.element AND e.record = p.record
    WHERE e.at <= :as_of AND {live}
) ranked WHERE version <= :limit ORDER BY place_n, version
"""


def versions_many(
    conn: Connection, places: Sequence[Place], *, as_of: int | None = None, limit: int = 21
) -> list[list[EventRow]]:
    """For each place, the values it held, newest first (at most ``limit``; batched
    :func:`lineage.store.records.value_versions`)."""
    found: list[list[EventRow]] = [[] for _ in places]
    offset = 0
    for chunk in _chunks(places):
        params: dict[str, Any] = {"as_of": bound(as_of), "limit": limit}
        query = _VERSIONS_MANY.format(
            places=_values(chunk, params), columns=EVENT_SQL_COLUMNS, live=LIVE_SQL.format(e="e")
        )
        for row in conn.execute(text(query), params):
            found[offset + int(row.place_n)].append(EventRow.from_row(row))
        offset += len(chunk)
    return found


# Hops that read each place and whose output is still the current value of its own place.
_CONSUMERS_MANY = """
WITH places(n, system, element, record) AS (VALUES {places})
SELECT DISTINCT p.n AS place_n, {columns}
FROM places p
JOIN hop_inputs i ON i.system = p.system AND i.element = p.element AND i.record = p.record
JOIN events e ON e.event_id = i.event_id
WHERE e.at <= :as_of AND {live}
  AND NOT EXISTS (SELECT 1 FROM events n WHERE n.system = e.system
      AND n.element = e.element AND n.record = e.record AND n.at <= :as_of
      AND (n.at > e.at OR (n.at = e.at AND n.seq > e.seq)) AND {live_n})
ORDER BY place_n, e.system, e.element, e.record
"""


def consumers_many(
    conn: Connection, places: Sequence[Place], *, as_of: int | None = None
) -> list[list[EventRow]]:
    """For each place, the current events of the places it fed (batched
    :func:`lineage.store.records.consumers`)."""
    found: list[list[EventRow]] = [[] for _ in places]
    offset = 0
    for chunk in _chunks(places):
        params: dict[str, Any] = {"as_of": bound(as_of)}
        query = _CONSUMERS_MANY.format(
            places=_values(chunk, params),
            columns=EVENT_SQL_COLUMNS,
            live=LIVE_SQL.format(e="e"),
            live_n=LIVE_SQL.format(e="n"),
        )
        for row in conn.execute(text(query), params):
            found[offset + int(row.place_n)].append(EventRow.from_row(row))
        offset += len(chunk)
    return found


__all__ = [
    "BATCH",
    "Place",
    "conflict_candidates",
    "consumers_many",
    "upstream_keys_many",
    "versions_many",
]
