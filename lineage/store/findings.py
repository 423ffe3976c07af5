"""The SQL of findings as state: stored occurrences, the judgement watermark, the outbox.

The logic (what to open, resolve or update) is :mod:`lineage.findings`; this module only
reads and writes the three tables of migration 0007 (see :mod:`lineage.store.schema`):

- ``findings``: one row per occurrence of a fingerprint; open while ``resolved_at`` is null.
- ``detection_state``: one row (id 1), how far the last judgement read the store.
- ``findings_outbox``: what to POST to ``LINEAGE_WEBHOOK_URL``, one row per opened or
  resolved finding, written in the judgement's transaction.

Every statement is indexed: open findings by ``ux_findings_open``, places by
``ix_findings_place``, codes and owners by their ``(…, resolved_at)`` indexes.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    Select,
    and_,
    bindparam,
    cast,
    collate,
    func,
    insert,
    not_,
    or_,
    select,
    text,
    true,
    update,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB

from ..model.findings import Severity
from .detection.scope import Watermark
from .schema import detection_state, events, findings, findings_outbox, hop_status

#: PostgreSQL advisory lock key serializing judgements (SQLite: its one write lock).
JUDGE_LOCK = 0x6C696E656107
#: Rows per IN list (well under SQLite's 32,766 parameters).
CHUNK = 900

STATES = ("open", "resolved", "all")


@dataclass(frozen=True, slots=True)
class FindingRow:
    """One stored occurrence of a finding, as the ``findings`` table holds it."""

    id: int
    fingerprint: str
    occurrence: int
    code: str
    severity: str
    system: str | None
    element: str | None
    record: str | None
    integration: str | None
    event: str | None
    owner: str | None
    message: str
    evidence: str
    first_seen_at: int
    first_seen_event: str | None
    last_seen_at: int
    last_seen_event: str | None
    resolved_at: int | None
    resolved_by: str | None
    registry_version: int | None


_ROW_COLUMNS = [findings.c[name] for name in FindingRow.__dataclass_fields__]


def _rows(result: Iterable[Any]) -> list[FindingRow]:
    return [FindingRow(*row) for row in result]


def _chunks(items: Sequence[Any]) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), CHUNK):
        yield items[start : start + CHUNK]


# --- the watermark (read by lineage.store.detection.scope) ------------------------------------


def hold_while_judging(conn: Connection) -> None:
    """Let the judgement's transaction wait while the detectors read on their own connection.

    PostgreSQL ends a transaction idle longer than the busy timeout (the store's guard
    against locks outliving a killed writer); a judgement's transaction holds the lock but
    is idle while a full run of the detectors reads, which can take minutes on a large
    store. SQLite has no such limit.
    """
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT set_config('idle_in_transaction_session_timeout', '0', true)"))


ANALYZE_AFTER = 1000
"""Findings a judgement stores or changes from which it refreshes PostgreSQL's statistics."""


def refresh_statistics(conn: Connection, changes: int) -> None:
    """After a judgement that stored or changed ``changes`` findings: on PostgreSQL, when
    they are many, the table's statistics, in the judgement's transaction.

    Without them (a store's first judgement stores every finding at once, and autovacuum
    samples the table only a minute later, if ever before the next batch) the planner takes
    a code's open findings for one row, and looked a batch's keys up by reading all of them
    once a key: 3.6 s of a 1,000-event batch's judgement at 1,000,000 events, 2 ms with them.
    SQLite's lookups are ordered by the statement (CROSS JOIN) and keep no statistics.
    """
    if conn.dialect.name == "postgresql" and changes >= ANALYZE_AFTER:
        conn.execute(text("ANALYZE findings"))


def save_watermark(conn: Connection, mark: Watermark, judged_at: int) -> None:
    """Record ``mark`` as judged (inside the judgement's transaction, under its lock)."""
    values = {
        "events_seq": mark.events_seq,
        "status_seq": mark.status_seq,
        "openlineage_seq": mark.openlineage_seq,
        "clock": mark.clock,
        "registry_version": mark.registry_version,
        "judged_at": judged_at,
    }
    done = conn.execute(update(detection_state).where(detection_state.c.id == 1).values(values))
    if done.rowcount == 0:
        conn.execute(insert(detection_state).values(id=1, **values))


