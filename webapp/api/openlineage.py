"""OpenLineage in (``POST /api/v1/lineage`` and ``/lineage/batch``, as the openlineage-python
HTTP transport sends) and Marquez-style lineage graphs out (``GET /api/v1/lineage``)."""

from __future__ import annotations

from typing import Any

import pydantic_core
from flask import Response, jsonify
from pydantic import BaseModel, ConfigDict, Field

from lineage.interop.marquez import DEFAULT_DEPTH, MAX_DEPTH, LineageGraph
from lineage.interop.observed import unmapped
from lineage.interop.ol_events import AnyEvent
from lineage.interop.openlineage import ingest_openlineage_data
from lineage.store.writer import Rejection

from ..errors import marquez_errors
from ..tracker import tracker
from . import bp
from .auth import token_required
from .events import judge_after_answer
from .inputs import json_items, query_args, raw_body
from .models import IngestAnswer
from .openapi import operation


class UnmappedNamespace(BaseModel):
    namespace: str
    events: int = Field(description="How many events named a dataset in it.")


class UnmappedJob(BaseModel):
    job: str = Field(description="namespace/name")
    events: int = Field(description="How many events the job sent.")


class UnmappedAnswer(BaseModel):
    """What the registry's OpenLineage mapping does not cover yet, most seen first."""

    namespaces: list[UnmappedNamespace]
    jobs: list[UnmappedJob]


class LineageQuery(BaseModel):
    model_config = ConfigDict(frozen=True, populate_by_name=True, extra="ignore")

    node_id: str = Field(
        alias="nodeId",
        min_length=1,
        description="dataset:<namespace>:<name> or job:<namespace>:<name>",
    )
    depth: int = Field(
        default=DEFAULT_DEPTH,
        ge=0,
        le=MAX_DEPTH,
        description="How many edges away from the node to go.",
    )


def _decoded(raw: bytes) -> tuple[list[tuple[str, int | None, Any]], list[Rejection]]:
    """The body's events as (source, index, object), and those that are not JSON, named.

    The whole body is decoded at once; when that fails each item of the array is decoded on
    its own, so that one event nested too deeply or holding an unpaired surrogate is
    rejected with its reason and the others are kept.
    """
    try:
        data = pydantic_core.from_json(raw)
    except ValueError:
        good: list[tuple[str, int | None, Any]] = []
        bad: list[Rejection] = []
        for index, item in enumerate(json_items(raw)):
            try:
                good.append(("body", index, pydantic_core.from_json(item)))
            except ValueError as exc:
                bad.append(Rejection("body", index, f"not JSON: {exc}"))
        return good, bad
    items = data if isinstance(data, list) else [data]
    return [("body", i, item) for i, item in enumerate(items)], []


def _ingest(raw: bytes) -> tuple[Response, int]:
    items, bad = _decoded(raw)
    state = tracker()
    store = state.store()
    with state.writing():
        result = ingest_openlineage_data(store, items)
    if bad:
        result.rejected = sorted([*result.rejected, *bad], key=lambda r: r.line or 0)
    answer = IngestAnswer.of(result, {})
    response = jsonify(answer.model_dump())
    judge_after_answer(response, "POST /api/v1/lineage")
    return response, 422 if answer.status == 422 else 201


_WHY = (
    "Dataset namespace -> system, dataset name and field -> element (<name>.<field>), the "
    "columnLineage facet -> observed flows. RunEvents, JobEvents and DatasetEvents (spec "
    "2-0-2) are accepted; an eventTime without an offset is read as UTC and named in "
    "warnings. The body may be gzip (Content-Encoding: gzip). 201 when at least one event "
    "was good, 422 when none was."
)


@bp.post("/lineage")
@operation(
    "Record one OpenLineage event",
    body=AnyEvent | list[AnyEvent],
    response=IngestAnswer,
    status=201,
    errors={422: ("No event is a valid OpenLineage event; errors says why.", IngestAnswer)},
    description=_WHY,
)
@token_required
def post_lineage() -> tuple[Response, int]:
    return _ingest(raw_body())


@bp.post("/lineage/batch")
@operation(
    "Record a list of OpenLineage events",
    body=list[AnyEvent],
    response=IngestAnswer,
    status=201,
    errors={422: ("No event is a valid OpenLineage event; errors says why.", IngestAnswer)},
    description=_WHY,
)
@token_required
def post_lineage_batch() -> tuple[Response, int]:
    return _ingest(raw_body())


@bp.get("/lineage")
@operation(
    "The lineage graph around a dataset or job, in Marquez's shape",
    query=LineageQuery,
    response=LineageGraph,
    errors={404: "No such dataset or job is known."},
    description="Jobs and datasets from the OpenLineage events received and from the "
    "registry's integrations (job:registry:<integration>).",
)
@marquez_errors
def get_lineage() -> Response:
    query = query_args(LineageQuery)
    state = tracker()
    graph = state.lineage_index.graph(state.store(), query.node_id, query.depth)
    return jsonify(graph.model_dump(mode="json", by_alias=True, exclude_none=True))


@bp.get("/openlineage/unmapped")
@operation(
    "OpenLineage namespaces and jobs no registry declaration maps",
    response=UnmappedAnswer,
    description="Dataset namespaces no system lists under openlineage_namespaces and jobs no "
    "integration lists under openlineage_jobs, with how many events named them.",
)
def get_unmapped() -> Response:
    state = tracker()
    store = state.store()
    with store.engine.connect() as conn:
        missing = unmapped(conn, store.registry(conn))
    return jsonify(missing.as_dict())
