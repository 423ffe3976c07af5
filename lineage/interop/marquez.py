"""Marquez-style lineage out: jobs and the datasets they read and write, as one graph.

``GET /api/v1/lineage?nodeId=&depth=`` answers in the shape of Marquez's lineage API, so tools
that read Marquez can read the tracker. Two sources make the graph:

- **observed**: every stored OpenLineage event adds its job (``job:<namespace>:<name>``) with
  the datasets it read and wrote (``dataset:<namespace>:<name>``);
- **declared**: every integration of the registry is a job ``job:registry:<integration>``
  reading ``dataset:<source system>:<dataset>`` and writing ``dataset:<target system>:<dataset>``,
  where an element ``customer.address`` is the field ``address`` of the dataset ``customer``.

The observed part is read from the OpenLineage summary tables (migration 0009), one indexed
lookup per level of the walk; the events themselves are never read.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from ..errors import InputError, NotFoundError
from ..model.registry import Registry
from ..store import Connection
from ..store import openlineage as summaries
from ..store.database import Store
from ..store.schema import iso

DECLARED_NAMESPACE = "registry"
"""The job namespace of the registry's declared integrations."""

DEFAULT_DEPTH = 20
MAX_DEPTH = 100
_NODE_ID = re.compile(r"^(dataset|job):(.+):(.+)$", re.DOTALL)


class _Shape(BaseModel):
    model_config = ConfigDict(frozen=True, populate_by_name=True, serialize_by_alias=True)


class DatasetId(_Shape):
    namespace: str
    name: str


class GraphEdge(_Shape):
    origin: str = Field(description="The id of the origin node.")
    destination: str = Field(description="The id of the destination node.")


class DatasetField(_Shape):
    name: str
    type: str | None = None
    tags: list[str] = Field(default_factory=list)
    description: str | None = None


class DatasetData(_Shape):
    """A dataset as Marquez describes one (``type`` is always ``DB_TABLE`` here)."""

    id: DatasetId
    type: Literal["DB_TABLE"] = "DB_TABLE"
    name: str
    physical_name: str = Field(alias="physicalName")
    namespace: str
    source_name: str = Field(alias="sourceName")
    fields: list[DatasetField] = Field(default_factory=list)
    tags: list[str] = Field(default_factory=list)
    created_at: str | None = Field(default=None, alias="createdAt")
    updated_at: str | None = Field(default=None, alias="updatedAt")
    last_modified_at: str | None = Field(default=None, alias="lastModifiedAt")
    description: str | None = None
    facets: dict[str, object] = Field(default_factory=dict)


class JobData(_Shape):
    """A job as Marquez describes one: its input and output datasets."""

    id: DatasetId
    type: Literal["BATCH", "STREAM", "SERVICE"] = "BATCH"
    name: str
    simple_name: str = Field(alias="simpleName")
    namespace: str
    inputs: list[DatasetId] = Field(default_factory=list)
    outputs: list[DatasetId] = Field(default_factory=list)
    created_at: str | None = Field(default=None, alias="createdAt")
    updated_at: str | None = Field(default=None, alias="updatedAt")
    location: str | None = None
    description: str | None = None
    latest_run: None = Field(default=None, alias="latestRun")
    facets: dict[str, object] = Field(default_factory=dict)


class GraphNode(_Shape):
    id: str = Field(description="dataset:<namespace>:<name> or job:<namespace>:<name>")
    type: Literal["DATASET", "JOB"]
    data: DatasetData | JobData
    in_edges: list[GraphEdge] = Field(alias="inEdges")
    out_edges: list[GraphEdge] = Field(alias="outEdges")


class LineageGraph(_Shape):
    """Marquez's ``GET /api/v1/lineage`` answer."""

    graph: list[GraphNode]


def dataset_node(namespace: str, name: str) -> str:
    return f"dataset:{namespace}:{name}"


def job_node(namespace: str, name: str) -> str:
    return f"job:{namespace}:{name}"


def split_element(element: str) -> tuple[str, str]:
    """An element as (dataset, field): ``customer.address`` is field ``address`` of ``customer``."""
    dataset, _, name = element.rpartition(".")
    return (dataset, name) if dataset else (element, element)


@dataclass(slots=True)
class _Dataset:
    namespace: str
    name: str
    fields: dict[str, str | None] = field(default_factory=dict)
    first: int | None = None
    last: int | None = None

    def seen(self, at: int | None) -> None:
        if at is not None:
            self.first = at if self.first is None else min(self.first, at)
            self.last = at if self.last is None else max(self.last, at)


@dataclass(slots=True)
class _Job:
    namespace: str
    name: str
    inputs: set[tuple[str, str]] = field(default_factory=set)
    outputs: set[tuple[str, str]] = field(default_factory=set)
    first: int | None = None
    last: int | None = None
    description: str | None = None


