"""``POST /api/v1/events``: runtime events (docs/CONTRACT.md §2), one or a list."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pydantic_core
from flask import Response, current_app, jsonify
from pydantic import TypeAdapter, ValidationError

from lineage.findings import judge_after_ingest, judge_in_background
from lineage.model.events import Event
from lineage.store.writer import IngestResult, Writer

from ..tracker import tracker
from . import bp
from .auth import token_required
from .inputs import json_items, raw_body
from .models import IngestAnswer
from .openapi import operation

_BODY: TypeAdapter[Any] = TypeAdapter(Event | list[Event])


def record(raw: bytes) -> tuple[IngestResult, dict[int, str]]:
    """Write the events of a body: the result, and the ids sent by position (for errors).

    A body whose events are all valid is parsed and validated in one pass; otherwise each
    event is parsed and validated on its own so the good ones are kept and the bad ones
    named (an event that is not even JSON, or nested too deeply, included).
    """
    items: list[Any]
    try:
        parsed = _BODY.validate_json(raw)
    except ValidationError:
        items = json_items(raw)
        add: Callable[..., None] = Writer.add_json
    else:
        items = parsed if isinstance(parsed, list) else [parsed]
        add = Writer.add
    state = tracker()
    store = state.store()
    with state.writing():
        writer = Writer(store, batch_size=max(len(items), 1))
        for index, item in enumerate(items):
            add(writer, item, source="body", line=index)
        result = writer.flush()
    if add is Writer.add:
        ids = {i: e.id for i, e in enumerate(items) if e.id is not None}
    else:
        ids = _ids_of_rejected(items, result)
    return result, ids


def _ids_of_rejected(items: list[bytes], result: IngestResult) -> dict[int, str]:
    """The ids the rejected items were sent with, where they can be read."""
    ids: dict[int, str] = {}
    for rejection in result.rejected:
        index = rejection.line
        if rejection.event_id is not None or index is None:
            continue
        try:
            data = pydantic_core.from_json(items[index])
        except ValueError:
            continue
        if isinstance(data, dict) and isinstance(data.get("id"), str):
            ids[index] = data["id"]
    return ids


@bp.post("/events")
@operation(
    "Record runtime events: one event or a list",
    body=Event | list[Event],
    response=IngestAnswer,
    errors={422: ("None of the events is valid; errors says why, by position.", IngestAnswer)},
    description="200 when at least one event was good (rejected ones are listed in errors), "
    "422 when every event was rejected. Re-sending an event with the same id changes "
    "nothing; the same hop id with a new status is a status update.",
)
@token_required
def post_events() -> tuple[Response, int]:
    result, ids = record(raw_body())
    answer = IngestAnswer.of(result, ids)
    response = jsonify(answer.model_dump())
    if result.accepted or result.status_updates:
        judge_after_answer(response, "POST /api/v1/events")
    return response, answer.status


def judge_after_answer(response: Response, what: str) -> None:
    """Judge the committed events once the answer is sent: the writer is not held for the
    judgement (a reader that comes first catches up itself, see lineage.findings.read); while
    another judgement runs, it judges once more when it ends instead (no request waits)."""
    store = tracker().store()
    if current_app.config.get("JUDGE_IN_BACKGROUND"):  # lineage serve: the thread serves on
        response.call_on_close(lambda: judge_in_background(store, what=what))
    else:
        response.call_on_close(lambda: judge_after_ingest(store, what=what, wait=False))
