"""What OpenLineage jobs were seen doing, read from the summary tables (migration 0008).

The detectors judge it against the registry's mapping (:mod:`lineage.detect.observed_flows`)
and ``lineage stats`` lists what the mapping does not cover yet (:func:`unmapped`). The
summaries are kept as events are stored, so these answers read jobs, their datasets, their
column-lineage edges and their failed runs (registry-sized), never the events. Only a
question about the past (``as_of`` before the latest OpenLineage event) reads the events up
to that moment, once.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field

from pydantic import ValidationError

from ..model.ol_summary import RunSum
from ..model.registry import Registry
from ..store import Connection
from ..store import openlineage as summaries
from ..store.schema import iso
from .ol_events import DatasetEvent, RunEvent, parse_event

FAILED_STATES = ("FAIL", "ABORT")
"""Run states that mean the run did not deliver."""


@dataclass(frozen=True, slots=True)
class FieldFlow:
    """One column-lineage edge: an input dataset's field feeds an output dataset's field."""

    source_namespace: str
    source_dataset: str
    source_field: str
    target_namespace: str
    target_dataset: str
    target_field: str


@dataclass(slots=True)
class RunSeen:
    """A run's latest state (by event time, then by recording order) and its error."""

    run_id: str
    state: str | None
    at: int
    seq: int
    error: str | None = None
    language: str | None = None


@dataclass(slots=True)
class JobSeen:
    """One job (``namespace/name``) over all its events up to the moment judged: how many
    events and runs, its datasets and column lineage, its failed runs (oldest first)."""

    job: str
    events: int = 0
    first: int = 0
    last: int = 0
    inputs: set[tuple[str, str]] = field(default_factory=set)
    outputs: set[tuple[str, str]] = field(default_factory=set)
    flows: set[FieldFlow] = field(default_factory=set)
    runs: int = 0
    failed: list[RunSeen] = field(default_factory=list)

    def failed_runs(self) -> list[RunSeen]:
        """Runs whose latest state is FAIL or ABORT, oldest first."""
        return sorted(self.failed, key=lambda run: (run.at, run.seq))


@dataclass(slots=True)
class Observed:
    """Every job seen, and every dataset namespace with how many events named it."""

    jobs: dict[str, JobSeen] = field(default_factory=dict)
    namespaces: dict[str, int] = field(default_factory=dict)


def observe(
    conn: Connection, *, as_of: int | None = None, jobs: Collection[str] | None = None
) -> Observed:
    """Every job seen and every dataset namespace, as of ``as_of`` (microseconds; default:
    everything stored), from the summary tables.

    With ``jobs`` (``namespace/name``), only those jobs, read by key (a judgement of a batch
    reads the jobs the batch ran, not every job); ``namespaces`` is then left empty.

    Example:
        >>> from lineage.store import open_store
        >>> with open_store("sqlite://").engine.connect() as conn:
        ...     observe(conn).jobs
        {}
    """
    clock = summaries.openlineage_clock(conn)
    if as_of is not None and clock is not None and as_of < clock:
        seen = _observe_events(conn, as_of)
        if jobs is not None:
            seen.jobs = {name: job for name, job in seen.jobs.items() if name in jobs}
            seen.namespaces = {}
        return seen
    seen = Observed()
    rows = summaries.job_rows(conn) if jobs is None else summaries.jobs_named(conn, jobs)
    for summary in rows:
        name = f"{summary.namespace}/{summary.name}"
        seen.jobs[name] = JobSeen(
            name, summary.events, summary.first, summary.last, runs=summary.runs
        )
    keys = [(s.namespace, s.name) for s in rows]
    if jobs is None:
        io = summaries.all_job_io(conn)
        edges = summaries.output_edges(conn)
        failed = summaries.runs_in_states(conn, FAILED_STATES)
    else:
        io = summaries.io_of_jobs(conn, keys)
        edges = summaries.output_edges(conn, list(seen.jobs))
        failed = summaries.runs_of_jobs_in_states(conn, keys, FAILED_STATES)
    for row in io:
        job = seen.jobs.get(f"{row.owner[0]}/{row.owner[1]}")
        if job is not None:
            (job.inputs if row.io == "in" else job.outputs).add(row.dataset)
    for edge in edges:
        job = seen.jobs.get(edge.job)
        if job is not None:
            job.flows.add(FieldFlow(*edge.source, *edge.target))
    for run in failed:
        job = seen.jobs.get(f"{run.job_namespace}/{run.job_name}")
        if job is not None:
            job.failed.append(_run_seen(run))
    if jobs is None:
        seen.namespaces = {
            n.name: n.dataset_mentions for n in summaries.namespace_rows(conn) if n.dataset_mentions
        }
    return seen