@dataclass(slots=True)
class _Graph:
    jobs: dict[str, _Job] = field(default_factory=dict)
    datasets: dict[str, _Dataset] = field(default_factory=dict)

    def dataset(self, namespace: str, name: str, at: int | None = None) -> _Dataset:
        key = dataset_node(namespace, name)
        found = self.datasets.get(key)
        if found is None:
            found = self.datasets[key] = _Dataset(namespace, name)
        found.seen(at)
        return found

    def job(self, namespace: str, name: str) -> _Job:
        key = job_node(namespace, name)
        found = self.jobs.get(key)
        if found is None:
            found = self.jobs[key] = _Job(namespace, name)
        return found


class LineageIndex:
    """Marquez's lineage graph, read from the OpenLineage summary tables (migration 0009).

    Nothing is kept in memory between requests: each graph is walked one level at a time,
    each level one indexed lookup of the datasets its jobs read and wrote (or the jobs its
    datasets met). Safe to share between threads.

    Example:
        >>> from lineage.store import open_store
        >>> index = LineageIndex()
        >>> graph = index.graph(open_store("sqlite://"), "dataset:CRM:customer")  # doctest: +SKIP
    """

    def graph(self, store: Store, node_id: str, depth: int = DEFAULT_DEPTH) -> LineageGraph:
        """The lineage graph around ``node_id``: every node at most ``depth`` edges away.

        Raises:
            InputError: ``node_id`` is not ``dataset:<namespace>:<name>`` or
                ``job:<namespace>:<name>``, or ``depth`` is out of range.
            NotFoundError: no such dataset or job is known.
        """
        check_node_id(node_id)
        if not 0 <= depth <= MAX_DEPTH:
            raise InputError(f"depth must be between 0 and {MAX_DEPTH}, got {depth}")
        with store.engine.connect() as conn:
            return _walk(conn, declared_graph(store.registry(conn)), node_id, depth)


def _parse(node_id: str) -> tuple[str, tuple[str, str]]:
    kind, _, rest = node_id.partition(":")
    namespace, _, name = rest.rpartition(":")
    return kind, (namespace, name)


def _walk(conn: Connection, declared: _Graph, start: str, depth: int) -> LineageGraph:
    kind, key = _parse(start)
    known = start in declared.jobs or start in declared.datasets
    if not known and kind == "job":
        known = summaries.job_row(conn, *key) is not None
    elif not known:
        known = bool(summaries.dataset_rows(conn, [key]))
    if not known:
        raise NotFoundError(
            f"no dataset or job {start!r} is known; node ids look like "
            "dataset:<namespace>:<name> or job:<namespace>:<name>"
        )
    declared_outs, declared_ins = _edges(declared)
    distance = {start: 0}
    frontier = [start]
    for level in range(1, depth + 1):
        if not frontier:
            break
        jobs = [_parse(n)[1] for n in frontier if n.startswith("job:")]
        datasets = [_parse(n)[1] for n in frontier if n.startswith("dataset:")]
        neighbours: set[str] = set()
        for row in summaries.io_of_jobs(conn, jobs):
            neighbours.add(dataset_node(*row.dataset))
        for row in summaries.io_of_datasets(conn, datasets):
            neighbours.add(job_node(*row.owner))
        for node in frontier:
            neighbours |= declared_outs.get(node, set()) | declared_ins.get(node, set())
        frontier = sorted(n for n in neighbours if n not in distance)
        for node in frontier:
            distance[node] = level
    graph = _kept_graph(conn, declared, set(distance))
    outs, ins = _edges(graph)
    # what only the registry declares is dated by when the registry in force was loaded
    at = summaries.registry_loaded_at(conn)
    return LineageGraph(
        graph=[_node(graph, k, outs, ins, distance, declared_at=at) for k in sorted(distance)]
    )


def _kept_graph(conn: Connection, declared: _Graph, kept: set[str]) -> _Graph:
    """The observed jobs and datasets among ``kept`` (jobs with all their datasets), merged
    with the declared ones."""
    observed = _Graph()
    jobs = [_parse(n)[1] for n in kept if n.startswith("job:") and n not in declared.jobs]
    for summary in summaries.jobs_by_key(conn, jobs):
        job = observed.job(summary.namespace, summary.name)
        job.first, job.last, job.description = summary.first, summary.last, summary.description
    for row in summaries.io_of_jobs(conn, jobs):
        job = observed.job(*row.owner)
        (job.inputs if row.io == "in" else job.outputs).add(row.dataset)
    datasets = [_parse(n)[1] for n in kept if n.startswith("dataset:")]
    for (namespace, name), found in summaries.dataset_rows(conn, datasets).items():
        dataset = observed.dataset(namespace, name)
        dataset.first, dataset.last = found.first, found.last
        # a field column lineage names only as a source stays out (Marquez's Field needs a
        # type it does not have); one a job wrote is shown
        dataset.fields = {n: f.type for n, f in found.fields.items() if f.type or f.target}
    return _merged(observed, declared)


