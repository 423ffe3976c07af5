"""The OpenLineage summary tables (migration 0008): kept as events are stored, read by every
OpenLineage answer as indexed queries.

:func:`add_summaries` runs in the transaction that stores a batch of events: it reads the
stored summaries the batch touches (by primary key), merges the batch's into them
(:mod:`lineage.interop.ol_summary`) and writes them back. On PostgreSQL the merge holds a
transaction advisory lock so two concurrent batches never merge the same row from the same
stale copy; SQLite's writer already holds the database's write lock there.

The readers below answer one question each, by key or by index range; none reads the events.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    Connection,
    Table,
    and_,
    case,
    func,
    insert,
    literal,
    select,
    text,
    true,
    tuple_,
    union_all,
)
from sqlalchemy.dialects import postgresql, sqlite

from ..model.ol_summary import (
    BatchSum,
    DatasetSum,
    EdgeSum,
    FieldSum,
    JobSum,
    NamespaceSum,
    RunSum,
)
from .schema import (
    observed_flows,
    ol_dataset_versions,
    ol_datasets,
    ol_field_edges,
    ol_job_io,
    ol_jobs,
    ol_namespaces,
    ol_run_io,
    ol_runs,
    openlineage_events,
    registry_versions,
)

SUMMARY_LOCK = 0x4F4C53554D  # "OLSUM": the PostgreSQL advisory lock of the merge
_CHUNK = 400


# -- writing ---------------------------------------------------------------------------------


def add_summaries(conn: Connection, batch: BatchSum) -> None:
    """Merge ``batch`` into the summary tables, inside the caller's transaction."""
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": SUMMARY_LOCK})
    _merge_namespaces(conn, batch.namespaces)
    _merge_runs(conn, batch)  # before jobs: a run stored already is not a new run of its job
    _merge_jobs(conn, batch.jobs)
    _merge_datasets(conn, batch.datasets)
    _insert_new(
        conn,
        ol_dataset_versions,
        [
            {"namespace": n, "name": m, "version": v, "at": at, "run_id": run}
            for (n, m, v), (at, run) in batch.versions.items()
        ],
        update={"at": "max"},
    )
    _insert_new(
        conn,
        ol_job_io,
        [
            {"job_namespace": a, "job_name": b, "io": c, "namespace": d, "name": e}
            for a, b, c, d, e in sorted(batch.job_io)
        ],
    )
    _insert_new(
        conn,
        ol_run_io,
        [{"run_id": a, "io": b, "namespace": c, "name": d} for a, b, c, d in sorted(batch.run_io)],
    )
    _insert_new(conn, ol_field_edges, [_edge_row(e) for e in batch.edges.values()])


def _chunks(items: Sequence[Any]) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), _CHUNK):
        yield items[start : start + _CHUNK]


def _stored(conn: Connection, table: Table, keys: list[tuple[str, ...]]) -> list[Any]:
    """The stored rows of ``table`` with these primary keys."""
    columns = list(table.primary_key.columns)
    found: list[Any] = []
    for part in _chunks(sorted(keys)):
        if len(columns) == 1:
            query = select(table).where(columns[0].in_([k[0] for k in part]))
        else:
            query = select(table).where(tuple_(*columns).in_(part))
        found += conn.execute(query).all()
    return found


def _upsert(conn: Connection, table: Table, rows: list[dict[str, Any]]) -> None:
    if not rows:
        return
    keys = [c.name for c in table.primary_key.columns]
    rows.sort(key=lambda r: tuple(r[k] for k in keys))  # one lock order for every writer
    for part in _chunks(rows):
        statement = _dialect_insert(conn, table)
        others = {c.name: statement.excluded[c.name] for c in table.columns if c.name not in keys}
        conn.execute(statement.on_conflict_do_update(index_elements=keys, set_=others), part)


def _insert_new(
    conn: Connection,
    table: Table,
    rows: list[dict[str, Any]],
    *,
    update: dict[str, str] | None = None,
) -> None:
    """Insert rows whose key is not stored yet; with ``update``, keep the greatest of the
    named columns of a stored row."""
    if not rows:
        return
    keys = [c.name for c in table.primary_key.columns]
    rows.sort(key=lambda r: tuple(r[k] for k in keys))
    for part in _chunks(rows):
        statement = _dialect_insert(conn, table)
        if update:
            greatest = {
                name: func.max(table.c[name], statement.excluded[name])
                if conn.dialect.name == "sqlite"
                else func.greatest(table.c[name], statement.excluded[name])
                for name in update
            }
            conn.execute(statement.on_conflict_do_update(index_elements=keys, set_=greatest), part)
        else:
            conn.execute(statement.on_conflict_do_nothing(index_elements=keys), part)


