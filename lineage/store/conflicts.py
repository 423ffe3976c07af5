"""Set-based lookups for the ``conflicting-truth`` scan: the candidate copies, and batched
versions of the per-copy questions (where a copy's data came from, what a place held, what
a place fed), so that judging thousands of copies costs a few queries per batch and not a
few round trips per copy.

Every query here is SQL assembled from module constants and bound parameters only (S608 is
silenced for that reason); a batch is a ``VALUES`` list of at most :data:`BATCH` rows.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from sqlalchemy import Connection, TextClause, text

from .queries import EVENT_ROW_COLUMNS, EventRow, values_list
from .records import EVENT_SQL_COLUMNS, SINGLE_RECORD_SQL, bound
from .status import live_sql

BATCH = 250
"""Rows per ``VALUES`` list (well under every backend's limit on bound parameters)."""

Place = tuple[str, str, str]
"""``(system, element, record)``."""

_PLANNER_SETTINGS = ("jit", "enable_nestloop")


# The conflict prefilter on SQLite (see conflict_candidates). {comp} is the VALUES list of
# bound parameters (element, system, side). Each event in the window (through ix_events_at) is
# a candidate's current value when no later event holding a value sits at its place (one
# backward step of the place index, answered from the index: half the CPU of a ROW_NUMBER()
# pass, which sorts every place's events) and its (element, system) is comparable: IN lists
# of comp, which SQLite probes through an ephemeral index (joined, comp was scanned whole for
# every event). The candidates are picked (MATERIALIZED) before their full rows are read, so
# the events table is probed once per candidate. In the forwarded probe, CROSS JOIN starts
# from the place's readers (index on the input place): left free, SQLite drives it from
# every event of the element. At 100,000 hops: 0.5-0.9 s of CPU, was 1.5-1.7 s (about the
# raw window query's), same candidates.
# Which value a place holds follows the store's one live-hop predicate (status.live_sql:
# status updates included, looked up only for the hops that have some), the probe of a
# source's value too.
# Whether the current event c of its place is a candidate, as a predicate of c and comp
# (below, and in _LINKED_SQLITE / _LINKED_POSTGRES). {cross}: SQLite's CROSS JOIN (see
# above; PostgreSQL spells a join with ON "JOIN"), {same} / {differs}: null-safe equality
# and its negation.
_IS_CANDIDATE = """(((c.element, c.system) IN (SELECT element, system FROM comp WHERE side = 'up')
    AND NOT EXISTS (
        SELECT 1 FROM hop_inputs i {cross} events h ON h.event_id = i.event_id
        {cross} comp t ON t.element = h.element AND t.system = h.system AND t.side <> 'down'
        WHERE i.system = c.system AND i.element = c.element AND i.record = c.record
          AND i.value_norm {same} c.value_norm AND h.element = c.element AND h.kind = 'hop'
          AND h.verified IS TRUE AND h.declared IS TRUE AND h.at <= :as_of AND {live_h}
          AND NOT EXISTS (SELECT 1 FROM events n WHERE n.system = h.system
              AND n.element = h.element AND n.record = h.record AND n.at <= :as_of
              AND (n.at > h.at OR (n.at = h.at AND n.seq > h.seq)) AND {live_n})))
  OR ((c.element, c.system) IN (SELECT element, system FROM comp WHERE side = 'down') AND (
    c.kind = 'write'
    OR c.kind = 'snapshot'
    OR (c.kind = 'hop' AND (c.verified IS NOT TRUE OR c.declared IS NOT TRUE OR EXISTS (
        SELECT 1 FROM hop_inputs i WHERE i.event_id = c.event_id AND (
            SELECT v.value_norm FROM events v
            WHERE v.system = i.system AND v.element = i.element AND v.record = i.record
              AND v.at <= :as_of AND {live_v}
            ORDER BY v.at DESC, v.seq DESC LIMIT 1) {differs} i.value_norm))))))"""
_CANDIDATES = """
WITH comp(element, system, side) AS (VALUES {comp}),
picked AS MATERIALIZED (
SELECT c.event_id
FROM events c
WHERE c.at <= :as_of AND {live_c}
  AND NOT EXISTS (SELECT 1 FROM events l WHERE l.system = c.system
      AND l.element = c.element AND l.record = c.record AND l.at <= :as_of
      AND (l.at > c.at OR (l.at = c.at AND l.seq > c.seq)) AND {live_l})
  AND {is_candidate}
)
SELECT {columns}
FROM picked p JOIN events e ON e.event_id = p.event_id
ORDER BY e.element, e.system, e.record
"""
_SPELLING = {
    "sqlite": {"cross": "CROSS JOIN", "same": "IS", "differs": "IS NOT"},
    "postgresql": {
        "cross": "JOIN",
        "same": "IS NOT DISTINCT FROM",
        "differs": "IS DISTINCT FROM",
    },
}


def _is_candidate(dialect: str) -> str:
    return _IS_CANDIDATE.format(
        **_SPELLING[dialect],
        live_h=live_sql("h", ":as_of"),
        live_n=live_sql("n", ":as_of"),
        live_v=live_sql("v", ":as_of"),
    )


# The same question for PostgreSQL, set-based throughout: the source of every current hop
# is looked up by a hash join with the current values (one probe per hop costs too much
# over a million hops). The same join (links, made
# once) says which upstream places were forwarded: their current event is the source of a
# current verified declared hop towards the system of record that read it unchanged (a NOT
# EXISTS under the OR would run once per place; a second join cost a third more). The
# candidates are picked before their full rows are read: joined to the events table first,
# every current place was hashed with its whole row (100,000 hops: 0.2-0.3 s of 1.2-1.5 s of
# server CPU). Each place's current value is the first of DISTINCT ON in the place index's
# order read backward: no sort (a ROW_NUMBER() window sorted within every place, and its
# "rn = 1" misled the planner's estimates; 100,000 hops: 0.9 s of server CPU for the whole
# statement against 1.0-1.3 s). Run with nested loops off (the planner would loop over the
# CTE).
_CANDIDATES_POSTGRES = """
WITH comp(element, system, side) AS (VALUES {comp}),
cur AS MATERIALIZED (
    SELECT DISTINCT ON (x.system, x.element, x.record)
           x.event_id, x.kind, x.system, x.element, x.record, x.value_norm, x.verified,
           x.declared
    FROM events x
    WHERE x.at <= :as_of AND {live_x}
    ORDER BY x.system DESC, x.element DESC, x.record DESC, x.at DESC, x.seq DESC
),
links AS MATERIALIZED (
    SELECT h.event_id AS hop, src.event_id AS src_event,
           src.value_norm IS DISTINCT FROM i.value_norm AS differs,
           (h.verified IS TRUE AND h.declared IS TRUE AND i.element = h.element
            AND t.side IS NOT NULL) AS fwd
    FROM cur h
    JOIN hop_inputs i ON i.event_id = h.event_id
    LEFT JOIN cur src ON src.system = i.system AND src.element = i.element
                     AND src.record = i.record
    LEFT JOIN comp t ON t.element = h.element AND t.system = h.system AND t.side <> 'down'
    WHERE h.kind = 'hop'
),
moved AS (SELECT DISTINCT hop AS event_id FROM links WHERE differs),
forwarded AS (SELECT DISTINCT src_event FROM links WHERE fwd AND NOT differs),
picked AS MATERIALIZED (
SELECT c.event_id
FROM cur c
JOIN comp ON comp.element = c.element AND comp.system = c.system AND comp.side <> 'sor'
LEFT JOIN moved m ON m.event_id = c.event_id
LEFT JOIN forwarded f ON f.src_event = c.event_id
WHERE (comp.side = 'up' AND f.src_event IS NULL)
   OR (comp.side = 'down' AND (
       c.kind = 'write'
       OR c.kind = 'snapshot'
       OR (c.kind = 'hop' AND (c.verified IS NOT TRUE OR c.declared IS NOT TRUE
                               OR m.event_id IS NOT NULL))))
)
SELECT {columns}
FROM picked p JOIN events e ON e.event_id = p.event_id
ORDER BY e.element, e.system, e.record
"""


def conflict_candidates(
    conn: Connection,
    sides: Sequence[tuple[str, str, str]],
    *,
    as_of: int | None = None,
    batch: int = 1000,
) -> Iterator[EventRow]:
    """Copies whose current value may disagree with the golden value, streamed (one query).

    ``sides`` says, from the declared graph, which places can be compared at all: rows
    ``(element, system, side)`` with side ``sor`` (the element's system of record),
    ``down`` (a declared path carries the element from the system of record there) or
    ``up`` (a declared path carries it from there to the system of record). Places in no
    row are never candidates: nothing declared joins them to the truth.

    A downstream copy is a candidate when its current value (the newest held event at the
    place) is:

    - a write (a copy edited in place),
    - a snapshot (what was observed there: even one confirming the value before it may
      confirm a stale one),
    - a hop that did not verify, or travelled on no declared path, or whose input is no
      longer the value its source place holds.

    An upstream copy is a candidate unless its current value was *forwarded*: read by a
    verified hop on a declared integration, into a system upstream of or at the system of
    record, that is still the current value of its own place. A forwarded copy yields in
    the system of record what the place it fed yields (the same value through the same
    transforms), so it stands or falls with that place; the scan judges it when that place
    is found wrong (see ``suppliers_many``).

    Copies left out agree unless what they came from (downstream) or fed (upstream) is
    itself out of date, which the scan follows from the candidates.

    Args:
        conn: an open connection (results are streamed from a server-side cursor).
        sides: the comparable places, by element and system (see above).
        as_of: judge the store as it was at this moment.
        batch: rows fetched per round trip.
    """
    if not sides:
        return
    params: dict[str, Any] = {"as_of": bound(as_of)}
    comp = _comp(sides, params)
    postgres = conn.dialect.name == "postgresql"
    if postgres:
        sql = _CANDIDATES_POSTGRES.format(
            comp=comp, columns=EVENT_SQL_COLUMNS, live_x=live_sql("x", ":as_of")
        )
        # for this query only, then restored: no JIT (compiling costs seconds and saves less)
        # and no nested loops (see _CANDIDATES_POSTGRES)
        saved = {
            name: conn.execute(text("SELECT current_setting(:name)"), {"name": name}).scalar()
            for name in _PLANNER_SETTINGS
        }
        for name in _PLANNER_SETTINGS:
            conn.execute(text("SELECT set_config(:name, 'off', true)"), {"name": name})
    else:
        sql = _CANDIDATES.format(
            comp=comp,
            columns=EVENT_SQL_COLUMNS,
            live_c=live_sql("c", ":as_of"),
            live_l=live_sql("l", ":as_of"),
            is_candidate=_is_candidate("sqlite"),
        )
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


def _comp(sides: Sequence[tuple[str, str, str]], params: dict[str, Any]) -> str:
    """The ``VALUES`` rows of ``comp`` (element, system, side), their parameters added to
    ``params``."""
    for number, (element, system, side) in enumerate(sorted(sides)):
        params[f"e{number}"], params[f"s{number}"], params[f"d{number}"] = element, system, side
    return _comp_rows(len(sides))


def _comp_rows(count: int) -> str:
    """``count`` rows of ``comp``'s ``VALUES``, as parameters ``e0, s0, d0``, ``e1``..."""
    return ", ".join(
        f"(CAST(:e{n} AS VARCHAR), CAST(:s{n} AS VARCHAR), CAST(:d{n} AS VARCHAR))"
        for n in range(count)
    )


def _chunks(items: Sequence[Any]) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), BATCH):
        yield items[start : start + BATCH]