def newest_event(conn: Connection, since: Watermark | None, upto: Watermark) -> str | None:
    """The id of the event recorded last after ``since`` up to ``upto`` (a write, snapshot or
    hop, or a hop's status update): what a judgement names as having resolved a finding."""
    after_events = since.events_seq if since else 0
    after_status = since.status_seq if since else 0
    candidates = []
    if upto.events_seq > after_events:
        candidates.append(
            conn.execute(
                select(events.c.recorded_at, events.c.seq, events.c.event_id)
                .where(events.c.seq > after_events, events.c.seq <= upto.events_seq)
                .order_by(events.c.seq.desc())
                .limit(1)
            ).first()
        )
    if upto.status_seq > after_status:
        candidates.append(
            conn.execute(
                select(hop_status.c.recorded_at, hop_status.c.seq, hop_status.c.event_id)
                .where(hop_status.c.seq > after_status, hop_status.c.seq <= upto.status_seq)
                .order_by(hop_status.c.seq.desc())
                .limit(1)
            ).first()
        )
    found = [row for row in candidates if row is not None]
    if not found:
        return None
    return str(max(found, key=lambda row: (row[0], row[1]))[2])


# --- writing the state (a judgement, under JUDGE_LOCK) ----------------------------------------


def open_rows(conn: Connection) -> list[FindingRow]:
    """Every open finding (``ux_findings_open`` is the index of exactly these rows)."""
    return _rows(conn.execute(select(*_ROW_COLUMNS).where(findings.c.resolved_at.is_(None))))


def open_rows_by_fingerprint(conn: Connection, fingerprints: Collection[str]) -> list[FindingRow]:
    """The open occurrence of each of ``fingerprints`` that has one (``ux_findings_open``)."""
    found: list[FindingRow] = []
    for chunk in _chunks(sorted(set(fingerprints))):
        query = select(*_ROW_COLUMNS).where(
            findings.c.resolved_at.is_(None), _in(conn, findings.c.fingerprint, chunk)
        )
        found.extend(_rows(conn.execute(query)))
    return found


@dataclass(frozen=True, slots=True)
class KeyMatch:
    """Open findings of ``code`` whose ``fields`` hold one of ``keys``.

    A field is a subject column (``"system"``) or a member of the evidence, written as its
    path (``"$.input.system"``). The fields an index of open findings answers (``_KEYED``:
    a key's system and record, a golden value's key, the place an evidence's ``input`` or
    ``source`` names) are probed a key at a time; the others are read through
    ``ix_findings_code``, the cost growing with the open findings of that code (each read
    as the few fields compared, never whole). An evidence's place is probed only for up to
    :data:`PROBED_PLACES` keys, else the open findings of the code are read.
    """

    code: str
    fields: tuple[str, ...]
    keys: Collection[tuple[str, ...]]


@dataclass(frozen=True, slots=True)
class Touching:
    """Which open findings a scoped judgement may have changed, as the keys to look up.

    Attributes:
        places: subject ``(system, element, record)`` (``ix_findings_place``).
        events: subject events (``ix_findings_event``).
        matches: the findings a code's own keys name (:class:`KeyMatch`).
    """

    places: Collection[tuple[str, str, str]] = ()
    events: Collection[str] = ()
    matches: Sequence[KeyMatch] = ()


def open_rows_touching(conn: Connection, touching: Touching) -> list[FindingRow]:
    """The open findings ``touching`` names, each once, by id."""
    ids: set[int] = set()
    ids.update(_open_ids(conn, "place", touching.places))
    ids.update(_open_ids(conn, "event", [(event,) for event in touching.events]))
    for match in touching.matches:
        probe = match.fields not in _WEIGHED or len(match.keys) <= PROBED_PLACES
        ids.update(_matching_ids(conn, match, probe=probe))
    found: list[FindingRow] = []
    for chunk in _chunks(sorted(ids)):
        query = select(*_ROW_COLUMNS).where(_in(conn, findings.c.id, chunk))
        found.extend(_rows(conn.execute(query)))
    return found


def _in(conn: Connection, column: ColumnElement[Any], values: Sequence[Any]) -> ColumnElement[bool]:
    # PostgreSQL: one array parameter (= ANY), planned once whatever the number of values
    if conn.dialect.name == "postgresql":
        return column == func.any(bindparam(None, list(values), type_=ARRAY(column.type)))
    return column.in_(values)