def _dialect_insert(conn: Connection, table: Table) -> Any:
    if conn.dialect.name == "postgresql":
        return postgresql.insert(table)
    return sqlite.insert(table)


def insert_events(conn: Connection, rows: Sequence[dict[str, Any]]) -> dict[str, int]:
    """Store OpenLineage events (rows of ``openlineage_events``); an event already stored (or
    stored meanwhile by another writer) is skipped by its unique digest. Returns the recording
    sequence of each event really inserted, by digest."""
    statement = _dialect_insert(conn, openlineage_events).on_conflict_do_nothing(
        index_elements=[openlineage_events.c.digest]
    )
    returned = conn.execute(
        statement.returning(openlineage_events.c.seq, openlineage_events.c.digest), rows
    )
    return {row.digest: int(row.seq) for row in returned}


def insert_flows(conn: Connection, rows: Sequence[dict[str, Any]]) -> None:
    """Store the field-to-field flows of newly inserted events (rows of ``observed_flows``)."""
    if rows:
        conn.execute(insert(observed_flows), rows)


def _json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _merge_namespaces(conn: Connection, new: dict[str, NamespaceSum]) -> None:
    merged = {k: v for k, v in new.items()}
    for row in _stored(conn, ol_namespaces, [(k,) for k in new]):
        known = NamespaceSum(
            row.name, row.first_at, row.last_at, row.dataset_mentions, row.job_events
        )
        known.merge(new[row.name])
        merged[row.name] = known
    _upsert(
        conn,
        ol_namespaces,
        [
            {
                "name": n.name,
                "first_at": n.first,
                "last_at": n.last,
                "dataset_mentions": n.dataset_mentions,
                "job_events": n.job_events,
            }
            for n in merged.values()
        ],
    )


def _run_of(row: Any) -> RunSum:
    return RunSum(
        row.run_id,
        row.job_namespace,
        row.job_name,
        row.first_at,
        row.last_at,
        row.last_seq,
        state=row.state,
        ended_state=row.ended_state,
        ended_at=row.ended_at,
        ended_seq=row.ended_seq,
        started=row.started_at,
        error=row.error,
        language=row.language,
        facets=json.loads(row.facets),
        events=row.events,
    )


def _merge_runs(conn: Connection, batch: BatchSum) -> None:
    merged = dict(batch.runs)
    for row in _stored(conn, ol_runs, list(batch.runs)):
        known = _run_of(row)
        key = (row.job_namespace, row.job_name, row.run_id)
        batch.jobs[key[:2]].runs -= 1  # stored already: not a new run of its job
        known.merge(batch.runs[key])
        merged[key] = known
    _upsert(
        conn,
        ol_runs,
        [
            {
                "run_id": r.run_id,
                "job_namespace": r.job_namespace,
                "job_name": r.job_name,
                "first_at": r.first,
                "last_at": r.last,
                "last_seq": r.last_seq,
                "state": r.state,
                "ended_state": r.ended_state,
                "ended_at": r.ended_at,
                "ended_seq": r.ended_seq,
                "started_at": r.started,
                "error": r.error,
                "language": r.language,
                "facets": _json(r.facets),
                "events": r.events,
            }
            for r in merged.values()
        ],
    )


def _merge_jobs(conn: Connection, new: dict[tuple[str, str], JobSum]) -> None:
    merged = dict(new)
    for row in _stored(conn, ol_jobs, list(new)):
        known = _job_of(row)
        known.merge(new[(row.namespace, row.name)])
        merged[(row.namespace, row.name)] = known
    _upsert(
        conn,
        ol_jobs,
        [
            {
                "namespace": j.namespace,
                "name": j.name,
                "first_at": j.first,
                "last_at": j.last,
                "events": j.events,
                "runs": j.runs,
                "description": j.description,
                "parent": j.parent,
                "facets": _json(j.facets),
            }
            for j in merged.values()
        ],
    )


def _job_of(row: Any) -> JobSum:
    return JobSum(
        row.namespace,
        row.name,
        row.first_at,
        row.last_at,
        row.events,
        row.runs,
        row.description,
        row.parent,
        json.loads(row.facets),
    )


def _dataset_of(row: Any) -> DatasetSum:
    return DatasetSum(
        row.namespace,
        row.name,
        row.first_at,
        row.last_at,
        row.mentions,
        row.description,
        json.loads(row.facets),
        {
            f[0]: FieldSum(f[1], f[2], bool(f[3]), len(f) > 4 and bool(f[4]))
            for f in json.loads(row.fields)
        },
        row.current_version,
        row.last_modified_at,
    )


def _field_of(stored: list[Any]) -> FieldSum:
    """A field as stored: ``[name, type, description, from schema, output]``."""
    return FieldSum(stored[1], stored[2], bool(stored[3]), len(stored) > 4 and bool(stored[4]))