# The keys in a target system linked to each start key, walking hops up (to the keys the
# start's data came from), down (to the keys its data went to) or up then down (to the keys
# fed from the same source), as each seed's mode says. Single-record hops only; down a
# fan-out hop never (its targets are other records); never past the target system.
# SQLite takes two recursive terms; PostgreSQL allows one reference to the walk in its
# recursive term, so it takes both steps in one LATERAL subquery (_STEP_UP, _STEP_DOWN).
_STEP_UP = """
    SELECT i.system, i.record, 0 AS phase FROM events e
    JOIN hop_inputs i ON i.event_id = e.event_id
    WHERE {w}.phase = 0 AND e.system = {w}.system AND e.record = {w}.record
      AND e.kind = 'hop' AND e.at <= :as_of AND {single}"""
_STEP_DOWN = """
    SELECT e.system, e.record, 1 AS phase FROM hop_inputs i
    JOIN events e ON e.event_id = i.event_id
    WHERE {w}.mode <> 'up' AND i.system = {w}.system AND i.record = {w}.record
      AND e.at <= :as_of AND {single}{not_fan_out}"""
_LINKED_MANY_SQLITE = """
WITH RECURSIVE seeds(n, system, record, target, mode) AS (
    SELECT CAST(key AS INTEGER), value ->> 0, value ->> 1, value ->> 2, value ->> 3
    FROM json_each(:seeds)),
walk(n, target, mode, system, record, depth, phase) AS (
    SELECT n, target, mode, system, record, 0, CASE WHEN mode = 'down' THEN 1 ELSE 0 END
    FROM seeds
  UNION
    SELECT w.n, w.target, w.mode, i.system, i.record, w.depth + 1, 0
    FROM walk w JOIN events e ON e.system = w.system AND e.record = w.record
    JOIN hop_inputs i ON i.event_id = e.event_id
    WHERE w.phase = 0 AND w.depth < :max_depth AND w.system <> w.target
      AND e.kind = 'hop' AND e.at <= :as_of AND {single}
  UNION
    SELECT w.n, w.target, w.mode, e.system, e.record, w.depth + 1, 1
    FROM walk w JOIN hop_inputs i ON i.system = w.system AND i.record = w.record
    JOIN events e ON e.event_id = i.event_id
    WHERE w.mode <> 'up' AND w.depth < :max_depth AND w.system <> w.target
      AND e.at <= :as_of AND {single}{not_fan_out}
)
SELECT n, record, MIN(depth) AS depth FROM walk WHERE system = target
GROUP BY n, record ORDER BY n, MIN(depth), record
"""
_LINKED_MANY_POSTGRES = """
WITH RECURSIVE seeds(n, system, record, target, mode) AS (
    -- in the collation of the key columns (migration 0019), which the walk's next rows
    -- come from: PostgreSQL refuses a recursive column whose two terms differ in it
    SELECT CAST(t.o - 1 AS integer), CAST(t.v ->> 0 AS varchar) COLLATE "C",
           CAST(t.v ->> 1 AS varchar) COLLATE "C", CAST(t.v ->> 2 AS varchar) COLLATE "C",
           CAST(t.v ->> 3 AS varchar)
    FROM jsonb_array_elements(CAST(:seeds AS jsonb)) WITH ORDINALITY AS t(v, o)),
walk(n, target, mode, system, record, depth, phase) AS (
    SELECT n, target, mode, system, record, 0, CASE WHEN mode = 'down' THEN 1 ELSE 0 END
    FROM seeds
  UNION
    SELECT w.n, w.target, w.mode, s.system, s.record, w.depth + 1, s.phase
    FROM walk w CROSS JOIN LATERAL ({up} UNION ALL {down}) s
    WHERE w.depth < :max_depth AND w.system <> w.target
)
SELECT n, record, MIN(depth) AS depth FROM walk WHERE system = target
GROUP BY n, record ORDER BY n, MIN(depth), record
"""

