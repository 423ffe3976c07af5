"""``POST /api/v1/events``: runtime events (DESIGN.md §4), one or a list."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Response, jsonify
from pydantic import TypeAdapter, ValidationError

from lineage.model.events import Event
from lineage.store.writer import IngestResult, Writer

from ..tracker import tracker
from . import bp
from .auth import token_required
from .inputs import decode_json, raw_body
from .models import IngestAnswer, ids_by_position
from .openapi import operation

_BODY: TypeAdapter[Any] = TypeAdapter(Event | list[Event])


def record(raw: bytes) -> tuple[IngestResult, dict[int, str]]:
    """Write the events of a body: the result, and the ids sent by position (for errors).

    A body whose events are all valid is parsed and validated in one pass; otherwise each
    event is validated on its own so the good ones are kept and the bad ones named.
    """
    items: list[Any]
    try:
        parsed = _BODY.validate_json(raw)
    except ValidationError:
        data = decode_json(raw)
        items = data if isinstance(data, list) else [data]
        add: Callable[..., None] = Writer.add_data
        ids = ids_by_position(items)
    else:
        items = parsed if isinstance(parsed, list) else [parsed]
        add = Writer.add
        ids = {i: e.id for i, e in enumerate(items) if e.id is not None}
    state = tracker()
    store = state.store()
    with state.writing():
        writer = Writer(store, batch_size=max(len(items), 1))
        for index, item in enumerate(items):
            add(writer, item, source="body", line=index)
        return writer.flush(), ids


@bp.post("/events")
@operation(
    "Record runtime events: one event or a list",
    body=Event | list[Event],
    response=IngestAnswer,
    errors={422: "None of the events is valid; errors says why, by position."},
    description="200 when at least one event was good (rejected ones are listed in errors), "
    "422 when every event was rejected. Re-sending an event with the same id changes "
    "nothing; the same hop id with a new status is a status update.",
)
@token_required
def post_events() -> tuple[Response, int]:
    answer = IngestAnswer.of(*record(raw_body()))
    return jsonify(answer.model_dump()), answer.status
