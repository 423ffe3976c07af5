"""``POST /api/v1/events``: runtime events (DESIGN.md §4), one or a list."""

from __future__ import annotations

from typing import Any

from flask import Response, jsonify
from sqlalchemy.exc import IntegrityError

from lineage.model.events import Event
from lineage.store.writer import IngestResult, Writer

from ..tracker import tracker
from . import bp
from .auth import token_required
from .inputs import json_body
from .models import IngestAnswer, ids_by_position
from .openapi import operation

_ATTEMPTS = 3


def record(items: list[Any]) -> IngestResult:
    """Write ``items`` through the writer; a lost race on an event id is retried, and on the
    retry the other writer's copy counts as a duplicate."""
    state = tracker()
    store = state.store()
    for attempt in range(1, _ATTEMPTS + 1):
        try:
            with state.writing():
                writer = Writer(store, batch_size=max(len(items), 1))
                for index, item in enumerate(items):
                    writer.add_data(item, source="body", line=index)
                return writer.flush()
        except IntegrityError:
            if attempt == _ATTEMPTS:
                raise
    raise AssertionError("unreachable")  # pragma: no cover


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
    data = json_body()
    items = data if isinstance(data, list) else [data]
    answer = IngestAnswer.of(record(items), ids_by_position(items))
    return jsonify(answer.model_dump()), answer.status
