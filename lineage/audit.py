"""The integration review, answered from the registry and the store: one row per integration.

Each declared integration gets six answers, ``yes``, ``partial`` or ``no``:

- ``owner``: a person is named.
- ``system_of_record``: every element it carries declares its system of record (``partial``
  when only some do; ``no`` when none do or it carries nothing).
- ``purpose``: it says why it exists.
- ``fallback``: it names what to do when it is down. Only foundation integrations must have
  one (``missing-fallback``), so any other integration without one is ``partial``: a gap, not
  a fault; a foundation integration without one is ``no``.
- ``audit_trail``: hops were recorded on it in the period: for every element it carries
  (``yes``), for some (``partial``), for none (``no``).
- ``deliveries``: of its hops (and runs of its OpenLineage jobs) in the period, none failed,
  were lost or duplicated (``yes``; a FAIL or ABORT run is a failed one),
  some (``partial``, with the rate in ``details``), all (``no``). No hop in the period is
  ``no``: nothing shows that it delivers, and ``details`` says so (never ``yes`` without
  evidence).

The bad deliveries are the ``failed-delivery``, ``lost-delivery`` and ``duplicate-delivery``
findings on the integration whose hop was sent in the period (a duplicate counts each
delivery past the first). At the store's clock they are the stored open findings, read
without running a detector (an unjudged store is caught up first, as
:func:`lineage.findings.read_findings` does); ``--as-of`` a past moment judges them live,
the stored state being "now". Either way the audit reports the deliveries as they happened:

- a waived finding still counts (a waiver silences the scan; the hop still failed);
- a failed or lost hop that a later event reports delivered (a retry that got through,
  late news) stops counting from that event's time on, exactly when its finding is
  resolved; asked ``--as-of`` a moment before it, it counts;
- an OpenLineage FAIL or ABORT run of a claimed job counts once, as a failed job run (its
  ``failed-delivery`` finding is not counted again).

The period ends at the store's clock, the time of the latest event recorded (CONTRACT.md §8),
unless a moment is given: the answer is the same whatever day it is asked, and says the
moment it judged as of.

An integration is in **debt** when more than two answers are not ``yes``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from .detect.deliveries import duplicate_delivery, failed_or_lost_delivery
from .detect.run import Filters, scan_context
from .findings import read_findings
from .interop.observed import runs_by_integration
from .model.findings import Finding
from .model.registry import Integration, Level, Registry
from .moment import judged_now
from .rules import Judged, duration_text, judged, judged_iso, judged_text
from .store import Store
from .store.counts import hops_by_integration
from .store.detection import Connection
from .store.schema import iso, to_us

DELIVERY_CODES = ("failed-delivery", "lost-delivery", "duplicate-delivery")
"""The findings that say a delivery went wrong."""

QUESTIONS = ("owner", "system_of_record", "purpose", "fallback", "audit_trail", "deliveries")
"""The answers of every row, in this order."""

DEFAULT_PERIOD = dt.timedelta(days=7)


@dataclass(slots=True)
class AuditRow:
    """One integration's answers.

    Attributes:
        integration: its name.
        owner: its declared owner, if any.
        level: foundation, operations, intelligence or experience, if declared.
        answers: question -> ``yes`` | ``partial`` | ``no``, in :data:`QUESTIONS` order.
        details: question -> why the answer is not ``yes`` (for people).
    """

    integration: str
    owner: str | None
    level: str | None
    answers: dict[str, str] = field(default_factory=dict)
    details: dict[str, str] = field(default_factory=dict)

    @property
    def debt(self) -> bool:
        """More than two answers are not ``yes``."""
        return sum(answer != "yes" for answer in self.answers.values()) > 2


@dataclass(slots=True)
class _Traffic:
    hops: int = 0
    elements: set[str] = field(default_factory=set)
    bad: int = 0
    runs: int = 0  # runs of its OpenLineage jobs
    failed_runs: int = 0


@dataclass(slots=True)
class AuditReport:
    """The rows of an audit, with the moment judged as of and the period looked back over.

    Attributes:
        rows: one per declared integration, in declaration order.
        as_of: the end of the period, microseconds since the epoch (the store's clock
            unless a moment was given).
        period: how far back the trail and the deliveries were judged.
        judged: the moment judged as of and why that one (``--as-of``, the store's clock),
            said in the words of every answer (:func:`lineage.rules.judged_text`).
    """

    rows: list[AuditRow]
    as_of: int
    period: dt.timedelta
    judged: Judged | None = None


def audit(
    store: Store, *, as_of: int | None = None, period: dt.timedelta = DEFAULT_PERIOD
) -> list[AuditRow]:
    """The rows of :func:`audit_report` (see there)."""
    return audit_report(store, as_of=as_of, period=period).rows


def audit_report(
    store: Store, *, as_of: int | None = None, period: dt.timedelta = DEFAULT_PERIOD
) -> AuditReport:
    """Answer the review questions for every declared integration, in declaration order.

    Args:
        store: the store (its registry, and its events for the trail and deliveries).
        as_of: judge as of this moment (microseconds since the epoch); default the store's
            clock (the time of the latest event recorded).
        period: how far back ``audit_trail`` and ``deliveries`` look from ``as_of``.
    """
    if as_of is not None:  # a past moment: the stored state is "now", so judge it live
        with scan_context(store, as_of) as ctx:
            registry, moment = ctx.registry, ctx.as_of
            said = judged(moment, None, moment)
            found = [*failed_or_lost_delivery(ctx), *duplicate_delivery(ctx)]
            traffic = _traffic(
                ctx.conn, registry, found, since=moment - _micros(period), until=moment
            )
    else:
        # the store's clock: the open delivery findings as stored, waived or not (a waiver
        # does not undo a delivery that went wrong); read_findings catches an unjudged
        # store up first
        stored = read_findings(store, filters=Filters(codes=DELIVERY_CODES), waivers=False)
        with store.reader.connect() as conn:
            registry = store.registry(conn)
            said = stored.judged or judged_now(conn, None)
            moment = said.at
            since = moment - _micros(period)
            traffic = _traffic(conn, registry, stored.findings, since=since, until=moment)
    rows = [_row(i, registry, traffic[i.name], period) for i in registry.integrations]
    return AuditReport(rows, moment, period, said)


def _traffic(
    conn: Connection,
    registry: Registry,
    found: Iterable[Finding],
    *,
    since: int,
    until: int,
) -> dict[str, _Traffic]:
    """Per declared integration: its hops and job runs in ``(since, until]``, and how many
    of them ``found`` (delivery findings) says went wrong."""
    traffic: dict[str, _Traffic] = {i.name: _Traffic() for i in registry.integrations}
    for row in hops_by_integration(conn, traffic, after=since, until=until):
        seen = traffic[row.integration]
        seen.hops += row.hops
        seen.elements.add(row.element)
    for finding in found:
        name = finding.subject.integration
        if name not in traffic or finding.code not in DELIVERY_CODES:
            continue
        evidence = finding.evidence
        if "run" in evidence:  # a FAIL or ABORT run: counted with the job runs below
            continue
        moment = evidence.get("sent_at") or evidence.get("last_at")
        if moment is not None and _us(moment) <= since:
            continue
        if finding.code == "duplicate-delivery":
            traffic[name].bad += max(1, len(evidence.get("targets", [])) - 1)
        else:
            traffic[name].bad += 1
    for name, (runs, failed) in runs_by_integration(
        conn, registry, since=since, until=until
    ).items():
        if name in traffic:
            traffic[name].runs, traffic[name].failed_runs = runs, failed
    return traffic


def _row(integ: Integration, registry: Registry, seen: _Traffic, period: dt.timedelta) -> AuditRow:
    row = AuditRow(integ.name, integ.owner, integ.level.value if integ.level else None)
    answers, details = row.answers, row.details
    answers["owner"] = "yes" if integ.owner else "no"
    if not integ.owner:
        details["owner"] = "no owner is declared"

    carried = [c.element for c in integ.carries]
    declared = [e for e in carried if (el := registry.element(e)) and el.system_of_record]
    answers["system_of_record"] = _share(len(declared), len(carried))
    if answers["system_of_record"] != "yes":
        missing = sorted(set(carried) - set(declared))
        details["system_of_record"] = (
            "it carries no element"
            if not carried
            else f"no system of record for {', '.join(missing)}"
        )

    answers["purpose"] = "yes" if integ.purpose else "no"
    if not integ.purpose:
        details["purpose"] = "no purpose is stated"

    if integ.fallback:
        answers["fallback"] = "yes"
    elif integ.level == Level.FOUNDATION:
        answers["fallback"] = "no"
        details["fallback"] = "a foundation integration with no fallback procedure"
    else:
        answers["fallback"] = "partial"
        details["fallback"] = "no fallback procedure (required for foundation only)"

    window = duration_text(_micros(period))
    recorded = [e for e in set(carried) if e in seen.elements]
    answers["audit_trail"] = _share(len(recorded), len(set(carried)))
    if answers["audit_trail"] != "yes":
        silent = sorted(set(carried) - set(recorded))
        details["audit_trail"] = (
            f"no hops recorded in the last {window}"
            if not recorded
            else f"no hops recorded in the last {window} for {', '.join(silent)}"
        )

    # a run of one of its OpenLineage jobs is a delivery too; FAIL and ABORT runs are bad ones
    done, bad = seen.hops + seen.runs, seen.bad + seen.failed_runs
    what = "hops" if not seen.runs else "hops and job runs" if seen.hops else "job runs"
    if done == 0:
        answers["deliveries"] = "no"
        details["deliveries"] = (
            f"no hops recorded in the last {window}"
            + (" and none of its OpenLineage jobs ran" if integ.openlineage_jobs else "")
            + ": nothing shows it delivers"
        )
    elif bad == 0:
        answers["deliveries"] = "yes"
    else:
        answers["deliveries"] = "no" if bad >= done else "partial"
        rate = 100.0 * bad / done
        details["deliveries"] = (
            f"{bad} of {done} {what} in the last {window} failed, were lost or "
            f"duplicated ({rate:.1f}%)"
        )
    return row


def _share(have: int, total: int) -> str:
    if total == 0 or have == 0:
        return "no"
    return "yes" if have == total else "partial"


def _micros(delta: dt.timedelta) -> int:
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def _us(text: str) -> int:
    return to_us(dt.datetime.fromisoformat(text.replace("Z", "+00:00")))


def audit_json(rows: Sequence[AuditRow], report: AuditReport | None = None) -> dict[str, Any]:
    """``{"integrations": [{"integration", "owner", "answers", "debt", ...}]}`` (CONTRACT.md §3-4).

    Each row also carries ``level`` and ``details`` (why an answer is not ``yes``); with the
    ``report``, the document says the moment judged (``as_of``) and ``period_seconds``.
    """
    judged: dict[str, Any] = {}
    if report is not None:
        judged = {
            "as_of": judged_iso(report.judged) if report.judged else iso(report.as_of),
            "period_seconds": int(report.period.total_seconds()),
        }
    return {
        **judged,
        "integrations": [
            {
                "integration": row.integration,
                "owner": row.owner,
                "level": row.level,
                "answers": dict(row.answers),
                "debt": row.debt,
                "details": dict(row.details),
            }
            for row in rows
        ],
    }


_HEADERS = (
    "integration",
    "owner",
    "owner?",
    "record",
    "purpose",
    "fallback",
    "trail",
    "deliveries",
    "debt",
)


def audit_text(rows: Sequence[AuditRow], report: AuditReport | None = None) -> str:
    """An aligned table, one row per integration, then why each answer is not ``yes``
    (and, with the ``report``, the moment judged as of)."""
    if not rows:
        return "lineage audit: no integrations are declared"
    cells = [list(_HEADERS)]
    for row in rows:
        cells.append(
            [
                row.integration,
                row.owner or "-",
                *(row.answers[q] for q in QUESTIONS),
                "DEBT" if row.debt else "",
            ]
        )
    widths = [max(len(line[i]) for line in cells) for i in range(len(_HEADERS))]
    lines = [
        "  ".join(c.ljust(w) for c, w in zip(line, widths, strict=True)).rstrip() for line in cells
    ]
    lines.insert(1, "  ".join("-" * w for w in widths))
    notes = [
        f"  {row.integration}: {q} {row.answers[q]}: {row.details[q]}"
        for row in rows
        for q in QUESTIONS
        if q in row.details
    ]
    debt = sum(row.debt for row in rows)
    lines.append("")
    judged = (
        f" (the last {duration_text(_micros(report.period))} to {iso(report.as_of)})"
        if report is not None
        else ""
    )
    lines.append(
        f"lineage audit: {len(rows)} integration{'s' if len(rows) != 1 else ''}, {debt} in debt"
        + judged
    )
    if notes:
        lines += ["", "why:", *notes]
    if report is not None and report.judged is not None:
        lines += ["", judged_text(report.judged)]
    return "\n".join(lines)
