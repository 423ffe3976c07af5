"""Copies upstream of the system of record: judged by what their value yields there.

A 20-hop chain Sys0 -> Sys1 -> ... -> Sys20 carries order.total (every third carry doubles
it); the system of record is Sys10, in the middle. ``R<i>`` is the order's key in Sys<i>.
"""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

from click.testing import CliRunner
from flask.testing import FlaskClient
from golden_scenarios import hop, load, write
from sqlalchemy import event as sqlalchemy_event

from lineage.cli import main
from lineage.detect import ScanContext
from lineage.detect.conflicting_truth import conflicting_truth
from lineage.detect.run import detect, scan_context
from lineage.detect.scope import changes_since, watermark_now
from lineage.golden import golden
from lineage.model.registry import Carry, Element, Integration, Registry, System
from lineage.store import Store
from lineage.store.schema import to_us
from lineage.verify import HopVerifier

CHAIN = 20
SOR = 10
TOTAL = "order.total"


def _transform(step: int) -> str:
    return "multiply(2)" if step % 3 == 0 else "round(2)"


def _carry(value: str, step: int) -> str:
    number = Decimal(value) * 2 if step % 3 == 0 else Decimal(value)
    return f"{number.quantize(Decimal('0.01'))}"


def chain_registry(sor: int = SOR) -> Registry:
    systems = (
        *(System(name=f"Sys{i}", owner=f"team{i}@example.com") for i in range(CHAIN + 1)),
        System(name="Side", owner="side@example.com"),
    )
    element = Element(
        name=TOTAL,
        system_of_origin="Sys0",
        system_of_record=f"Sys{sor}",
        owner="controller@example.com",
        type="decimal",
    )
    integrations = tuple(
        Integration(
            name=f"sys{i}-to-sys{i + 1}",
            source=f"Sys{i}",
            target=f"Sys{i + 1}",
            owner=f"team{i}@example.com",
            carries=(Carry(element=TOTAL, transform=_transform(i)),),
        )
        for i in range(CHAIN)
    )
    return Registry(systems=systems, elements=(element,), integrations=integrations)


def chain_events(origin: str = "10.00", *, start: int = 0) -> tuple[list[dict[str, Any]], str]:
    """The order written in Sys0 and carried hop by hop to Sys20; (events, Sys10's value)."""
    events = [write("Sys0", TOTAL, "R0", origin, start, f"w-{start}")]
    value = origin
    held = {0: origin}
    for step in range(CHAIN):
        after = _carry(value, step)
        events.append(
            hop(
                f"h{step}-{start}",
                f"sys{step}-to-sys{step + 1}",
                (f"Sys{step}", TOTAL, f"R{step}", value),
                (f"Sys{step + 1}", TOTAL, f"R{step + 1}", after),
                start + step + 1,
            )
        )
        value = after
        held[step + 1] = value
    return events, held[SOR]


def yields_at_sor(value: str, system: int) -> str:
    for step in range(system, SOR):
        value = _carry(value, step)
    return value


def scan(store: Store) -> dict[tuple[str | None, str | None], dict[str, Any]]:
    registry = store.registry()
    moment = to_us(dt.datetime(2030, 1, 1, tzinfo=dt.UTC))
    with store.engine.connect() as conn, conn.begin():
        ctx = ScanContext(store, registry, moment, conn, HopVerifier(registry))
        return {
            (f.subject.system, f.subject.record): {**f.evidence, "message": f.message}
            for f in conflicting_truth(ctx)
        }


def copies(store: Store, system: str = "Sys10", record: str = "R10") -> dict[str, Any]:
    record_json = golden(store, system, record).to_json()
    (element,) = record_json["elements"]
    return {c["system"]: c for c in element["copies"]}


def test_upstream_copies_carried_to_the_system_of_record_agree(store: Store) -> None:
    events, truth = chain_events()
    load(store, events, chain_registry())
    found = copies(store, "Sys0", "R0")  # asked from the origin: the same answer
    assert len(found) == CHAIN
    assert {c["status"] for c in found.values()} == {"agrees"}
    origin = found["Sys0"]
    assert origin["direction"] == "upstream"
    assert origin["yields"] == truth == yields_at_sor("10.00", 0)
    assert origin["expected"] is None  # transforms do not run backwards
    assert found["Sys15"]["direction"] == "downstream"
    assert scan(store) == {}