def _open_ids(conn: Connection, lookup: str, keys: Collection[tuple[str, ...]]) -> set[int]:
    """Ids of the open findings on one of ``keys``: ``place`` keys ``(system, element,
    record)`` (``ix_findings_place``), ``event`` keys ``(event,)`` (``ix_findings_event``)."""
    columns = ("f.system", "f.element", "f.record") if lookup == "place" else ("f.event",)
    return _ids_by_key(conn, columns, keys)


def _ids_by_key(
    conn: Connection,
    columns: tuple[str, ...],
    keys: Collection[tuple[str, ...]],
    code: str | None = None,
) -> set[int]:
    """Ids of the open findings (of ``code``, if given) whose ``columns`` (SQL of the
    ``findings f`` row) hold one of ``keys``, probed a key at a time.

    The keys travel as one JSON parameter (json.dumps and the server's parser work in C;
    psycopg quoted each string of a text array apart). Both planners are made to loop over
    the keys and probe an index a key: PostgreSQL did not use ix_findings_place for a list of
    ORs, and with no statistics (findings freshly stored) it read every open finding of a
    code once instead; SQLite chose ix_findings_resolved (every open finding), 0.7 s at 1M
    events. SQLite's CROSS JOIN, PostgreSQL's LATERAL subquery that OFFSET 0 keeps unmerged.
    """
    wanted = sorted(set(keys))
    if not wanted:
        return set()
    of_code = "f.code = :code AND " if code is not None else ""
    if conn.dialect.name == "postgresql":
        equal = " AND ".join(f"{column} = k.value ->> {n}" for n, column in enumerate(columns))
        sql = (
            "SELECT x.id FROM jsonb_array_elements(CAST(:keys AS jsonb)) AS k "  # noqa: S608
            "CROSS JOIN LATERAL (SELECT f.id FROM findings f "
            f"WHERE {of_code}{equal} AND f.resolved_at IS NULL OFFSET 0) x"
        )
    else:
        equal = " AND ".join(
            f"{column} = json_extract(k.value, '$[{n}]')" for n, column in enumerate(columns)
        )
        sql = (
            f"SELECT f.id FROM json_each(:keys) AS k CROSS JOIN findings f ON {equal} "  # noqa: S608
            f"WHERE {of_code}f.resolved_at IS NULL"
        )
    params = {"keys": json.dumps(wanted), "code": code}
    return {int(row[0]) for row in conn.execute(text(sql), params)}


def _field(dialect: str, field: str) -> ColumnElement[Any]:
    if not field.startswith("$."):
        return findings.c[field]
    if dialect == "postgresql":
        parts = field[2:].split(".")
        return func.jsonb_extract_path_text(cast(findings.c.evidence, JSONB), *parts)
    return func.json_extract(findings.c.evidence, field)


# A code's own keys that an index of open findings answers (migrations 0017, 0018), looked up a key
# at a time (_ids_by_key). The golden key's expressions are those the index was built on (a
# planner uses an index on expressions only for the very same expressions).
GOLDEN_KEY: dict[str, tuple[str, ...]] = {
    "postgresql": (
        "(CAST(f.evidence AS jsonb) ->> 'system_of_record')",
        "(CAST(f.evidence AS jsonb) ->> 'golden_record')",
    ),
    "sqlite": (
        "json_extract(f.evidence, '$.system_of_record')",
        "json_extract(f.evidence, '$.golden_record')",
    ),
}
_PLACE_PARTS = ("system", "element", "record")


def _evidence_place(key: str) -> dict[str, tuple[str, ...]]:
    return {
        "postgresql": tuple(
            f"(CAST(f.evidence AS jsonb) -> '{key}' ->> '{p}')" for p in _PLACE_PARTS
        ),
        "sqlite": tuple(f"json_extract(f.evidence, '$.{key}.{p}')" for p in _PLACE_PARTS),
    }


EVIDENCE_PLACE: dict[str, dict[str, tuple[str, ...]]] = {
    key: _evidence_place(key) for key in ("input", "source")
}
"""The place a finding's evidence names under ``input`` (broken-chain: what its hop read)
and ``source`` (duplicate-delivery: where its value came from), spelled as the indexes of
migration 0018 were built on."""

_KEYED: dict[tuple[str, ...], dict[str, tuple[str, ...]]] = {
    ("system", "record"): {
        "postgresql": ("f.system", "f.record"),
        "sqlite": ("f.system", "f.record"),
    },
    ("$.system_of_record", "$.golden_record"): GOLDEN_KEY,
    **{
        tuple(f"$.{key}.{p}" for p in _PLACE_PARTS): spelled
        for key, spelled in EVIDENCE_PLACE.items()
    },
}


