"""Judgements after ingest coalesce in one process (lineage.findings.state.judge_after_ingest).

A burst of concurrent POSTs during a long judgement used to queue one judgement per request
behind the judgement lock, each holding a pooled connection while it waited: the pool ran
dry and the next POST got a 503. Now the judgement running is asked to judge once more,
the server's requests return at once, and a reader waits for the judgement that covers its
events without holding a connection.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from steward_scenarios import order_chain, record

from lineage.findings import judge, judge_after_ingest, judge_in_background, read_findings
from lineage.findings.state import up_to_date
from lineage.store import Store
from lineage.store.findings import JUDGE_LOCK


def _until(condition: Callable[[], bool], seconds: float = 20.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


def test_judgements_asked_for_while_one_runs_coalesce_into_one_more(store: Store) -> None:
    record(store, *order_chain(bi_value="61.00"))  # BI disagrees with the golden value
    assert not up_to_date(store)
    results: dict[str, object] = {}

    def first() -> None:
        results["first"] = judge_after_ingest(store)

    def reader() -> None:
        results["reader"] = judge_after_ingest(store, what="reading the findings")
        results["reader_up_to_date"] = up_to_date(store)

    with store.writing(JUDGE_LOCK):  # another process judging: the lock is taken
        running = threading.Thread(target=first)
        running.start()
        _until(lambda: store.engine.pool.checkedout() >= 2)  # it waits for the lock
        # thirty requests answered meanwhile: none waits, none takes a connection
        started = time.monotonic()
        answers = [judge_after_ingest(store, what="POST", wait=False) for _ in range(30)]
        assert answers == [None] * 30
        assert time.monotonic() - started < 1.0
        assert store.engine.pool.checkedout() == 2
        waiting = threading.Thread(target=reader)
        waiting.start()
        time.sleep(0.2)
        assert waiting.is_alive()  # it waits for the judgement that covers it
        assert store.engine.pool.checkedout() == 2
    running.join(30)
    waiting.join(30)
    assert not running.is_alive() and not waiting.is_alive()
    assert results["reader_up_to_date"] is True
    # the first judgement opened the finding; the one more it ran found nothing new
    assert results["first"] is not None and results["reader"] is not None
    codes = [f.code for f in read_findings(store).findings]
    assert "conflicting-truth" in codes
    assert judge(store, full=True).as_dict() == {"added": 0, "changed": 0, "resolved": 0}


def test_a_caller_waits_for_the_judgement_after_the_running_one_not_for_a_quiet_moment(
    store: Store,
) -> None:
    # under steady ingest the runner keeps judging once more; a waiting caller returns as
    # soon as the judgement that began after its request has ended
    record(store, *order_chain())
    done = threading.Event()

    def steady() -> None:
        while not done.is_set():
            judge_after_ingest(store, what="POST", wait=False)

    with store.writing(JUDGE_LOCK):
        runner = threading.Thread(target=judge_after_ingest, args=(store,))
        runner.start()
        _until(lambda: store.engine.pool.checkedout() >= 2)
        noise = threading.Thread(target=steady)
        noise.start()
        waited: list[float] = []
        caller = threading.Thread(
            target=lambda: (judge_after_ingest(store), waited.append(time.monotonic()))
        )
        caller.start()
    caller.join(30)
    done.set()
    noise.join(30)
    runner.join(30)
    assert waited and not caller.is_alive()
    assert up_to_date(store)


def test_a_judgement_in_the_background_leaves_the_caller_free_and_catches_up(
    store: Store,
) -> None:
    # lineage serve: the request's thread (and its keep-alive connection) serves on at once
    record(store, *order_chain(bi_value="61.00"))
    with store.writing(JUDGE_LOCK):  # the verdict cannot be stored yet
        started = time.monotonic()
        judge_in_background(store, what="POST")
        judge_in_background(store, what="POST")  # asks the running one for one more
        assert time.monotonic() - started < 1.0
        assert not up_to_date(store)
    _until(lambda: up_to_date(store))
    assert "conflicting-truth" in [f.code for f in read_findings(store).findings]
