"""Reading the stored findings: what ``lineage scan``, the API, the findings page and the
digest answer from, instead of running the detectors again.

Waivers apply when reading (a waiver added or expired takes effect at once, without a
judgement): a live waiver's findings are left out, and ``expired-waiver`` and
``unused-waiver`` findings are judged against the stored open findings, by today's date.
A read first catches up when the store holds events no judgement has read yet (an ingest
whose judgement failed, or events written without one), so a reader never sees stale state.

>>> from lineage.store import open_store
>>> read_findings(open_store("sqlite://")).findings
[]
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field

from ..detect.run import RUNTIME_CODES, UNOWNED, Filters, finding_order
from ..model.findings import Finding, Severity
from ..model.registry import Waiver
from ..moment import now_us
from ..registry.waivers import judge_waivers
from ..rules import Judged
from ..rules import judged as judged_moment
from ..store import Connection, Store
from ..store.detection.scope import stored_watermark
from ..store.findings import (
    STATES,
    Selection,
    any_open,
    count_waived,
    open_at_places,
    open_on,
    select_findings,
    tally,
)
from ..store.schema import from_us
from .state import judge_after_ingest, up_to_date
from .stored import to_finding

__all__ = [
    "STATES",
    "StateReport",
    "open_counts_by_code",
    "open_findings_at",
    "open_findings_on",
    "read_findings",
]


@dataclass(slots=True)
class StateReport:
    """Stored findings as read: one page (or all), after waivers and filters.

    Attributes:
        findings: the findings of the page, errors first, then by code and place; each
            carries ``state``, ``first_seen``, ``last_seen``, ``resolved_at``,
            ``resolved_by`` and ``occurrence``.
        total: how many findings the filters keep, over all pages.
        summary: those per severity.
        codes: the stored findings the filters keep per code (without the ``expired-waiver``
            and ``unused-waiver`` findings judged when reading).
        waived: how many findings live waivers leave out (with the same filters).
        as_of: the store's clock at the last judgement (microseconds; 0 before any).
        offset: where the page starts.
        judged: the moment the findings were judged as of and why it (the store's clock at
            the last judgement, ``--as-of`` for a live judgement, the wall clock when empty).
    """

    findings: list[Finding] = field(default_factory=list)
    total: int = 0
    summary: dict[str, int] = field(default_factory=dict)
    codes: dict[str, int] = field(default_factory=dict)
    waived: int = 0
    as_of: int = 0
    offset: int = 0
    judged: Judged | None = None


def _selection(
    state: str, since: int | None, chosen: Filters, waivers: Iterable[Waiver]
) -> Selection:
    return Selection(
        state=state,
        since=since,
        systems=tuple(chosen.systems),
        elements=tuple(chosen.elements),
        integrations=tuple(chosen.integrations),
        codes=tuple(chosen.codes),
        owners=tuple(None if owner == UNOWNED else owner for owner in chosen.owners),
        waived=tuple((w.code, dict(w.subject)) for w in waivers),
    )


def read_findings(
    store: Store,
    *,
    state: str = "open",
    since: int | None = None,
    filters: Filters | None = None,
    limit: int | None = None,
    offset: int = 0,
    today: dt.date | None = None,
    waivers: bool = True,
) -> StateReport:
    """The stored findings, after waivers and ``filters``, sorted; one page when ``limit``.

    Args:
        store: the store to read.
        state: ``open`` (default), ``resolved`` or ``all``.
        since: only findings opened or resolved at or after this moment (microseconds
            since the epoch, compared with the store's clock they were judged at).
        filters: which findings to keep (systems, elements, integrations, owners, codes).
        limit: at most this many findings (None: all); ``offset`` skips the first ones.
            ``expired-waiver`` and ``unused-waiver`` findings (judged when reading) come
            on the first page.
        today: the date waivers' expiry is judged on (default: today).
        waivers: apply the registry's waivers (False: every stored finding the filters
            keep, waived or not, and no ``expired-waiver`` or ``unused-waiver``; what the
            audit counts, since a waiver does not undo a delivery that went wrong).

    Raises:
        ValueError: an unknown ``state``.
    """
    if state not in STATES:
        raise ValueError(f"unknown state {state!r}: use one of {', '.join(STATES)}")
    if not up_to_date(store):
        judge_after_ingest(store, what="reading the findings")
    chosen = filters or Filters()
    day = today or from_us(now_us()).date()
    with store.engine.connect() as conn:
        registry = store.registry(conn)
        judged = [w for w in registry.waivers if w.code in RUNTIME_CODES] if waivers else []
        live = [w for w in judged if not w.expired(day)]
        selection = _selection(state, since, chosen, live)
        extra: list[Finding] = []
        if state != "resolved" and since is None:  # judged now: neither opened nor resolved
            extra = [
                f for f in judge_waivers(judged, lambda w: _used(conn, w), day) if chosen.keep(f)
            ]
        counted = tally(conn, selection)
        sizes = _per(counted, 0)
        rows = select_findings(conn, selection, sizes, limit=limit, offset=offset)
        waived = count_waived(conn, selection)
        mark = stored_watermark(conn)
    found = [to_finding(row) for row in rows]
    if offset == 0:
        found = sorted([*found, *extra], key=finding_order)
    counts = dict(sizes)
    for finding in extra:
        counts[finding.severity.value] = counts.get(finding.severity.value, 0) + 1
    summary = {s.value: counts.get(s.value, 0) for s in Severity}
    return StateReport(
        findings=found,
        total=sum(summary.values()),
        summary=summary,
        codes=_per(counted, 1),
        waived=waived,
        as_of=(mark.clock or 0) if mark else 0,
        offset=offset,
        judged=judged_moment(None, mark.clock if mark else None, now_us()),
    )


def open_counts_by_code(store: Store) -> dict[str, int]:
    """How many open findings each code has, after waivers (the findings page's choices)."""
    day = from_us(now_us()).date()
    with store.reader.connect() as conn:
        registry = store.registry(conn)
        live = [w for w in registry.waivers if w.code in RUNTIME_CODES and not w.expired(day)]
        return _per(tally(conn, _selection("open", None, Filters(), live)), 1)


def _per(counted: dict[tuple[str, str], int], part: int) -> dict[str, int]:
    """Counts per (severity, code) summed per severity (``part`` 0) or per code (1)."""
    sums: dict[str, int] = {}
    for key, n in counted.items():
        sums[key[part]] = sums.get(key[part], 0) + n
    return sums


def _used(conn: Connection, waiver: Waiver) -> bool:
    return any_open(conn, waiver.code, dict(waiver.subject))


def open_findings_at(store: Store, places: Iterable[tuple[str, str, str]]) -> list[Finding]:
    """The open findings on any of ``places`` (system, element, record), unwaived.

    For the answers of trace, impact and golden: one indexed lookup per place
    (``ix_findings_place``), however large the store.
    """
    with store.reader.connect() as conn:
        rows = open_at_places(conn, places)
    return sorted((to_finding(row) for row in rows), key=finding_order)


def open_findings_on(
    store: Store,
    *,
    events: Iterable[str] = (),
    integrations: Iterable[str] = (),
    records: Iterable[tuple[str, str]] = (),
) -> list[Finding]:
    """The open findings on any of these hops or events, integrations, or business records
    (``(system, record)`` pairs, whatever the element), unwaived, sorted."""
    with store.reader.connect() as conn:
        rows = open_on(
            conn, events_=set(events), integrations=set(integrations), records=set(records)
        )
    return sorted((to_finding(row) for row in rows), key=finding_order)
