"""Running the detectors: one consistent read of the store, waivers, filters, order.

>>> from lineage.store import open_store
>>> scan(open_store("sqlite://"))
[]
"""

from __future__ import annotations

from collections.abc import Collection, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field

from ..model.findings import CODES, Finding
from ..moment import judged_now, now_us
from ..registry import apply_waivers
from ..rules import Judged
from ..store import Store
from ..store.detection import Connection
from ..store.detection.common import prepare, release
from ..store.schema import from_us
from ..verify import HopVerifier
from . import DETECTORS
from .base import Detector, ScanContext
from .scope import Scope, covers

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
    store: Store, as_of: int | None = None, *, scope: Scope | None = None
) -> Iterator[ScanContext]:
    """A :class:`ScanContext` on one connection, read in one snapshot where the backend can.

    On PostgreSQL the detectors share one ``REPEATABLE READ`` transaction, so events that
    arrive during the scan cannot make two detectors disagree.

    Args:
        store: the store to judge.
        as_of: the moment judged (default the store's clock).
        scope: judge only what changed (:func:`lineage.detect.scope.changes_since`); None
            judges the whole store.
    """
    registry = store.registry()
    with store.engine.connect() as conn:
        read: Connection = conn
        if store.dialect == "postgresql":
            read = conn.execution_options(isolation_level="REPEATABLE READ")
        with read.begin():
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
            # while the connection is fresh (plain cursors run DDL)
            if scope is None:
                prepare(read, moment)
            else:
                prepare(read, moment, places=scope.places, event_ids=scope.events)
            yield ctx
            # only on success: after an error the rollback takes the temporary tables along
            release(read)


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
    with scan_context(store, as_of) as ctx:
        found = list(detect(ctx, detectors))
        registry, moment, judged = ctx.registry, ctx.as_of, ctx.judged
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