def _merge_datasets(conn: Connection, new: dict[tuple[str, str], DatasetSum]) -> None:
    merged = dict(new)
    for row in _stored(conn, ol_datasets, list(new)):
        known = _dataset_of(row)
        known.merge(new[(row.namespace, row.name)])
        merged[(row.namespace, row.name)] = known
    _upsert(
        conn,
        ol_datasets,
        [
            {
                "namespace": d.namespace,
                "name": d.name,
                "first_at": d.first,
                "last_at": d.last,
                "mentions": d.mentions,
                "description": d.description,
                "facets": _json(d.facets),
                "fields": _json(
                    [
                        [n, f.type, f.description, f.from_schema, f.target]
                        for n, f in d.fields.items()
                    ]
                ),
                "current_version": d.current_version,
                "last_modified_at": d.last_modified,
            }
            for d in merged.values()
        ],
    )


def _edge_row(edge: EdgeSum) -> dict[str, Any]:
    return {
        "key": edge.key,
        "job": edge.job,
        "output": edge.output,
        "source_namespace": edge.source[0],
        "source_dataset": edge.source[1],
        "source_field": edge.source[2],
        "target_namespace": edge.target[0],
        "target_dataset": edge.target[1],
        "target_field": edge.target[2],
        "description": edge.description,
        "kind": edge.kind,
    }


# -- reading ---------------------------------------------------------------------------------


def openlineage_clock(conn: Connection) -> int | None:
    """The latest ``eventTime`` of the OpenLineage events stored (one index step)."""
    value = conn.execute(select(func.max(openlineage_events.c.event_time))).scalar()
    return None if value is None else int(value)


def namespace_rows(conn: Connection) -> list[NamespaceSum]:
    """Every namespace seen, by name."""
    rows = conn.execute(select(ol_namespaces).order_by(ol_namespaces.c.name))
    return [
        NamespaceSum(r.name, r.first_at, r.last_at, r.dataset_mentions, r.job_events) for r in rows
    ]


def namespace_row(conn: Connection, name: str) -> NamespaceSum | None:
    r = conn.execute(select(ol_namespaces).where(ol_namespaces.c.name == name)).first()
    return (
        None
        if r is None
        else NamespaceSum(r.name, r.first_at, r.last_at, r.dataset_mentions, r.job_events)
    )


def job_rows(conn: Connection, namespace: str | None = None) -> list[JobSum]:
    """The jobs of one namespace (every job when None), by name."""
    query = select(ol_jobs).order_by(ol_jobs.c.namespace, ol_jobs.c.name)
    if namespace is not None:
        query = query.where(ol_jobs.c.namespace == namespace)
    return [_job_of(r) for r in conn.execute(query)]


def job_page(conn: Connection, namespace: str, limit: int, offset: int) -> tuple[int, list[JobSum]]:
    """How many jobs a namespace has, and one page of them most recently updated first, as
    Marquez lists them (a range of ``ix_ol_jobs_namespace_recent``)."""
    where = ol_jobs.c.namespace == namespace
    total = conn.execute(select(func.count()).select_from(ol_jobs).where(where)).scalar_one()
    rows = conn.execute(
        select(ol_jobs)
        .where(where)
        .order_by(ol_jobs.c.last_at.desc(), ol_jobs.c.name)
        .limit(limit)
        .offset(offset)
    )
    return int(total), [_job_of(r) for r in rows]


def job_row(conn: Connection, namespace: str, name: str) -> JobSum | None:
    row = conn.execute(
        select(ol_jobs).where(ol_jobs.c.namespace == namespace, ol_jobs.c.name == name)
    ).first()
    return None if row is None else _job_of(row)


def jobs_by_key(conn: Connection, keys: Iterable[tuple[str, str]]) -> list[JobSum]:
    """The jobs with these (namespace, name)."""
    return [_job_of(r) for r in _stored(conn, ol_jobs, sorted(set(keys)))]


def jobs_named(conn: Connection, names: Iterable[str]) -> list[JobSum]:
    """The jobs whose ``namespace/name`` is one of ``names`` (a namespace or a name may hold
    ``/`` itself: every split of each name is looked up by key, the matches kept)."""
    wanted = set(names)
    keys = {
        (name[:at], name[at + 1 :])
        for name in wanted
        for at, char in enumerate(name)
        if char == "/"
    }
    return [j for j in jobs_by_key(conn, keys) if f"{j.namespace}/{j.name}" in wanted]