def _run_seen(run: RunSum) -> RunSeen:
    return RunSeen(run.run_id, run.state, run.last, run.last_seq, run.error, run.language)


def _observe_events(conn: Connection, as_of: int) -> Observed:
    """:func:`observe` of the past: the events up to ``as_of`` read once, in recording order."""
    seen = Observed()
    runs: dict[str, dict[str, RunSeen]] = {}
    for seq, at, payload in summaries.stored_events_until(conn, as_of):
        try:
            event = parse_event(json.loads(payload))
        except (ValueError, ValidationError):  # pragma: no cover - stored events were valid
            continue
        if isinstance(event, DatasetEvent):
            _count(seen, event.dataset.namespace)
            continue
        name = f"{event.job.namespace}/{event.job.name}"
        job = seen.jobs.get(name)
        if job is None:
            job = seen.jobs[name] = JobSeen(name, first=at, last=at)
        job.events += 1
        job.first, job.last = min(job.first, at), max(job.last, at)
        for dataset in event.inputs:
            job.inputs.add((dataset.namespace, dataset.name))
            _count(seen, dataset.namespace)
        for dataset in event.outputs:
            job.outputs.add((dataset.namespace, dataset.name))
            _count(seen, dataset.namespace)
            facet = dataset.facets.column_lineage
            for target, lineage in facet.fields.items() if facet else ():
                for source in lineage.input_fields:
                    job.flows.add(
                        FieldFlow(
                            source.namespace,
                            source.name,
                            source.field,
                            dataset.namespace,
                            dataset.name,
                            target,
                        )
                    )
        if isinstance(event, RunEvent) and event.run is not None:
            _run(runs.setdefault(name, {}), event, at, seq)
    for name, job_runs in runs.items():
        job = seen.jobs[name]
        job.runs = len(job_runs)
        job.failed = [run for run in job_runs.values() if run.state in FAILED_STATES]
    return seen


def _count(seen: Observed, namespace: str) -> None:
    seen.namespaces[namespace] = seen.namespaces.get(namespace, 0) + 1


def _run(runs: dict[str, RunSeen], event: RunEvent, at: int, seq: int) -> None:
    assert event.run is not None
    run_id = event.run.run_id
    state = event.event_type.value if event.event_type else None
    error = event.run.facets.error_message
    known = runs.get(run_id)
    if known is None or (at, seq) >= (known.at, known.seq):
        runs[run_id] = RunSeen(
            run_id,
            state,
            at,
            seq,
            error.message if error else (known.error if known else None),
            error.programming_language if error else (known.language if known else None),
        )
    elif error is not None and known.error is None:
        known.error, known.language = error.message, error.programming_language


@dataclass(frozen=True, slots=True)
class Unmapped:
    """What the registry's OpenLineage mapping does not cover yet, most seen first.

    Attributes:
        namespaces: dataset namespaces no system claims, with how many events named them.
        jobs: jobs no integration claims, with how many events they sent.
    """

    namespaces: list[tuple[str, int]]
    jobs: list[tuple[str, int]]

    def as_dict(self) -> dict[str, list[dict[str, object]]]:
        return {
            "namespaces": [{"namespace": n, "events": c} for n, c in self.namespaces],
            "jobs": [{"job": j, "events": c} for j, c in self.jobs],
        }


def unmapped(conn: Connection, registry: Registry) -> Unmapped:
    """The namespaces and jobs seen that the registry does not map, most seen first (one
    read of the namespace and job summaries)."""
    namespaces = [
        (n.name, n.dataset_mentions)
        for n in summaries.namespace_rows(conn)
        if n.dataset_mentions and registry.system_of_namespace(n.name) is None
    ]
    jobs = [
        (name, j.events)
        for j in summaries.job_rows(conn)
        if not registry.integrations_of_job(name := f"{j.namespace}/{j.name}")
    ]
    order = lambda item: (-item[1], item[0])  # noqa: E731 - a sort key, named for reuse
    return Unmapped(sorted(namespaces, key=order), sorted(jobs, key=order))


@dataclass(frozen=True, slots=True)
class ObservedInput:
    """A dataset an observed job read, with the fields that matter and their elements."""

    namespace: str
    dataset: str
    system: str | None
    fields: tuple[str, ...]
    elements: tuple[str, ...]

    def to_json(self) -> dict[str, object]:
        return {
            "namespace": self.namespace,
            "dataset": self.dataset,
            "system": self.system,
            "fields": list(self.fields),
            "elements": list(self.elements),
        }


