"""Running the detectors: one consistent read of the store, waivers, filters, order.

>>> from lineage.store import open_store
>>> scan(open_store("sqlite://"))
[]
"""

from __future__ import annotations

import os
from collections.abc import Collection, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor, wait
from contextlib import contextmanager
from dataclasses import dataclass, field

from ..model.findings import CODES, Finding
from ..model.registry import Registry
from ..moment import judged_now, now_us
from ..registry import apply_waivers
from ..rules import Judged
from ..store import Store
from ..store.counts import events_recorded_about
from ..store.database import begin_read
from ..store.detection import Connection
from ..store.detection.common import lane_cache, prepare, probe_planner, release
from ..store.detection.scope import Watermark, watermark_now
from ..store.schema import from_us
from ..store.snapshot import export_snapshot, import_snapshot
from ..verify import HopVerifier
from . import DETECTORS
from .base import Detector, ScanContext
from .scope import Scope, covers

APART = frozenset({"conflicting_truth"})
"""Detectors a full scan runs on a connection of their own, beside all the others, when the
store serves two readers at once: conflicting-truth is about half of a full scan's time
(benchmarks/scan.py at 1,000,000 events), so the two lanes take about as long each."""

SCOPED_APART = APART | {"competing_origin", "undeclared_integration"}
"""Detectors a scoped judgement runs in its second lane (see :data:`SCOPED_LANES_FROM`):
conflicting-truth, and two that ask the batch's keys by value. None of them reads the
scan's temporary tables (the scope's keys, the failed hops), so the lane makes none; the
first lane keeps those that do."""

LANES_FROM = 100_000
"""Events a store holds before a full scan takes a second lane: a smaller store is scanned
in about a second, less than the second connection would save, and a server judging many
small batches keeps its connections for the requests."""

SCOPED_LANES_FROM = 200
"""Events a scoped judgement names before it takes a second lane (PostgreSQL): then
:data:`SCOPED_APART` (conflicting-truth's walk from the batch's keys is a fifth of the
judgement) runs beside the other detectors; below, the second connection and snapshot cost
about what they save."""

LANES_VARIABLE = "LINEAGE_SCAN_LANES"
"""``1`` runs every detector of a scan on one connection, one after the other; ``2`` takes
the second lane whatever the store's (or a PostgreSQL scope's) size; unset: from
:data:`LANES_FROM` events (:data:`SCOPED_LANES_FROM` in a scope)."""

RUNTIME_CODES: frozenset[str] = frozenset(code for code, info in CODES.items() if info.runtime)
"""The codes ``lineage scan`` reports; waivers of other codes are left to ``lineage check``."""


@dataclass(frozen=True, slots=True)
class Filters:
    """Which findings to keep; an empty collection keeps everything on that axis.

    Attributes:
        systems: subject systems.
        elements: subject elements.
        integrations: subject integrations.
        owners: owners (``"(unowned)"`` matches findings without one).
        codes: finding codes.
    """

    systems: Collection[str] = ()
    elements: Collection[str] = ()
    integrations: Collection[str] = ()
    owners: Collection[str] = ()
    codes: Collection[str] = ()

    def keep(self, finding: Finding) -> bool:
        subject = finding.subject
        return (
            (not self.systems or subject.system in self.systems)
            and (not self.elements or subject.element in self.elements)
            and (not self.integrations or subject.integration in self.integrations)
            and (not self.owners or (finding.owner or UNOWNED) in self.owners)
            and (not self.codes or finding.code in self.codes)
        )


UNOWNED = "(unowned)"
"""How a finding without an owner is addressed (digest entries, ``--owner`` filters)."""


@dataclass(slots=True)
class ScanResult:
    """What a scan found: the findings still reported, and those waivers silenced.

    Attributes:
        findings: sorted; include ``expired-waiver`` and ``unused-waiver`` for runtime waivers.
        waived: the findings a live waiver silenced (after the same filters).
        as_of: the moment judged, in microseconds since the epoch.
        judged: that moment and why it (``--as-of``, the store's clock, the wall clock).
    """

    findings: list[Finding] = field(default_factory=list)
    waived: list[Finding] = field(default_factory=list)
    as_of: int = 0
    judged: Judged | None = None


