"""Marquez's read API (``/api/v1/namespaces``, jobs, datasets, runs, ``/column-lineage``,
``/search``, ``/events/lineage``) in Marquez's own JSON shapes, for ``marquez-python`` and
Marquez's web UI. The shapes are built by :mod:`lineage.interop.marquez_read`.

Namespaces and names may hold ``/`` and ``:`` (``postgres://erp-db:5432``): path parameters
take them (percent-encoded or not), and slashes are not merged.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Literal

from flask import Response, jsonify
from pydantic import BaseModel, ConfigDict, Field

from lineage.interop.marquez_read import Catalogue, catalogue, lineage_events
from lineage.interop.marquez_shapes import (
    ColumnLineageGraph,
    DatasetList,
    DatasetVersion,
    DatasetVersionList,
    Job,
    JobList,
    JobVersion,
    JobVersionList,
    LineageEventList,
    MarquezDataset,
    Namespace,
    NamespaceList,
    Run,
    RunList,
    SearchResultList,
    TagList,
)
from lineage.store.schema import as_micros

from ..tracker import tracker
from . import bp
from .inputs import query_args
from .openapi import operation

_NOT_FOUND = {404: "No such namespace, job, dataset or run is known."}
_BAD = {400: "A malformed parameter, named."}


class Paging(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")

    limit: int = Field(default=100, ge=0, le=10_000, description="How many to return.")
    offset: int = Field(default=0, ge=0, description="How many to skip first.")


class SearchQuery(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")

    q: str = Field(min_length=1, max_length=1024, description="Text the name contains (% any).")
    filter: Literal["DATASET", "JOB"] | None = Field(default=None, description="Only one kind.")
    sort: Literal["NAME", "UPDATE_AT"] = "NAME"
    limit: int = Field(default=10, ge=1, le=10_000)
    namespace: str | None = Field(default=None, max_length=1024)


class ColumnLineageQuery(BaseModel):
    model_config = ConfigDict(frozen=True, populate_by_name=True, extra="ignore")

    node_id: str = Field(
        alias="nodeId",
        min_length=1,
        description="dataset:<ns>:<name>, datasetField:<ns>:<name>:<field> or job:<ns>:<name>",
    )
    depth: int = Field(default=20, ge=0, le=100)
    with_downstream: bool = Field(default=False, alias="withDownstream")


class EventsQuery(BaseModel):
    model_config = ConfigDict(frozen=True, populate_by_name=True, extra="ignore")

    sort_direction: Literal["asc", "desc"] = Field(default="desc", alias="sortDirection")
    before: dt.datetime | None = None
    after: dt.datetime | None = None
    limit: int = Field(default=100, ge=0, le=10_000)
    offset: int = Field(default=0, ge=0)


@contextmanager
def _catalogue() -> Iterator[Catalogue]:
    """The catalogue on one read connection, held while the answer is built."""
    store = tracker().store()
    with store.engine.connect() as conn:
        yield catalogue(conn, store.registry(conn))


def _json(shape: BaseModel) -> Response:
    return jsonify(shape.model_dump(mode="json", by_alias=True, exclude_none=True))


@bp.get("/namespaces")
@operation(
    "Every namespace: of OpenLineage jobs and datasets, and of the registry", response=NamespaceList
)
def list_namespaces() -> Response:
    with _catalogue() as cat:
        return _json(cat.namespaces())


@bp.get("/namespaces/<path:namespace>", merge_slashes=False)
@operation("One namespace", response=Namespace, errors=_NOT_FOUND)
def get_namespace(namespace: str) -> Response:
    with _catalogue() as cat:
        return _json(cat.namespace(namespace))


@bp.get("/namespaces/<path:namespace>/jobs", merge_slashes=False)
@operation("The jobs of a namespace", query=Paging, response=JobList, errors={**_NOT_FOUND, **_BAD})
def list_jobs(namespace: str) -> Response:
    page = query_args(Paging)
    with _catalogue() as cat:
        return _json(cat.jobs_in(namespace, page.limit, page.offset))


@bp.get("/namespaces/<path:namespace>/jobs/<path:job>", merge_slashes=False)
@operation("One job, with its latest run", response=Job, errors=_NOT_FOUND)
def get_job(namespace: str, job: str) -> Response:
    with _catalogue() as cat:
        return _json(cat.job(namespace, job))


@bp.get("/namespaces/<path:namespace>/jobs/<path:job>/runs", merge_slashes=False)
@operation(
    "A job's runs, newest first", query=Paging, response=RunList, errors={**_NOT_FOUND, **_BAD}
)
def list_runs(namespace: str, job: str) -> Response:
    page = query_args(Paging)
    with _catalogue() as cat:
        return _json(cat.runs_of(namespace, job, page.limit, page.offset))


@bp.get("/jobs/runs/<path:run_id>", merge_slashes=False)
@operation("One run by its id", response=Run, errors=_NOT_FOUND)
def get_run(run_id: str) -> Response:
    with _catalogue() as cat:
        return _json(cat.run(run_id))


@bp.get("/namespaces/<path:namespace>/datasets", merge_slashes=False)
@operation(
    "The datasets of a namespace",
    query=Paging,
    response=DatasetList,
    errors={**_NOT_FOUND, **_BAD},
)
def list_datasets(namespace: str) -> Response:
    page = query_args(Paging)
    with _catalogue() as cat:
        return _json(cat.datasets_in(namespace, page.limit, page.offset))


@bp.get("/namespaces/<path:namespace>/datasets/<path:dataset>", merge_slashes=False)
@operation("One dataset, with its fields", response=MarquezDataset, errors=_NOT_FOUND)
def get_dataset(namespace: str, dataset: str) -> Response:
    with _catalogue() as cat:
        return _json(cat.dataset(namespace, dataset))


@bp.get("/namespaces/<path:namespace>/datasets/<path:dataset>/versions", merge_slashes=False)
@operation(
    "A dataset's versions (one per run that wrote it), newest first",
    query=Paging,
    response=DatasetVersionList,
    errors={**_NOT_FOUND, **_BAD},
)
def list_dataset_versions(namespace: str, dataset: str) -> Response:
    page = query_args(Paging)
    with _catalogue() as cat:
        return _json(cat.versions_of(namespace, dataset, page.limit, page.offset))


@bp.get(
    "/namespaces/<path:namespace>/datasets/<path:dataset>/versions/<version>", merge_slashes=False
)
@operation("One version of a dataset", response=DatasetVersion, errors=_NOT_FOUND)
def get_dataset_version(namespace: str, dataset: str, version: str) -> Response:
    with _catalogue() as cat:
        return _json(cat.dataset_version(namespace, dataset, version))


@bp.get("/namespaces/<path:namespace>/jobs/<path:job>/versions", merge_slashes=False)
@operation(
    "A job's versions (one per set of datasets it reads and writes)",
    query=Paging,
    response=JobVersionList,
    errors={**_NOT_FOUND, **_BAD},
)
def list_job_versions(namespace: str, job: str) -> Response:
    page = query_args(Paging)
    with _catalogue() as cat:
        return _json(cat.job_versions(namespace, job, page.limit, page.offset))


@bp.get("/namespaces/<path:namespace>/jobs/<path:job>/versions/<version>", merge_slashes=False)
@operation("One version of a job", response=JobVersion, errors=_NOT_FOUND)
def get_job_version(namespace: str, job: str, version: str) -> Response:
    with _catalogue() as cat:
        return _json(cat.job_version(namespace, job, version))


class RunFacets(BaseModel):
    """Marquez's ``FacetsResult``: the run's id and its facets as they came."""

    model_config = ConfigDict(frozen=True, populate_by_name=True, serialize_by_alias=True)

    run_id: str = Field(alias="runId")
    facets: dict[str, Any]


@bp.get("/jobs/runs/<path:run_id>/facets", merge_slashes=False)
@operation("A run's facets", response=RunFacets, errors=_NOT_FOUND)
def get_run_facets(run_id: str) -> Response:
    with _catalogue() as cat:
        return _json(RunFacets.model_validate(cat.run_facets(run_id)))


@bp.get("/tags")
@operation(
    "Every tag (none: the tracker tags no dataset, field or job)",
    query=Paging,
    response=TagList,
    errors=_BAD,
)
def list_tags() -> Response:
    query_args(Paging)
    return _json(TagList(tags=[]))


@bp.get("/column-lineage")
@operation(
    "The field-level lineage graph around a dataset, a field or a job",
    query=ColumnLineageQuery,
    response=ColumnLineageGraph,
    errors={**_NOT_FOUND, **_BAD},
    description="Observed column lineage (columnLineage facets) and declared carries "
    "(transformationType DECLARED), upstream; withDownstream adds what they feed.",
)
def get_column_lineage() -> Response:
    query = query_args(ColumnLineageQuery)
    with _catalogue() as cat:
        return _json(cat.column_lineage(query.node_id, query.depth, query.with_downstream))


@bp.get("/search")
@operation(
    "Jobs and datasets whose name contains q",
    query=SearchQuery,
    response=SearchResultList,
    errors=_BAD,
)
def search() -> Response:
    query = query_args(SearchQuery)
    with _catalogue() as cat:
        found = cat.search(
            query.q,
            kind=query.filter,
            sort=query.sort,
            limit=query.limit,
            namespace=query.namespace,
        )
        return _json(found)


@bp.get("/events/lineage")
@operation(
    "The OpenLineage events received, as they came, by event time",
    query=EventsQuery,
    response=LineageEventList,
    errors=_BAD,
)
def list_lineage_events() -> Response:
    query = query_args(EventsQuery)
    store = tracker().store()
    with store.engine.connect() as conn:
        found = lineage_events(
            conn,
            descending=query.sort_direction == "desc",
            before=as_micros(query.before),
            after=as_micros(query.after),
            limit=query.limit,
            offset=query.offset,
        )
    return _json(found)
