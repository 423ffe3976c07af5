"""Property: whatever JSON a client sends as events, the tracker stores or rejects it cleanly.

Hypothesis builds event-shaped documents from arbitrary JSON (huge and non-finite numbers,
NUL characters, unpaired surrogates, deep lists, long keys, odd times) and sends them through
``POST /api/v1/events`` and through the writer itself, on SQLite and PostgreSQL. Every answer
must be a 200/422 with one count per event sent, or a 400 for a body that is no JSON; the
writer must never raise.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from recording import write_registry

from lineage.registry import load_registry
from lineage.store.writer import Writer

POISON_TEXT = ["a\x00b", "\ud800", "x\udfffy", "1e999999999", "NaN", "-Infinity", "é" * 300,
               "k" * 600, "9" * 200, "0001-01-01T00:00:00+14:00", ""]  # fmt: skip
TIMES = ["2026-11-20T09:00:00Z", "0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-14:00",
         "2026-11-20T09:00:00", "not a time", "0001-01-01T00:00:00Z"]  # fmt: skip

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**400), max_value=10**400),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=20),
    st.sampled_from(POISON_TEXT),
)
json_values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner),
    max_leaves=8,
)
texts = st.one_of(st.sampled_from(["CRM", "ERP", "BI", "order.total", "customer.name", "1"]),
                  st.sampled_from(POISON_TEXT), json_values)  # fmt: skip


def places() -> st.SearchStrategy[dict[str, Any]]:
    return st.fixed_dictionaries(
        {"system": texts, "element": texts, "record": texts, "value": json_values}
    )


events = st.one_of(
    st.builds(
        lambda place, kind, at, extra: {**place, "kind": kind, "at": at, **extra},
        places(),
        st.sampled_from(["write", "snapshot", "nope", 3]),
        st.sampled_from(TIMES) | json_values,
        st.dictionaries(st.sampled_from(["id", "actor", "source", "colour"]), texts, max_size=2),
    ),
    st.builds(
        lambda inputs, output, at, extra: {
            "kind": "hop",
            "inputs": inputs,
            "output": output,
            "at": at,
            **extra,
        },
        st.lists(places(), max_size=3) | json_values,
        places() | json_values,
        st.sampled_from(TIMES),
        st.dictionaries(
            st.sampled_from(["id", "integration", "transform", "status", "error", "actor"]),
            texts | st.sampled_from(["delivered", "failed", 'expr("int(a) + 0")', "erp-to-bi"]),
            max_size=3,
        ),
    ),
    json_values,
)


@pytest.fixture
def typed_app(app: Flask, tmp_path: Path) -> Flask:
    app.extensions["lineage"].store().save_registry(load_registry([write_registry(tmp_path)]))
    return app


SETTINGS = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@SETTINGS
@given(batch=st.lists(events, min_size=1, max_size=6))
def test_any_batch_posted_is_stored_or_rejected_event_by_event(
    typed_app: Flask, batch: list[Any]
) -> None:
    client: FlaskClient = typed_app.test_client()
    body = json.dumps(batch)  # NaN, Infinity and surrogates written as JSON allows them
    response = client.post("/api/v1/events", data=body, content_type="application/json")
    assert response.status_code in (200, 422), response.get_data(as_text=True)[:300]
    answer = response.get_json()
    counted = answer["accepted"] + answer["duplicate"] + answer["status_updates"]
    assert counted + answer["rejected"] == len(batch)
    assert {error["index"] for error in answer["errors"]} <= set(range(len(batch)))
    assert all(error["reason"] for error in answer["errors"])


@SETTINGS
@given(batch=st.lists(events, min_size=1, max_size=6))
def test_the_writer_never_raises_on_any_decoded_event(typed_app: Flask, batch: list[Any]) -> None:
    # Python objects reach the writer unparsed (the Recorder's way): surrogates included.
    store = typed_app.extensions["lineage"].store()
    with Writer(store) as writer:
        for index, item in enumerate(batch):
            writer.add_data(item, source="batch", line=index)
    result = writer.result
    assert result.accepted + result.duplicate + result.status_updates + result.rejected_count == (
        len(batch)
    )