@contextmanager
def scan_context(
    store: Store,
    as_of: int | None = None,
    *,
    scope: Scope | None = None,
    snapshot: str | None = None,
    tables: bool = True,
) -> Iterator[ScanContext]:
    """A :class:`ScanContext` on one connection, read in one snapshot where the backend can.

    On PostgreSQL the detectors share one ``REPEATABLE READ`` transaction, so events that
    arrive during the scan cannot make two detectors disagree.

    Args:
        store: the store to judge.
        as_of: the moment judged (default the store's clock).
        scope: judge only what changed (:func:`lineage.detect.scope.changes_since`); None
            judges the whole store.
        snapshot: read the snapshot another scan's connection exported (PostgreSQL:
            :func:`lineage.store.snapshot.export_snapshot`), so both read the same state.
        tables: create the scan's temporary tables (:func:`~lineage.store.detection.common.
            prepare`); False for a lane whose detectors read none (the planner is set as for
            the scope all the same).
    """
    registry = store.registry()
    with store.engine.connect() as conn:
        read: Connection = conn
        if store.dialect == "postgresql":
            read = conn.execution_options(isolation_level="REPEATABLE READ")
        with read.begin():
            if snapshot is not None:
                import_snapshot(read, snapshot)
            begin_read(read)  # SQLite: every detector reads one state
            judged = judged_now(read, as_of)
            moment = judged.at
            ctx = ScanContext(
                store=store,
                registry=registry,
                as_of=moment,
                conn=read,
                verifier=HopVerifier(registry),
                scope=scope,
                judged=judged,
            )
            if not tables:
                if scope is not None:
                    probe_planner(read)
                yield ctx
                return
            # while the connection is fresh (plain cursors run DDL)
            if scope is None:
                prepare(read, moment)
            else:
                prepare(read, moment, places=scope.places, event_ids=scope.events)
            yield ctx
            # only on success: after an error the rollback takes the temporary tables along
            release(read, shrink=scope is None)


@dataclass(frozen=True, slots=True)
class Detected:
    """What a run of the detectors found, and the registry and moment it judged by."""

    findings: list[Finding]
    registry: Registry
    as_of: int
    judged: Judged | None


def run_detectors(
    store: Store,
    as_of: int | None = None,
    *,
    scope: Scope | None = None,
    detectors: Sequence[Detector] | None = None,
) -> Detected:
    """:func:`detect` in one consistent read of the store (see :func:`scan_context`).

    A full scan of a store of :data:`LANES_FROM` events or more that serves two readers at
    once (PostgreSQL, an SQLite file) runs the detectors of :data:`APART` on a second
    connection, in a thread, beside the others:
    the databases do most of the work with Python's lock released, so the two lanes take a
    core each. On PostgreSQL the second connection reads the first one's exported snapshot,
    and a scoped judgement of :data:`SCOPED_LANES_FROM` events or more takes the second lane
    too (for :data:`SCOPED_APART`). The findings are the same as one lane's (the order is
    the caller's to set).
    """
    chosen = list(DETECTORS if detectors is None else detectors)
    lane = APART if scope is None else SCOPED_APART
    apart = [d for d in chosen if d.__name__ in lane]
    rest = [d for d in chosen if d.__name__ not in lane]
    with scan_context(store, as_of, scope=scope) as ctx:
        if not apart or not rest or not _two_lanes(store, ctx.conn, scope):
            return Detected(list(detect(ctx, chosen)), ctx.registry, ctx.as_of, ctx.judged)
        snapshot = export_snapshot(ctx.conn)
        # SQLite shares no snapshot: the second lane checks that it reads what the first does
        state = watermark_now(ctx.conn) if snapshot is None else None
        with ThreadPoolExecutor(1, thread_name_prefix="lineage-scan") as pool:
            other = pool.submit(_lane, store, ctx.as_of, snapshot, apart, scope, state=state)
            try:
                found = list(detect(ctx, rest))
            finally:
                wait([other])  # the snapshot must outlive the other lane's transaction
            theirs = other.result()
            # a commit came between the two lanes' first reads: the first lane judges those
            # detectors' share too, in its own state (one scan never reads two states)
            found += list(detect(ctx, apart)) if theirs is None else theirs
        return Detected(found, ctx.registry, ctx.as_of, ctx.judged)


def _lane(
    store: Store,
    as_of: int,
    snapshot: str | None,
    detectors: Sequence[Detector],
    scope: Scope | None,
    *,
    state: Watermark | None = None,
) -> list[Finding] | None:
    """The second lane's findings; None when ``state`` (the first lane's watermark, SQLite)
    is not what this lane reads: a writer committed between the two lanes' first reads
    (SQLite's connections each read the state of their own first read). Every commit that
    changes what a detector reads adds an event, a hop status, an OpenLineage event or a
    registry version, so the same watermark is the same state."""
    # a scoped lane's detectors (SCOPED_APART) read no temporary table: none is made for them
    context = scan_context(store, as_of, snapshot=snapshot, scope=scope, tables=scope is None)
    with context as ctx, lane_cache(ctx.conn):
        if state is not None and watermark_now(ctx.conn) != state:
            return None
        return list(detect(ctx, detectors))