def check_node_id(node_id: str) -> None:
    """Raise :class:`InputError` unless ``node_id`` is a Marquez dataset or job node id."""
    if not _NODE_ID.match(node_id):
        raise InputError(
            f"nodeId {node_id!r} is not dataset:<namespace>:<name> or job:<namespace>:<name>"
        )


def declared_graph(registry: Registry) -> _Graph:
    """The registry's integrations as jobs between datasets (see the module docstring)."""
    graph = _Graph()
    for integration in registry.integrations:
        job = graph.job(DECLARED_NAMESPACE, integration.name)
        job.description = integration.purpose
        for carry in integration.carries:
            out_dataset, _ = split_element(carry.element)
            job.outputs.add((integration.target, out_dataset))
            _declared_field(graph, registry, integration.target, carry.element)
            for source in carry.input_elements:
                in_dataset, _ = split_element(source)
                job.inputs.add((integration.source, in_dataset))
                _declared_field(graph, registry, integration.source, source)
    return graph


def _declared_field(graph: _Graph, registry: Registry, system: str, element: str) -> None:
    dataset, name = split_element(element)
    declared = registry.element(element)
    graph.dataset(system, dataset).fields[name] = declared.type.value if declared else None


def _merged(observed: _Graph, declared: _Graph) -> _Graph:
    merged = _Graph(dict(observed.jobs), dict(observed.datasets))
    merged.jobs.update(declared.jobs)
    for key, dataset in declared.datasets.items():
        known = merged.datasets.get(key)
        if known is None:
            merged.datasets[key] = dataset
        else:
            fields = {**dataset.fields, **known.fields}
            merged.datasets[key] = _Dataset(
                known.namespace, known.name, fields, known.first, known.last
            )
    return merged


def _edges(graph: _Graph) -> tuple[dict[str, set[str]], dict[str, set[str]]]:
    """Out-edges and in-edges by node id."""
    outs: dict[str, set[str]] = {}
    ins: dict[str, set[str]] = {}
    for key, job in graph.jobs.items():
        for namespace, name in job.inputs:
            source = dataset_node(namespace, name)
            outs.setdefault(source, set()).add(key)
            ins.setdefault(key, set()).add(source)
        for namespace, name in job.outputs:
            target = dataset_node(namespace, name)
            outs.setdefault(key, set()).add(target)
            ins.setdefault(target, set()).add(key)
    return outs, ins


def _time(micros: int | None) -> str | None:
    return None if micros is None else iso(micros)


def _node(
    graph: _Graph,
    key: str,
    outs: dict[str, set[str]],
    ins: dict[str, set[str]],
    keep: Iterable[str],
    *,
    declared_at: int | None,
) -> GraphNode:
    kept = set(keep)
    in_edges = [GraphEdge(origin=o, destination=key) for o in sorted(ins.get(key, ())) if o in kept]
    out_edges = [
        GraphEdge(origin=key, destination=d) for d in sorted(outs.get(key, ())) if d in kept
    ]
    if key in graph.jobs:
        job = graph.jobs[key]
        data: DatasetData | JobData = JobData(
            id=DatasetId(namespace=job.namespace, name=job.name),
            name=job.name,
            simple_name=job.name,
            namespace=job.namespace,
            inputs=[DatasetId(namespace=n, name=m) for n, m in sorted(job.inputs)],
            outputs=[DatasetId(namespace=n, name=m) for n, m in sorted(job.outputs)],
            created_at=_time(declared_at if job.first is None else job.first),
            updated_at=_time(declared_at if job.last is None else job.last),
            description=job.description,
        )
        return GraphNode(id=key, type="JOB", data=data, in_edges=in_edges, out_edges=out_edges)
    dataset = graph.datasets[key]
    data = DatasetData(
        id=DatasetId(namespace=dataset.namespace, name=dataset.name),
        name=dataset.name,
        physical_name=dataset.name,
        namespace=dataset.namespace,
        source_name=dataset.namespace,
        fields=[DatasetField(name=n, type=t) for n, t in sorted(dataset.fields.items())],
        created_at=_time(declared_at if dataset.first is None else dataset.first),
        updated_at=_time(declared_at if dataset.last is None else dataset.last),
        last_modified_at=_time(dataset.last),
    )
    return GraphNode(id=key, type="DATASET", data=data, in_edges=in_edges, out_edges=out_edges)


def lineage_graph(store: Store, node_id: str, depth: int = DEFAULT_DEPTH) -> LineageGraph:
    """The Marquez-style lineage graph around ``node_id`` (see :class:`LineageIndex`)."""
    return LineageIndex().graph(store, node_id, depth)


__all__ = [
    "DECLARED_NAMESPACE",
    "DatasetData",
    "GraphEdge",
    "GraphNode",
    "JobData",
    "LineageGraph",
    "LineageIndex",
    "check_node_id",
    "declared_graph",
    "lineage_graph",
    "split_element",
]
