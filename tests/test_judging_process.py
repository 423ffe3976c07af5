"""A server's judgements made in a child process (lineage.findings.process).

``lineage serve`` sets ``JUDGE_IN_A_PROCESS``: the app's judgements (after a POST, or for a
reader catching up) are asked of a child process that opened the same store, so the
server's interpreter keeps answering requests while a judgement runs. The findings a user
reads are the same; if the child dies, the judgement is made in the server's process and
nothing is left unjudged.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from flask import Flask
from steward_scenarios import REGISTRY, order_chain

from lineage.findings.process import JudgingProcess, judge_in_a_process, judging_process, may_fork
from lineage.findings.state import up_to_date
from lineage.store import Store, open_store
from webapp import create_app


@pytest.fixture
def app(db_url: str) -> Iterator[Flask]:
    served = create_app(
        {"TESTING": True, "DATABASE_URL": db_url, "API_TOKEN": None, "JUDGE_IN_A_PROCESS": True}
    )
    served.extensions["lineage"].store().save_registry(REGISTRY)
    try:
        yield served
    finally:
        served.extensions["lineage"].close()  # the child too


def _codes(app: Flask) -> list[str]:
    answer = app.test_client().get("/api/v1/findings")
    assert answer.status_code == 200
    return sorted(f["code"] for f in answer.get_json()["findings"])


def test_a_post_is_judged_in_a_child_process_and_its_findings_read_as_ever(app: Flask) -> None:
    store = app.extensions["lineage"].store()
    child = judging_process(store)
    assert child is not None and child.pid not in (None, os.getpid())
    answer = app.test_client().post("/api/v1/events", json=order_chain(bi_value="61.00"))
    assert answer.status_code == 200, answer.get_data(as_text=True)
    assert "conflicting-truth" in _codes(app)  # BI's 61.00 is not what 50.00 yields
    assert up_to_date(store)
    assert child.judged >= 1  # by the child


def test_when_the_child_dies_the_server_judges_and_nothing_is_left_unjudged(app: Flask) -> None:
    store = app.extensions["lineage"].store()
    child = judging_process(store)
    assert child is not None
    child.kill()
    answer = app.test_client().post("/api/v1/events", json=order_chain(bi_value="61.00"))
    assert answer.status_code == 200, answer.get_data(as_text=True)
    assert "conflicting-truth" in _codes(app)
    assert up_to_date(store)
    assert judging_process(store) is None  # judged in the server's process from now on


def test_closing_the_app_ends_the_child(app: Flask) -> None:
    tracker = app.extensions["lineage"]
    child = judging_process(tracker.store())
    assert child is not None
    tracker.close()
    assert not child.alive()


def test_an_in_memory_store_is_judged_in_its_own_process() -> None:
    store: Store = open_store("sqlite://")
    try:
        assert not judge_in_a_process(store)  # the child could not open the same database
        assert judging_process(store) is None
    finally:
        store.close()


def test_a_forked_child_is_ready_at_once_and_ends_with_its_parent_s_pipe(db_url: str) -> None:
    # `lineage ingest -` forks its judging process (JudgingProcess(fork=True)); the child
    # holds a copy of the parent's end of the pipe, which it must close, or it would wait
    # for a request forever once the parent closed its own (and hold the command's stdout)
    if not may_fork():
        pytest.skip("a fork is taken on Linux, with no other thread running")
    store = open_store(db_url)
    try:
        store.save_registry(REGISTRY)
        process = JudgingProcess(store.engine.url.render_as_string(hide_password=False), fork=True)
        assert process.forked and process.pid not in (None, os.getpid())
        answer = process.judge("a test")  # the store's first judgement, made by the child
        assert answer is not None and up_to_date(store)
        process.stop(timeout=10)
        assert not process.alive()
        assert process.ended_by_itself  # the pipe's end ended it: not killed after the wait
    finally:
        store.close()
