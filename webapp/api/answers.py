"""The JSON shapes of the read endpoints (docs/CONTRACT.md §3-4), as pydantic models.

The views answer with the engine's own ``to_json()`` (the CLI's ``--format json``); these
models describe that shape in the OpenAPI document, and the tests check the answers against
the schemas made from them.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from lineage.model.findings import Finding


class _Shape(BaseModel):
    model_config = ConfigDict(frozen=True, populate_by_name=True)


class PlacedValueAnswer(_Shape):
    system: str
    element: str
    record: str = Field(description="The record key as known in that system.")
    value: str | None


class ValueNode(_Shape):
    """A value version: what one place held from one event on."""

    id: str
    kind: Literal["write", "hop", "snapshot", "untraced"] = Field(
        description="untraced: a hop input no recorded event explains."
    )
    event: str | None
    system: str
    element: str
    record: str
    value: str | None
    at: str | None = Field(description="ISO 8601, UTC.")


class ValueEdge(_Shape):
    """A step the value took: a hop from one of its inputs, or a snapshot observing it."""

    source: str = Field(alias="from", description="The node id the value came from.")
    to: str
    event: str | None
    integration: str | None
    transform: str | None
    verified: bool = Field(description="The transform re-run gives the output, and the input "
                           "is what its source held at the time.")  # fmt: skip
    owner: str | None = Field(description="Whom to talk to about this step.")


class RootCauseAnswer(_Shape):
    event: str | None
    code: str
    owner: str | None
    message: str


class ObservedInputAnswer(_Shape):
    namespace: str
    dataset: str
    system: str | None = Field(description="The system the namespace is mapped to, if any.")
    fields: list[str]
    elements: list[str] = Field(description="The elements the registry maps those fields to.")


class ObservedFeedAnswer(_Shape):
    """An OpenLineage job writing a place the trace could not explain further."""

    system: str
    element: str
    dataset: str
    field: str
    job: str = Field(description="namespace/name")
    level: Literal["field", "dataset"] = Field(
        description="field: the job's column lineage names this field; dataset: it only says "
        "the job wrote the dataset."
    )
    last_run: dict[str, Any] | None = Field(description="id, state, at, error")
    inputs: list[ObservedInputAnswer]


class TraceAnswer(_Shape):
    """A value's path back to its origin (``lineage trace --format json``)."""

    subject: PlacedValueAnswer
    nodes: list[ValueNode]
    edges: list[ValueEdge]
    origin: list[str] = Field(description="Ids of the write nodes the trace reached.")
    root_cause: RootCauseAnswer | None = Field(
        description="The earliest event where the value went wrong; null when every hop "
        "checks out and the origin is a declared write."
    )
    observed: list[ObservedFeedAnswer] = Field(
        default_factory=list,
        description="OpenLineage jobs that write the places the trace reached but could not "
        "explain (from the registry's OpenLineage mapping): where to look next.",
    )
    as_of: str | None = Field(
        default=None,
        description="The moment judged as of (ISO 8601, UTC): as_of when asked, else the "
        "store's clock (the time of the latest event recorded).",
    )


class ImpactAnswer(_Shape):
    """Everything downstream of a value (``lineage impact --format json``)."""

    subject: PlacedValueAnswer
    nodes: list[ValueNode]
    edges: list[ValueEdge]
    counts: dict[str, int] = Field(description="Per system, the places the value reached.")
    as_of: str | None = Field(
        default=None,
        description="The moment judged as of (ISO 8601, UTC): as_of when asked, else the "
        "store's clock (the time of the latest event recorded).",
    )


class CopyAnswer(_Shape):
    system: str
    record: str
    value: str | None
    expected: str | None = Field(description="What the golden value yields in this system.")
    status: Literal["agrees", "stale", "divergent", "unknown"]
    reason: str | None
    event: str
    at: str
    path: list[str] | None = Field(description="The declared carries followed, in order.")


class GoldenElementAnswer(_Shape):
    element: str
    system_of_record: str | None
    golden_value: str | None
    owner: str | None
    record: str | None = Field(description="The system of record's key holding the value.")
    reason: str | None = Field(description="Why there is no golden value, when there is none.")
    copies: list[CopyAnswer]


class RecordKey(_Shape):
    system: str
    record: str


class GoldenAnswer(_Shape):
    """The golden record of a business record (``lineage golden --format json``)."""

    system: str
    record: str
    elements: list[GoldenElementAnswer]
    linked: list[RecordKey] = Field(description="The record's keys in every system.")
    complete: bool = Field(description="False when the record has more keys than were followed.")
    findings_unchecked: int = Field(
        default=0,
        description="Places shown beyond the nearest 50 whose deliveries and rules were not "
        "looked up for open findings (their stale or divergent copies are still listed).",
    )
    as_of: str | None = Field(
        default=None,
        description="The moment judged as of (ISO 8601, UTC): as_of when asked, else the "
        "store's clock (the time of the latest event recorded).",
    )


class Summary(_Shape):
    error: int
    warning: int
    info: int


class FindingsAnswer(_Shape):
    """The runtime findings (``lineage scan --format json``)."""

    findings: list[Finding] = Field(description="One page of the findings kept.")
    summary: Summary = Field(description="Every finding kept, per severity (all pages).")
    as_of: str | None = Field(
        default=None,
        description="The moment judged as of (ISO 8601, UTC): as_of when asked, else the "
        "store's clock (the time of the latest event recorded).",
    )


class DayHealthAnswer(_Shape):
    """One day of one group (``lineage health``)."""

    day: str = Field(description="The UTC day, e.g. 2026-11-20.")
    delivered: int = Field(description="Hops reported delivered that day.")
    failed: int = Field(description="Hops reported failed that day.")
    lost: int = Field(description="Hops whose timeout ran out that day while still sent.")
    opened: int = Field(description="Findings first seen that day.")
    resolved: int = Field(description="Findings resolved that day.")
    open: int = Field(description="Findings open at the end of the day.")


class GroupHealthAnswer(_Shape):
    name: str | None = Field(description="The integration, owner, system or element; null for "
                             "the hops and findings that name none.")  # fmt: skip
    days: list[DayHealthAnswer]


class HealthAnswer(_Shape):
    """Health over time (``lineage health --format json``)."""

    by: Literal["integration", "owner", "system", "element"]
    as_of: str | None = Field(description="The moment judged (ISO 8601); null: empty store.")
    days: list[str]
    groups: list[GroupHealthAnswer]
    total: list[DayHealthAnswer] = Field(description="Every hop and finding, per day.")