def dataset_page(
    conn: Connection, namespace: str, limit: int, offset: int
) -> tuple[int, list[DatasetSum]]:
    """How many datasets a namespace has, and one page of them by name."""
    where = ol_datasets.c.namespace == namespace
    total = conn.execute(select(func.count()).select_from(ol_datasets).where(where)).scalar_one()
    rows = conn.execute(
        select(ol_datasets).where(where).order_by(ol_datasets.c.name).limit(limit).offset(offset)
    )
    return int(total), [_dataset_of(r) for r in rows]


def dataset_rows(
    conn: Connection, keys: Iterable[tuple[str, str]]
) -> dict[tuple[str, str], DatasetSum]:
    """The datasets with these (namespace, name), by key."""
    return {
        (r.namespace, r.name): _dataset_of(r) for r in _stored(conn, ol_datasets, list(set(keys)))
    }


def datasets_named(conn: Connection, name: str) -> list[tuple[str, str]]:
    """(namespace, name) of the datasets called ``name`` in any namespace."""
    rows = conn.execute(
        select(ol_job_io.c.namespace, ol_job_io.c.name).distinct().where(ol_job_io.c.name == name)
    )
    return [(r.namespace, r.name) for r in rows]


@dataclass(frozen=True, slots=True)
class IoRow:
    """A job (or a run) read (``in``) or wrote (``out``) a dataset."""

    owner: tuple[str, str]
    io: str
    dataset: tuple[str, str]


def io_of_jobs(conn: Connection, jobs: Iterable[tuple[str, str]]) -> list[IoRow]:
    """The datasets these jobs read and wrote."""
    return [
        IoRow((r.job_namespace, r.job_name), r.io, (r.namespace, r.name))
        for r in _stored_by(
            conn, ol_job_io, (ol_job_io.c.job_namespace, ol_job_io.c.job_name), jobs
        )
    ]


def io_of_datasets(conn: Connection, datasets: Iterable[tuple[str, str]]) -> list[IoRow]:
    """The jobs that read or wrote these datasets."""
    return [
        IoRow((r.job_namespace, r.job_name), r.io, (r.namespace, r.name))
        for r in _stored_by(conn, ol_job_io, (ol_job_io.c.namespace, ol_job_io.c.name), datasets)
    ]


def all_job_io(conn: Connection) -> list[IoRow]:
    """Every job's datasets (as many rows as distinct job-dataset pairs, never events)."""
    return [
        IoRow((r.job_namespace, r.job_name), r.io, (r.namespace, r.name))
        for r in conn.execute(select(ol_job_io))
    ]


def _stored_by(
    conn: Connection, table: Table, columns: tuple[Any, ...], keys: Iterable[tuple[str, ...]]
) -> list[Any]:
    wanted = sorted(set(keys))
    found: list[Any] = []
    for part in _chunks(wanted):
        found += conn.execute(select(table).where(tuple_(*columns).in_(part))).all()
    return found


def run_row(conn: Connection, run_id: str) -> RunSum | None:
    """The run with this id (of the job seen last with it, when producers reused the id)."""
    row = conn.execute(
        select(ol_runs)
        .where(ol_runs.c.run_id == run_id)
        .order_by(ol_runs.c.last_at.desc(), ol_runs.c.last_seq.desc())
        .limit(1)
    ).first()
    return None if row is None else _run_of(row)


def runs_page(conn: Connection, namespace: str, name: str, limit: int, offset: int) -> list[RunSum]:
    """One page of a job's runs, latest event first."""
    rows = conn.execute(
        select(ol_runs)
        .where(ol_runs.c.job_namespace == namespace, ol_runs.c.job_name == name)
        .order_by(ol_runs.c.last_at.desc(), ol_runs.c.last_seq.desc())
        .limit(limit)
        .offset(offset)
    )
    return [_run_of(r) for r in rows]


def runs_in_states(conn: Connection, states: Sequence[str]) -> list[RunSum]:
    """Every run whose latest event is in one of ``states`` (FAIL, ABORT: few), oldest first."""
    rows = conn.execute(
        select(ol_runs)
        .where(ol_runs.c.state.in_(list(states)))
        .order_by(ol_runs.c.last_at, ol_runs.c.last_seq)
    )
    return [_run_of(r) for r in rows]


def runs_of_jobs_in_states(
    conn: Connection, jobs: Iterable[tuple[str, str]], states: Sequence[str]
) -> list[RunSum]:
    """The runs of these jobs whose latest event is in one of ``states``, oldest first (the
    index on a job's runs, one range a job)."""
    found: list[RunSum] = []
    r = ol_runs
    for part in _chunks(sorted(set(jobs))):
        query = select(r).where(
            tuple_(r.c.job_namespace, r.c.job_name).in_(part), r.c.state.in_(list(states))
        )
        found += [_run_of(row) for row in conn.execute(query)]
    return sorted(found, key=lambda run: (run.last, run.last_seq))


