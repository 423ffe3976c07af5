"""What a judgement must look at again: the scope of incremental detection.

A :class:`Scope` names what changed since the last judgement (its watermark in
``detection_state``): the places new events wrote or read, the hops whose status changed or
whose delivery timeout the store clock passed, the integrations and routes new hops
travelled, the OpenLineage jobs that ran. :func:`changes_since` computes it from the store
with statements whose cost grows with the batch, not with the store; it answers None when
everything must be judged again (no judgement yet, or another registry in force).

:func:`covers` says, without I/O, whether a finding is one the scope may have changed. The
contract (docs/CONTRACT.md, the scope contract) that ``tests/test_detect_scope.py`` holds
every detector to: the findings of a run with ``ScanContext.scope = S`` are exactly the
findings of a full run that ``covers(S, f)``, message and evidence included; and a finding
the scope does not cover is unchanged by the batch. Grouped findings (counts, samples) are
covered by their group key and recomputed whole for that group.

Example:
    >>> from lineage.store import open_store
    >>> store = open_store("sqlite://")
    >>> with store.engine.connect() as conn:
    ...     changes_since(store, conn=conn) is None  # nothing judged yet: judge everything
    True
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from ..model.findings import Finding
from ..model.registry import Registry
from ..rules import timeout_us
from ..store import Store
from ..store.detection import Connection
from ..store.detection.scope import (
    Touched,
    Watermark,
    events_by_id,
    jobs_touched,
    maybe_timed_out,
    new_events,
    status_changed,
    stored_watermark,
    watermark_now,
)
from ..store.findings import KeyMatch, Touching

__all__ = [
    "Place",
    "Scope",
    "Watermark",
    "changes_since",
    "covers",
    "step_toward",
    "touching",
    "watermark_now",
]

Place = tuple[str, str, str]
"""``(system, element, record)``."""

#: A batch of at least this many new events and status changes ...
FULL_FROM = 10_000
#: ... that is more than this share of the store's events is judged in full: a scoped
#: judgement costs about ten times as much an event of the batch as a full one an event of
#: the store. Measured at 1,000,000 events on SQLite, a 201,381-event batch: scoped 13.3 s,
#: full 7.2 s (the same findings; ``benchmarks/big_batch.py``).
FULL_SHARE = 0.1
#: A scoped judgement of more new events and status changes than this is made in **steps**
#: of about this many (:func:`step_toward`), each judged and stored, watermark included,
#: before the next one is read: the scope, the detectors' rows and the verdict of a step are
#: what a judgement holds in memory (about 1.3 kB an event of the step), whatever the size
#: of the batch. Measured at 1,000,000 events on SQLite, a 1,006,905-event batch judged
#: scoped: 1,664 MB peak in one step, 260 MB in steps of 50,000 (a full judgement: 285 MB).
STEP = 50_000

Route = tuple[str | None, str, str]
"""``(source system, target system, element)`` of a hop that named no integration."""


@dataclass(frozen=True, slots=True)
class Scope:
    """What changed between two watermarks, as keys the detectors and :func:`covers` use.

    Attributes:
        since: the watermark of the last judgement.
        until: the watermark this scope reaches (store it once judged).
        places: places new events wrote or read, and those of hops whose status changed or
            whose timeout ran out.
        events: new events, hops whose status changed, hops newly past their timeout.
        integrations: integration names new hops travelled on.
        routes: ``(source, target, element)`` of new hops that travelled on none.
        jobs: OpenLineage jobs (``namespace/name``) with new events.
        overdue: the places of ``places`` there only because a hop there (written or read)
            timed out. A timeout makes a hop lost and changes nothing a golden value or a
            copy's verdict depends on (a lost hop still left its value), so these give
            ``conflicting-truth`` no keys: a clock jump that times out a thousand hops does
            not judge their business records again.
        systems: every system of ``places``; elements: every element of ``places``;
        pairs: every ``(system, element)`` of ``places``.
        records: every ``(system, record)`` of ``places`` but ``overdue`` (a record's key,
            any element).

    The derived key sets are built once, with the scope: :func:`covers` asks them of every
    stored finding a judgement reconciles.
    """

    since: Watermark
    until: Watermark
    places: frozenset[Place] = frozenset()
    events: frozenset[str] = frozenset()
    integrations: frozenset[str] = frozenset()
    routes: frozenset[Route] = frozenset()
    jobs: frozenset[str] = frozenset()
    overdue: frozenset[Place] = frozenset()
    systems: frozenset[str] = field(default=frozenset(), init=False)
    elements: frozenset[str] = field(default=frozenset(), init=False)
    pairs: frozenset[tuple[str, str]] = field(default=frozenset(), init=False)
    records: frozenset[tuple[str, str]] = field(default=frozenset(), init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "systems", frozenset(s for s, _, _ in self.places))
        object.__setattr__(self, "elements", frozenset(e for _, e, _ in self.places))
        object.__setattr__(self, "pairs", frozenset((s, e) for s, e, _ in self.places))
        records = frozenset((s, r) for s, e, r in self.places if (s, e, r) not in self.overdue)
        object.__setattr__(self, "records", records)

    @property
    def empty(self) -> bool:
        """Nothing changed: a scoped judgement finds nothing to look at."""
        return not (self.places or self.events or self.jobs)


def changes_since(
    store: Store,
    *,
    conn: Connection | None = None,
    since: Watermark | None = None,
    until: Watermark | None = None,
    registry: Registry | None = None,
    stepped: bool = False,
) -> Scope | None:
    """What changed after ``since`` up to ``until``, or None when everything must be judged.

    Args:
        store: the store.
        conn: read on this connection (the one the judgement runs on, so both see one
            snapshot); default a connection of its own.
        since: the last judgement's watermark; default the one stored in
            ``detection_state``.
        until: how far to look; default the store now (:func:`watermark_now`).
        registry: the registry in force (default read from the store).
        stepped: look only as far as the first step toward ``until`` (:func:`step_toward`):
            the scope's ``until`` is then short of it when the changes are more than
            :data:`STEP`; judge again from there. Whether to judge everything is still
            decided on all of them.

    Returns:
        None when there was no judgement yet, the registry in force changed in what the
        detectors read (a change of waivers alone, or of where declarations stand in their
        files, changes no judgement), the store had no clock then (nothing recorded), or
        the batch is big beside the store (:data:`FULL_FROM`, :data:`FULL_SHARE`): judge
        everything. Else the :class:`Scope`.
    """
    if conn is None:
        with store.engine.connect() as own:
            return changes_since(
                store, conn=own, since=since, until=until, registry=registry, stepped=stepped
            )
    last = since if since is not None else stored_watermark(conn)
    upto = until if until is not None else watermark_now(conn)
    if last is None or last.clock is None or upto.clock is None:
        return None
    if upto.clock < last.clock or _big(last, upto):
        return None
    if last.registry_version != upto.registry_version:
        judged_under = store.registry_version(conn, last.registry_version)
        in_force = store.registry_version(conn, upto.registry_version)  # read last: cached
        if _judging(judged_under) != _judging(in_force):
            return None
    else:
        in_force = registry if registry is not None else store.registry(conn)
    if stepped:
        upto = step_toward(last, upto)
    clock = upto.clock if upto.clock is not None else last.clock  # a step keeps a clock
    places: set[Place] = set()
    events: set[str] = set()
    integrations: set[str] = set()
    routes: set[Route] = set()
    for row in new_events(conn, last, upto):
        _add(row, places, events)
        if row.kind == "hop":
            if row.integration:
                integrations.add(row.integration)
            else:
                routes.add((row.source, row.system, row.element))
    for row in status_changed(conn, last, upto):
        _add(row, places, events)
    touched = set(places)
    # a hop newly lost: its places too, so that what the judgement asks of them (what its
    # input's place held) is read with the same rule as the batch's places
    for row in events_by_id(conn, _timed_out(conn, in_force, last.clock, clock)):
        _add(row, places, events)
    return Scope(
        since=last,
        until=upto,
        places=frozenset(places),
        events=frozenset(events),
        integrations=frozenset(integrations),
        routes=frozenset(routes),
        jobs=frozenset(jobs_touched(conn, last, upto)),
        overdue=frozenset(places - touched),
    )


def _big(last: Watermark, upto: Watermark) -> bool:
    """Whether the changes between the watermarks (by sequence numbers: about their count)
    are many beside the store's events (about the last event's sequence number)."""
    changes = (upto.events_seq - last.events_seq) + (upto.status_seq - last.status_seq)
    return changes >= FULL_FROM and changes > FULL_SHARE * upto.events_seq


def step_toward(since: Watermark, until: Watermark) -> Watermark:
    """``until``, or, when more than :data:`STEP` new events and status changes lie between
    the watermarks, a watermark part of the way: about :data:`STEP` of them further on.

    A step takes the next events by sequence number, then the next status changes; the
    changes the clock makes (statuses dated into its step, delivery timeouts it passes,
    OpenLineage jobs) stay for the last step, so a step short of ``until`` keeps the clock
    of ``since``. Judged one after the other from ``since``, the steps cover the scope from
    ``since`` to ``until`` exactly: each change falls in one of them, and the detectors read
    the store as it is, whichever step names a place.
    """
    events = until.events_seq - since.events_seq
    statuses = until.status_seq - since.status_seq
    if events + statuses <= STEP:
        return until
    events_step = min(events, STEP)
    return Watermark(
        events_seq=since.events_seq + events_step,
        status_seq=since.status_seq + min(statuses, STEP - events_step),
        openlineage_seq=since.openlineage_seq,
        clock=since.clock,
        registry_version=until.registry_version,
    )


def _judging(registry: Registry) -> object:
    """What of a registry the detectors read: everything but its waivers (applied to their
    findings afterwards), the files it was read from and where each declaration stood in
    them. Two registries alike in this judge every event alike."""

    def strip(node: object) -> object:
        if isinstance(node, dict):
            return {k: strip(v) for k, v in node.items() if k != "location"}
        if isinstance(node, list):
            return [strip(v) for v in node]
        return node

    return strip(registry.model_dump(mode="json", exclude={"waivers", "files"}))


def _add(row: Touched, places: set[Place], events: set[str]) -> None:
    events.add(row.event_id)
    places.add((row.system, row.element, row.record))
    if row.in_system is not None and row.in_element is not None and row.in_record is not None:
        places.add((row.in_system, row.in_element, row.in_record))


def _timed_out(conn: Connection, registry: Registry, since_clock: int, clock: int) -> set[str]:
    """Hops whose timeout ran out at a moment in ``(since_clock, clock]``: lost now (when
    still ``sent``), not lost when last judged (see :func:`lineage.rules.overdue_us`)."""
    if clock <= since_clock:
        return set()
    timeouts = [timeout_us(registry, None)]
    timeouts += [timeout_us(registry, i.name) for i in registry.integrations]
    shortest, longest = min(timeouts), max(timeouts)
    found: set[str] = set()
    for event_id, at, integration in maybe_timed_out(conn, since_clock, clock, shortest, longest):
        due = at + timeout_us(registry, integration)
        # overdue at a moment m means m - at - timeout > 0, i.e. m > due
        if since_clock <= due < clock:
            found.add(event_id)
    return found


def covers(scope: Scope, finding: Finding) -> bool:
    """Whether ``finding`` is one that what ``scope`` names may have made, changed or undone.

    Pure: it reads the finding's code, subject and evidence only. Codes no detector
    reports (waivers) are never covered.
    """
    judge = _COVERS.get(finding.code)
    return judge is not None and judge(scope, finding)


def _place(finding: Finding) -> Place | None:
    s = finding.subject
    if s.system is None or s.element is None or s.record is None:
        return None
    return (s.system, s.element, s.record)


def _at_place(scope: Scope, finding: Finding) -> bool:
    return _place(finding) in scope.places


def _hop(scope: Scope, finding: Finding) -> bool:
    return finding.subject.event in scope.events


def _job(scope: Scope, finding: Finding) -> bool:
    return finding.evidence.get("job") in scope.jobs


def _evidence_place(value: object) -> Place | None:
    if not isinstance(value, dict):
        return None
    parts = (value.get("system"), value.get("element"), value.get("record"))
    if not all(isinstance(p, str) for p in parts):
        return None
    return (str(parts[0]), str(parts[1]), str(parts[2]))


def _competing_origin(scope: Scope, finding: Finding) -> bool:
    return (finding.subject.system, finding.subject.element) in scope.pairs


def _broken_chain(scope: Scope, finding: Finding) -> bool:
    # the hop itself, or what its input's place held (a late event there changes it)
    return _hop(scope, finding) or _evidence_place(finding.evidence.get("input")) in scope.places


def _undeclared(scope: Scope, finding: Finding) -> bool:
    if "job" in finding.evidence:
        return _job(scope, finding)
    name = finding.subject.integration
    if name is not None:
        return name in scope.integrations
    sources = finding.evidence.get("sources") or ["?"]
    source = None if sources[0] == "?" else sources[0]
    route = (source, finding.subject.system or "", finding.subject.element or "")
    return route in scope.routes


def _delivery(scope: Scope, finding: Finding) -> bool:
    return _job(scope, finding) if "job" in finding.evidence else _hop(scope, finding)


def _duplicate(scope: Scope, finding: Finding) -> bool:
    return _evidence_place(finding.evidence.get("source")) in scope.places


def _unknown_system(scope: Scope, finding: Finding) -> bool:
    return finding.subject.system in scope.systems


def _unknown_element(scope: Scope, finding: Finding) -> bool:
    return finding.subject.element in scope.elements


def _conflicting_truth(scope: Scope, finding: Finding) -> bool:
    # the copy's key or its golden value's key (lineage.detect.conflicting_truth.covers)
    from .conflicting_truth import covers as truth_covers  # noqa: PLC0415 - it imports us

    return truth_covers(scope, finding)


_COVERS = {
    "competing-origin": _competing_origin,
    "untraced-value": _at_place,
    "unexplained-transformation": _hop,
    "undeclared-integration": _undeclared,
    "broken-chain": _broken_chain,
    "failed-delivery": _delivery,
    "lost-delivery": _hop,
    "duplicate-delivery": _duplicate,
    "rule-violation": _at_place,
    "unknown-system": _unknown_system,
    "unknown-element": _unknown_element,
    "conflicting-truth": _conflicting_truth,
}


def touching(scope: Scope) -> Touching:
    """The keys under which the stored open findings ``scope`` may cover are looked up.

    Every open finding :func:`covers` is true of is among those
    :func:`lineage.store.findings.open_rows_touching` reads with them (a judgement of a batch
    reads those, not every open finding); what this reads more, ``covers`` leaves out. Kept
    beside ``_COVERS``: a code's rule there and its keys here change together.
    """
    targets = {(target, element) for _source, target, element in scope.routes}
    jobs = {(job,) for job in scope.jobs}
    return Touching(
        places=scope.places,
        events=scope.events,
        matches=(
            KeyMatch("competing-origin", ("system", "element"), scope.pairs),
            # every finding of a batch's integrations would be too many: only this code's
            KeyMatch(
                "undeclared-integration", ("integration",), {(i,) for i in scope.integrations}
            ),
            KeyMatch("undeclared-integration", ("system", "element"), targets),
            KeyMatch("undeclared-integration", ("$.job",), jobs),
            KeyMatch("failed-delivery", ("$.job",), jobs),
            KeyMatch(
                "broken-chain",
                ("$.input.system", "$.input.element", "$.input.record"),
                scope.places,
            ),
            KeyMatch(
                "duplicate-delivery",
                ("$.source.system", "$.source.element", "$.source.record"),
                scope.places,
            ),
            KeyMatch("unknown-system", ("system",), {(s,) for s in scope.systems}),
            KeyMatch("unknown-element", ("element",), {(e,) for e in scope.elements}),
            KeyMatch("conflicting-truth", ("system", "record"), scope.records),
            KeyMatch("conflicting-truth", ("$.system_of_record", "$.golden_record"), scope.records),
        ),
    )


def covered(scope: Scope | None, findings: Iterable[Finding]) -> Iterable[Finding]:
    """``findings`` that ``scope`` covers (all of them for None: the whole store)."""
    if scope is None:
        return findings
    return (f for f in findings if covers(scope, f))