Mode = str
"""How :func:`linked_keys_many` walks from a seed: ``up``, ``down`` or ``both`` (up, then
down)."""


def linked_keys_many(
    conn: Connection,
    seeds: Sequence[tuple[str, str, str, Mode]],
    *,
    fan_out: Sequence[str] = (),
    as_of: int | None = None,
    max_depth: int = 64,
) -> list[list[tuple[str, int]]]:
    """For each ``(system, record, target, mode)``: the keys in ``target`` linked to it.

    One recursive statement per :data:`BATCH` seeds, whatever their modes: ``up`` finds the
    keys the seed's data came from (a copy downstream of the target), ``down`` the keys its
    data went to (a copy upstream of it), ``both`` the keys fed from what fed the seed.
    ``fan_out``: the fan-out integrations (never walked down). Answers ``(record, hops)``
    lists, nearest first, in the order of ``seeds``.
    """
    found: list[list[tuple[str, int]]] = [[] for _ in seeds]
    offset = 0
    postgres = conn.dialect.name == "postgresql"
    for chunk in _chunks(seeds):
        params: dict[str, Any] = {"as_of": bound(as_of), "max_depth": max_depth}
        not_fan_out = ""
        if fan_out:
            names = []
            for number, name in enumerate(fan_out):
                params[f"fan{number}"] = name
                names.append(f":fan{number}")
            listed = ", ".join(names)
            not_fan_out = f" AND (e.integration IS NULL OR e.integration NOT IN ({listed}))"
        single = SINGLE_RECORD_SQL.format(hop="e.event_id", system="i.system", record="i.record")
        # the seeds as one JSON parameter: a statement of four thousand parameters took
        # longer to parse (client and server) than a batch's walk took to run (SQLite: the
        # text of the statement was parsed for its parameters again for every batch)
        params["seeds"] = json.dumps(list(chunk))
        if postgres:
            up = _STEP_UP.format(w="w", single=single)
            down = _STEP_DOWN.format(w="w", single=single, not_fan_out=not_fan_out)
            query = _LINKED_MANY_POSTGRES.format(up=up, down=down)
        else:
            query = _LINKED_MANY_SQLITE.format(single=single, not_fan_out=not_fan_out)
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
            places=values_list(chunk, params),
            columns=EVENT_SQL_COLUMNS,
            live=live_sql("e", ":as_of"),
        )
        for row in conn.execute(text(query), params):
            found[offset + int(row.place_n)].append(EventRow.from_row(row))
        offset += len(chunk)
    return found


