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
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from flask import Response, current_app, jsonify, request
from pydantic import BaseModel, ConfigDict, Field, field_validator
from werkzeug.exceptions import BadRequest

from lineage.interop.marquez_read import Catalogue, catalogue, lineage_events
from lineage.interop.marquez_shapes import (
    ColumnLineageGraph,
    DatasetList,
    DatasetVersion,
    DatasetVersionList,
    IntervalMetric,
    Job,
    JobList,
    JobVersion,
    JobVersionList,
    LineageEventList,
    LineageMetric,
    MarquezDataset,
    Namespace,
    NamespaceList,
    OpenSearchResult,
    Run,
    RunList,
    SearchResultList,
    Source,
    SourceList,
    TagList,
    UpstreamRunLineage,
)
from lineage.interop.marquez_stats import interval_metrics, lineage_metrics
from lineage.store.schema import as_micros

from ..errors import marquez_errors
from ..queries import MAX_OFFSET
from ..tracker import tracker
from . import beta, bp
from .inputs import query_args
from .openapi import operation

_NOT_FOUND = {404: "No such namespace, job, dataset or run is known."}
_BAD = {400: "A malformed parameter, named."}
_RUN_STATES = ("NEW", "RUNNING", "COMPLETED", "FAILED", "ABORTED")


