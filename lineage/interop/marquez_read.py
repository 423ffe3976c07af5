"""Marquez's read API, in Marquez's own JSON shapes (its ``spec/openapi.yml``).

Enough of it that Marquez's clients (``marquez-python``, the web UI) read the tracker:
namespaces; jobs and datasets per namespace, with dataset versions and job runs; runs by id;
column lineage; search; the OpenLineage events received. Two sources, as for
``GET /api/v1/lineage`` (:mod:`lineage.interop.marquez`): the OpenLineage events stored
(observed), and the registry (declared: each system is a namespace holding its elements'
datasets, each integration the job ``registry/<integration>``).

A :class:`Catalogue` is built from one pass over the stored events; the web layer only serves
its answers. Run states map as Marquez's do: START and RUNNING -> ``RUNNING``, COMPLETE ->
``COMPLETED``, FAIL -> ``FAILED``, ABORT -> ``ABORTED``.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, func, select

from ..errors import NotFoundError
from ..model.registry import Registry
from ..store.schema import iso, openlineage_events
from .marquez import DECLARED_NAMESPACE, declared_graph, split_element
from .marquez_columns import FieldEdge, column_lineage
from .marquez_shapes import (
    DEFAULT_OWNER,
    ColumnLineageGraph,
    DatasetList,
    DatasetVersion,
    DatasetVersionList,
    DatasetVersionRef,
    FieldShape,
    Id,
    Job,
    JobList,
    LineageEventList,
    MarquezDataset,
    Namespace,
    NamespaceList,
    Run,
    RunList,
    SearchResult,
    SearchResultList,
    VersionId,
)
from .ol_events import Dataset, DatasetEvent, RunEvent, parse_event

VERSIONS = uuid.UUID("9b0c6f57-3c55-4bc4-a0e5-1b6d3c8d4e21")
"""Dataset and job versions are UUID5 in this namespace of what makes them."""

_STATES = {
    "START": "RUNNING",
    "RUNNING": "RUNNING",
    "COMPLETE": "COMPLETED",
    "FAIL": "FAILED",
    "ABORT": "ABORTED",
}


# -- the catalogue -------------------------------------------------------------------------


@dataclass(slots=True)
class _RunSeen:
    run_id: str
    namespace: str
    job: str
    first: int
    last: int
    state: str = "NEW"
    started: int | None = None
    ended: int | None = None
    inputs: set[tuple[str, str]] = field(default_factory=set)
    outputs: set[tuple[str, str]] = field(default_factory=set)
    facets: dict[str, Any] = field(default_factory=dict)


@dataclass(slots=True)
class _DatasetSeen:
    namespace: str
    name: str
    first: int | None = None
    last: int | None = None
    fields: dict[str, str | None] = field(default_factory=dict)
    descriptions: dict[str, str | None] = field(default_factory=dict)
    description: str | None = None
    facets: dict[str, Any] = field(default_factory=dict)
    versions: list[tuple[int, str | None]] = field(default_factory=list)  # (at, run id)

    def seen(self, at: int | None) -> None:
        if at is not None:
            self.first = at if self.first is None else min(self.first, at)
            self.last = at if self.last is None else max(self.last, at)


@dataclass(slots=True)
class _JobSeen:
    namespace: str
    name: str
    first: int | None = None
    last: int | None = None
    inputs: set[tuple[str, str]] = field(default_factory=set)
    outputs: set[tuple[str, str]] = field(default_factory=set)
    description: str | None = None
    parent: str | None = None
    facets: dict[str, Any] = field(default_factory=dict)
    runs: list[str] = field(default_factory=list)


class Catalogue:
    """Jobs, datasets and runs as Marquez describes them, observed and declared together."""

    def __init__(self, registry: Registry) -> None:
        self.registry = registry
        self.jobs: dict[tuple[str, str], _JobSeen] = {}
        self.datasets: dict[tuple[str, str], _DatasetSeen] = {}
        self.runs: dict[str, _RunSeen] = {}
        self.field_edges: set[FieldEdge] = set()
        self._declare(registry)

    # building

    def _dataset(self, namespace: str, name: str, at: int | None = None) -> _DatasetSeen:
        found = self.datasets.get((namespace, name))
        if found is None:
            found = self.datasets[(namespace, name)] = _DatasetSeen(namespace, name)
        found.seen(at)
        return found

    def _declare(self, registry: Registry) -> None:
        graph = declared_graph(registry)
        for job in graph.jobs.values():
            seen = self.jobs[(job.namespace, job.name)] = _JobSeen(job.namespace, job.name)
            seen.inputs, seen.outputs, seen.description = job.inputs, job.outputs, job.description
        for dataset in graph.datasets.values():
            self._dataset(dataset.namespace, dataset.name).fields.update(dataset.fields)
        for integration in registry.integrations:
            for carry in integration.carries:
                out_dataset, out_field = split_element(carry.element)
                for source in carry.input_elements:
                    in_dataset, in_field = split_element(source)
                    self.field_edges.add(
                        FieldEdge(
                            (integration.source, in_dataset, in_field),
                            (integration.target, out_dataset, out_field),
                            carry.transform,
                            "DECLARED",
                        )
                    )

    def add(self, at: int, payload: dict[str, Any]) -> None:
        """Add one stored OpenLineage event (``at``: its time in microseconds)."""
        event = parse_event(payload)
        if isinstance(event, DatasetEvent):
            self._add_dataset(event.dataset, at, None, payload.get("dataset", {}))
            return
        key = (event.job.namespace, event.job.name)
        job = self.jobs.get(key)
        if job is None:
            job = self.jobs[key] = _JobSeen(*key)
        job.first = at if job.first is None else min(job.first, at)
        job.last = at if job.last is None else max(job.last, at)
        job_facets = payload.get("job", {}).get("facets") or {}
        job.facets.update(job_facets)
        documentation = job_facets.get("documentation")
        if isinstance(documentation, dict) and isinstance(documentation.get("description"), str):
            job.description = documentation["description"]
        run_id = event.run.run_id if isinstance(event, RunEvent) and event.run else None
        parent = event.run.facets.parent if isinstance(event, RunEvent) and event.run else None
        if parent is not None and parent.job is not None:
            job.parent = parent.job.name
        for side, datasets, raw in (
            (job.inputs, event.inputs, payload.get("inputs") or []),
            (job.outputs, event.outputs, payload.get("outputs") or []),
        ):
            for dataset, body in zip(datasets, raw, strict=False):
                side.add((dataset.namespace, dataset.name))
                writes = side is job.outputs
                self._add_dataset(dataset, at, run_id if writes else None, body, versioned=writes)
        if isinstance(event, RunEvent) and event.run is not None:
            self._add_run(job, event, at, payload)

    def _add_dataset(
        self,
        dataset: Dataset,
        at: int,
        run_id: str | None,
        body: dict[str, Any],
        *,
        versioned: bool = True,
    ) -> None:
        known = self._dataset(dataset.namespace, dataset.name, at)
        facets = body.get("facets") or {}
        if isinstance(facets, dict):
            known.facets.update(facets)
            documentation = facets.get("documentation")
            if isinstance(documentation, dict) and isinstance(
                documentation.get("description"), str
            ):
                known.description = documentation["description"]
        schema = dataset.facets.schema_
        for declared in schema.fields if schema else ():
            known.fields[declared.name] = declared.type
            known.descriptions[declared.name] = declared.description
        lineage = dataset.facets.column_lineage
        for name, field_lineage in lineage.fields.items() if lineage else ():
            known.fields.setdefault(name, None)
            for source in field_lineage.input_fields:
                first = source.transformations[0] if source.transformations else None
                self.field_edges.add(
                    FieldEdge(
                        (source.namespace, source.name, source.field),
                        (dataset.namespace, dataset.name, name),
                        first.description if first else field_lineage.transformation_description,
                        first.type if first else field_lineage.transformation_type,
                    )
                )
                self._dataset(source.namespace, source.name).fields.setdefault(source.field, None)
        wrote = versioned and (schema is not None or run_id is not None)
        if wrote:
            # one version per run that wrote it (its latest event), else per event
            kept = [v for v in known.versions if run_id is None or v[1] != run_id]
            latest = max((v[0] for v in known.versions if v[1] == run_id and run_id), default=at)
            kept.append((max(at, latest), run_id))
            known.versions = sorted(set(kept), key=lambda v: (v[0], v[1] or ""))

    def _add_run(self, job: _JobSeen, event: RunEvent, at: int, payload: dict[str, Any]) -> None:
        assert event.run is not None
        run = self.runs.get(event.run.run_id)
        if run is None:
            run = self.runs[event.run.run_id] = _RunSeen(
                event.run.run_id, job.namespace, job.name, at, at
            )
            job.runs.append(run.run_id)
        run.first, run.last = min(run.first, at), max(run.last, at)
        state = _STATES.get(event.event_type.value) if event.event_type else None
        if state is not None and at >= run.last:
            run.state = state
        if state == "RUNNING" and (run.started is None or at < run.started):
            run.started = at
        if state in ("COMPLETED", "FAILED", "ABORTED"):
            run.ended = at if run.ended is None else max(run.ended, at)
            run.state = state
        run.inputs |= {(d.namespace, d.name) for d in event.inputs}
        run.outputs |= {(d.namespace, d.name) for d in event.outputs}
        facets = (payload.get("run") or {}).get("facets") or {}
        if isinstance(facets, dict):
            run.facets.update(facets)

    # answers

    def namespaces(self) -> NamespaceList:
        """Every namespace: of jobs and datasets seen, of the registry's systems, ``registry``."""
        times: dict[str, list[int]] = {}
        for namespace, first, last in [
            *((j.namespace, j.first, j.last) for j in self.jobs.values()),
            *((d.namespace, d.first, d.last) for d in self.datasets.values()),
        ]:
            moments = times.setdefault(namespace, [])
            moments += [t for t in (first, last) if t is not None]
        return NamespaceList(namespaces=[self._namespace(n, times[n]) for n in sorted(times)])

    def _namespace(self, name: str, moments: list[int]) -> Namespace:
        system = self.registry.system(name)
        mapped = self.registry.system_of_namespace(name)
        if system is None and mapped is not None:
            system = self.registry.system(mapped)
        description = None
        if name == DECLARED_NAMESPACE:
            description = "The registry's declared integrations"
        elif system is not None:
            description = f"system {system.name}" + (
                f": {system.description}" if system.description else ""
            )
        return Namespace(
            name=name,
            created_at=_time(min(moments) if moments else None),
            updated_at=_time(max(moments) if moments else None),
            owner_name=(system.owner if system and system.owner else DEFAULT_OWNER),
            description=description,
        )

    def namespace(self, name: str) -> Namespace:
        for known in self.namespaces().namespaces:
            if known.name == name:
                return known
        raise NotFoundError(f"no namespace {name!r} is known")

    def jobs_in(self, namespace: str, limit: int, offset: int) -> JobList:
        jobs = sorted((j for j in self.jobs.values() if j.namespace == namespace), key=_by_name)
        return JobList(
            jobs=[self._job(j) for j in jobs[offset : offset + limit]], total_count=len(jobs)
        )

    def job(self, namespace: str, name: str) -> Job:
        found = self.jobs.get((namespace, name))
        if found is None:
            raise NotFoundError(f"no job {name!r} in namespace {namespace!r} is known")
        return self._job(found)

    def _job(self, job: _JobSeen) -> Job:
        runs = [self._run(self.runs[r]) for r in reversed(job.runs)]
        runs.sort(key=lambda r: r.updated_at, reverse=True)
        return Job(
            id=Id(namespace=job.namespace, name=job.name),
            name=job.name,
            simple_name=job.name.rsplit(".", 1)[-1],
            parent_job_name=job.parent,
            created_at=_time(job.first),
            updated_at=_time(job.last),
            namespace=job.namespace,
            inputs=[Id(namespace=n, name=m) for n, m in sorted(job.inputs)],
            outputs=[Id(namespace=n, name=m) for n, m in sorted(job.outputs)],
            description=job.description,
            latest_run=runs[0] if runs else None,
            latest_runs=runs[:10],
            facets=job.facets,
            current_version=_version("job", job.namespace, job.name),
        )

    def runs_of(self, namespace: str, name: str, limit: int, offset: int) -> RunList:
        job = self.jobs.get((namespace, name))
        if job is None:
            raise NotFoundError(f"no job {name!r} in namespace {namespace!r} is known")
        runs = sorted(
            (self._run(self.runs[r]) for r in job.runs), key=lambda r: r.updated_at, reverse=True
        )
        return RunList(runs=runs[offset : offset + limit], total_count=len(runs))

    def run(self, run_id: str) -> Run:
        found = self.runs.get(run_id)
        if found is None:
            raise NotFoundError(f"no run {run_id!r} is known")
        return self._run(found)

    def _run(self, run: _RunSeen) -> Run:
        duration = (run.ended - run.started) // 1000 if run.ended and run.started else None
        nominal = run.facets.get("nominalTime")
        nominal = nominal if isinstance(nominal, dict) else {}
        return Run(
            id=run.run_id,
            created_at=_iso(run.first),
            updated_at=_iso(run.last),
            nominal_start_time=_text(nominal.get("nominalStartTime")),
            nominal_end_time=_text(nominal.get("nominalEndTime")),
            state=run.state,
            started_at=_time(run.started),
            ended_at=_time(run.ended),
            duration_ms=duration,
            job_version=VersionId(
                namespace=run.namespace,
                name=run.job,
                version=_version("job", run.namespace, run.job),
            ),
            input_dataset_versions=[self._version_ref(n, m, None) for n, m in sorted(run.inputs)],
            output_dataset_versions=[
                self._version_ref(n, m, run.run_id) for n, m in sorted(run.outputs)
            ],
            facets=run.facets,
        )

    def _version_ref(self, namespace: str, name: str, run_id: str | None) -> DatasetVersionRef:
        dataset = self.datasets.get((namespace, name))
        version = _version("dataset", namespace, name, run_id or "")
        if run_id is None and dataset is not None and dataset.versions:
            at, by = dataset.versions[-1]
            version = _version("dataset", namespace, name, by or str(at))
        return DatasetVersionRef(
            dataset_version_id=VersionId(namespace=namespace, name=name, version=version)
        )

    def datasets_in(self, namespace: str, limit: int, offset: int) -> DatasetList:
        found = sorted(
            (d for d in self.datasets.values() if d.namespace == namespace), key=_by_name
        )
        return DatasetList(
            datasets=[self._dataset_shape(d) for d in found[offset : offset + limit]],
            total_count=len(found),
        )

    def dataset(self, namespace: str, name: str) -> MarquezDataset:
        found = self.datasets.get((namespace, name))
        if found is None:
            raise NotFoundError(f"no dataset {name!r} in namespace {namespace!r} is known")
        return self._dataset_shape(found)

    def _fields(self, dataset: _DatasetSeen) -> list[FieldShape]:
        return [
            FieldShape(name=n, type=t, description=dataset.descriptions.get(n))
            for n, t in sorted(dataset.fields.items())
        ]

    def _dataset_shape(self, dataset: _DatasetSeen) -> MarquezDataset:
        current = None
        if dataset.versions:
            at, by = dataset.versions[-1]
            current = _version("dataset", dataset.namespace, dataset.name, by or str(at))
        return MarquezDataset(
            id=Id(namespace=dataset.namespace, name=dataset.name),
            name=dataset.name,
            physical_name=dataset.name,
            created_at=_time(dataset.first),
            updated_at=_time(dataset.last),
            namespace=dataset.namespace,
            source_name=dataset.namespace,
            fields=self._fields(dataset),
            last_modified_at=_time(dataset.versions[-1][0] if dataset.versions else None),
            description=dataset.description,
            current_version=current,
            facets=dataset.facets,
        )

    def versions_of(self, namespace: str, name: str, limit: int, offset: int) -> DatasetVersionList:
        found = self.datasets.get((namespace, name))
        if found is None:
            raise NotFoundError(f"no dataset {name!r} in namespace {namespace!r} is known")
        versions = [
            DatasetVersion(
                id=VersionId(
                    namespace=namespace,
                    name=name,
                    version=_version("dataset", namespace, name, by or str(at)),
                ),
                name=name,
                physical_name=name,
                created_at=_iso(at),
                version=_version("dataset", namespace, name, by or str(at)),
                namespace=namespace,
                source_name=namespace,
                fields=self._fields(found),
                description=found.description or "",
                created_by_run=self._run(self.runs[by]) if by in self.runs else None,
            )
            for at, by in reversed(found.versions)
        ]
        return DatasetVersionList(
            versions=versions[offset : offset + limit], total_count=len(versions)
        )

    def search(
        self, q: str, *, kind: str | None, sort: str, limit: int, namespace: str | None
    ) -> SearchResultList:
        """Jobs and datasets whose name contains ``q`` (case-insensitive; ``%`` is any text)."""
        words = [w.lower() for w in q.split("%") if w]
        results: list[SearchResult] = []
        if kind in (None, "JOB"):
            results += [
                SearchResult(
                    type="JOB",
                    name=j.name,
                    updated_at=_time(j.last),
                    namespace=j.namespace,
                    node_id=f"job:{j.namespace}:{j.name}",
                )
                for j in self.jobs.values()
                if _matches(j.name, words) and namespace in (None, j.namespace)
            ]
        if kind in (None, "DATASET"):
            results += [
                SearchResult(
                    type="DATASET",
                    name=d.name,
                    updated_at=_time(d.last),
                    namespace=d.namespace,
                    node_id=f"dataset:{d.namespace}:{d.name}",
                )
                for d in self.datasets.values()
                if _matches(d.name, words) and namespace in (None, d.namespace)
            ]
        if sort == "UPDATE_AT":
            results.sort(key=lambda r: r.updated_at or "", reverse=True)
        else:
            results.sort(key=lambda r: (r.name, r.namespace, r.type))
        return SearchResultList(total_count=len(results), results=results[:limit])

    def column_lineage(self, node_id: str, depth: int, downstream: bool) -> ColumnLineageGraph:
        """The field-level graph around a dataset, a dataset field or a job's outputs."""
        return column_lineage(self, node_id, depth, downstream)