@dataclass(frozen=True, slots=True)
class ObservedFeed:
    """An OpenLineage job that writes a place a trace could not explain further.

    ``level`` is ``field`` when the job's column lineage names the field that holds the
    element (``inputs`` then lists the input fields feeding it), ``dataset`` when it only says
    the job wrote the dataset (``inputs`` lists every dataset the job read, with the fields
    the registry maps there): then where the value came from is a guess at dataset level.
    """

    system: str
    element: str
    dataset: str
    field: str
    job: str
    level: str
    inputs: tuple[ObservedInput, ...]
    last_run: dict[str, object] | None

    def to_json(self) -> dict[str, object]:
        return {
            "system": self.system,
            "element": self.element,
            "dataset": self.dataset,
            "field": self.field,
            "job": self.job,
            "level": self.level,
            "last_run": self.last_run,
            "inputs": [i.to_json() for i in self.inputs],
        }

    def text(self) -> str:
        run = self.last_run
        ran = f", last run {run['id']} {run['state'] or '?'} at {run['at']}" if run else ""
        reads = "; ".join(
            f"{i.namespace}/{i.dataset}" + (f" ({', '.join(i.fields)})" if i.fields else "")
            for i in self.inputs
        )
        return (
            f"{self.system}/{self.element} ({self.dataset}.{self.field}) is written by OpenLineage "
            f"job {self.job}{ran}; {self.level}-level, reads {reads or 'nothing named'}"
        )


def feeds_into(
    conn: Connection, registry: Registry, places: list[tuple[str, str]]
) -> tuple[ObservedFeed, ...]:
    """The OpenLineage jobs writing the datasets that hold ``places`` (system, element).

    Only places the registry maps (the element's ``openlineage_fields`` in that system) are
    looked up; an empty tuple when none is.
    """
    wanted: dict[tuple[str, str], list[tuple[str, str, str]]] = {}
    for system, element in places:
        declared = registry.element(element)
        for held in declared.openlineage_fields if declared else ():
            if held.system == system:
                wanted.setdefault((system, held.dataset), []).append((element, held.field, system))
    if not wanted:
        return ()
    keys = [
        (namespace.name, dataset)
        for namespace in summaries.namespace_rows(conn)
        for system, dataset in wanted
        if registry.system_of_namespace(namespace.name) == system
    ]
    writers = sorted({row.owner for row in summaries.io_of_datasets(conn, keys) if row.io == "out"})
    jobs = _jobs_seen(conn, writers)
    latest = summaries.latest_runs(conn, writers)
    feeds: list[ObservedFeed] = []
    for key, job in sorted(jobs.items()):
        last = latest.get(key)
        for namespace, name in sorted(job.outputs):
            into = registry.system_of_namespace(namespace) or ""
            for element, field_name, _ in wanted.get((into, name), ()):
                feeds.append(
                    _feed(
                        registry,
                        job,
                        (namespace, name, field_name),
                        element=element,
                        last=None if last is None else _run_seen(last),
                    )
                )
    return tuple(feeds)


def _jobs_seen(conn: Connection, keys: list[tuple[str, str]]) -> dict[tuple[str, str], JobSeen]:
    """These jobs with their datasets and column lineage (no counts)."""
    jobs = {key: JobSeen(f"{key[0]}/{key[1]}") for key in keys}
    for row in summaries.io_of_jobs(conn, keys):
        job = jobs[row.owner]
        (job.inputs if row.io == "in" else job.outputs).add(row.dataset)
    by_name = {job.job: job for job in jobs.values()}
    for edge in summaries.output_edges(conn, list(by_name)):
        by_name[edge.job].flows.add(FieldFlow(*edge.source, *edge.target))
    return jobs


def _feed(
    registry: Registry,
    job: JobSeen,
    where: tuple[str, str, str],
    *,
    element: str,
    last: RunSeen | None,
) -> ObservedFeed:
    namespace, dataset, field_name = where
    system = registry.system_of_namespace(namespace) or namespace
    sources = [
        f
        for f in job.flows
        if (f.target_namespace, f.target_dataset, f.target_field)
        == (namespace, dataset, field_name)
    ]
    inputs: list[ObservedInput] = []
    if sources:
        by_dataset: dict[tuple[str, str], list[str]] = {}
        for flow in sources:
            by_dataset.setdefault((flow.source_namespace, flow.source_dataset), []).append(
                flow.source_field
            )
        for (source_ns, source_ds), fields in sorted(by_dataset.items()):
            inputs.append(_input(registry, source_ns, source_ds, sorted(set(fields))))
    else:
        for source_ns, source_ds in sorted(job.inputs):
            source_system = registry.system_of_namespace(source_ns)
            mapped = sorted(registry.fields_of(source_system, source_ds)) if source_system else []
            inputs.append(_input(registry, source_ns, source_ds, mapped))
    return ObservedFeed(
        system,
        element,
        dataset,
        field_name,
        job.job,
        "field" if sources else "dataset",
        tuple(inputs),
        None
        if last is None
        else {"id": last.run_id, "state": last.state, "at": iso(last.at), "error": last.error},
    )


