"""Hop statuses arriving out of event-time order (issue 11, item 1), from the steward's side.

Retried requests reorder a hop's statuses: ``sent`` < ``delivered`` | ``failed``, decided by
event time, not by arrival (``lineage.rules.status_key``). For one hop, every arrival order
of its statuses, in one ingest or in two, must leave every answer with the verdict the rules
core gives for the statuses recorded: ``lineage scan`` (failed-, lost-delivery and
conflicting-truth, whose copies are the live hops'), ``trace``, ``golden``, ``audit`` and
``health``.
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
from typing import Any

import pytest
import scan_world
from click.testing import CliRunner
from scan_world import at, hop, load, record, us, write
from sqlalchemy import text

from lineage import rules
from lineage.cli import main
from lineage.detect.run import scan
from lineage.errors import NotFoundError
from lineage.golden import golden
from lineage.impact import impact
from lineage.store import Store
from lineage.store.records import hop_statuses_at
from lineage.store.writer import Writer
from lineage.trace import trace

#: Judged a day later: past erp-to-bi's 2h timeout, so a hop left `sent` would be lost.
LATER = "2026-11-21T09:00:00Z"


def _h9(minutes: float, status: str) -> dict[str, Any]:
    """Hop h-9 on erp-to-bi delivering '70.00' (not the '60.00' the golden value yields, so
    the copy is divergent while the hop is live)."""
    extra = {"error": "BI rejected it"} if status == "failed" else {}
    return hop(
        "h-9",
        "erp-to-bi",
        minutes,
        [("ERP", "order.total", "40017", "50.00")],
        ("BI", "order.total", "R-9", "70.00"),
        status=status,
        **extra,
    )


#: (status, minute) in arrival order.
ORDERS = {
    "sent-then-delivered": [("sent", 10), ("delivered", 20)],
    "delivered-then-sent": [("delivered", 20), ("sent", 10)],
    "failed-then-later-delivered": [("failed", 10), ("delivered", 20)],
    "delivered-then-earlier-failed": [("delivered", 20), ("failed", 10)],
    "delivered-then-later-failed": [("delivered", 10), ("failed", 20)],
    "failed-then-earlier-delivered": [("failed", 20), ("delivered", 10)],
}


#: What the rules core says each order ends as (spelled out, so a change there shows here).
VERDICT = {
    "sent-then-delivered": "delivered",
    "delivered-then-sent": "delivered",
    "failed-then-later-delivered": "delivered",
    "delivered-then-earlier-failed": "delivered",
    "delivered-then-later-failed": "failed",
    "failed-then-earlier-delivered": "failed",
}


def _verdict(arrivals: list[tuple[str, int]]) -> str:
    history = [(status, us(minutes), seq) for seq, (status, minutes) in enumerate(arrivals)]
    found = rules.current_status(history)
    assert found is not None
    return found[0]


def _ingest(store: Store, arrivals: list[tuple[str, int]], batches: str) -> None:
    load(store)
    record(store, write("ERP", "order.total", "40017", "50.00", 0))
    events = [_h9(minutes, status) for status, minutes in arrivals]
    if batches == "one ingest":
        record(store, *events)
    else:
        for event in events:
            record(store, event)


def _json(runner: CliRunner, store: Store, *args: str) -> tuple[int, Any]:
    url = store.engine.url.render_as_string(hide_password=False)
    result = runner.invoke(main, [*args, "--as-of", LATER, "--db", url], catch_exceptions=False)
    assert result.exit_code in (0, 1), result.output
    return result.exit_code, json.loads(result.stdout)


@pytest.mark.parametrize("batches", ["one ingest", "two ingests"])
@pytest.mark.parametrize("order", list(ORDERS))
def test_every_answer_gives_the_rules_verdict_whatever_the_arrival_order(
    runner: CliRunner, store: Store, order: str, batches: str
) -> None:
    arrivals = ORDERS[order]
    verdict = _verdict(arrivals)
    assert verdict == VERDICT[order]
    live = rules.is_live(verdict)
    _ingest(store, arrivals, batches)

    # lineage scan: a failed hop is a failed-delivery (its error the reason), never lost; a
    # live one left its divergent value in BI, which conflicting-truth reports
    _, scan = _json(runner, store, "scan", "--format", "json")
    codes = sorted(f["code"] for f in scan["findings"] if f["subject"].get("event") == "h-9")
    if live:
        assert codes == ["conflicting-truth", "unexplained-transformation"]
    else:
        assert codes == ["failed-delivery"]
        (failed,) = [f for f in scan["findings"] if f["code"] == "failed-delivery"]
        assert failed["evidence"]["error"] == "BI rejected it"

    # lineage trace of BI's value: the hop's '70.00' while it is live; nothing otherwise
    url = store.engine.url.render_as_string(hide_password=False)
    traced = runner.invoke(
        main, ["trace", "BI", "order.total", "R-9", "--format", "json", "--as-of", LATER,
               "--db", url],
    )  # fmt: skip
    if live:
        assert traced.exit_code in (0, 1), traced.output
        answer = json.loads(traced.stdout)
        assert answer["subject"]["value"] == "70.00"
        assert [n["event"] for n in answer["nodes"] if n["kind"] == "hop"] == ["h-9"]
        assert "conflicting-truth" in {f["code"] for f in answer["findings"]}
    else:
        assert traced.exit_code == 2
        assert "no value recorded" in traced.output

    # lineage golden: BI's copy (divergent) only while the hop is live
    _, golden = _json(runner, store, "golden", "ERP", "40017", "--format", "json")
    (total,) = [e for e in golden["elements"] if e["element"] == "order.total"]
    copies = [(c["system"], c["status"]) for c in total["copies"]]
    assert copies == ([("BI", "divergent")] if live else [])

    # lineage audit: erp-to-bi delivers only if its one hop ended delivered
    _, audit = _json(runner, store, "audit", "--format", "json")
    (row,) = [r for r in audit["integrations"] if r["integration"] == "erp-to-bi"]
    assert (row["answers"]["deliveries"] == "yes") is live

    # lineage health: the hop's final status counted, nothing lost
    _, health = _json(runner, store, "health", "--format", "json", "--days", "2")
    (group,) = [g for g in health["groups"] if g["name"] == "erp-to-bi"]
    day = group["days"][0]
    assert day["day"] == "2026-11-20"
    assert day[verdict] == 1
    assert day["lost"] == 0


# -- as of a moment between the two statuses ----------------------------------------------
#
# A hop's time is the earliest status time the store has heard of, and the status it arrived
# with keeps its own time: as of a moment between the two event times the earlier status
# holds, whichever arrived first. (An earlier final status arriving late is kept as history,
# so health counts it on its own day, as when it arrives first.)


@pytest.mark.parametrize("batches", ["one ingest", "two ingests"])
@pytest.mark.parametrize("order", list(ORDERS))
def test_as_of_a_moment_between_the_statuses_the_earlier_one_holds(
    runner: CliRunner, store: Store, order: str, batches: str
) -> None:
    arrivals = ORDERS[order]
    history = [(status, us(minutes), seq) for seq, (status, minutes) in enumerate(arrivals)]
    found = rules.current_status(history, as_of=us(15))
    assert found is not None
    verdict = found[0]  # the status at :10, whichever arrived first
    _ingest(store, arrivals, batches)
    url = store.engine.url.render_as_string(hide_password=False)
    scan = runner.invoke(
        main, ["scan", "--format", "json", "--as-of", at(15), "--db", url],
        catch_exceptions=False,
    )  # fmt: skip
    codes = {f["code"] for f in json.loads(scan.stdout)["findings"]}
    assert ("failed-delivery" in codes) is (verdict == "failed")
    assert "lost-delivery" not in codes  # within erp-to-bi's 2h
    traced = runner.invoke(
        main, ["trace", "BI", "order.total", "R-9", "--format", "json", "--as-of", at(15),
               "--db", url],
    )  # fmt: skip
    if rules.is_live(verdict):
        assert traced.exit_code in (0, 1), traced.output
        assert json.loads(traced.stdout)["subject"]["value"] == "70.00"
    else:
        assert traced.exit_code == 2
        assert "no value recorded" in traced.output


def test_an_earlier_failure_arriving_after_the_delivery_still_counts_that_day(
    runner: CliRunner, store: Store
) -> None:
    _ingest(store, ORDERS["delivered-then-earlier-failed"], "two ingests")
    _, health = _json(runner, store, "health", "--format", "json", "--days", "2")
    (group,) = [g for g in health["groups"] if g["name"] == "erp-to-bi"]
    # as the same statuses arriving in event-time order count (failed-then-later-delivered)
    assert (group["days"][0]["delivered"], group["days"][0]["failed"]) == (1, 1)


# -- every arrival order of three statuses, at every moment --------------------------------

#: Three statuses of h-9 in event-time order; every permutation is an arrival order. The
#: second set ties two final statuses at one moment (the later arrival wins).
THREE = {
    "failed-then-delivered": [("sent", 10), ("failed", 20), ("delivered", 30)],
    "delivered-then-failed": [("sent", 10), ("delivered", 20), ("failed", 30)],
    "tied-finals": [("sent", 10), ("delivered", 20), ("failed", 20)],
}
ARRIVALS = [
    pytest.param(name, list(order), id=f"{name}:{'-'.join(s[0] for s in order)}")
    for name, statuses in THREE.items()
    for order in itertools.permutations(statuses)
]
#: Before the hop, in flight, after each status, and a day later.
MOMENTS = (5, 15, 25, 35, 24 * 60)
#: erp-to-bi's timeout here: a hop in flight at :15 is lost by then.
SHORT = dt.timedelta(minutes=3)


def _short_timeout() -> Any:
    reg = scan_world.registry()
    return reg.model_copy(
        update={
            "integrations": tuple(
                i.model_copy(update={"timeout": SHORT}) if i.name == "erp-to-bi" else i
                for i in reg.integrations
            )
        }
    )


@pytest.mark.parametrize(("name", "arrivals"), ARRIVALS)
def test_every_arrival_order_of_three_statuses_answers_as_the_rules_at_every_moment(
    store: Store, name: str, arrivals: list[tuple[str, int]]
) -> None:
    load(store, _short_timeout())
    record(store, write("ERP", "order.total", "40017", "50.00", 0))
    for status, minutes in arrivals:  # one ingest each: the store learns them in this order
        record(store, _h9(minutes, status))
    history = [(status, us(minutes), seq) for seq, (status, minutes) in enumerate(arrivals)]
    timeout = int(SHORT.total_seconds()) * 1_000_000
    for minutes in MOMENTS:
        moment = us(minutes)
        found = rules.current_status(history, as_of=moment)
        status = None if found is None else found[0]
        live = status is not None and rules.is_live(status)
        lost = status is not None and rules.overdue_us(status, us(10), timeout, moment) > 0
        said = f"{name} {arrivals} as of :{minutes}: the rules say {status}"

        codes = {f.code for f in scan(store, as_of=moment) if f.subject.event == "h-9"}
        assert ("failed-delivery" in codes) is (status == "failed"), said
        assert ("lost-delivery" in codes) is lost, said
        assert ("conflicting-truth" in codes) is live, said

        if live:
            traced = trace(store, "BI", "order.total", "R-9", as_of=moment).to_json()
            assert traced["subject"]["value"] == "70.00", said
        else:
            with pytest.raises(NotFoundError):
                trace(store, "BI", "order.total", "R-9", as_of=moment)

        downstream = impact(store, "ERP", "order.total", "40017", as_of=moment).to_json()
        hops = {n.get("event") for n in downstream["nodes"] if n["kind"] == "hop"}
        assert ("h-9" in hops) is live, said

        record_json = golden(store, "ERP", "40017", as_of=moment).to_json()
        (total,) = [e for e in record_json["elements"] if e["element"] == "order.total"]
        assert [c["system"] for c in total["copies"]] == (["BI"] if live else []), said

        with store.engine.connect() as conn:
            exported = hop_statuses_at(conn, ["h-9"], moment)
        assert exported == {"h-9": status or "sent"}, said


def test_a_hop_stored_with_no_status_is_delivered_for_the_writer_and_every_answer(
    store: Store,
) -> None:
    _ingest(store, [("delivered", 10)], "one ingest")
    with store.engine.begin() as conn:  # as a store written before statuses were required
        conn.execute(text("UPDATE events SET status = NULL WHERE event_id = 'h-9'"))
    later = us(24 * 60)
    assert not {f.code for f in scan(store, as_of=later)} & {"lost-delivery", "failed-delivery"}
    assert trace(store, "BI", "order.total", "R-9").to_json()["subject"]["value"] == "70.00"
    with Writer(store) as writer:  # the same delivery again: nothing new
        writer.add_data(_h9(10, "delivered"))
    assert (writer.result.duplicate, writer.result.rejected_count) == (1, 0)
    with Writer(store) as writer:  # its sent, late: it was delivered already
        writer.add_data(_h9(10, "sent"))
    assert (writer.result.duplicate, writer.result.rejected_count) == (1, 0)
    record(store, _h9(30, "failed"))
    assert "failed-delivery" in {f.code for f in scan(store, as_of=later)}