class Paging(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")

    limit: int = Field(default=100, ge=0, le=10_000, description="How many to return.")
    offset: int = Field(default=0, ge=0, le=MAX_OFFSET, description="How many to skip first.")


class JobsQuery(Paging):
    last_run_states: Literal["NEW", "RUNNING", "COMPLETED", "FAILED", "ABORTED"] | None = Field(
        default=None,
        alias="lastRunStates",
        description="Only jobs whose latest run is in this state (repeatable), and jobs never run.",
    )


class FacetsQuery(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")

    type: Literal["run", "job", "RUN", "JOB"] = Field(
        default="run", description="The run's own facets, or its job's."
    )


class UpstreamQuery(BaseModel):
    model_config = ConfigDict(frozen=True, populate_by_name=True, extra="ignore")

    run_id: str = Field(alias="runId", min_length=1, max_length=1024)
    depth: int = Field(default=20, ge=0, le=100, description="How many runs up to go.")


class StatsQuery(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")

    period: Literal["DAY", "WEEK"] = Field(
        description="DAY: the last 24 hours, by hour (UTC); WEEK: the last 7 days, by day."
    )
    timezone: str | None = Field(
        default=None,
        max_length=64,
        description="An IANA time zone (Europe/Paris): where WEEK's days begin. Needed for WEEK.",
    )

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                ZoneInfo(value)
            except (ZoneInfoNotFoundError, ValueError) as exc:
                raise ValueError(f"no time zone is named {value!r}") from exc
        return value

    def zone(self) -> ZoneInfo:
        if self.period == "WEEK" and not self.timezone:
            raise BadRequest("bad query parameters: timezone must be given for period WEEK")
        return ZoneInfo(self.timezone or "UTC")


class IndexedSearchQuery(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")

    q: str = Field(min_length=1, max_length=1024, description="Text the name holds, any case.")


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
    offset: int = Field(default=0, ge=0, le=MAX_OFFSET)


@contextmanager
def _catalogue() -> Iterator[Catalogue]:
    """The catalogue on one read connection, held while the answer is built."""
    store = tracker().store()
    with store.engine.connect() as conn:
        yield catalogue(conn, store.registry(conn))


def _refuse_nul() -> None:
    """A name or parameter holding a NUL character names nothing any store holds (PostgreSQL
    cannot hold one): 400 on the Marquez views, before any lookup."""
    view = current_app.view_functions.get(request.endpoint or "")
    if not getattr(view, "marquez_errors", False):
        return
    given = [*(request.view_args or {}).items(), *request.args.items(multi=True)]
    for key, value in given:
        if isinstance(value, str) and "\x00" in value:
            raise BadRequest(f"bad parameters: {key} holds a NUL character (%00): remove it")


bp.before_request(_refuse_nul)
beta.before_request(_refuse_nul)


def _json(shape: BaseModel) -> Response:
    return jsonify(shape.model_dump(mode="json", by_alias=True, exclude_none=True))


def _json_list(shapes: list[LineageMetric] | list[IntervalMetric]) -> Response:
    return jsonify([s.model_dump(mode="json", by_alias=True, exclude_none=True) for s in shapes])


@bp.get("/namespaces")
@operation(
    "Every namespace: of OpenLineage jobs and datasets, and of the registry", response=NamespaceList
)
@marquez_errors
def list_namespaces() -> Response:
    with _catalogue() as cat:
        return _json(cat.namespaces())


@bp.get("/namespaces/<path:namespace>", merge_slashes=False)
@operation("One namespace", response=Namespace, errors=_NOT_FOUND)
@marquez_errors
def get_namespace(namespace: str) -> Response:
    with _catalogue() as cat:
        return _json(cat.namespace(namespace))


@bp.get("/namespaces/<path:namespace>/jobs", merge_slashes=False)
@operation(
    "The jobs of a namespace, most recently updated first",
    query=Paging,
    response=JobList,
    errors={**_NOT_FOUND, **_BAD},
)
@marquez_errors
def list_jobs(namespace: str) -> Response:
    page = query_args(Paging)
    with _catalogue() as cat:
        return _json(cat.jobs_in(namespace, page.limit, page.offset))


@bp.get("/namespaces/<path:namespace>/jobs/<path:job>", merge_slashes=False)
@operation("One job, with its latest run", response=Job, errors=_NOT_FOUND)
@marquez_errors
def get_job(namespace: str, job: str) -> Response:
    with _catalogue() as cat:
        return _json(cat.job(namespace, job))


@bp.get("/namespaces/<path:namespace>/jobs/<path:job>/runs", merge_slashes=False)
@operation(
    "A job's runs, newest first", query=Paging, response=RunList, errors={**_NOT_FOUND, **_BAD}
)
@marquez_errors
def list_runs(namespace: str, job: str) -> Response:
    page = query_args(Paging)
    with _catalogue() as cat:
        return _json(cat.runs_of(namespace, job, page.limit, page.offset))


@bp.get("/jobs")
@operation(
    "Every job of every namespace, most recently updated first",
    query=JobsQuery,
    response=JobList,
    errors=_BAD,
    description="totalCount counts every job, as Marquez's does, also when lastRunStates "
    "filters the page.",
)
@marquez_errors
def list_all_jobs() -> Response:
    page = query_args(JobsQuery)
    states = request.args.getlist("lastRunStates")
    known = set(_RUN_STATES)
    for state in states:
        if state not in known:
            raise BadRequest(
                f"bad query parameters: lastRunStates {state!r} is none of {', '.join(_RUN_STATES)}"
            )
    with _catalogue() as cat:
        return _json(cat.all_jobs(page.limit, page.offset, states))


@bp.get("/jobs/runs/<path:run_id>", merge_slashes=False)
@operation("One run by its id", response=Run, errors=_NOT_FOUND)
@marquez_errors
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
@marquez_errors
def list_datasets(namespace: str) -> Response:
    page = query_args(Paging)
    with _catalogue() as cat:
        return _json(cat.datasets_in(namespace, page.limit, page.offset))


@bp.get("/namespaces/<path:namespace>/datasets/<path:dataset>", merge_slashes=False)
@operation("One dataset, with its fields", response=MarquezDataset, errors=_NOT_FOUND)
@marquez_errors
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
@marquez_errors
def list_dataset_versions(namespace: str, dataset: str) -> Response:
    page = query_args(Paging)
    with _catalogue() as cat:
        return _json(cat.versions_of(namespace, dataset, page.limit, page.offset))


@bp.get(
    "/namespaces/<path:namespace>/datasets/<path:dataset>/versions/<version>", merge_slashes=False
)
@operation("One version of a dataset", response=DatasetVersion, errors=_NOT_FOUND)
@marquez_errors
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
@marquez_errors
def list_job_versions(namespace: str, job: str) -> Response:
    page = query_args(Paging)
    with _catalogue() as cat:
        return _json(cat.job_versions(namespace, job, page.limit, page.offset))


@bp.get("/namespaces/<path:namespace>/jobs/<path:job>/versions/<version>", merge_slashes=False)
@operation("One version of a job", response=JobVersion, errors=_NOT_FOUND)
@marquez_errors
def get_job_version(namespace: str, job: str, version: str) -> Response:
    with _catalogue() as cat:
        return _json(cat.job_version(namespace, job, version))


class RunFacets(BaseModel):
    """Marquez's ``FacetsResult``: the run's id and its facets as they came."""

    model_config = ConfigDict(frozen=True, populate_by_name=True, serialize_by_alias=True)

    run_id: str = Field(alias="runId")
    facets: dict[str, Any]


@bp.get("/jobs/runs/<path:run_id>/facets", merge_slashes=False)
@operation(
    "A run's facets, or its job's",
    query=FacetsQuery,
    response=RunFacets,
    errors={**_NOT_FOUND, **_BAD},
)
@marquez_errors
def get_run_facets(run_id: str) -> Response:
    kind = query_args(FacetsQuery).type.lower()
    with _catalogue() as cat:
        return _json(RunFacets.model_validate(cat.run_facets(run_id, kind)))


@bp.get("/runlineage/upstream")
@operation(
    "A run, the runs that wrote the dataset versions it read, and so on upstream",
    query=UpstreamQuery,
    response=UpstreamRunLineage,
    errors={**_NOT_FOUND, **_BAD},
    description="The version a run read is the latest written by its start.",
)
@marquez_errors
def get_run_lineage_upstream() -> Response:
    query = query_args(UpstreamQuery)
    with _catalogue() as cat:
        return _json(cat.upstream(query.run_id, query.depth))


@bp.get("/sources")
@operation(
    "Every source: each namespace holding datasets, by name",
    query=Paging,
    response=SourceList,
    errors=_BAD,
)
@marquez_errors
def list_sources() -> Response:
    page = query_args(Paging)
    with _catalogue() as cat:
        return _json(cat.sources(page.limit, page.offset))


@bp.get("/sources/<path:source>", merge_slashes=False)
@operation("One source", response=Source, errors={404: "No such source is known."})
@marquez_errors
def get_source(source: str) -> Response:
    with _catalogue() as cat:
        return _json(cat.source(source))


@bp.get("/stats/lineage-events")
@operation(
    "The run events received in each of the last 24 hours or 7 days, by type",
    query=StatsQuery,
    response=list[LineageMetric],
    errors=_BAD,
)
@marquez_errors
def get_lineage_event_stats() -> Response:
    query = query_args(StatsQuery)
    zone = query.zone()
    store = tracker().store()
    with store.engine.connect() as conn:
        found = lineage_metrics(conn, query.period, zone, dt.datetime.now(dt.UTC))
    return _json_list(found)


def _interval_stats(asset: Literal["jobs", "datasets", "sources"]) -> Response:
    query = query_args(StatsQuery)
    zone = query.zone()
    store = tracker().store()
    with store.engine.connect() as conn:
        registry = store.registry(conn)
        found = interval_metrics(
            conn, registry, asset, period=query.period, zone=zone, now=dt.datetime.now(dt.UTC)
        )
    return _json_list(found)


@bp.get("/stats/jobs")
@operation(
    "How many jobs were known at the end of each of the last 24 hours or 7 days",
    query=StatsQuery,
    response=list[IntervalMetric],
    errors=_BAD,
)
@marquez_errors
def get_job_stats() -> Response:
    return _interval_stats("jobs")


@bp.get("/stats/datasets")
@operation(
    "How many datasets were known at the end of each of the last 24 hours or 7 days",
    query=StatsQuery,
    response=list[IntervalMetric],
    errors=_BAD,
)
@marquez_errors
def get_dataset_stats() -> Response:
    return _interval_stats("datasets")


@bp.get("/stats/sources")
@operation(
    "How many sources were known at the end of each of the last 24 hours or 7 days",
    query=StatsQuery,
    response=list[IntervalMetric],
    errors=_BAD,
)
@marquez_errors
def get_source_stats() -> Response:
    return _interval_stats("sources")


@bp.get("/tags")
@operation(
    "Every tag (none: the tracker tags no dataset, field or job)",
    query=Paging,
    response=TagList,
    errors=_BAD,
)
@marquez_errors
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
@marquez_errors
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
@marquez_errors
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


def _indexed_search(kind: Literal["JOB", "DATASET"]) -> Response:
    query = query_args(IndexedSearchQuery)
    if not query.q.strip():
        raise BadRequest("bad query parameters: q: must not be blank")
    with _catalogue() as cat:
        return _json(cat.indexed_search(query.q.strip(), kind))


@beta.get("/search/jobs")
@operation(
    "The jobs (observed and the registry's integrations) whose name holds q, as Marquez's "
    "search index documents them",
    query=IndexedSearchQuery,
    response=OpenSearchResult,
    errors=_BAD,
    description="At most 10, by namespace and name; each name match highlighted in <em>; "
    "a declared job has no run_id or eventType.",
)
@marquez_errors
def indexed_search_jobs() -> Response:
    return _indexed_search("JOB")


@beta.get("/search/datasets")
@operation(
    "The datasets (observed and the registry's elements per system) whose name holds q, as "
    "Marquez's search index documents them",
    query=IndexedSearchQuery,
    response=OpenSearchResult,
    errors=_BAD,
    description="At most 10, by namespace and name; each name match highlighted in <em>; "
    "a declared dataset has no run_id or eventType, its fields as the schema facet.",
)
@marquez_errors
def indexed_search_datasets() -> Response:
    return _indexed_search("DATASET")


@bp.get("/events/lineage")
@operation(
    "The OpenLineage RunEvents received, as they came, by event time",
    query=EventsQuery,
    response=LineageEventList,
    errors=_BAD,
)
@marquez_errors
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