# What a batch of wrong copies stands for, in one recursive statement (see fed_closure).
# Seeds and the upstream sides travel as two JSON parameters, so the statement text is
# constant and compiled once. Each row is one edge: a place (psystem, pelement, precord), how
# it was left ('down': a hop that read it; 'up': a place its current hop read, same element,
# only from a place upstream of the system of record) and the current event reached. UNION
# keeps each edge once, so the walk ends on loops. SQLite takes one recursive term per way;
# PostgreSQL allows one reference to the walk in its recursive term, so both ways go in one
# LATERAL subquery.
# A place's current event is found by one backward step of the place index: {current}
# (event e is current at its own place) going down, {current_of_input} (e is the current
# event of the place input i read) going up.
_NEWEST_AT = """(SELECT n.event_id FROM events n WHERE n.system = {p}.system
          AND n.element = {p}.element AND n.record = {p}.record AND n.at <= :as_of
          AND {live_n} ORDER BY n.at DESC, n.seq DESC LIMIT 1)"""
_CLOSURE_SQLITE = """
WITH RECURSIVE
seeds(system, element, record, event_id, kind) AS (
    SELECT value ->> 0, value ->> 1, value ->> 2, value ->> 3, value ->> 4
    FROM json_each(:seeds)),
up_sides(element, system) AS (
    SELECT value ->> 0, value ->> 1 FROM json_each(:up_sides)),
walk(psystem, pelement, precord, way, event_id, system, element, record, kind) AS (
    SELECT NULL, NULL, NULL, 'seed', event_id, system, element, record, kind FROM seeds
  UNION
    SELECT w.system, w.element, w.record, 'down', e.event_id, e.system, e.element, e.record,
           e.kind
    FROM walk w CROSS JOIN hop_inputs i ON i.system = w.system AND i.element = w.element
        AND i.record = w.record
    CROSS JOIN events e ON e.event_id = i.event_id
    WHERE {current}
  UNION
    SELECT w.system, w.element, w.record, 'up', e.event_id, e.system, e.element, e.record,
           e.kind
    FROM walk w CROSS JOIN hop_inputs i ON i.event_id = w.event_id
    CROSS JOIN events e ON {current_of_input}
    WHERE w.kind = 'hop' AND i.element = w.element
      AND EXISTS (SELECT 1 FROM up_sides u WHERE u.element = w.element AND u.system = w.system)
)
SELECT DISTINCT w.psystem, w.pelement, w.precord, w.way, {columns}
FROM walk w JOIN events e ON e.event_id = w.event_id
WHERE w.way <> 'seed'
ORDER BY w.psystem, w.pelement, w.precord, w.way, e.system, e.element, e.record
"""
_CLOSURE_POSTGRES = """
WITH RECURSIVE
seeds(system, element, record, event_id, kind) AS (  -- as the key columns (0019)
    SELECT CAST(v ->> 0 AS varchar) COLLATE "C", CAST(v ->> 1 AS varchar) COLLATE "C",
           CAST(v ->> 2 AS varchar) COLLATE "C", CAST(v ->> 3 AS varchar) COLLATE "C",
           CAST(v ->> 4 AS varchar) COLLATE "C"
    FROM jsonb_array_elements(CAST(:seeds AS jsonb)) v),
up_sides(element, system) AS (
    SELECT v ->> 0, v ->> 1 FROM jsonb_array_elements(CAST(:up_sides AS jsonb)) v),
walk(psystem, pelement, precord, way, event_id, system, element, record, kind) AS (
    SELECT CAST(NULL AS varchar) COLLATE "C", CAST(NULL AS varchar) COLLATE "C",
           CAST(NULL AS varchar) COLLATE "C", CAST('seed' AS varchar), event_id, system,
           element, record, kind FROM seeds
  UNION
    SELECT w.system, w.element, w.record, s.way, s.event_id, s.system, s.element, s.record,
           s.kind
    FROM walk w CROSS JOIN LATERAL (
        SELECT CAST('down' AS varchar) AS way, e.event_id, e.system, e.element, e.record,
               e.kind
        FROM hop_inputs i JOIN events e ON e.event_id = i.event_id
        WHERE i.system = w.system AND i.element = w.element AND i.record = w.record
          AND {current}
      UNION ALL
        SELECT CAST('up' AS varchar), e.event_id, e.system, e.element, e.record, e.kind
        FROM hop_inputs i JOIN events e ON {current_of_input}
        WHERE i.event_id = w.event_id AND w.kind = 'hop' AND i.element = w.element
          AND EXISTS (SELECT 1 FROM up_sides u
                      WHERE u.element = w.element AND u.system = w.system)
    ) s
)
SELECT DISTINCT w.psystem, w.pelement, w.precord, w.way, {columns}
FROM walk w CROSS JOIN LATERAL (SELECT * FROM events x WHERE x.event_id = w.event_id LIMIT 1) e
-- LIMIT 1 keeps the lookup a probe per row: joined plainly, the planner hashes all events
WHERE w.way <> 'seed'
ORDER BY w.psystem, w.pelement, w.precord, w.way, e.system, e.element, e.record
"""


