"""Marquez's read API, in Marquez's own JSON shapes (its ``spec/openapi.yml``).

Enough of it that Marquez's clients (``marquez-python``, the web UI) read the tracker:
namespaces; jobs and datasets per namespace, with job and dataset versions and job runs;
runs by id; column lineage; search; the OpenLineage events received. Two sources, as for
``GET /api/v1/lineage`` (:mod:`lineage.interop.marquez`): the OpenLineage events stored
(observed, read from the summary tables of migration 0009 by key or index range, never the
events themselves), and the registry (declared: each system is a namespace holding its
elements' datasets, each integration the job ``registry/<integration>``).

Run states map as Marquez's do: START and RUNNING -> ``RUNNING``, COMPLETE -> ``COMPLETED``,
FAIL -> ``FAILED``, ABORT -> ``ABORTED``; a run that ended keeps its end state.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from ..errors import NotFoundError
from ..model.ol_summary import DatasetSum, FieldSum, JobSum, NamespaceSum, RunSum
from ..model.registry import Registry
from ..store import Connection
from ..store import openlineage as summaries
from ..store.schema import iso
from .marquez import DECLARED_NAMESPACE, declared_graph, split_element
from .marquez_columns import FieldEdge, column_lineage
from .marquez_shapes import (
    DEFAULT_OWNER,
    ColumnLineageGraph,
    DatasetList,
    DatasetSummary,
    DatasetVersion,
    DatasetVersionList,
    DatasetVersionRef,
    FieldShape,
    Id,
    Job,
    JobList,
    JobSummary,
    JobVersion,
    JobVersionList,
    LineageEventList,
    MarquezDataset,
    Namespace,
    NamespaceList,
    OpenSearchResult,
    Run,
    RunList,
    RunSummary,
    SearchResult,
    SearchResultList,
    Source,
    SourceList,
    UpstreamRun,
    UpstreamRunLineage,
    VersionId,
)

VERSIONS = uuid.UUID("9b0c6f57-3c55-4bc4-a0e5-1b6d3c8d4e21")
"""Dataset and job versions are UUID5 in this namespace of what makes them."""

_SOURCE_TYPES = {"postgres": "POSTGRESQL", "postgresql": "POSTGRESQL"}
"""Source types by a namespace's scheme, where Marquez's name is not the scheme upper-cased."""

_STATES = {
    "START": "RUNNING",
    "RUNNING": "RUNNING",
    "COMPLETE": "COMPLETED",
    "FAIL": "FAILED",
    "ABORT": "ABORTED",
}


@dataclass(slots=True)
class _Declared:
    """The registry as Marquez jobs, datasets and field edges (registry-sized, in memory)."""

    jobs: dict[tuple[str, str], JobSum] = field(default_factory=dict)
    job_io: dict[tuple[str, str], tuple[set[tuple[str, str]], set[tuple[str, str]]]] = field(
        default_factory=dict
    )
    datasets: dict[tuple[str, str], DatasetSum] = field(default_factory=dict)
    edges: set[FieldEdge] = field(default_factory=set)


def _declare(registry: Registry) -> _Declared:
    found = _Declared()
    graph = declared_graph(registry)
    for job in graph.jobs.values():
        key = (job.namespace, job.name)
        found.jobs[key] = JobSum(job.namespace, job.name, 0, 0, description=job.description)
        found.job_io[key] = (set(job.inputs), set(job.outputs))
    for dataset in graph.datasets.values():
        known = DatasetSum(dataset.namespace, dataset.name)
        known.fields = {n: _field(t) for n, t in dataset.fields.items()}
        found.datasets[(dataset.namespace, dataset.name)] = known
    for integration in registry.integrations:
        for carry in integration.carries:
            out_dataset, out_field = split_element(carry.element)
            for source in carry.input_elements:
                in_dataset, in_field = split_element(source)
                found.edges.add(
                    FieldEdge(
                        (integration.source, in_dataset, in_field),
                        (integration.target, out_dataset, out_field),
                        carry.transform,
                        "DECLARED",
                    )
                )
    return found


def _field(kind: str | None) -> FieldSum:
    return FieldSum(kind, None, False)


class Catalogue:
    """Jobs, datasets and runs as Marquez describes them, observed and declared together.

    Each answer is a few indexed queries of the summary tables on ``conn``.
    """

    def __init__(self, conn: Connection, registry: Registry) -> None:
        self.conn = conn
        self.registry = registry
        self.declared = _declare(registry)

    @cached_property
    def declared_at(self) -> int | None:
        """When the registry in force was loaded: the date of what only the registry declares
        (Marquez's web UI shows a job's and a dataset's createdAt and updatedAt)."""
        return summaries.registry_loaded_at(self.conn)

    # namespaces

    def namespaces(self) -> NamespaceList:
        """Every namespace: of jobs and datasets seen, of the registry's systems, ``registry``."""
        times: dict[str, list[int]] = {}
        for row in summaries.namespace_rows(self.conn):
            times[row.name] = [t for t in (row.first, row.last) if t is not None]
        for namespace, _ in [*self.declared.jobs, *self.declared.datasets]:
            times.setdefault(namespace, [])
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
        if not moments and self.declared_at is not None:
            moments = [self.declared_at]
        return Namespace(
            name=name,
            created_at=_time(min(moments) if moments else None),
            updated_at=_time(max(moments) if moments else None),
            owner_name=(system.owner if system and system.owner else DEFAULT_OWNER),
            description=description,
        )

    def namespace(self, name: str) -> Namespace:
        row = summaries.namespace_row(self.conn, name)
        if row is not None:
            return self._namespace(name, [t for t in (row.first, row.last) if t is not None])
        if any(n == name for n, _ in [*self.declared.jobs, *self.declared.datasets]):
            return self._namespace(name, [])
        raise NotFoundError(f"no namespace {name!r} is known")

    # jobs

    def jobs_in(self, namespace: str, limit: int, offset: int) -> JobList:
        total, found = summaries.job_page(self.conn, namespace, limit + offset, 0)
        declared = [j for (n, _), j in self.declared.jobs.items() if n == namespace]
        return self._job_list(found, declared, total, limit, offset)

    def all_jobs(self, limit: int, offset: int, last_run_states: list[str]) -> JobList:
        """Every job, observed and declared, by namespace and name (Marquez's ``GET /jobs``);
        with ``last_run_states``, those whose latest run is in one (and those never run)."""
        total, found = summaries.job_page_all(self.conn, limit + offset, 0, last_run_states)
        return self._job_list(found, list(self.declared.jobs.values()), total, limit, offset)

    def _job_list(
        self, found: list[JobSum], declared: list[JobSum], total: int, limit: int, offset: int
    ) -> JobList:
        """One page of ``found`` (the first ``limit + offset`` stored) and ``declared`` merged,
        most recently updated first as Marquez lists jobs (the declared ones dated by the
        registry's load), ties by namespace and name."""
        jobs = sorted([*found, *declared], key=self._by_recency)[offset : offset + limit]
        keys = [
            (j.namespace, j.name) for j in jobs if (j.namespace, j.name) not in self.declared.jobs
        ]
        io: dict[tuple[str, str], tuple[list[tuple[str, str]], list[tuple[str, str]]]] = {
            key: ([], []) for key in keys
        }
        for row in summaries.io_of_jobs(self.conn, keys):
            io[row.owner][0 if row.io == "in" else 1].append(row.dataset)
        recent = summaries.recent_runs(self.conn, keys, 10)
        return JobList(
            jobs=[self._job(j, io.get((j.namespace, j.name)), recent) for j in jobs],
            total_count=total + len(declared),
        )

    def _by_recency(self, job: JobSum) -> tuple[int, str, str]:
        declared = (job.namespace, job.name) in self.declared.jobs
        updated = (self.declared_at or 0) if declared else job.last
        return -updated, job.namespace, job.name

    def _job_sum(self, namespace: str, name: str) -> JobSum:
        found = self.declared.jobs.get((namespace, name)) or summaries.job_row(
            self.conn, namespace, name
        )
        if found is None:
            raise NotFoundError(f"no job {name!r} in namespace {namespace!r} is known")
        return found

    def job(self, namespace: str, name: str) -> Job:
        return self._job(self._job_sum(namespace, name))

    def _io(self, job: JobSum) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
        key = (job.namespace, job.name)
        if key in self.declared.jobs:
            ins, outs = self.declared.job_io[key]
            return sorted(ins), sorted(outs)
        rows = summaries.io_of_jobs(self.conn, [key])
        return (
            sorted(r.dataset for r in rows if r.io == "in"),
            sorted(r.dataset for r in rows if r.io == "out"),
        )

    def _job(
        self,
        job: JobSum,
        io: tuple[list[tuple[str, str]], list[tuple[str, str]]] | None = None,
        recent: dict[tuple[str, str], list[RunSum]] | None = None,
    ) -> Job:
        """One job in Marquez's shape (``io`` and ``recent`` runs when already read)."""
        key = (job.namespace, job.name)
        declared = key in self.declared.jobs
        if declared:
            runs: list[RunSum] = []
        elif recent is not None:
            runs = recent.get(key, [])
        else:
            runs = summaries.runs_page(self.conn, job.namespace, job.name, 10, 0)
        ins, outs = (sorted(io[0]), sorted(io[1])) if io is not None else self._io(job)
        version = job_version(job.namespace, job.name, ins, outs)
        shaped = [self._run(r, version=version) for r in runs]
        return Job(
            id=Id(namespace=job.namespace, name=job.name),
            name=job.name,
            simple_name=job.name.rsplit(".", 1)[-1],
            parent_job_name=job.parent,
            created_at=_time(self.declared_at if declared else job.first),
            updated_at=_time(self.declared_at if declared else job.last),
            namespace=job.namespace,
            inputs=[Id(namespace=n, name=m) for n, m in ins],
            outputs=[Id(namespace=n, name=m) for n, m in outs],
            description=job.description,
            latest_run=shaped[0] if shaped else None,
            latest_runs=shaped or None,
            facets=job.facets,
            current_version=version,
        )

    def job_versions(self, namespace: str, name: str, limit: int, offset: int) -> JobVersionList:
        """A job's versions: one per set of datasets it read and wrote (its current one)."""
        job = self._job_sum(namespace, name)
        version = self._job_version(job)
        versions = [version][offset : offset + limit]
        return JobVersionList(versions=versions, total_count=1)

    def job_version(self, namespace: str, name: str, version: str) -> JobVersion:
        job = self._job_sum(namespace, name)
        found = self._job_version(job)
        if found.version != version:
            raise NotFoundError(
                f"job {name!r} in namespace {namespace!r} has no version {version!r}"
            )
        return found

    def _job_version(self, job: JobSum) -> JobVersion:
        ins, outs = self._io(job)
        declared = (job.namespace, job.name) in self.declared.jobs
        runs = [] if declared else summaries.runs_page(self.conn, job.namespace, job.name, 1, 0)
        version = job_version(job.namespace, job.name, ins, outs)
        return JobVersion(
            id=VersionId(namespace=job.namespace, name=job.name, version=version),
            name=job.name,
            created_at=_time(self.declared_at if declared else job.first),
            updated_at=_time(self.declared_at if declared else job.last),
            version=version,
            namespace=job.namespace,
            inputs=[Id(namespace=n, name=m) for n, m in ins],
            outputs=[Id(namespace=n, name=m) for n, m in outs],
            latest_run=self._run(runs[0], version=version) if runs else None,
            facets=job.facets,
        )

    # runs

    def runs_of(self, namespace: str, name: str, limit: int, offset: int) -> RunList:
        job = self._job_sum(namespace, name)
        if (namespace, name) in self.declared.jobs:
            return RunList(runs=[], total_count=0)
        runs = summaries.runs_page(self.conn, namespace, name, limit, offset)
        ins, outs = self._io(job)
        version = job_version(namespace, name, ins, outs)
        return RunList(runs=[self._run(r, version=version) for r in runs], total_count=job.runs)

    def run(self, run_id: str) -> Run:
        found = summaries.run_row(self.conn, run_id)
        if found is None:
            raise NotFoundError(f"no run {run_id!r} is known")
        return self._run(found, with_io=True)

    def run_facets(self, run_id: str, kind: str = "run") -> dict[str, Any]:
        """Marquez's ``GET /jobs/runs/{id}/facets?type=run|job``: the run's id and the facets of
        the run, or of its job (the job's facets as last reported, merged by name)."""
        found = summaries.run_row(self.conn, run_id)
        if found is None:
            raise NotFoundError(f"no run {run_id!r} is known")
        if kind == "job":
            job = summaries.job_row(self.conn, found.job_namespace, found.job_name)
            return {"runId": found.run_id, "facets": job.facets if job is not None else {}}
        return {"runId": found.run_id, "facets": found.facets}

    def upstream(self, run_id: str, depth: int) -> UpstreamRunLineage:
        """Marquez's ``GET /runlineage/upstream``: the run, the runs that wrote the dataset
        versions it read, theirs, and so on up to ``depth`` steps, nearest first.

        The version a run read is the latest written by its start (one index step each)."""
        first = summaries.run_row(self.conn, run_id)
        if first is None:
            raise NotFoundError(f"no run {run_id!r} is known")
        found: list[tuple[int, UpstreamRun]] = []
        seen = {first.run_id}
        level, step = [first], 0
        while level:
            following: list[RunSum] = []
            for run in level:
                inputs: list[DatasetSummary] = []
                moment = run.started or run.first
                for kind, namespace, name in summaries.run_io(self.conn, run.run_id):
                    if kind != "in":
                        continue
                    by, producer = summaries.version_read_by(self.conn, namespace, name, moment)
                    inputs.append(
                        DatasetSummary(
                            namespace=namespace,
                            name=name,
                            version=_version("dataset", namespace, name, by),
                            produced_by_run_id=producer,
                        )
                    )
                    if producer is not None and producer not in seen and step < depth:
                        seen.add(producer)
                        wrote = summaries.run_row(self.conn, producer)
                        if wrote is not None:
                            following.append(wrote)
                shaped = self._run(run)
                found.append(
                    (
                        step,
                        UpstreamRun(
                            job=JobSummary(
                                namespace=run.job_namespace,
                                name=run.job_name,
                                version=shaped.job_version.version,
                            ),
                            run=RunSummary(
                                id=run.run_id,
                                start=shaped.started_at,
                                end=shaped.ended_at,
                                status=shaped.state,
                            ),
                            inputs=inputs,
                        ),
                    )
                )
            level, step = following, step + 1
        found.sort(key=lambda item: (item[0], item[1].job.name))
        return UpstreamRunLineage(runs=[run for _, run in found])

    # sources

    def sources(self, limit: int, offset: int) -> SourceList:
        """Every namespace holding datasets (Marquez makes a source of each), by name."""
        _, found = summaries.source_page(self.conn, limit + offset, 0)
        observed = {n.name: n for n in found}
        names = sorted({*observed, *self._declared_sources()})[offset : offset + limit]
        return SourceList(sources=[self._source(n, observed.get(n)) for n in names])

    def source(self, name: str) -> Source:
        row = summaries.namespace_row(self.conn, name)
        if row is not None and row.dataset_mentions > 0:
            return self._source(name, row)
        if name in self._declared_sources():
            return self._source(name, None)
        raise NotFoundError(f"no source {name!r} is known")

    def _declared_sources(self) -> set[str]:
        return {namespace for namespace, _ in self.declared.datasets}

    def _source(self, name: str, row: NamespaceSum | None) -> Source:
        system = self.registry.system(name)
        if system is None and self.registry.system_of_namespace(name) is not None:
            system = self.registry.system(self.registry.system_of_namespace(name) or "")
        scheme = name.split("://", 1)[0] if "://" in name else ""
        return Source(
            type=_SOURCE_TYPES.get(scheme, scheme.upper() or "SYSTEM"),
            name=name,
            created_at=_time(row.first if row else self.declared_at),
            updated_at=_time(row.last if row else self.declared_at),
            connection_url=name,
            description=f"system {system.name}" if system is not None else None,
        )

    def _run(self, run: RunSum, *, with_io: bool = False, version: str | None = None) -> Run:
        ended = run.ended_at
        duration = (ended - run.started) // 1000 if ended and run.started else None
        nominal = run.facets.get("nominalTime")
        nominal = nominal if isinstance(nominal, dict) else {}
        state = _STATES.get(run.ended_state or run.state or "", "NEW")
        inputs: list[DatasetVersionRef] = []
        outputs: list[DatasetVersionRef] = []
        if with_io:
            io = summaries.run_io(self.conn, run.run_id)
            read = [(n, m) for kind, n, m in io if kind == "in"]
            current = summaries.dataset_rows(self.conn, read)
            for namespace, name in read:
                known = current.get((namespace, name))
                by = known.current_version if known and known.current_version else ""
                inputs.append(_version_ref(namespace, name, by))
            outputs = [_version_ref(n, m, run.run_id) for kind, n, m in io if kind == "out"]
        if version is None:
            ins, outs = self._io(JobSum(run.job_namespace, run.job_name, 0, 0))
            version = job_version(run.job_namespace, run.job_name, ins, outs)
        return Run(
            id=run.run_id,
            created_at=iso(run.first),
            updated_at=iso(run.last),
            nominal_start_time=_text(nominal.get("nominalStartTime")),
            nominal_end_time=_text(nominal.get("nominalEndTime")),
            state=state,
            started_at=_time(run.started),
            ended_at=_time(ended),
            duration_ms=duration,
            job_version=VersionId(namespace=run.job_namespace, name=run.job_name, version=version),
            input_dataset_versions=inputs,
            output_dataset_versions=outputs,
            facets=run.facets,
        )

    # datasets

    def datasets_in(self, namespace: str, limit: int, offset: int) -> DatasetList:
        declared = [d for (n, _), d in self.declared.datasets.items() if n == namespace]
        if not declared:
            total, found = summaries.dataset_page(self.conn, namespace, limit, offset)
            return DatasetList(datasets=[self._dataset_shape(d) for d in found], total_count=total)
        # a namespace the registry declares datasets in: merge the two by name
        total, found = summaries.dataset_page(self.conn, namespace, 1_000_000_000, 0)
        merged = {d.name: d for d in declared}
        for known in found:
            merged[known.name] = self._with_declared(known)
        page = sorted(merged.values(), key=_by_name)[offset : offset + limit]
        return DatasetList(datasets=[self._dataset_shape(d) for d in page], total_count=len(merged))

    def _with_declared(self, known: DatasetSum) -> DatasetSum:
        declared = self.declared.datasets.get((known.namespace, known.name))
        if declared is not None:
            # a field column lineage only names keeps the registry's type
            merged = dict(declared.fields)
            for name, found in known.fields.items():
                if found.from_schema or name not in merged:
                    merged[name] = found
            known.fields = merged
        return known

    def _dataset_sum(self, namespace: str, name: str) -> DatasetSum:
        found = summaries.dataset_rows(self.conn, [(namespace, name)]).get((namespace, name))
        if found is not None:
            return self._with_declared(found)
        declared = self.declared.datasets.get((namespace, name))
        if declared is None:
            raise NotFoundError(f"no dataset {name!r} in namespace {namespace!r} is known")
        return declared

    def dataset(self, namespace: str, name: str) -> MarquezDataset:
        return self._dataset_shape(self._dataset_sum(namespace, name))

    def _dataset_shape(self, dataset: DatasetSum) -> MarquezDataset:
        current = None
        if dataset.current_version is not None:
            current = _version("dataset", dataset.namespace, dataset.name, dataset.current_version)
        return MarquezDataset(
            id=Id(namespace=dataset.namespace, name=dataset.name),
            name=dataset.name,
            physical_name=dataset.name,
            created_at=_time(self.declared_at if dataset.first is None else dataset.first),
            updated_at=_time(self.declared_at if dataset.last is None else dataset.last),
            namespace=dataset.namespace,
            source_name=dataset.namespace,
            fields=_fields(dataset),
            last_modified_at=_time(dataset.last_modified),
            description=dataset.description,
            current_version=current,
            facets=dataset.facets,
        )

    def versions_of(self, namespace: str, name: str, limit: int, offset: int) -> DatasetVersionList:
        dataset = self._dataset_sum(namespace, name)
        total, rows = summaries.version_page(self.conn, namespace, name, limit, offset)
        return DatasetVersionList(
            versions=[self._dataset_version(dataset, *row) for row in rows], total_count=total
        )

    def dataset_version(self, namespace: str, name: str, version: str) -> DatasetVersion:
        """One version of a dataset by its id (the UUID the version lists give)."""
        dataset = self._dataset_sum(namespace, name)
        for by, at, run_id in summaries.version_page(self.conn, namespace, name, 10_000, 0)[1]:
            if _version("dataset", namespace, name, by) == version:
                return self._dataset_version(dataset, by, at, run_id)
        raise NotFoundError(
            f"dataset {name!r} in namespace {namespace!r} has no version {version!r}"
        )

    def _dataset_version(
        self, dataset: DatasetSum, by: str, at: int, run_id: str | None
    ) -> DatasetVersion:
        namespace, name = dataset.namespace, dataset.name
        version = _version("dataset", namespace, name, by)
        run = summaries.run_row(self.conn, run_id) if run_id else None
        return DatasetVersion(
            id=VersionId(namespace=namespace, name=name, version=version),
            name=name,
            physical_name=name,
            created_at=iso(at),
            version=version,
            namespace=namespace,
            source_name=namespace,
            fields=_fields(dataset),
            description=dataset.description or "",
            created_by_run=self._run(run) if run is not None else None,
        )

    # search and column lineage

    def search(
        self, q: str, *, kind: str | None, sort: str, limit: int, namespace: str | None
    ) -> SearchResultList:
        """Jobs and datasets whose name contains ``q`` (case-insensitive; ``%`` is any text)."""
        words = [w.lower() for w in q.split("%") if w]
        found = summaries.search_names(
            self.conn,
            words,
            jobs=kind in (None, "JOB"),
            datasets=kind in (None, "DATASET"),
            namespace=namespace,
        )
        for kind_, table in (("JOB", self.declared.jobs), ("DATASET", self.declared.datasets)):
            if kind not in (None, kind_):
                continue
            for n, m in table:
                if (
                    _matches(m, words)
                    and namespace in (None, n)
                    and (kind_, n, m, None) not in found
                ):
                    found.append((kind_, n, m, None))
        results = [
            SearchResult(
                type="JOB" if what == "JOB" else "DATASET",
                name=name,
                updated_at=_time(self.declared_at if last is None else last),
                namespace=ns,
                node_id=f"{what.lower()}:{ns}:{name}",
            )
            for (what, ns, name), last in _latest(found).items()
        ]
        if sort == "UPDATE_AT":
            results.sort(key=lambda r: (r.updated_at or "", r.name), reverse=True)
        else:
            results.sort(key=lambda r: (r.name, r.namespace, r.type))
        return SearchResultList(total_count=len(results), results=results[:limit])

    def indexed_search(self, q: str, kind: str, limit: int = 10) -> OpenSearchResult:
        """Marquez's ``/api/v2beta/search/jobs|datasets``: the jobs (``kind`` JOB) or datasets
        whose name holds ``q`` (any case), by namespace and name, as the documents Marquez's
        search index keeps of them (its last event's: run id, event type, facets), each name
        match highlighted. The registry's declared ones are found as ``search`` finds them:
        a declared job (an integration) or dataset (an element in a system) has no run, so
        its document has no ``run_id`` or ``eventType``; a declared dataset's fields are its
        ``schema`` facet."""
        words = [q.lower()]
        found = summaries.search_names(
            self.conn, words, jobs=kind == "JOB", datasets=kind == "DATASET", namespace=None
        )
        declared = self.declared.jobs if kind == "JOB" else self.declared.datasets
        names = {(ns, name) for _, ns, name, _ in found}
        names |= {key for key in declared if _matches(key[1], words)}
        keys = sorted(names)[:limit]
        hits = self._job_hits(keys) if kind == "JOB" else self._dataset_hits(keys)
        return OpenSearchResult(
            hits=hits, highlights=[{"name": [_highlight(h["name"], q)]} for h in hits]
        )

    def _job_hits(self, keys: list[tuple[str, str]]) -> list[dict[str, Any]]:
        latest = summaries.latest_runs(self.conn, keys)
        jobs = {_by_key(job): job for job in summaries.jobs_by_key(self.conn, keys)}
        hits: list[dict[str, Any]] = []
        for key in keys:
            observed = jobs.get(key)
            hit: dict[str, Any] = {"name": key[1], "namespace": key[0], "type": "BATCH"}
            hit["facets"] = observed.facets if observed is not None else {}
            run = latest.get(key)
            if run is not None:
                hit["run_id"] = run.run_id
                hit["eventType"] = run.state
                hit["runFacets"] = run.facets
            hits.append(hit)
        return hits

    def _dataset_hits(self, keys: list[tuple[str, str]]) -> list[dict[str, Any]]:
        datasets = summaries.dataset_rows(self.conn, keys)
        hits: list[dict[str, Any]] = []
        for key in keys:
            hit: dict[str, Any] = {"name": key[1], "namespace": key[0]}
            dataset = datasets.get(key)
            if dataset is None:
                fields = self.declared.datasets[key].fields
                schema = [
                    {"name": n, **({"type": f.type} if f.type else {})}
                    for n, f in sorted(fields.items())
                ]
                hit["facets"] = {"schema": {"fields": schema}} if schema else {}
                hits.append(hit)
                continue
            hit["facets"] = dataset.facets
            wrote = (
                summaries.version_row(self.conn, *key, dataset.current_version)
                if dataset.current_version
                else None
            )
            run = summaries.run_row(self.conn, wrote[1]) if wrote and wrote[1] else None
            if run is not None:
                hit["run_id"] = run.run_id
                hit["eventType"] = run.state
            hits.append(hit)
        return hits

    def column_lineage(self, node_id: str, depth: int, downstream: bool) -> ColumnLineageGraph:
        """The field-level graph around a dataset, a dataset field or a job's outputs."""
        return column_lineage(self, node_id, depth, downstream)

    # what column_lineage asks

    def field_types(self, datasets: set[tuple[str, str]]) -> dict[tuple[str, str, str], str | None]:
        """The type of every known field of these datasets."""
        found: dict[tuple[str, str, str], str | None] = {}
        observed = summaries.dataset_rows(self.conn, datasets)
        for key in datasets:
            known = observed.get(key) or self.declared.datasets.get(key)
            if known is None:
                continue
            merged = self._with_declared(known) if key in observed else known
            for name, shape in merged.fields.items():
                found[(*key, name)] = shape.type
        return found

    def edges_into(self, fields: set[tuple[str, str, str]]) -> set[FieldEdge]:
        edges = {e for e in self.declared.edges if e.target in fields}
        return edges | {_field_edge(e) for e in summaries.edges_into(self.conn, fields)}

    def edges_from(self, fields: set[tuple[str, str, str]]) -> set[FieldEdge]:
        edges = {e for e in self.declared.edges if e.source in fields}
        return edges | {_field_edge(e) for e in summaries.edges_from(self.conn, fields)}

    def dataset_fields(self, namespace: str, name: str) -> list[tuple[str, str, str]] | None:
        """Every field of a dataset (known or named by column lineage); None if unknown."""
        key = (namespace, name)
        observed = summaries.dataset_rows(self.conn, [key]).get(key)
        declared = self.declared.datasets.get(key)
        if observed is None and declared is None:
            return None
        names = set(observed.fields if observed else ()) | set(declared.fields if declared else ())
        named = summaries.edge_fields_of(self.conn, [key])
        names |= {f[2] for f in named}
        names |= {e.source[2] for e in self.declared.edges if e.source[:2] == key}
        names |= {e.target[2] for e in self.declared.edges if e.target[:2] == key}
        return [(namespace, name, n) for n in sorted(names)]

    def job_output_fields(self, namespace: str, name: str) -> list[tuple[str, str, str]] | None:
        """The fields column lineage names in a job's outputs; None if the job is unknown."""
        try:
            job = self._job_sum(namespace, name)
        except NotFoundError:
            return None
        _, outs = self._io(job)
        named = set(summaries.edge_fields_of(self.conn, outs))
        named |= {e.target for e in self.declared.edges if e.target[:2] in outs}
        named |= {e.source for e in self.declared.edges if e.source[:2] in outs}
        return sorted(named)


def _latest(
    found: list[tuple[str, str, str, int | None]],
) -> dict[tuple[str, str, str], int | None]:
    """Each (kind, namespace, name) once, with its latest time seen (None if only declared)."""
    kept: dict[tuple[str, str, str], int | None] = {}
    for what, ns, name, last in found:
        before = kept.get((what, ns, name))
        kept[(what, ns, name)] = last if before is None else before
    return kept


def _field_edge(edge: Any) -> FieldEdge:
    return FieldEdge(edge.source, edge.target, edge.description, edge.kind)


def _fields(dataset: DatasetSum) -> list[FieldShape]:
    # Marquez's Field requires a type: a field only column lineage names (no schema facet,
    # not in the registry) is left to the column-lineage answer
    return [
        FieldShape(name=n, type=f.type, description=f.description)
        for n, f in sorted(dataset.fields.items())
        if f.type is not None
    ]


def _version_ref(namespace: str, name: str, by: str) -> DatasetVersionRef:
    return DatasetVersionRef(
        dataset_version_id=VersionId(
            namespace=namespace, name=name, version=_version("dataset", namespace, name, by)
        )
    )


def _matches(name: str, words: list[str]) -> bool:
    lowered = name.lower()
    return all(word in lowered for word in words)


def _by_name(item: JobSum | DatasetSum) -> str:
    return item.name


def _highlight(name: str, q: str) -> str:
    """``name`` with each match of ``q`` (any case) in ``<em>``, as Marquez's index marks it."""
    lowered, wanted, out, at = name.lower(), q.lower(), [], 0
    while wanted and (found := lowered.find(wanted, at)) >= 0:
        out += [name[at:found], "<em>", name[found : found + len(q)], "</em>"]
        at = found + len(q)
    return "".join([*out, name[at:]])


def _by_key(item: JobSum) -> tuple[str, str]:
    return item.namespace, item.name


def _time(micros: int | None) -> str | None:
    return None if micros is None else iso(micros)


def _text(value: object) -> str | None:
    return value if isinstance(value, str) else None


def _version(*parts: str) -> str:
    return str(uuid.uuid5(VERSIONS, "\x00".join(parts)))


def job_version(
    namespace: str, name: str, inputs: list[tuple[str, str]], outputs: list[tuple[str, str]]
) -> str:
    """A job's version: a UUID5 of its name and the datasets it reads and writes (Marquez
    versions a job by what defines it, its inputs and outputs among them)."""
    parts = [namespace, name, json.dumps([sorted(inputs), sorted(outputs)])]
    return _version("job", *parts)


def catalogue(conn: Connection, registry: Registry) -> Catalogue:
    """The catalogue of everything stored and declared, answering from ``conn``."""
    return Catalogue(conn, registry)


def lineage_events(
    conn: Connection,
    *,
    descending: bool = True,
    before: int | None = None,
    after: int | None = None,
    limit: int = 100,
    offset: int = 0,
) -> LineageEventList:
    """The OpenLineage RunEvents received, as they came, by event time (newest first)."""
    total, payloads = summaries.events_page(
        conn, descending=descending, before=before, after=after, limit=limit, offset=offset
    )
    return LineageEventList(events=[json.loads(p) for p in payloads], total_count=total)