PROBED_PLACES = 256
"""The most places an evidence's place is probed by (``ix_findings_open_input``,
``ix_findings_open_source``); a larger scope reads the open findings of the code instead.
A probe costs about 1 us, an open finding read and its evidence parsed about 8 us
(PostgreSQL at 1,000,000 events, 475 such open findings: a 10,000-event batch's 20,000 places
probed in 32 ms, the findings read in 4 ms; an 11-event batch's places probed in 0.7 ms a
code, mostly the round trip, where reading the findings took 2 ms). So a small batch, as the
Recorder and single POSTs send, no longer pays for every open finding of the two codes, and
a large one pays no more than it did."""

_WEIGHED = frozenset(tuple(f"$.{key}.{p}" for p in _PLACE_PARTS) for key in EVIDENCE_PLACE)
"""The fields probed only up to :data:`PROBED_PLACES` keys."""


def _matching_ids(conn: Connection, match: KeyMatch, *, probe: bool = True) -> set[int]:
    wanted = set(match.keys)
    if not wanted:
        return set()
    if probe and match.fields in _KEYED:
        columns = _KEYED[match.fields][conn.dialect.name]
        return _ids_by_key(conn, columns, wanted, code=match.code)
    query = _open_of_code(conn.dialect.name, match.code, match.fields)
    return {int(row[0]) for row in conn.execute(query) if tuple(row[1:]) in wanted}


@lru_cache(maxsize=64)
def _open_of_code(dialect: str, code: str, fields: tuple[str, ...]) -> Select[Any]:
    """The id and ``fields`` of every open finding of ``code`` (built once a code)."""
    return select(findings.c.id, *(_field(dialect, f) for f in fields)).where(
        findings.c.code == code, findings.c.resolved_at.is_(None)
    )


def last_occurrences(conn: Connection, fingerprints: Collection[str]) -> dict[str, int]:
    """The highest occurrence stored per fingerprint (absent: never seen)."""
    found: dict[str, int] = {}
    for chunk in _chunks(sorted(fingerprints)):
        query = (
            select(findings.c.fingerprint, func.max(findings.c.occurrence))
            .where(findings.c.fingerprint.in_(chunk))
            .group_by(findings.c.fingerprint)
        )
        found.update((str(fp), int(n)) for fp, n in conn.execute(query))
    return found


def insert_findings(
    conn: Connection, rows: Sequence[dict[str, Any]], *, ids: bool = True
) -> list[int]:
    """Store new occurrences (dicts keyed by column name); their ids, in the order given.

    Args:
        ids: return the new ids; without them (``ids=False``, an empty list back) the rows
            go through the driver's own ``executemany``, several times cheaper than the
            multi-row ``INSERT ... RETURNING`` statements the ids need (25,000 findings on
            SQLite: 11 s of the judgement).
    """
    if not rows:
        return []
    if not ids:
        conn.execute(insert(findings), list(rows))
        return []
    result = conn.execute(
        insert(findings).returning(findings.c.id, sort_by_parameter_order=True), list(rows)
    )
    return [int(row[0]) for row in result]


def mark_seen(conn: Connection, ids: Sequence[int], at: int, event: str | None) -> None:
    """Open findings a judgement found again: their ``last_seen``."""
    for chunk in _chunks(ids):
        conn.execute(
            update(findings)
            .where(findings.c.id.in_(chunk))
            .values(last_seen_at=at, last_seen_event=event)
        )


def replace_content(conn: Connection, changes: Sequence[dict[str, Any]]) -> None:
    """Open findings whose message, evidence, severity or owner changed (dicts with ``id``)."""
    if not changes:
        return
    # one executemany: every change names the same columns
    rows = [{"changed_id": c["id"], **{k: v for k, v in c.items() if k != "id"}} for c in changes]
    conn.execute(update(findings).where(findings.c.id == bindparam("changed_id")), rows)


def resolve(conn: Connection, ids: Sequence[int], at: int, by: str | None) -> None:
    """Open findings no longer true: resolved at ``at`` by event ``by``."""
    for chunk in _chunks(ids):
        conn.execute(
            update(findings)
            .where(findings.c.id.in_(chunk), findings.c.resolved_at.is_(None))
            .values(resolved_at=at, resolved_by=by)
        )


