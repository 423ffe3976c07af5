"""The scope contract of incremental detection (docs/CONTRACT.md, lineage/detect/scope.py).

Every case is recorded in batches, several ways; after each batch, with S the scope of what
the batch changed:

- a run scoped to S finds exactly the findings of a full run that S covers, message and
  evidence included (a steward sees the same finding whichever way it was judged);
- every finding S does not cover is the same before and after the batch (nothing the batch
  changed escapes the scope, so incremental detection cannot drift from a full scan);
- every stored open finding S covers is among those a judgement of the batch reads back
  (:func:`lineage.detect.scope.touching`): one it missed would stay open once untrue.

The cases: every runtime defect the detector tests plant, with late and out-of-order
arrivals, status changes and the store clock passing delivery timeouts; and the demo
company; OpenLineage jobs judged through the registry's mapping. On SQLite and PostgreSQL.
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pytest
from scan_world import at, clean_chain, hop, load, record, registry, snapshot, waiver, write
from test_detect_observed_flows import INTEGRATION, RUN, SYSTEMS, airflow_event
from test_detect_run import defects

from lineage.demo import demo_registry, events_file_text
from lineage.detect.run import detect, scan_context
from lineage.detect.scope import Scope, Watermark, changes_since, covers, touching, watermark_now
from lineage.findings import judge
from lineage.findings.stored import to_finding
from lineage.interop.observed import observe
from lineage.interop.openlineage import ingest_openlineage_data
from lineage.model.findings import Finding
from lineage.registry import load_registry
from lineage.store import Store
from lineage.store.findings import open_rows, open_rows_touching
from lineage.store.writer import ingest_lines


def _judge(store: Store, scope: Scope | None) -> list[Finding]:
    with scan_context(store, scope=scope) as ctx:
        return sorted(detect(ctx), key=lambda f: f.model_dump_json())


def _texts(findings: Sequence[Finding]) -> list[str]:
    return [f.model_dump_json() for f in findings]


def _now(store: Store) -> Watermark:
    with store.engine.connect() as conn:
        return watermark_now(conn)


def _in_batches(store: Store, batches: Sequence[Sequence[Any]], ingest: Callable[..., None]) -> int:
    """Record ``batches`` one after the other, checking the contract after each; how many
    scoped judgements were checked."""
    before: list[Finding] = []
    since: Watermark | None = None
    checked = 0
    for batch in batches:
        judge(store, full=True, webhook=False)  # the stored findings before the batch
        ingest(store, batch)
        until = _now(store)
        scope = changes_since(store, since=since, until=until) if since is not None else None
        full = _judge(store, None)
        if scope is not None:
            wanted = [f for f in full if covers(scope, f)]
            assert _texts(_judge(store, scope)) == _texts(wanted)
            kept_before = [f for f in before if not covers(scope, f)]
            kept_after = [f for f in full if not covers(scope, f)]
            assert _texts(kept_after) == _texts(kept_before), scope
            with store.engine.connect() as conn:
                read = {row.id for row in open_rows_touching(conn, touching(scope))}
                stored = [row for row in open_rows(conn) if covers(scope, to_finding(row))]
            assert [row for row in stored if row.id not in read] == []
            checked += 1
        before, since = full, until
    return checked


def _splits(items: Sequence[Any], seed: int, parts: int) -> list[list[Any]]:
    """``items`` cut at ``parts - 1`` random places (in order)."""
    cuts = sorted(random.Random(seed).sample(range(1, len(items)), parts - 1))
    bounds = [0, *cuts, len(items)]
    return [list(items[a:b]) for a, b in itertools.pairwise(bounds)]


def _bi(hop_id: str, minutes: float, source: str, target: str, **extra: Any) -> dict[str, Any]:
    """A hop on erp-to-bi of ERP order ``source`` (total 10.00, or 50.00 for 40017)."""
    value = "50.00" if source == "40017" else "10.00"
    output = ("BI", "order.total", target, "60.00" if source == "40017" else "12.00")
    return hop(hop_id, "erp-to-bi", minutes, [("ERP", "order.total", source, value)], output,
               **extra)  # fmt: skip


def _planted() -> list[dict[str, Any]]:
    """Every runtime defect, then what changes them: late events, statuses, the clock."""
    return [
        *clean_chain(),
        *defects(),
        # an earlier write arriving late at a hop's input place: the chain breaks
        write("ERP", "order.total", "40017", "51.00", 4),
        # the lost hop delivered after all; another sent, its source written after the fact
        _bi("h-24", 90, "40017", "R-24", status="delivered"),
        _bi("h-30", 40, "40018", "R-30", status="sent"),
        write("ERP", "order.total", "40018", "10.00", 39),
        # the rule violation fixed, the untraced snapshot explained by a later write before it
        write("ERP", "order.status", "40030", "open", 100),
        write("ERP", "order.total", "40018", "99", 29),
        # a second one-to-one delivery of the same source record, failed later
        _bi("h-31", 120, "40018", "R-31"),
        _bi("h-31", 125, "40018", "R-31", status="failed", error="rolled back"),
        # more undeclared hops of one group, an unnamed route, unknown names again
        hop(
            "h-32",
            "shadow",
            130,
            [("ERP", "order.total", "40018", "10.00")],
            ("CRM", "order.total", "X-2", "10.00"),
        ),
        hop(
            "h-33",
            None,
            131,
            [("WMS", "order.status", "P-1", "open")],
            ("CRM", "order.status", "X-3", "open"),
        ),
        snapshot("Nowhere", "order.total", "N-2", "2", 140),
        write("BI", "order.total", "R-40", "5", 150, actor="analyst"),
        # the clock moves on a day: every sent hop's timeout passes
        snapshot("BI", "order.total", "R-9", "60", 24 * 60),
    ]


def _record(store: Store, batch: Sequence[dict[str, Any]]) -> None:
    record(store, *batch)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_scoped_findings_are_the_full_runs_covered_ones_for_the_planted_cases(
    store: Store, seed: int
) -> None:
    load(store)
    events = _planted()
    if seed == 3:  # arrival order is not event order (retries, late batches)
        random.Random(seed).shuffle(events)
    assert _in_batches(store, _splits(events, seed, 6), _record) == 5


def test_scoped_findings_hold_event_by_event_for_the_planted_cases(store: Store) -> None:
    load(store)
    events = _planted()
    assert _in_batches(store, [[e] for e in events], _record) == len(events) - 1


def test_every_code_of_the_planted_cases_is_found_along_the_way(store: Store) -> None:
    load(store)
    record(store, *clean_chain(), *defects(), snapshot("BI", "order.total", "R-9", "60", 24 * 60))
    codes = {f.code for f in _judge(store, None)}
    assert {"lost-delivery", "duplicate-delivery", "unknown-system", "broken-chain"} <= codes


def _ingest_lines(store: Store, batch: Sequence[tuple[int, str]]) -> None:
    result = ingest_lines(store, (("events.jsonl", n, line) for n, line in batch))
    assert result.rejected_count == 0


@pytest.mark.parametrize("seed", [1, 2])
def test_scoped_findings_are_the_full_runs_covered_ones_on_the_demo(
    store: Store, seed: int
) -> None:
    store.save_registry(demo_registry())
    lines = list(enumerate(events_file_text().splitlines(), 1))
    assert _in_batches(store, _splits(lines, seed, 5), _ingest_lines) == 4


def test_a_scope_of_nothing_new_covers_nothing(store: Store) -> None:
    load(store)
    record(store, *clean_chain(), *defects())
    now = _now(store)
    scope = changes_since(store, since=now, until=now)
    assert scope is not None and scope.empty
    assert _judge(store, scope) == []
    assert not any(covers(scope, f) for f in _judge(store, None))


def test_everything_is_judged_before_the_first_judgement_or_after_a_registry_change(
    store: Store,
) -> None:
    load(store)
    record(store, *clean_chain())
    assert changes_since(store) is None  # nothing stored in detection_state yet
    before = _now(store)
    load(store, store.registry().model_copy(update={"waivers": ()}).model_copy())
    record(store, write("ERP", "order.status", "40040", "open", 200))
    changed = _now(store)
    assert changed.registry_version == before.registry_version  # the same document
    assert changes_since(store, since=before) is not None
    load(store, registry(integrations=registry().integrations[:1]))
    assert changes_since(store, since=before) is None


def test_a_hop_whose_timeout_the_clock_passes_is_in_the_scope(store: Store) -> None:
    load(store)
    record(store, *clean_chain(), hop("h-9", "erp-to-bi", 30,
           [("ERP", "order.total", "40017", "50.00")], ("BI", "order.total", "R-9", "60.00"),
           status="sent"))  # fmt: skip
    since = _now(store)
    record(store, write("ERP", "order.status", "40041", "open", 30 + 121))  # erp-to-bi: 2 h
    scope = changes_since(store, since=since)
    assert scope is not None and "h-9" in scope.events
    # a timeout changes no golden value and no copy's verdict: its business record is not
    # judged again for conflicting-truth (the contract tests above hold it to a full run)
    assert scope.overdue == {("BI", "order.total", "R-9"), ("ERP", "order.total", "40017")}
    assert ("BI", "R-9") not in scope.records and ("ERP", "40041") in scope.records
    (lost,) = [f for f in _judge(store, scope) if f.code == "lost-delivery"]
    assert lost.subject.event == "h-9"
    assert lost.evidence["due_at"] == at(30 + 120)


def test_a_new_registry_that_changes_only_waivers_rejudges_only_the_batch(store: Store) -> None:
    load(store)
    record(store, *clean_chain(), *defects())
    before = _now(store)
    full_before = _judge(store, None)
    load(store, registry(waivers=(waiver("competing-origin", "2027-03-31", system="BI"),)))
    record(store, write("ERP", "order.status", "40042", "lost", 200))
    scope = changes_since(store, since=before)
    assert (
        scope is not None
        and scope.events
        and scope.until.registry_version != (before.registry_version)
    )
    full = _judge(store, None)
    assert _texts(_judge(store, scope)) == _texts([f for f in full if covers(scope, f)])
    assert [f for f in full if not covers(scope, f)] == [
        f for f in full_before if not covers(scope, f)
    ]
    assert any(f.subject.record == "40042" for f in _judge(store, scope))


def _openlineage_events() -> list[dict[str, Any]]:
    """Jobs the mapping judges: a claimed job's runs (one failing, then one writing outside
    what its integration carries), an unclaimed job between two mapped systems (its namespace
    holding a ``/``), and a job in namespaces nothing maps."""
    outside = {"namespace": "postgres://erp-db:5432", "name": "public.credit"}
    unclaimed = airflow_event(5, "COMPLETE", minute=9)
    unclaimed["job"] = {"namespace": "dbt://analytics/prod", "name": "models.customers"}
    unmapped = airflow_event(6, "FAIL", minute=11)
    unmapped["job"] = {"namespace": "spark", "name": "nightly"}
    unmapped["inputs"] = [{"namespace": "s3://lake", "name": "raw"}]
    unmapped["outputs"] = [{"namespace": "s3://lake", "name": "clean"}]
    failing = {
        "errorMessage": {
            "_producer": "https://github.com/apache/airflow/tree/providers-openlineage/2.1.0",
            "_schemaURL": "https://openlineage.io/spec/facets/1-0-1/ErrorMessageRunFacet.json",
            "message": "relation public.customers is locked",
            "programmingLanguage": "python",
        }
    }
    return [
        airflow_event(1, "START", minute=1),
        airflow_event(1, "COMPLETE", minute=2),
        airflow_event(2, "START", minute=3),
        airflow_event(2, "FAIL", minute=4, run_facets=failing),
        unclaimed,
        airflow_event(3, "START", task="load_credit", minute=10, outputs=[outside]),
        unmapped,
        airflow_event(2, "COMPLETE", minute=12),  # the failed run retried and delivered
        airflow_event(4, "ABORT", task="load_credit", minute=13, outputs=[outside]),
    ]


def _ingest_openlineage(store: Store, batch: Sequence[dict[str, Any]]) -> None:
    result = ingest_openlineage_data(store, [("<test>", n, e) for n, e in enumerate(batch, 1)])
    assert result.rejected == []


@pytest.mark.parametrize(("seed", "clock"), [(1, 60), (2, 60), (3, 10)])
def test_scoped_findings_are_the_full_runs_covered_ones_for_openlineage_jobs(
    store: Store, tmp_path: Path, seed: int, clock: int
) -> None:
    (tmp_path / "registry.yaml").write_text(SYSTEMS + INTEGRATION)
    load(store, load_registry([tmp_path / "registry.yaml"]))
    # the store's clock: after every OpenLineage event (judged from the summaries) or
    # amid them (judged from the events up to then)
    record(store, write("CRM", "customer.address", "C-1", "1 Main St", clock))
    events = _openlineage_events()
    random.Random(seed).shuffle(events)
    assert _in_batches(store, _splits(events, seed, 4), _ingest_openlineage) == 3
    codes = {f.code for f in _judge(store, None)}
    assert {"undeclared-integration", "failed-delivery"} <= codes


def test_a_batch_judged_reads_only_the_jobs_it_ran(store: Store, tmp_path: Path) -> None:
    (tmp_path / "registry.yaml").write_text(SYSTEMS + INTEGRATION)
    load(store, load_registry([tmp_path / "registry.yaml"]))
    record(store, write("CRM", "customer.address", "C-1", "1 Main St", 60))
    _ingest_openlineage(store, _openlineage_events())
    since = _now(store)
    _ingest_openlineage(store, [airflow_event(7, "FAIL", minute=30)])
    scope = changes_since(store, since=since)
    assert scope is not None and scope.jobs == {"airflow/crm_sync.export_customers"}
    with scan_context(store, scope=scope) as ctx:
        seen = observe(ctx.conn, as_of=ctx.as_of, jobs=scope.jobs)
        judged = list(detect(ctx))
    assert list(seen.jobs) == ["airflow/crm_sync.export_customers"]
    assert [f.evidence["run"] for f in judged if f.code == "failed-delivery"] == [f"{RUN}7"]