def _closure_sql(template: str) -> TextClause:
    live_n = live_sql("n", ":as_of")
    return text(
        template.format(
            current="e.event_id = " + _NEWEST_AT.format(p="e", live_n=live_n),
            current_of_input="e.event_id = " + _NEWEST_AT.format(p="i", live_n=live_n),
            columns=EVENT_SQL_COLUMNS,
        )
    )


_CLOSURE = {"sqlite": _closure_sql(_CLOSURE_SQLITE), "postgresql": _closure_sql(_CLOSURE_POSTGRES)}


@dataclass(frozen=True, slots=True)
class Closure:
    """What a batch of copies stands for: for every place reached, the current events of
    the places it fed (``fed``) and, for a place upstream of the system of record whose
    current event is a hop, of the places of the same element that hop read (``fed_by``).
    Each list is sorted by place."""

    fed: dict[Place, list[EventRow]]
    fed_by: dict[Place, list[EventRow]]


def fed_closure(
    conn: Connection,
    seeds: Sequence[EventRow],
    upstream: Sequence[tuple[str, str]],
    *,
    as_of: int | None = None,
) -> Closure:
    """Everything ``seeds`` (current events of their places) reach, in one recursive
    statement (the seeds travel as one JSON parameter: no limit on a batch). Downstream, the
    places their values fed, hop by hop (the hops that read a place and are still the
    current value of their own place); from a place whose system is upstream of its
    element's system of record (``upstream``: ``(element, system)`` rows), the places of
    the same element its current hop read.

    The scan judges the reached places level by level in memory, going on only from the
    wrong ones; the statement walks from every place it reaches, so it may answer more than
    is judged, never less.
    """
    fed: dict[Place, list[EventRow]] = {}
    fed_by: dict[Place, list[EventRow]] = {}
    if not seeds:
        return Closure(fed, fed_by)
    params = {
        "seeds": json.dumps([[s.system, s.element, s.record, s.event_id, s.kind] for s in seeds]),
        "up_sides": json.dumps(list(upstream)),
        "as_of": bound(as_of),
    }
    statement = _CLOSURE["postgresql" if conn.dialect.name == "postgresql" else "sqlite"]
    known: dict[str, EventRow] = {}
    for row in conn.execute(statement, params):
        into = fed if row.way == "down" else fed_by
        event = known.get(row.event_id)
        if event is None:
            event = known[row.event_id] = EventRow.from_row(row)
        into.setdefault((row.psystem, row.pelement, row.precord), []).append(event)
    return Closure(fed, fed_by)


