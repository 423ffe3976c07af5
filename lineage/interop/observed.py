"""What OpenLineage jobs were seen doing, gathered from the stored events in one pass.

The detectors judge it against the registry's mapping (:mod:`lineage.detect.observed_flows`)
and ``lineage stats`` lists what the mapping does not cover yet (:func:`unmapped`). Only
jobs, datasets and runs are kept (registry-sized), never the events themselves.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field

from pydantic import ValidationError
from sqlalchemy import Connection, select

from ..model.registry import Registry
from ..store.schema import openlineage_events
from .openlineage import DatasetEvent, RunEvent, parse_event

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
    """One job (``namespace/name``) over all its events up to the moment judged."""

    job: str
    events: int = 0
    first: int = 0
    last: int = 0
    inputs: set[tuple[str, str]] = field(default_factory=set)
    outputs: set[tuple[str, str]] = field(default_factory=set)
    flows: set[FieldFlow] = field(default_factory=set)
    runs: dict[str, RunSeen] = field(default_factory=dict)

    def failed_runs(self) -> list[RunSeen]:
        """Runs whose latest state is FAIL or ABORT, oldest first."""
        failed = [run for run in self.runs.values() if run.state in FAILED_STATES]
        return sorted(failed, key=lambda run: (run.at, run.seq))

    def last_run(self) -> RunSeen | None:
        """The run seen last (None for a job known only from JobEvents)."""
        return max(self.runs.values(), key=lambda run: (run.at, run.seq), default=None)


@dataclass(slots=True)
class Observed:
    """Every job seen, and every dataset namespace with how many events named it."""

    jobs: dict[str, JobSeen] = field(default_factory=dict)
    namespaces: dict[str, int] = field(default_factory=dict)


def _rows(conn: Connection, as_of: int | None) -> Iterator[tuple[int, int, str]]:
    o = openlineage_events
    query = select(o.c.seq, o.c.event_time, o.c.payload).order_by(o.c.seq)
    if as_of is not None:
        query = query.where(o.c.event_time <= as_of)
    for row in conn.execution_options(yield_per=500).execute(query):
        yield int(row.seq), int(row.event_time), str(row.payload)


def observe(conn: Connection, *, as_of: int | None = None) -> Observed:
    """Read every stored OpenLineage event (up to ``as_of``, microseconds) once.

    Example:
        >>> from lineage.store import open_store
        >>> with open_store("sqlite://").engine.connect() as conn:
        ...     observe(conn).jobs
        {}
    """
    seen = Observed()
    for seq, at, payload in _rows(conn, as_of):
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
            _run(job, event, at, seq)
    return seen


def _count(seen: Observed, namespace: str) -> None:
    seen.namespaces[namespace] = seen.namespaces.get(namespace, 0) + 1


def _run(job: JobSeen, event: RunEvent, at: int, seq: int) -> None:
    assert event.run is not None
    run_id = event.run.run_id
    state = event.event_type.value if event.event_type else None
    error = event.run.facets.error_message
    known = job.runs.get(run_id)
    if known is None or (at, seq) >= (known.at, known.seq):
        job.runs[run_id] = RunSeen(
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
    """The namespaces and jobs seen that the registry does not map, most seen first."""
    seen = observe(conn)
    namespaces = [
        (namespace, count)
        for namespace, count in seen.namespaces.items()
        if registry.system_of_namespace(namespace) is None
    ]
    jobs = [
        (name, job.events)
        for name, job in seen.jobs.items()
        if not registry.integrations_of_job(name)
    ]
    order = lambda item: (-item[1], item[0])  # noqa: E731 - a sort key, named for reuse
    return Unmapped(sorted(namespaces, key=order), sorted(jobs, key=order))