def _matches(name: str, words: list[str]) -> bool:
    lowered = name.lower()
    return all(word in lowered for word in words)


def _by_name(item: _JobSeen | _DatasetSeen) -> str:
    return item.name


def _time(micros: int | None) -> str | None:
    return None if micros is None else iso(micros)


def _iso(micros: int) -> str:
    return iso(micros)


def _text(value: object) -> str | None:
    return value if isinstance(value, str) else None


def _version(*parts: str) -> str:
    return str(uuid.uuid5(VERSIONS, "\x00".join(parts)))


def catalogue(conn: Connection, registry: Registry) -> Catalogue:
    """The catalogue of everything stored and declared (one pass over the events)."""
    found = Catalogue(registry)
    o = openlineage_events
    query = select(o.c.event_time, o.c.payload).order_by(o.c.seq)
    for row in conn.execution_options(yield_per=500).execute(query):
        found.add(int(row.event_time), json.loads(row.payload))
    return found


def lineage_events(
    conn: Connection,
    *,
    descending: bool = True,
    before: int | None = None,
    after: int | None = None,
    limit: int = 100,
    offset: int = 0,
) -> LineageEventList:
    """The OpenLineage events received, as they came, by event time (newest first)."""
    o = openlineage_events
    conditions = []
    if before is not None:
        conditions.append(o.c.event_time < before)
    if after is not None:
        conditions.append(o.c.event_time > after)
    order = (o.c.event_time.desc(), o.c.seq.desc()) if descending else (o.c.event_time, o.c.seq)
    total = conn.execute(select(func.count()).select_from(o).where(*conditions)).scalar_one()
    rows = conn.execute(
        select(o.c.payload).where(*conditions).order_by(*order).limit(limit).offset(offset)
    )
    return LineageEventList(events=[json.loads(r.payload) for r in rows], total_count=int(total))