def recent_runs(
    conn: Connection, jobs: Iterable[tuple[str, str]], per_job: int
) -> dict[tuple[str, str], list[RunSum]]:
    """Each job's ``per_job`` latest runs, latest first (one statement per chunk of jobs)."""
    found: dict[tuple[str, str], list[RunSum]] = {}
    r = ol_runs
    for part in _chunks(sorted(set(jobs))):
        rank = (
            func.row_number()
            .over(
                partition_by=(r.c.job_namespace, r.c.job_name),
                order_by=(r.c.last_at.desc(), r.c.last_seq.desc()),
            )
            .label("rank")
        )
        ranked = select(r, rank).where(tuple_(r.c.job_namespace, r.c.job_name).in_(part)).subquery()
        query = (
            select(ranked)
            .where(ranked.c.rank <= per_job)
            .order_by(ranked.c.job_namespace, ranked.c.job_name, ranked.c.rank)
        )
        for row in conn.execute(query):
            found.setdefault((row.job_namespace, row.job_name), []).append(_run_of(row))
    return found


def latest_runs(conn: Connection, jobs: Iterable[tuple[str, str]]) -> dict[tuple[str, str], RunSum]:
    """Each job's run seen last (its latest event by time, then recording order)."""
    found: dict[tuple[str, str], RunSum] = {}
    for namespace, name in sorted(set(jobs)):
        runs = runs_page(conn, namespace, name, 1, 0)
        if runs:
            found[(namespace, name)] = runs[0]
    return found


def run_io(conn: Connection, run_id: str) -> list[tuple[str, str, str]]:
    """(io, namespace, name) of the datasets a run read and wrote."""
    rows = conn.execute(
        select(ol_run_io.c.io, ol_run_io.c.namespace, ol_run_io.c.name)
        .where(ol_run_io.c.run_id == run_id)
        .order_by(ol_run_io.c.io, ol_run_io.c.namespace, ol_run_io.c.name)
    )
    return [(r.io, r.namespace, r.name) for r in rows]


def runs_writing(
    conn: Connection, datasets: Iterable[tuple[str, str]]
) -> list[tuple[str, str, str]]:
    """(run id, namespace, name): the runs that wrote these datasets."""
    wanted = sorted(set(datasets))
    found: list[tuple[str, str, str]] = []
    for part in _chunks(wanted):
        rows = conn.execute(
            select(ol_run_io.c.run_id, ol_run_io.c.namespace, ol_run_io.c.name).where(
                ol_run_io.c.io == "out",
                tuple_(ol_run_io.c.namespace, ol_run_io.c.name).in_(part),
            )
        )
        found += [(r.run_id, r.namespace, r.name) for r in rows]
    return found


def edge_of(row: Any) -> EdgeSum:
    return EdgeSum(
        row.job,
        bool(row.output),
        (row.source_namespace, row.source_dataset, row.source_field),
        (row.target_namespace, row.target_dataset, row.target_field),
        row.description,
        row.kind,
    )


def output_edges(conn: Connection, jobs: Iterable[str] | None = None) -> list[EdgeSum]:
    """The column-lineage edges jobs reported on their outputs (of these jobs, or all)."""
    query = select(ol_field_edges).where(ol_field_edges.c.output == true())
    if jobs is None:
        return [edge_of(r) for r in conn.execute(query)]
    found: list[EdgeSum] = []
    for part in _chunks(sorted(set(jobs))):
        found += [edge_of(r) for r in conn.execute(query.where(ol_field_edges.c.job.in_(part)))]
    return found


def edges_into(conn: Connection, fields: Iterable[tuple[str, str, str]]) -> list[EdgeSum]:
    """Every column-lineage edge whose target is one of ``fields``."""
    e = ol_field_edges
    columns = (e.c.target_namespace, e.c.target_dataset, e.c.target_field)
    return [edge_of(r) for r in _stored_by(conn, e, columns, fields)]


def edges_from(conn: Connection, fields: Iterable[tuple[str, str, str]]) -> list[EdgeSum]:
    """Every column-lineage edge whose source is one of ``fields``."""
    e = ol_field_edges
    columns = (e.c.source_namespace, e.c.source_dataset, e.c.source_field)
    return [edge_of(r) for r in _stored_by(conn, e, columns, fields)]


def edge_fields_of(
    conn: Connection, datasets: Iterable[tuple[str, str]]
) -> list[tuple[str, str, str]]:
    """The fields of these datasets that column lineage names (as source or target)."""
    e = ol_field_edges
    found: set[tuple[str, str, str]] = set()
    for part in _chunks(sorted(set(datasets))):
        sources = select(e.c.source_namespace, e.c.source_dataset, e.c.source_field).where(
            tuple_(e.c.source_namespace, e.c.source_dataset).in_(part)
        )
        targets = select(e.c.target_namespace, e.c.target_dataset, e.c.target_field).where(
            tuple_(e.c.target_namespace, e.c.target_dataset).in_(part)
        )
        found |= {(r[0], r[1], r[2]) for r in conn.execute(union_all(sources, targets))}
    return sorted(found)


