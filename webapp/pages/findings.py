"""``/findings``: the runtime scan, filterable by code, owner, system and element.

The scan runs once, unfiltered, so the form's choices list every owner and system with a
finding; the filters then keep what was asked for. Each finding links to the page that shows
it: its trace, its golden record, its element.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any

from flask import Blueprint, render_template, request, url_for
from werkzeug.exceptions import BadRequest

from lineage.detect.run import UNOWNED
from lineage.model.findings import Finding, summarize
from lineage.report import place

from ..api.openapi import operation
from ..charts import DAYS, findings_over_time
from ..queries import SCAN_CODES, FindingsQuery, read_query
from ..questions import ask_scan, filters, registry
from .common import page_errors
from .grouping import by_owner

bp = Blueprint("findings", __name__, template_folder="templates")
page_errors(bp)

GOLDEN_CODES = ("conflicting-truth", "failed-delivery", "lost-delivery", "duplicate-delivery")
"""Codes about a copy's agreement or a delivery, where the golden record tells the story."""
NO_TRACE = ("failed-delivery",)
"""Codes where the target place may hold nothing to trace (the value never arrived)."""


@dataclass(frozen=True, slots=True)
class Row:
    finding: Finding
    where: str
    links: list[tuple[str, str]]


def _record(finding: Finding) -> str | None:
    if finding.subject.record:
        return finding.subject.record
    records = finding.evidence.get("records")
    if isinstance(records, list) and records and isinstance(records[0], str):
        return records[0]
    return None


def links(finding: Finding, as_of: str | None = None) -> list[tuple[str, str]]:
    """Where to look at a finding: (label, URL) pairs, the most telling first."""
    subject = finding.subject
    record = _record(finding)
    moment: dict[str, Any] = {"as_of": as_of} if as_of else {}
    found: list[tuple[str, str]] = []
    if subject.system and subject.element and record and finding.code not in NO_TRACE:
        found.append(
            (
                "trace",
                url_for(
                    "steward.trace",
                    system=subject.system,
                    element=subject.element,
                    record=record,
                    **moment,
                ),
            )
        )
    if subject.system and subject.record and finding.code in GOLDEN_CODES:
        golden = url_for("steward.golden", system=subject.system, record=subject.record, **moment)
        found.insert(0 if finding.code == "conflicting-truth" else len(found), ("golden", golden))
    if subject.element:
        found.append(("element", url_for("pages.element", element=subject.element)))
    return found


def _asked() -> dict[str, Any]:
    return {k: v for k, v in request.args.items() if k in FindingsQuery.model_fields and v}


@bp.get("/findings")
@operation(
    "The findings page, filterable", query=FindingsQuery, response=str, media_type="text/html"
)
def index() -> tuple[str, int]:
    """The runtime findings, with the owner to talk to, filterable."""
    status = 200
    error: str | None = None
    findings: list[Finding] = []
    rows: list[Row] = []
    query: FindingsQuery | None = None
    try:
        query = read_query(FindingsQuery)
    except BadRequest as exc:
        error, status = exc.description, 400
    if query is not None:
        findings = ask_scan(query).findings
        keep = filters(query)
        as_of = request.args.get("as_of", "").strip() or None
        rows = [Row(f, place(f), links(f, as_of)) for f in findings if keep.keep(f)]
    declared = registry()
    owners = {f.owner or UNOWNED for f in findings}
    systems = {s.name for s in declared.systems} | {
        f.subject.system for f in findings if f.subject.system
    }
    context: dict[str, Any] = {
        "form": {name: request.args.get(name, "") for name in FindingsQuery.model_fields},
        "error": error,
        "rows": rows,
        "groups": by_owner(rows, declared),
        "total": len(findings),
        "summary": summarize([row.finding for row in rows]),
        "by_code": Counter(f.code for f in findings),
        "codes": SCAN_CODES,
        "owners": sorted(owners),
        "systems": sorted(systems),
        "elements": sorted({e.name for e in declared.elements}),
        "json_url": url_for("api.get_findings", **_asked()),
        "over_time": findings_over_time(as_of=query.as_of if query else None),
        "over_time_days": DAYS,
    }
    return render_template("findings/index.html", **context), status