def test_new_value_written_upstream_is_divergent_with_the_value_it_would_yield(
    store: Store,
) -> None:
    events, truth = chain_events()
    events.append(write("Sys5", TOTAL, "R5", "12.34", 60, "w-sys5"))
    load(store, events, chain_registry())
    sys5 = copies(store)["Sys5"]
    assert sys5["status"] == "divergent"
    assert sys5["yields"] == yields_at_sor("12.34", 5) != truth
    assert "yields" in sys5["reason"] and truth in sys5["reason"]
    # every other copy still agrees: the new value has gone nowhere yet
    assert {s for s, c in copies(store).items() if c["status"] != "agrees"} == {"Sys5"}
    found = scan(store)
    assert set(found) == {("Sys5", "R5")}
    assert found[("Sys5", "R5")]["status"] == "divergent"
    assert found[("Sys5", "R5")]["yields"] == sys5["yields"]
    assert "upstream of the system of record" in found[("Sys5", "R5")]["message"]


def test_system_of_record_changed_leaves_every_copy_up_and_down_stale(store: Store) -> None:
    events, truth = chain_events()
    events.append(write("Sys10", TOTAL, "R10", "999.00", 60, "w-sor"))
    load(store, events, chain_registry())
    found = copies(store)
    assert {c["status"] for c in found.values()} == {"stale"}
    sys3 = found["Sys3"]
    assert sys3["yields"] == truth  # what the earlier golden value came from
    assert "earlier golden value" in sys3["reason"]
    # the scan reports each of them, upstream (Sys0..Sys9) and downstream (Sys11..Sys20)
    reported = scan(store)
    assert set(reported) == {(f"Sys{i}", f"R{i}") for i in range(CHAIN + 1) if i != SOR}
    assert {e["status"] for e in reported.values()} == {"stale"}


def test_scan_walks_a_wrong_value_down_and_up_the_chain_in_a_few_statements(
    store: Store,
) -> None:
    # the truth changed in Sys10: all 20 copies are stale, 10 levels up and 10 down
    events, _truth = chain_events()
    events.append(write("Sys10", TOTAL, "R10", "999.00", 60, "w-sor"))
    load(store, events, chain_registry())
    statements: list[str] = []

    def count(*args: Any) -> None:
        statements.append(args[2])

    sqlalchemy_event.listen(store.engine, "before_cursor_execute", count)
    try:
        reported = scan(store)
    finally:
        sqlalchemy_event.remove(store.engine, "before_cursor_execute", count)
    assert len(reported) == CHAIN
    # one recursive statement finds what the wrong copies reach, whatever the levels
    assert sum("RECURSIVE" in s and "way" in s for s in statements) == 1
    assert len(statements) < CHAIN, statements  # one a level each way would be 30 and more


def test_incremental_judgement_rejudges_the_copies_of_the_golden_record_a_batch_changed(
    store: Store,
) -> None:
    events, _truth = chain_events()
    other, _ = chain_events("20.00", start=100)  # a second order on the same chain
    other = [_rekeyed(event) for event in other]
    other.append(write("Sys14", TOTAL, "Q14", "1.00", 150, "w-q14"))  # divergent, known
    load(store, events + other, chain_registry())
    with store.engine.connect() as conn:
        since = watermark_now(conn)
    # the truth of the first order changes in Sys10: every copy of it is stale now
    load(store, [write("Sys10", TOTAL, "R10", "999.00", 160, "w-sor")], chain_registry())
    scope = changes_since(store, since=since)
    assert scope is not None and scope.places == {("Sys10", TOTAL, "R10")}
    with scan_context(store, scope=scope) as ctx:
        scoped = list(detect(ctx, [conflicting_truth]))
    with scan_context(store) as ctx:
        full = list(detect(ctx, [conflicting_truth]))
    # the first order's copies, judged again; the second order's divergent copy is not (it
    # did not change, and a full scan still reports it)
    assert {(f.subject.system, f.subject.record) for f in scoped} == {
        (f"Sys{i}", f"R{i}") for i in range(CHAIN + 1) if i != SOR
    }
    assert ("Sys14", "Q14") in {(f.subject.system, f.subject.record) for f in full}
    assert sorted(f.model_dump_json() for f in scoped) == sorted(
        f.model_dump_json() for f in full if f.subject.record != "Q14"
    )
    # a judgement of nothing new judges nothing
    with scan_context(store, scope=changes_since(store, since=scope.until)) as ctx:
        assert list(detect(ctx, [conflicting_truth])) == []