def _input(registry: Registry, namespace: str, dataset: str, fields: list[str]) -> ObservedInput:
    system = registry.system_of_namespace(namespace)
    elements = [
        e for f in fields if system and (e := registry.element_at(system, dataset, f)) is not None
    ]
    return ObservedInput(namespace, dataset, system, tuple(fields), tuple(elements))


def dead_ends(
    nodes: Iterable[tuple[str, str, str, str]], targets: set[str]
) -> list[tuple[str, str]]:
    """The (system, element) of trace nodes nothing explains: no step leads to them and they
    are not writes. Nodes are (id, kind, system, element); ``targets`` the ids steps reach."""
    found = [(s, e) for n, kind, s, e in nodes if n not in targets and kind != "write"]
    return list(dict.fromkeys(found))


@dataclass(slots=True)
class Route:
    """Data a job moved from one mapped system into another (dataset or column level)."""

    source: str
    target: str
    reads: set[str] = field(default_factory=set)
    writes: set[str] = field(default_factory=set)
    elements: set[str] = field(default_factory=set)


def routes_of(registry: Registry, job: JobSeen) -> dict[tuple[str, str], Route]:
    """Every (source system, target system) pair the job joined, dataset or column level."""
    read: dict[str, set[str]] = {}
    for namespace, name in job.inputs:
        system = registry.system_of_namespace(namespace)
        if system is not None:
            read.setdefault(system, set()).add(f"{namespace}/{name}")
    written: dict[str, set[str]] = {}
    for namespace, name in job.outputs:
        system = registry.system_of_namespace(namespace)
        if system is not None:
            written.setdefault(system, set()).add(f"{namespace}/{name}")
    routes: dict[tuple[str, str], Route] = {}
    for source, reads in read.items():
        for target, writes in written.items():
            if source != target:
                routes[(source, target)] = Route(source, target, set(reads), set(writes))
    for flow in job.flows:
        origin = registry.system_of_namespace(flow.source_namespace)
        into = registry.system_of_namespace(flow.target_namespace)
        if origin is None or into is None or origin == into:
            continue
        route = routes.setdefault((origin, into), Route(origin, into))
        route.reads.add(f"{flow.source_namespace}/{flow.source_dataset}")
        route.writes.add(f"{flow.target_namespace}/{flow.target_dataset}")
        element = registry.element_at(into, flow.target_dataset, flow.target_field)
        if element is not None:
            route.elements.add(element)
    return routes


@dataclass(frozen=True, slots=True)
class ObservedRoute:
    """Systems joined by OpenLineage jobs, for the system map: ``declared`` when every job
    seen on the route runs an integration declared between the two systems."""

    source: str
    target: str
    jobs: tuple[str, ...]
    declared: bool


def observed_routes(conn: Connection, registry: Registry) -> list[ObservedRoute]:
    """Every route between two mapped systems that OpenLineage jobs moved data on."""
    if not registry.maps_openlineage:
        return []
    found: dict[tuple[str, str], tuple[set[str], bool]] = {}
    for job in observe(conn).jobs.values():
        claimed = {(i.source, i.target) for i in registry.integrations_of_job(job.job)}
        for key in routes_of(registry, job):
            jobs, declared = found.get(key, (set(), True))
            jobs.add(job.job)
            found[key] = (jobs, declared and key in claimed)
    return [
        ObservedRoute(source, target, tuple(sorted(jobs)), declared)
        for (source, target), (jobs, declared) in sorted(found.items())
    ]


def runs_by_integration(
    conn: Connection, registry: Registry, *, since: int, until: int
) -> dict[str, tuple[int, int]]:
    """Per integration, the runs of its OpenLineage jobs last seen in ``(since, until]`` and
    how many of them ended FAIL or ABORT (microseconds since the epoch).

    A run's latest event up to ``until`` falls in the window exactly when it has an event in
    the window, so the window's events (an index range on their time) are all it reads.
    """
    if not any(i.openlineage_jobs for i in registry.integrations):
        return {}
    latest: dict[str, tuple[int, int, str, str | None]] = {}
    for run_id, job, at, seq, state in summaries.run_events_between(conn, since, until):
        known = latest.get(run_id)
        if known is None or (at, seq) >= known[:2]:
            latest[run_id] = (at, seq, job, state)
    counted: dict[str, tuple[int, int]] = {}
    for _, _, job, state in latest.values():
        for integration in registry.integrations_of_job(job):
            total, bad = counted.get(integration.name, (0, 0))
            counted[integration.name] = (total + 1, bad + (state in FAILED_STATES))
    return counted
