"""OpenLineage in (``POST /api/v1/lineage`` and ``/lineage/batch``, as the openlineage-python
HTTP transport sends) and Marquez-style lineage graphs out (``GET /api/v1/lineage``)."""

from __future__ import annotations

from typing import Any

from flask import Response, jsonify
from pydantic import BaseModel, ConfigDict, Field

from lineage.interop.marquez import DEFAULT_DEPTH, MAX_DEPTH, LineageGraph
from lineage.interop.openlineage import AnyEvent, ingest_openlineage_data

from ..tracker import tracker
from . import bp
from .auth import token_required
from .inputs import json_body, query_args
from .models import IngestAnswer
from .openapi import operation


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


def _ingest(items: list[Any]) -> tuple[Response, int]:
    state = tracker()
    store = state.store()
    with state.writing():
        result = ingest_openlineage_data(store, (("body", i, item) for i, item in enumerate(items)))
    answer = IngestAnswer.of(result, {})
    return jsonify(answer.model_dump()), 422 if answer.status == 422 else 201


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
    errors={422: "No event is a valid OpenLineage event."},
    description=_WHY,
)
@token_required
def post_lineage() -> tuple[Response, int]:
    data = json_body()
    return _ingest(data if isinstance(data, list) else [data])


@bp.post("/lineage/batch")
@operation(
    "Record a list of OpenLineage events",
    body=list[AnyEvent],
    response=IngestAnswer,
    status=201,
    errors={422: "No event is a valid OpenLineage event."},
    description=_WHY,
)
@token_required
def post_lineage_batch() -> tuple[Response, int]:
    data = json_body()
    return _ingest(data if isinstance(data, list) else [data])


@bp.get("/lineage")
@operation(
    "The lineage graph around a dataset or job, in Marquez's shape",
    query=LineageQuery,
    response=LineageGraph,
    errors={404: "No such dataset or job is known."},
    description="Jobs and datasets from the OpenLineage events received and from the "
    "registry's integrations (job:registry:<integration>).",
)
def get_lineage() -> Response:
    query = query_args(LineageQuery)
    state = tracker()
    graph = state.lineage_index.graph(state.store(), query.node_id, query.depth)
    return jsonify(graph.model_dump(mode="json", by_alias=True))