def version_page(
    conn: Connection, namespace: str, name: str, limit: int, offset: int
) -> tuple[int, list[tuple[str, int, str | None]]]:
    """How many versions a dataset has, and one page of (version, time, run id), newest first."""
    v = ol_dataset_versions
    where = and_(v.c.namespace == namespace, v.c.name == name)
    total = conn.execute(select(func.count()).select_from(v).where(where)).scalar_one()
    rows = conn.execute(
        select(v.c.version, v.c.at, v.c.run_id)
        .where(where)
        .order_by(v.c.at.desc(), v.c.version.desc())
        .limit(limit)
        .offset(offset)
    )
    return int(total), [(r.version, int(r.at), r.run_id) for r in rows]


def version_row(
    conn: Connection, namespace: str, name: str, version: str
) -> tuple[int, str | None] | None:
    v = ol_dataset_versions
    row = conn.execute(
        select(v.c.at, v.c.run_id).where(
            v.c.namespace == namespace, v.c.name == name, v.c.version == version
        )
    ).first()
    return None if row is None else (int(row.at), row.run_id)


def search_names(
    conn: Connection,
    words: Sequence[str],
    *,
    jobs: bool,
    datasets: bool,
    namespace: str | None,
) -> list[tuple[str, str, str, int | None]]:
    """(kind, namespace, name, last seen) of jobs and datasets whose lowercased name holds
    every word. A name search cannot use a b-tree index: it reads the summary tables (one
    row per job and dataset), never the events."""
    parts = []
    for kind, table in (("JOB", ol_jobs), ("DATASET", ol_datasets)):
        if (kind == "JOB" and not jobs) or (kind == "DATASET" and not datasets):
            continue
        conditions = [func.lower(table.c.name).contains(w, autoescape=True) for w in words]
        if namespace is not None:
            conditions.append(table.c.namespace == namespace)
        parts.append(
            select(
                literal(kind).label("kind"), table.c.namespace, table.c.name, table.c.last_at
            ).where(*conditions)
        )
    if not parts:
        return []
    rows = conn.execute(union_all(*parts))
    return [(r.kind, r.namespace, r.name, r.last_at) for r in rows]


def summary_counts(conn: Connection) -> dict[str, int]:
    """How many namespaces, jobs, datasets and runs the summaries hold."""
    return {
        name: int(conn.execute(select(func.count()).select_from(table)).scalar_one())
        for name, table in (
            ("namespaces", ol_namespaces),
            ("jobs", ol_jobs),
            ("datasets", ol_datasets),
            ("runs", ol_runs),
        )
    }


def stored_events_after(conn: Connection, seq: int, limit: int) -> list[tuple[int, int, str]]:
    """(seq, event time, payload) of up to ``limit`` events recorded after ``seq``."""
    o = openlineage_events
    rows = conn.execute(
        select(o.c.seq, o.c.event_time, o.c.payload)
        .where(o.c.seq > seq)
        .order_by(o.c.seq)
        .limit(limit)
    )
    return [(int(r.seq), int(r.event_time), str(r.payload)) for r in rows]


def stored_events_until(conn: Connection, as_of: int) -> Iterator[tuple[int, int, str]]:
    """(seq, event time, payload) of every event whose time is at most ``as_of``, in
    recording order (streamed): what a question about the past reads."""
    o = openlineage_events
    query = (
        select(o.c.seq, o.c.event_time, o.c.payload)
        .where(o.c.event_time <= as_of)
        .order_by(o.c.seq)
    )
    # the option on the statement: on the connection it would stay and stream every later
    # statement of the judgement through a server-side cursor left open (PostgreSQL)
    result = conn.execute(query.execution_options(yield_per=500))
    try:
        for row in result:
            yield int(row.seq), int(row.event_time), str(row.payload)
    finally:  # a reader that stops early must not leave a server-side cursor open
        result.close()


def run_events_between(
    conn: Connection, since: int, until: int
) -> Iterator[tuple[str, str, int, int, str | None]]:
    """(run id, job ``namespace/name``, time, seq, eventType) of the RunEvents whose time
    is in ``(since, until]`` (a range of ``ix_openlineage_events_time``)."""
    o = openlineage_events
    query = select(
        o.c.run_id, o.c.job_namespace, o.c.job_name, o.c.event_time, o.c.seq, o.c.event_type
    ).where(o.c.event_time > since, o.c.event_time <= until, o.c.run_id != "")
    for row in conn.execute(query):
        yield (
            row.run_id,
            f"{row.job_namespace}/{row.job_name}",
            int(row.event_time),
            int(row.seq),
            row.event_type,
        )