def _rekeyed(event: dict[str, Any]) -> dict[str, Any]:
    """The event about order ``R<i>`` as one about order ``Q<i>``."""
    return json.loads(json.dumps(event).replace('"R', '"Q'))


def test_scan_and_golden_tell_the_same_verdict_of_every_copy(store: Store) -> None:
    events, _truth = chain_events()
    events += [
        write("Sys5", TOTAL, "R5", "12.34", 60, "w-sys5"),
        write("Sys14", TOTAL, "R14", "1.00", 61, "w-sys14"),
    ]
    load(store, events, chain_registry())
    judged = {
        (system, copy["record"]): copy["status"]
        for system, copy in copies(store).items()
        if copy["status"] in ("stale", "divergent")
    }
    assert judged == {("Sys5", "R5"): "divergent", ("Sys14", "R14"): "divergent"}
    assert {place: e["status"] for place, e in scan(store).items()} == judged


def test_a_place_no_declared_path_joins_is_unknown_and_says_so(store: Store) -> None:
    events, _truth = chain_events()
    events.append(
        hop(
            "h-side",
            None,  # travelled on nothing declared
            ("Sys3", TOTAL, "R3", "20.00"),
            ("Side", TOTAL, "S-1", "20.00"),
            40,
        )
    )
    load(store, events, chain_registry())
    side = copies(store)["Side"]
    assert side["status"] == "unknown"
    assert side["direction"] is None
    assert "no declared integration path" in side["reason"]
    assert "from Sys10 to Side or from Side to Sys10" in side["reason"]
    assert ("Side", "S-1") not in scan(store)


def test_system_of_record_at_the_tail_judges_the_whole_chain_upstream(store: Store) -> None:
    events, _truth = chain_events()
    events.append(write("Sys2", TOTAL, "R2", "7.00", 60, "w-sys2"))
    load(store, events, chain_registry(sor=CHAIN))
    found = copies(store, "Sys20", "R20")
    assert {c["direction"] for c in found.values()} == {"upstream"}
    assert {s for s, c in found.items() if c["status"] != "agrees"} == {"Sys2"}
    assert set(scan(store)) == {("Sys2", "R2")}


def test_golden_command_shows_what_an_upstream_copy_yields(
    store: Store, db_url: str, runner: CliRunner
) -> None:
    events, _truth = chain_events()
    events.append(write("Sys5", TOTAL, "R5", "12.34", 60, "w-sys5"))
    load(store, events, chain_registry())
    text = runner.invoke(main, ["golden", "Sys10", "R10", "--db", db_url])
    assert text.exit_code == 0, text.output
    line = next(x for x in text.output.splitlines() if "divergent  Sys5 " in x)
    assert "divergent" in line and f"yields {yields_at_sor('12.34', 5)} in Sys10" in line


def test_demo_golden_record_judges_the_shop_order_it_was_made_from(
    runner: CliRunner, tmp_path: Path
) -> None:
    db = f"sqlite:///{tmp_path / 'demo.db'}"
    assert runner.invoke(main, ["demo", "--no-serve", "--db", db]).exit_code == 0
    result = runner.invoke(main, ["golden", "ERP", "40022", "--db", db, "--format", "json"])
    assert result.exit_code == 0, result.output
    record = json.loads(result.stdout)
    total = next(e for e in record["elements"] if e["element"] == "order.total")
    shop = next(c for c in total["copies"] if c["system"] == "Shop")
    assert shop["status"] == "agrees"  # carried by shop-to-erp-orders round(2)
    assert shop["direction"] == "upstream"
    assert shop["yields"] == total["golden_value"]
    assert "no declared integration path" not in json.dumps(record)


def test_golden_page_and_api_show_what_an_upstream_copy_yields(
    store: Store, client: FlaskClient
) -> None:
    events, _truth = chain_events()
    events.append(write("Sys5", TOTAL, "R5", "12.34", 60, "w-sys5"))
    load(store, events, chain_registry())
    page = client.get("/golden?system=Sys10&record=R10")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    shown = yields_at_sor("12.34", 5)
    assert f'<small>yields</small> <code class="value">{shown}</code> <small>in Sys10' in html
    answer = client.get("/api/v1/golden?system=Sys10&record=R10").get_json()
    sys5 = next(c for c in answer["elements"][0]["copies"] if c["system"] == "Sys5")
    assert (sys5["status"], sys5["direction"], sys5["yields"]) == (
        "divergent",
        "upstream",
        yields_at_sor("12.34", 5),
    )