# The copies a change can re-judge (see linked_candidates): every key joined to the seed keys
# by single-record hops, either way, any element, then the current event of every place at
# those keys, kept when it is a candidate (_IS_CANDIDATE, as the full scan picks them). UNION
# keeps each key once, so the walk ends. PostgreSQL takes both ways in one LATERAL subquery
# (one reference to the walk in its recursive term).
_LINKED_SQLITE = """
WITH RECURSIVE
comp(element, system, side) AS (VALUES {comp}),
seeds(system, record) AS (SELECT value ->> 0, value ->> 1 FROM json_each(:keys)),
linked(system, record) AS (
    SELECT system, record FROM seeds
  UNION
    SELECT i.system, i.record
    FROM linked k CROSS JOIN events e ON e.system = k.system AND e.record = k.record
    CROSS JOIN hop_inputs i ON i.event_id = e.event_id
    WHERE e.kind = 'hop' AND e.at <= :as_of AND {single}
  UNION
    SELECT e.system, e.record
    FROM linked k CROSS JOIN hop_inputs i ON i.system = k.system AND i.record = k.record
    CROSS JOIN events e ON e.event_id = i.event_id
    WHERE e.at <= :as_of AND {single}
)
SELECT {columns}
FROM linked k CROSS JOIN events c ON c.system = k.system AND c.record = k.record
WHERE {current} AND {is_candidate}
ORDER BY c.element, c.system, c.record
"""
_LINKED_POSTGRES = """
WITH RECURSIVE
comp(element, system, side) AS (VALUES {comp}),
seeds(system, record) AS (  -- as the key columns (migration 0019)
    SELECT CAST(v ->> 0 AS varchar) COLLATE "C", CAST(v ->> 1 AS varchar) COLLATE "C"
    FROM jsonb_array_elements(CAST(:keys AS jsonb)) v),
linked(system, record) AS (
    SELECT system, record FROM seeds
  UNION
    SELECT s.system, s.record FROM linked k CROSS JOIN LATERAL (
        SELECT i.system, i.record FROM events e JOIN hop_inputs i ON i.event_id = e.event_id
        WHERE e.system = k.system AND e.record = k.record AND e.kind = 'hop'
          AND e.at <= :as_of AND {single}
      UNION ALL
        SELECT e.system, e.record FROM hop_inputs i JOIN events e ON e.event_id = i.event_id
        WHERE i.system = k.system AND i.record = k.record AND e.at <= :as_of AND {single}
    ) s
)
SELECT {columns}
FROM linked k JOIN events c ON c.system = k.system AND c.record = k.record
WHERE {current} AND {is_candidate}
ORDER BY c.element, c.system, c.record
"""
_LINKED = {"sqlite": _LINKED_SQLITE, "postgresql": _LINKED_POSTGRES}