def add_to_outbox(conn: Connection, rows: Sequence[tuple[int, str, str]], now: int) -> None:
    """Queue ``(finding id, "opened" | "resolved", JSON payload)`` for the webhook."""
    if rows:
        conn.execute(
            insert(findings_outbox),
            [
                {
                    "finding_id": finding_id,
                    "event": kind,
                    "payload": payload,
                    "created_at": now,
                    "attempts": 0,
                    "next_attempt_at": now,
                }
                for finding_id, kind, payload in rows
            ],
        )


# --- reading the state ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Selection:
    """Which stored findings to read; an empty collection keeps everything on that axis.

    Attributes:
        state: ``open``, ``resolved`` or ``all``.
        since: only findings opened or resolved at or after this moment (microseconds).
        systems, elements, integrations, codes: subject values and codes to keep.
        owners: owners to keep; None in the collection keeps findings without one.
        waived: ``(code, {subject key: value})`` pairs whose findings are left out (the
            registry's live waivers).
    """

    state: str = "open"
    since: int | None = None
    systems: Collection[str] = ()
    elements: Collection[str] = ()
    integrations: Collection[str] = ()
    codes: Collection[str] = ()
    owners: Collection[str | None] = ()
    waived: Sequence[tuple[str, dict[str, str]]] = ()


def _state(state: str) -> ColumnElement[bool]:
    if state == "open":
        return findings.c.resolved_at.is_(None)
    if state == "resolved":
        return findings.c.resolved_at.is_not(None)
    return true()


def _since(state: str, since: int) -> ColumnElement[bool]:
    opened = findings.c.first_seen_at >= since
    closed = findings.c.resolved_at >= since
    return opened if state == "open" else closed if state == "resolved" else or_(opened, closed)


def _matches(code: str, subject: dict[str, str]) -> ColumnElement[bool]:
    return and_(findings.c.code == code, *(findings.c[k] == v for k, v in subject.items()))


def _where(selection: Selection, *, with_waivers: bool = True) -> list[ColumnElement[bool]]:
    where = [_state(selection.state)]  # first: tally() marks it likely on SQLite
    if selection.since is not None:
        where.append(_since(selection.state, selection.since))
    for column, wanted in (
        ("system", selection.systems),
        ("element", selection.elements),
        ("integration", selection.integrations),
        ("code", selection.codes),
    ):
        if wanted:
            where.append(findings.c[column].in_(sorted(wanted)))
    if selection.owners:
        named = sorted(o for o in selection.owners if o is not None)
        some = [findings.c.owner.in_(named)] if named else []
        if None in selection.owners:
            some.append(findings.c.owner.is_(None))
        where.append(or_(*some))
    if with_waivers:
        where.extend(not_(_matches(code, subject)) for code, subject in selection.waived)
    return where


#: The findings page's order after severity: ``ix_findings_open_order`` (migration 0016)
#: holds the open findings in the order of the first five, per severity.
_PAGE_ORDER = ("code", "system", "element", "record", "integration", "message")


def _page_order(conn: Connection, source: Any, columns: Sequence[str]) -> list[Any]:
    # the order Python's str sorts in (code points, absent parts first): SQLite's BINARY,
    # PostgreSQL's "C" with NULLS FIRST, spelled as the index spells it so the planner reads it
    if conn.dialect.name != "postgresql":
        return [source.c[name] for name in columns]
    return [collate(source.c[name], "C").nulls_first() for name in columns]


def select_findings(
    conn: Connection,
    selection: Selection,
    sizes: Mapping[str, int],
    *,
    limit: int | None = None,
    offset: int = 0,
) -> list[FindingRow]:
    """The stored findings ``selection`` keeps, errors first, then by code, place, message.

    Args:
        sizes: how many findings ``selection`` keeps per severity (:func:`tally`): the page
            is read from the severities it reaches only, each in one statement.
        limit: at most this many findings (None: all); ``offset`` skips the first ones.

    Open findings are read in the order of ``ix_findings_open_order``, so the work grows with
    the page, not with the open findings: SQLite sorts only the findings of one place by
    message; PostgreSQL takes the first ``offset + limit`` in the index's order with the ties
    of the last one (``FETCH FIRST ... WITH TIES``) and sorts those (without planner
    statistics, as after a first judgement, it would sort every open finding of the severity).
    """
    found: list[FindingRow] = []
    for severity in sorted(Severity, key=lambda s: s.rank):
        size = sizes.get(severity.value, 0)
        if offset >= size:
            offset -= size
            continue
        wanted = None if limit is None else limit - len(found)
        found.extend(_rows(conn.execute(_severity_page(conn, selection, severity, wanted, offset))))
        offset = 0
        if limit is not None and len(found) >= limit:
            break
    return found