def _two_lanes(store: Store, conn: Connection, scope: Scope | None) -> bool:
    """Whether a scan takes a second lane: the store serves two connections at once, each
    reading the same database (not an in-memory SQLite store: each connection would have its
    own), and it holds :data:`LANES_FROM` events, or (a scoped judgement, on PostgreSQL: the
    lanes read one exported snapshot) the scope names :data:`SCOPED_LANES_FROM` events; or
    ``LINEAGE_SCAN_LANES`` says."""
    asked = os.environ.get(LANES_VARIABLE, "").strip()
    if asked == "1" or not store.reads_beside:
        return False
    if scope is not None:
        # SQLite's lanes would begin their reads apart, and a scoped judgement reads beside
        # the writers: the two could read two states
        if store.dialect != "postgresql":
            return False
        return asked == "2" or len(scope.events) >= SCOPED_LANES_FROM
    return asked == "2" or events_recorded_about(conn) >= LANES_FROM


def detect(ctx: ScanContext, detectors: Sequence[Detector] | None = None) -> Iterator[Finding]:
    """Every finding of ``detectors`` (default: all registered), unwaived, unsorted.

    With ``ctx.scope`` set, only the findings it covers (:func:`lineage.detect.scope.covers`):
    exactly those a full run would report that the scope covers.
    """
    scope = ctx.scope
    if scope is not None and scope.empty:
        return
    for detector in DETECTORS if detectors is None else detectors:
        for finding in detector(ctx):
            if scope is None or covers(scope, finding):
                yield finding


def scan_report(
    store: Store,
    *,
    as_of: int | None = None,
    filters: Filters | None = None,
    detectors: Sequence[Detector] | None = None,
) -> ScanResult:
    """Run the detectors, apply the registry's waivers, then ``filters``; sort.

    Waivers are judged before filtering (so a filter cannot make a waiver look unused) and
    as of today (the date of ``as_of`` when given). Only waivers of runtime codes are judged
    here: an expired one is an ``expired-waiver`` finding, one that silences nothing an
    ``unused-waiver``.

    Args:
        store: the store to scan.
        as_of: judge the store as it was at this moment (microseconds since the epoch;
            events after it are ignored); default the store's clock (the time of the
            latest event recorded; now for an empty store).
        filters: which findings to report.
        detectors: run only these (default: every detector in :data:`DETECTORS`).
    """
    chosen = filters or Filters()
    detected = run_detectors(store, as_of, detectors=detectors)
    found, registry, moment, judged = (
        detected.findings,
        detected.registry,
        detected.as_of,
        detected.judged,
    )
    # a waiver is a person's promise on the calendar: its expiry is judged by today's date
    # (or the date asked for), not by the store's clock
    today = from_us(now_us() if as_of is None else moment).date()
    kept, waived = apply_waivers(found, registry.waivers, today, codes=RUNTIME_CODES)
    return ScanResult(
        findings=sorted((f for f in kept if chosen.keep(f)), key=finding_order),
        waived=[f for f in waived if chosen.keep(f)],
        as_of=moment,
        judged=judged,
    )


def scan(
    store: Store,
    *,
    as_of: int | None = None,
    systems: Collection[str] = (),
    elements: Collection[str] = (),
    owners: Collection[str] = (),
    codes: Collection[str] = (),
) -> list[Finding]:
    """Every runtime finding in ``store`` (CONTRACT.md §3-4), after waivers and filters, sorted.

    Args:
        store: the store to scan.
        as_of: microseconds since the epoch; events after it are ignored and a hop still
            ``sent`` past its integration's timeout at that moment is lost. Default the
            store's clock (the time of the latest event recorded).
        systems, elements, owners, codes: keep only findings with these (empty: all).

    Returns:
        Findings sorted errors first, then by code and place.
    """
    filters = Filters(systems=systems, elements=elements, owners=owners, codes=codes)
    return scan_report(store, as_of=as_of, filters=filters).findings


def finding_order(finding: Finding) -> tuple[int, str, str, str, str, str, str]:
    """Errors first, then by code, place and message: a stable order for reports."""
    subject = finding.subject
    return (
        finding.severity.rank,
        finding.code,
        subject.system or "",
        subject.element or "",
        subject.record or "",
        subject.integration or "",
        finding.message,
    )