def linked_candidates(
    conn: Connection,
    keys: Sequence[tuple[str, str]],
    sides: Sequence[tuple[str, str, str]],
    *,
    as_of: int | None = None,
) -> list[EventRow]:
    """The copies a change at ``keys`` (``(system, record)``) can have moved that
    :func:`conflict_candidates` would pick, in one recursive statement: of the current event
    of every place at ``keys`` and at every key joined to them by single-record hops, either
    way and through any element (every copy whose verdict a change at those keys can move:
    the copy's own key, or the key in the system of record holding its golden value, and
    more), those the full scan's predicate picks (``sides`` as there). Sorted by element,
    system, record."""
    if not keys or not sides:
        return []
    dialect = "postgresql" if conn.dialect.name == "postgresql" else "sqlite"
    params: dict[str, Any] = {
        "keys": json.dumps(list(keys)),
        "as_of": bound(as_of),
    }
    _comp(sides, params)
    statement = _linked_statement(dialect, len(sides))
    return [EventRow.from_row(row) for row in conn.execute(statement, params)]


@lru_cache(maxsize=32)
def _linked_statement(dialect: str, sides: int) -> TextClause:
    """:func:`linked_candidates`' statement for ``sides`` sides, built once (``text`` reads
    the whole statement for its parameters: 2 ms, a batch's judgement after another)."""
    return text(
        _LINKED[dialect].format(
            comp=_comp_rows(sides),
            single=SINGLE_RECORD_SQL.format(hop="e.event_id", system="i.system", record="i.record"),
            current="c.event_id = " + _NEWEST_AT.format(p="c", live_n=live_sql("n", ":as_of")),
            columns=", ".join(f"c.{column}" for column in EVENT_ROW_COLUMNS),
            is_candidate=_is_candidate(dialect),
        )
    )


__all__ = [
    "BATCH",
    "Closure",
    "Place",
    "conflict_candidates",
    "fed_closure",
    "linked_candidates",
    "linked_keys_many",
    "versions_many",
]
