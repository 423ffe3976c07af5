"""OpenLineage events as the tracker reads them (spec 2-0-2): RunEvent, JobEvent, DatasetEvent.

OpenLineage's camelCase stays here, behind aliases; unknown keys (facets, extensions) are
ignored by the models and kept in the stored JSON.
"""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class _Edge(BaseModel):
    """OpenLineage JSON: camelCase aliases, unknown keys (facets, extensions) ignored."""

    model_config = ConfigDict(frozen=True, populate_by_name=True, extra="ignore")


class Transformation(_Edge):
    """How an input field becomes an output field (``DIRECT``/``INDIRECT`` and a subtype)."""

    model_config = ConfigDict(frozen=True, populate_by_name=True, extra="allow")

    type: str
    subtype: str | None = None
    description: str | None = None
    masking: bool | None = None


class InputField(_Edge):
    namespace: str = Field(min_length=1)
    name: str = Field(min_length=1)
    field: str = Field(min_length=1)
    transformations: tuple[Transformation, ...] | None = None


class FieldLineage(_Edge):
    input_fields: tuple[InputField, ...] = Field(alias="inputFields")
    transformation_description: str | None = Field(default=None, alias="transformationDescription")
    transformation_type: str | None = Field(default=None, alias="transformationType")


class ColumnLineageFacet(_Edge):
    fields: dict[str, FieldLineage] = Field(default_factory=dict)
    dataset: tuple[InputField, ...] = ()


class SchemaField(_Edge):
    name: str
    type: str | None = None
    description: str | None = None


class SchemaFacet(_Edge):
    fields: tuple[SchemaField, ...] = ()


class DatasetFacets(_Edge):
    column_lineage: ColumnLineageFacet | None = Field(default=None, alias="columnLineage")
    schema_: SchemaFacet | None = Field(default=None, alias="schema")


class Dataset(_Edge):
    namespace: str = Field(min_length=1)
    name: str = Field(min_length=1)
    facets: DatasetFacets = Field(default_factory=DatasetFacets)


class Job(_Edge):
    namespace: str = Field(min_length=1)
    name: str = Field(min_length=1)


class ParentRun(_Edge):
    run_id: str = Field(min_length=1, alias="runId")


class ParentJob(_Edge):
    namespace: str = Field(min_length=1)
    name: str = Field(min_length=1)


class ParentRunFacet(_Edge):
    """The run (and job) that started this one: a DAG run for an Airflow task.

    Spark sends the parent job alone at times, so either part may be missing; a part given
    must be whole (a parent run without its ``runId`` is refused).
    """

    run: ParentRun | None = None
    job: ParentJob | None = None


class ErrorMessageRunFacet(_Edge):
    """Why a run failed: read into ``failed-delivery`` findings."""

    message: str
    programming_language: str | None = Field(default=None, alias="programmingLanguage")
    stack_trace: str | None = Field(default=None, alias="stackTrace")


class RunFacets(_Edge):
    """The run facets the tracker reads (and so validates); others are kept as they came."""

    parent: ParentRunFacet | None = None
    error_message: ErrorMessageRunFacet | None = Field(default=None, alias="errorMessage")


class Run(_Edge):
    run_id: str = Field(min_length=1, alias="runId")
    facets: RunFacets = Field(default_factory=RunFacets)


class EventType(StrEnum):
    START = "START"
    RUNNING = "RUNNING"
    COMPLETE = "COMPLETE"
    ABORT = "ABORT"
    FAIL = "FAIL"
    OTHER = "OTHER"


class _Event(_Edge):
    """What every OpenLineage event has (spec 2-0-2 ``BaseEvent``).

    ``producer`` and ``schemaURL`` are required by the spec but not needed here, so an event
    without them is still recorded. An ``eventTime`` without an offset is read as UTC (Marquez
    does the same on purpose) and the ingestion answer warns about it.
    """

    event_time: dt.datetime = Field(alias="eventTime")
    producer: str | None = None
    schema_url: str | None = Field(default=None, alias="schemaURL")

    @property
    def utc_time(self) -> dt.datetime:
        """``eventTime`` in UTC (a time without an offset is taken as UTC)."""
        if self.event_time.tzinfo is None:
            return self.event_time.replace(tzinfo=dt.UTC)
        return self.event_time.astimezone(dt.UTC)


class JobEvent(_Event):
    """An OpenLineage JobEvent: a job's static lineage (inputs and outputs), no run."""

    job: Job
    inputs: tuple[Dataset, ...] = ()
    outputs: tuple[Dataset, ...] = ()


class RunEvent(JobEvent):
    """An OpenLineage RunEvent (spec 2-0-x): a run of a job changed state.

    For events stored before JobEvents were told apart, ``run`` may be missing: such an
    event is a JobEvent.
    """

    event_type: EventType | None = Field(default=None, alias="eventType")
    run: Run | None = None


class DatasetEvent(_Event):
    """An OpenLineage DatasetEvent: one dataset's metadata (schema, facets, static lineage)."""

    dataset: Dataset


AnyEvent = RunEvent | JobEvent | DatasetEvent
"""An OpenLineage event of any of the spec's three kinds."""

EVENT_KINDS = ("RunEvent", "JobEvent", "DatasetEvent")
"""The spec's event kinds, as ``lineage stats`` counts them."""


def kind_of(event: AnyEvent) -> str:
    """``RunEvent``, ``JobEvent`` or ``DatasetEvent``."""
    if isinstance(event, DatasetEvent):
        return "DatasetEvent"
    if isinstance(event, RunEvent) and event.run is not None:
        return "RunEvent"
    return "JobEvent"


def parse_event(data: Any) -> AnyEvent:
    """Validate one decoded OpenLineage event of any kind of spec 2-0-2.

    A RunEvent has ``run`` (and ``job``), a JobEvent ``job`` without ``run`` (whatever else it
    carries), a DatasetEvent ``dataset`` without ``job``.

    Raises:
        ValueError: not an object, none of the three kinds, or missing the parts the spec
            requires (``eventTime``, ``job.namespace``, ``job.name``, a run's ``runId``,
            dataset ``namespace`` and ``name``, field names), with the reason.
    """
    if not isinstance(data, dict):
        raise ValueError(f"an OpenLineage event is a JSON object, not {type(data).__name__}")
    if "run" in data:
        if "job" not in data:
            raise ValueError("job: a RunEvent names its job; add job.namespace and job.name")
        return RunEvent.model_validate(data)
    if "job" in data:
        # The spec's JobEvent allows other keys: an eventType without a run (Marquez's own
        # fixture sends one) is a JobEvent, with no run state to judge.
        return JobEvent.model_validate(data)
    if "dataset" in data:
        return DatasetEvent.model_validate(data)
    raise ValueError(
        "not an OpenLineage event: a RunEvent has run and job, a JobEvent job, "
        "a DatasetEvent dataset"
    )
