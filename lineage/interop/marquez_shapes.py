"""Marquez's JSON shapes (its ``spec/openapi.yml``) for the read API, as pydantic models.

Field names are Marquez's camelCase through aliases; :mod:`lineage.interop.marquez_read`
fills them.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

DEFAULT_OWNER = "anonymous"
"""Marquez's owner of a namespace nobody declared."""


class _Shape(BaseModel):
    model_config = ConfigDict(frozen=True, populate_by_name=True, serialize_by_alias=True)


class Namespace(_Shape):
    name: str
    created_at: str | None = Field(default=None, alias="createdAt")
    updated_at: str | None = Field(default=None, alias="updatedAt")
    owner_name: str = Field(default=DEFAULT_OWNER, alias="ownerName")
    description: str | None = None
    is_hidden: bool = Field(default=False, alias="isHidden")


class NamespaceList(_Shape):
    namespaces: list[Namespace]


class Id(_Shape):
    namespace: str
    name: str


class VersionId(_Shape):
    namespace: str
    name: str
    version: str


class FieldShape(_Shape):
    name: str
    type: str | None = None
    tags: list[str] = Field(default_factory=list)
    description: str | None = None


class DatasetVersionRef(_Shape):
    dataset_version_id: VersionId = Field(alias="datasetVersionId")
    facets: dict[str, Any] = Field(default_factory=dict)


class Run(_Shape):
    id: str
    created_at: str = Field(alias="createdAt")
    updated_at: str = Field(alias="updatedAt")
    nominal_start_time: str | None = Field(default=None, alias="nominalStartTime")
    nominal_end_time: str | None = Field(default=None, alias="nominalEndTime")
    state: Literal["NEW", "RUNNING", "COMPLETED", "FAILED", "ABORTED"]
    started_at: str | None = Field(default=None, alias="startedAt")
    ended_at: str | None = Field(default=None, alias="endedAt")
    duration_ms: int | None = Field(default=None, alias="durationMs")
    args: dict[str, str] = Field(default_factory=dict)
    job_version: VersionId = Field(alias="jobVersion")
    input_dataset_versions: list[DatasetVersionRef] = Field(alias="inputDatasetVersions")
    output_dataset_versions: list[DatasetVersionRef] = Field(alias="outputDatasetVersions")
    context: dict[str, str] = Field(default_factory=dict)
    facets: dict[str, Any] = Field(default_factory=dict)


class RunList(_Shape):
    runs: list[Run]
    total_count: int = Field(alias="totalCount")


class Job(_Shape):
    id: Id
    type: Literal["BATCH", "STREAM", "SERVICE"] = "BATCH"
    name: str
    simple_name: str = Field(alias="simpleName")
    parent_job_name: str | None = Field(default=None, alias="parentJobName")
    created_at: str | None = Field(default=None, alias="createdAt")
    updated_at: str | None = Field(default=None, alias="updatedAt")
    namespace: str
    inputs: list[Id]
    outputs: list[Id]
    location: str | None = None
    description: str | None = None
    latest_run: Run | None = Field(default=None, alias="latestRun")
    # None (left out) for a job never run, as Marquez leaves it: its web UI's dashboard reduces
    # a present list with no initial value, and an empty one stops the page
    latest_runs: list[Run] | None = Field(default=None, alias="latestRuns")
    facets: dict[str, Any] = Field(default_factory=dict)
    current_version: str | None = Field(default=None, alias="currentVersion")
    tags: list[str] = Field(default_factory=list)


class JobList(_Shape):
    jobs: list[Job]
    total_count: int = Field(alias="totalCount")


class MarquezDataset(_Shape):
    id: Id
    type: Literal["DB_TABLE"] = "DB_TABLE"
    name: str
    physical_name: str = Field(alias="physicalName")
    created_at: str | None = Field(default=None, alias="createdAt")
    updated_at: str | None = Field(default=None, alias="updatedAt")
    namespace: str
    source_name: str = Field(alias="sourceName")
    fields: list[FieldShape]
    tags: list[str] = Field(default_factory=list)
    last_modified_at: str | None = Field(default=None, alias="lastModifiedAt")
    description: str | None = None
    current_version: str | None = Field(default=None, alias="currentVersion")
    facets: dict[str, Any] = Field(default_factory=dict)
    deleted: bool = False


class DatasetList(_Shape):
    datasets: list[MarquezDataset]
    total_count: int = Field(alias="totalCount")


class JobVersion(_Shape):
    id: VersionId
    name: str
    version: str
    created_at: str | None = Field(default=None, alias="createdAt")
    updated_at: str | None = Field(default=None, alias="updatedAt")
    namespace: str
    inputs: list[Id]
    outputs: list[Id]
    location: str | None = None
    latest_run: Run | None = Field(default=None, alias="latestRun")
    facets: dict[str, Any] = Field(default_factory=dict)