def _severity_page(
    conn: Connection, selection: Selection, severity: Severity, limit: int | None, offset: int
) -> Select[Any]:
    where = [*_where(selection), findings.c.severity == severity.value]
    full = [*_page_order(conn, findings, _PAGE_ORDER), findings.c.id]
    if limit is None or conn.dialect.name != "postgresql":
        query = select(*_ROW_COLUMNS).where(*where).order_by(*full).offset(offset)
        return query if limit is None else query.limit(limit)
    indexed = _page_order(conn, findings, _PAGE_ORDER[:-1])
    first = (
        select(*_ROW_COLUMNS)
        .where(*where)
        .order_by(*indexed)
        .fetch(offset + limit, with_ties=True)
        .subquery("first")
    )
    return (
        select(*(first.c[column.name] for column in _ROW_COLUMNS))
        .order_by(*_page_order(conn, first, _PAGE_ORDER), first.c.id)
        .limit(limit)
        .offset(offset)
    )


def tally(conn: Connection, selection: Selection) -> dict[tuple[str, str], int]:
    """How many findings ``selection`` keeps, per severity and code (one read of them)."""
    where = _where(selection)
    if conn.dialect.name == "sqlite" and selection.state == "open":
        # SQLite's planner, without statistics, reads the open findings through
        # ix_findings_resolved and the table (12 ms at 12,568 open findings); told that the
        # state holds for most rows, it counts them from ix_findings_open_order alone (1 ms)
        where = [func.likely(where[0]), *where[1:]]
    query = (
        select(findings.c.severity, findings.c.code, func.count())
        .where(*where)
        .group_by(findings.c.severity, findings.c.code)
    )
    return {(str(severity), str(code)): int(n) for severity, code, n in conn.execute(query)}


def count_waived(conn: Connection, selection: Selection) -> int:
    """How many findings ``selection`` would keep that its waivers leave out."""
    if not selection.waived:
        return 0
    silenced = or_(*(_matches(code, subject) for code, subject in selection.waived))
    query = select(func.count()).where(*_where(selection, with_waivers=False), silenced)
    return int(conn.execute(query.select_from(findings)).scalar_one())


def any_open(conn: Connection, code: str, subject: dict[str, str]) -> bool:
    """Whether an open finding with ``code`` matches ``subject`` (is a waiver used?)."""
    query = select(findings.c.id).where(findings.c.resolved_at.is_(None), _matches(code, subject))
    return conn.execute(query.limit(1)).first() is not None


def open_at_places(conn: Connection, places: Iterable[tuple[str, str, str]]) -> list[FindingRow]:
    """Open findings on any of ``places`` (system, element, record): ``ix_findings_place``."""
    wanted = sorted(set(places))
    found: list[FindingRow] = []
    for chunk in _chunks(wanted):
        keys = [
            and_(findings.c.system == s, findings.c.element == e, findings.c.record == r)
            for s, e, r in chunk
        ]
        query = select(*_ROW_COLUMNS).where(findings.c.resolved_at.is_(None), or_(*keys))
        found.extend(_rows(conn.execute(query)))
    return found


def open_on(
    conn: Connection,
    *,
    events_: Collection[str] = (),
    integrations: Collection[str] = (),
    records: Iterable[tuple[str, str]] = (),
) -> list[FindingRow]:
    """Open findings on any of these events (hops), integrations or (system, record) pairs."""
    found: dict[int, FindingRow] = {}
    open_ = findings.c.resolved_at.is_(None)
    for column, wanted in (("event", events_), ("integration", integrations)):
        for chunk in _chunks(sorted(set(wanted))):
            query = select(*_ROW_COLUMNS).where(open_, findings.c[column].in_(chunk))
            found.update((row.id, row) for row in _rows(conn.execute(query)))
    for chunk in _chunks(sorted(set(records))):
        keys = [and_(findings.c.system == s, findings.c.record == r) for s, r in chunk]
        query = select(*_ROW_COLUMNS).where(open_, or_(*keys))
        found.update((row.id, row) for row in _rows(conn.execute(query)))
    return [found[key] for key in sorted(found)]