def events_page(
    conn: Connection,
    *,
    descending: bool,
    before: int | None,
    after: int | None,
    limit: int,
    offset: int,
) -> tuple[int, list[str]]:
    """How many RunEvents fall in ``[after, before)`` by event time, and one page of their
    JSON, newest first unless not ``descending`` (a range of ``ix_openlineage_events_time``).

    Only RunEvents, as Marquez lists them: JobEvents and DatasetEvents have no run, and its web
    UI reads every listed event's ``run.runId`` (one without a run blanks its events page).
    """
    o = openlineage_events
    conditions = [o.c.run_id != ""]
    if before is not None:
        conditions.append(o.c.event_time < before)
    if after is not None:
        conditions.append(o.c.event_time >= after)
    order = (o.c.event_time.desc(), o.c.seq.desc()) if descending else (o.c.event_time, o.c.seq)
    total = conn.execute(select(func.count()).select_from(o).where(*conditions)).scalar_one()
    rows = conn.execute(
        select(o.c.payload).where(*conditions).order_by(*order).limit(limit).offset(offset)
    )
    return int(total), [str(r.payload) for r in rows]


def registry_loaded_at(conn: Connection) -> int | None:
    """When the registry in force (the newest version) was loaded, in microseconds; None
    before any ``lineage load``. Marquez dates every job and dataset: the declared ones are
    dated by this."""
    latest = conn.execute(
        select(registry_versions.c.loaded_at).order_by(registry_versions.c.id.desc()).limit(1)
    ).scalar()
    return None if latest is None else int(latest)


# -- Marquez's listings across namespaces, its upstream run walk and its dashboard counts ----

_LATEST_STATES = {
    "NEW": ("OTHER",),
    "RUNNING": ("START", "RUNNING"),
    "COMPLETED": ("COMPLETE",),
    "FAILED": ("FAIL",),
    "ABORTED": ("ABORT",),
}
"""Marquez's run states, as the OpenLineage event types a run's latest state is read from."""


def job_page_all(
    conn: Connection, limit: int, offset: int, last_run_states: Sequence[str] = ()
) -> tuple[int, list[JobSum]]:
    """How many jobs there are, and one page of them most recently updated first, as Marquez
    lists them (a range of ``ix_ol_jobs_recent``; ties by namespace and name).

    With ``last_run_states`` (Marquez's: NEW, RUNNING, COMPLETED, FAILED, ABORTED), only the
    jobs whose latest run is in one of them, and the jobs never run, as Marquez filters; each
    job's latest run is one step of ``ix_ol_runs_job``. The count is of every job, as Marquez's.
    """
    total = conn.execute(select(func.count()).select_from(ol_jobs)).scalar_one()
    query = select(ol_jobs)
    if last_run_states:
        wanted = sorted({t for s in last_run_states for t in _LATEST_STATES[s]})
        r = ol_runs
        latest = (
            select(func.coalesce(r.c.ended_state, r.c.state))
            .where(r.c.job_namespace == ol_jobs.c.namespace, r.c.job_name == ol_jobs.c.name)
            .order_by(r.c.last_at.desc(), r.c.last_seq.desc())
            .limit(1)
            .scalar_subquery()
        )
        ran = (
            select(r.c.run_id)
            .where(r.c.job_namespace == ol_jobs.c.namespace, r.c.job_name == ol_jobs.c.name)
            .exists()
        )
        query = query.where((~ran) | latest.in_(wanted))
    rows = conn.execute(
        query.order_by(ol_jobs.c.last_at.desc(), ol_jobs.c.namespace, ol_jobs.c.name)
        .limit(limit)
        .offset(offset)
    )
    return int(total), [_job_of(r) for r in rows]


def source_page(conn: Connection, limit: int, offset: int) -> tuple[int, list[NamespaceSum]]:
    """How many namespaces hold datasets (Marquez's sources), and one page of them by name."""
    n = ol_namespaces
    where = n.c.dataset_mentions > 0
    total = conn.execute(select(func.count()).select_from(n).where(where)).scalar_one()
    rows = conn.execute(select(n).where(where).order_by(n.c.name).limit(limit).offset(offset))
    return int(total), [
        NamespaceSum(r.name, r.first_at, r.last_at, r.dataset_mentions, r.job_events) for r in rows
    ]