class JobVersionList(_Shape):
    versions: list[JobVersion]
    total_count: int = Field(alias="totalCount")


class DatasetVersion(_Shape):
    id: VersionId
    type: Literal["DB_TABLE"] = "DB_TABLE"
    name: str
    physical_name: str = Field(alias="physicalName")
    created_at: str = Field(alias="createdAt")
    version: str
    namespace: str
    source_name: str = Field(alias="sourceName")
    fields: list[FieldShape]
    # Marquez's spec types a version's tags as one string (its server sends a list): left out
    tags: list[str] | None = None
    description: str = ""  # required by Marquez's spec
    created_by_run: Run | None = Field(default=None, alias="createdByRun")
    facets: dict[str, Any] = Field(default_factory=dict)


class DatasetVersionList(_Shape):
    versions: list[DatasetVersion]
    total_count: int = Field(alias="totalCount")


class Tag(_Shape):
    name: str
    description: str | None = None


class TagList(_Shape):
    """Marquez's ``GET /api/v1/tags``: the tracker tags nothing, so the list is empty."""

    tags: list[Tag]


class SearchResult(_Shape):
    type: Literal["DATASET", "JOB"]
    name: str
    updated_at: str | None = Field(default=None, alias="updatedAt")
    namespace: str
    node_id: str = Field(alias="nodeId")


class SearchResultList(_Shape):
    total_count: int = Field(alias="totalCount")
    results: list[SearchResult]


class ColumnInputField(_Shape):
    namespace: str
    dataset: str
    field: str
    transformation_description: str | None = Field(default=None, alias="transformationDescription")
    transformation_type: str | None = Field(default=None, alias="transformationType")


class FieldData(_Shape):
    namespace: str
    dataset: str
    field: str
    field_type: str | None = Field(default=None, alias="fieldType")
    input_fields: list[ColumnInputField] = Field(alias="inputFields")


class Edge(_Shape):
    origin: str
    destination: str


class FieldNode(_Shape):
    id: str
    type: Literal["DATASET_FIELD"] = "DATASET_FIELD"
    data: FieldData
    in_edges: list[Edge] = Field(alias="inEdges")
    out_edges: list[Edge] = Field(alias="outEdges")


class ColumnLineageGraph(_Shape):
    graph: list[FieldNode]


class LineageEventList(_Shape):
    events: list[dict[str, Any]]
    total_count: int = Field(alias="totalCount")


class Source(_Shape):
    """A place datasets live: Marquez makes one of each dataset namespace."""

    type: str
    name: str
    created_at: str | None = Field(default=None, alias="createdAt")
    updated_at: str | None = Field(default=None, alias="updatedAt")
    connection_url: str = Field(alias="connectionUrl")
    description: str | None = None


class SourceList(_Shape):
    sources: list[Source]


class JobSummary(_Shape):
    namespace: str
    name: str
    version: str


class RunSummary(_Shape):
    id: str
    start: str | None = None
    end: str | None = None
    status: str


class DatasetSummary(_Shape):
    namespace: str
    name: str
    version: str
    produced_by_run_id: str | None = Field(default=None, alias="producedByRunId")


class UpstreamRun(_Shape):
    job: JobSummary
    run: RunSummary
    inputs: list[DatasetSummary]


class UpstreamRunLineage(_Shape):
    """Marquez's ``GET /api/v1/runlineage/upstream``: the run, then the runs that wrote what it
    read, and so on, nearest first."""

    runs: list[UpstreamRun]


class LineageMetric(_Shape):
    """One interval of Marquez's ``GET /api/v1/stats/lineage-events`` (not in its spec: its
    ``api/.../db/models/LineageMetric.java``): the run events of each type received."""

    start_interval: str = Field(alias="startInterval")
    end_interval: str = Field(alias="endInterval")
    fail: int
    start: int
    complete: int
    abort: int


class IntervalMetric(_Shape):
    """One interval of Marquez's ``GET /api/v1/stats/jobs|datasets|sources`` (its
    ``IntervalMetric.java``): how many were known by the interval's end."""

    start_interval: str = Field(alias="startInterval")
    end_interval: str = Field(alias="endInterval")
    count: int


class OpenSearchResult(_Shape):
    """Marquez's ``GET /api/v2beta/search/jobs|datasets`` (its ``v2beta/SearchResource.java``,
    not in its spec): the documents its search index holds of each job or dataset found, and
    per document the fields that matched with the match in ``<em>``."""

    hits: list[dict[str, Any]]
    highlights: list[dict[str, list[str]]]
