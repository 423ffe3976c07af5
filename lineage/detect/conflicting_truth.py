"""``conflicting-truth``: a copy's current value is not what the golden value yields, or (a
copy upstream of the system of record) does not yield the golden value there.

The declared graph decides first (:func:`lineage.declared.declared_graph`, built once
per registry version): which systems are comparable with each element's system of record,
and in which direction. Places nothing declared joins to the system of record are never
candidates and never walked from (``lineage golden`` calls them ``unknown``, with why).

Then set-based: one streamed window-function query
(:func:`lineage.store.conflicts.conflict_candidates`) picks the copies whose current value
*may* disagree (downstream: edited in place, observed different, arrived through a hop that
did not verify or whose source has changed since; upstream: not forwarded unchanged towards
the system of record). Each batch of candidates is judged by the same
:class:`lineage.golden.Judge` that answers ``lineage golden``, with its lookups batched (one
recursive statement links the batch's record keys, one fetches the golden values), and so
is whatever a wrong copy stands for: what its value fed downstream (a stale BI copy feeds a
stale portal copy through hops that are themselves fine) and, upstream of the system of
record, the places that fed it (they yield the same value there). A copy that was stale and
has been refreshed since is current and agrees: it is no candidate and no finding.

Memory is bounded by a batch and by the set of places already judged (the suspicious ones),
never by the size of the store.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from ..declared import declared_graph
from ..golden import Copy, Judge
from ..model.findings import Finding
from ..rules import conflicting_truth_message
from ..store.conflicts import (
    Closure,
    conflict_candidates,
    fed_closure,
    linked_candidates,
)
from ..store.queries import EventRow
from .base import ScanContext
from .scope import Scope

CODE = "conflicting-truth"

BATCH = 1000
"""Candidates judged together: one walk of what they stand for, a few batched lookups."""

_Place = tuple[str, str, str]
_SIDE = {"downstream": "down", "upstream": "up"}


def conflicting_truth(ctx: ScanContext) -> Iterator[Finding]:
    """Copies that are stale or divergent against their golden value, as of ``ctx.as_of``."""
    systems_of_record = {
        e.name: e.system_of_record for e in ctx.registry.merged_elements if e.system_of_record
    }
    graph = declared_graph(ctx.registry)
    comparable = graph.comparable()
    sides = [(element, system, _SIDE[side]) for element, system, side in comparable]
    if not sides:
        return
    upstream = [(element, system) for element, system, side in comparable if side == "upstream"]
    sides += [(element, system, "sor") for element, system in systems_of_record.items()]
    judge = Judge(ctx.conn, ctx.registry, ctx.as_of)
    judged: set[_Place] = set()
    if ctx.scope is not None:
        for chunk in _scope_candidates(ctx, ctx.scope, sides):
            yield from _judge_batch(ctx, judge, chunk, judged, systems_of_record, upstream)
        return
    batch: list[EventRow] = []
    for candidate in conflict_candidates(ctx.conn, sides, as_of=ctx.as_of):
        batch.append(candidate)
        if len(batch) >= BATCH:
            yield from _judge_batch(ctx, judge, batch, judged, systems_of_record, upstream)
            batch = []
    if batch:
        yield from _judge_batch(ctx, judge, batch, judged, systems_of_record, upstream)


def _judge_batch(  # noqa: PLR0917 - one batch of the scan and what it needs
    ctx: ScanContext,
    judge: Judge,
    batch: Sequence[EventRow],
    judged: set[_Place],
    systems_of_record: dict[str, str],
    upstream: Sequence[tuple[str, str]],
) -> Iterator[Finding]:
    """Judge a batch of candidates, then level by level what their wrong values stand for:
    the places they fed, and (upstream of the system of record) the places that fed them.

    What the wrong candidates can reach comes from one recursive statement
    (:func:`~lineage.store.conflicts.fed_closure`); the levels are walked in memory, going
    on only from the places found wrong. A candidate an earlier batch judged already is
    neither judged nor walked from again."""
    reach: Closure | None = None
    # (copy, golden event when known from the copy of the same record it is linked to)
    frontier: list[tuple[EventRow, EventRow | None]] = [(c, None) for c in batch]
    while frontier:
        fresh: list[tuple[EventRow, EventRow | None]] = []
        for place, golden in frontier:
            where = (place.system, place.element, place.record)
            if where not in judged:
                judged.add(where)
                fresh.append((place, golden))
        judge.prepare([place for place, golden in fresh if golden is None])
        wrong: list[tuple[EventRow, Copy]] = []
        for place, golden in fresh:
            copy = judge.judge_place(place, golden=golden)
            if copy is None or copy.status == "agrees":
                continue
            if copy.status in ("stale", "divergent"):
                yield finding(copy, systems_of_record[place.element])
            wrong.append((place, copy))
        if not wrong:
            return
        if reach is None:
            reach = fed_closure(ctx.conn, [place for place, _ in wrong], upstream, as_of=ctx.as_of)
        fed: list[tuple[EventRow, EventRow | None]] = []
        feeding: list[tuple[EventRow, EventRow | None]] = []
        for place, copy in wrong:
            where = (place.system, place.element, place.record)
            # a consumer of the same element is the same business record: same golden value
            fed += [
                (consumer, copy.golden_event if consumer.element == place.element else None)
                for consumer in reach.fed.get(where, ())
            ]
            if copy.direction == "upstream" and place.kind == "hop":
                feeding += [
                    (supplier, copy.golden_event)
                    for supplier in reach.fed_by.get(where, ())
                    if supplier.element == place.element
                ]
        frontier = fed + feeding


def _scope_candidates(
    ctx: ScanContext, scope: Scope, sides: Sequence[tuple[str, str, str]]
) -> Iterator[Sequence[EventRow]]:
    """Incremental: the candidates among the copies a change in ``scope`` can have moved, in
    batches, judged then as a full scan judges its own (with what they stand for).

    A copy's verdict depends on its own value and on the golden value (and the earlier
    ones) at the key of the system of record it is linked to; :func:`covers` therefore
    covers a finding when the scope touched the copy's key or that golden key. The copies
    that can have moved are the places at every key the touched keys are joined to by hops;
    of those, the ones :func:`~lineage.store.conflicts.conflict_candidates` would pick (one
    recursive statement with the same predicate:
    :func:`~lineage.store.conflicts.linked_candidates`). A copy left out agrees unless what
    it came from (or fed) is wrong, which judging the candidates follows, as in the full
    scan. Judging every linked copy whole cost 0.17 ms an event of a batch (most of a
    batch's judgement), though most arrive by verified hops and agree."""
    chosen = linked_candidates(ctx.conn, sorted(scope.records), sides, as_of=ctx.as_of)
    for start in range(0, len(chosen), BATCH):
        yield chosen[start : start + BATCH]


def covers(scope: Scope, found: Finding) -> bool:
    """Whether a ``conflicting-truth`` finding is one ``scope`` may have changed: the scope
    touched (any element at) the copy's key or the key holding its golden value. Pure."""
    evidence = found.evidence
    golden = (evidence.get("system_of_record"), evidence.get("golden_record"))
    return (found.subject.system, found.subject.record) in scope.records or golden in scope.records


def finding(copy: Copy, system_of_record: str) -> Finding:
    """The ``conflicting-truth`` finding for a stale or divergent copy."""
    where = f"{system_of_record} {copy.golden_record}" if copy.golden_record else system_of_record
    message = conflicting_truth_message(
        (copy.system, copy.record, copy.element),
        copy.value,
        status=copy.status,
        direction=copy.direction,
        where=where,
        path=copy.path or (),
        golden=copy.golden_value,
        expected=copy.expected,
        yields=copy.yields,
        earlier=copy.earlier_golden,
    )
    return Finding.of(
        CODE,
        message,
        owner=copy.owner,
        evidence={
            "status": copy.status,
            "golden_value": copy.golden_value,
            "golden_record": copy.golden_record,
            "value": copy.value,
            "expected": copy.expected,
            "system_of_record": system_of_record,
            "earlier_golden_value": copy.earlier_golden,
            "path": [str(step) for step in copy.path or ()],
            "direction": copy.direction,
            "yields": copy.yields,
        },
        element=copy.element,
        system=copy.system,
        record=copy.record,
        event=copy.event,
        integration=copy.integration,
    )