def version_read_by(conn: Connection, namespace: str, name: str, at: int) -> tuple[str, str | None]:
    """The version of a dataset a run starting at ``at`` read: the latest written by then
    (else the first ever written), as (version, run id that wrote it); one index step of
    ``ix_ol_dataset_versions_at``. ``("", None)`` when no version was ever written."""
    v = ol_dataset_versions
    key = (v.c.namespace == namespace, v.c.name == name)
    row = conn.execute(
        select(v.c.version, v.c.run_id)
        .where(*key, v.c.at <= at)
        .order_by(v.c.at.desc(), v.c.version.desc())
        .limit(1)
    ).first()
    if row is None:
        row = conn.execute(
            select(v.c.version, v.c.run_id).where(*key).order_by(v.c.at, v.c.version).limit(1)
        ).first()
    return ("", None) if row is None else (str(row.version), row.run_id)


def _bucketed(column: Any, bounds: Sequence[int]) -> Any:
    """``column`` in ``[bounds[0], bounds[-1])`` with its bucket: the index of the interval
    ``[bounds[i], bounds[i + 1])`` it falls in (a subquery: both databases group by it)."""
    bucket = case(
        *[(column < bound, index) for index, bound in enumerate(bounds[1:])],
        else_=len(bounds) - 1,
    ).label("bucket")
    return bucket, (column >= bounds[0], column < bounds[-1])


def event_types_by_interval(conn: Connection, bounds: Sequence[int]) -> dict[tuple[int, str], int]:
    """How many OpenLineage events of each type fall in each interval between ``bounds``
    (microseconds, ascending), by event time: a range of ``ix_openlineage_events_time``
    counted by the database, ``{(interval, eventType): count}``."""
    o = openlineage_events
    bucket, within = _bucketed(o.c.event_time, bounds)
    inner = select(bucket, o.c.event_type.label("kind")).where(*within).subquery()
    rows = conn.execute(
        select(inner.c.bucket, inner.c.kind, func.count())
        .where(inner.c.kind.is_not(None))
        .group_by(inner.c.bucket, inner.c.kind)
    )
    return {(int(r[0]), str(r[1])): int(r[2]) for r in rows}


def known_by_interval(conn: Connection, what: str, bounds: Sequence[int]) -> list[int]:
    """How many jobs, datasets or sources (namespaces holding datasets) were known by the end
    of each interval between ``bounds``, by when each was first seen: a count before the first
    bound and one per interval, each a range of an index led by ``first_at``."""
    table = {"jobs": ol_jobs, "datasets": ol_datasets, "sources": ol_namespaces}[what]
    first = table.c.first_at
    extra = [ol_namespaces.c.dataset_mentions > 0] if what == "sources" else []
    before = conn.execute(
        select(func.count()).select_from(table).where(first < bounds[0], *extra)
    ).scalar_one()
    bucket, within = _bucketed(first, bounds)
    inner = select(bucket).where(*within, *extra).subquery()
    rows = conn.execute(select(inner.c.bucket, func.count()).group_by(inner.c.bucket))
    per = dict.fromkeys(range(len(bounds) - 1), 0)
    for r in rows:
        per[int(r[0])] = int(r[1])
    known, running = [], int(before)
    for index in range(len(bounds) - 1):
        running += per[index]
        known.append(running)
    return known


def stored_payloads(conn: Connection, *, as_of: int | None = None) -> Iterator[str]:
    """The JSON of every OpenLineage event stored, as it came in, in recording order
    (streamed); ``as_of`` (microseconds) leaves out events whose ``eventTime`` is later."""
    o = openlineage_events
    query = select(o.c.payload).order_by(o.c.seq)
    if as_of is not None:
        query = query.where(o.c.event_time <= as_of)
    # the option on the statement, not the connection (where it would outlive this read)
    result = conn.execute(query.execution_options(yield_per=500))
    try:
        for row in result:
            yield str(row.payload)
    finally:  # a reader that stops early must not leave a server-side cursor open
        result.close()


def observed_flow_rows(conn: Connection, **equal: str | None) -> list[Any]:
    """The distinct flows observed (job, source and target system and element,
    transformation) with their first and last time and count, narrowed to the columns of
    ``observed_flows`` given in ``equal`` (None: any), ordered by target, then source, then job."""
    f = observed_flows
    conditions = [f.c[name] == value for name, value in equal.items() if value is not None]
    keys = (
        f.c.job,
        f.c.source_system,
        f.c.source_element,
        f.c.target_system,
        f.c.target_element,
        f.c.transformation,
    )
    query = (
        select(
            *keys,
            func.min(f.c.at).label("first"),
            func.max(f.c.at).label("last"),
            func.count().label("n"),
        )
        .where(*conditions)
        .group_by(*keys)
        .order_by(
            f.c.target_system, f.c.target_element, f.c.source_system, f.c.source_element, f.c.job
        )
    )
    return list(conn.execute(query).all())
