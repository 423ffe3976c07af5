"""``/findings``: the stored runtime findings, filterable by code, owner, system and element.

The findings are read from the store's state (judged as events arrived), a page at a time;
with ``as_of`` the store is judged live as it was then. The form's choices list the
registry's owners and systems, and each code with its count of open findings. Each finding
links to the page that shows it: its trace, its golden record, its element.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any

from flask import Blueprint, render_template, request, url_for
from werkzeug.exceptions import BadRequest

from lineage.detect.run import UNOWNED
from lineage.findings import StateReport
from lineage.findings.read import open_counts_by_code
from lineage.model.findings import Finding, summarize
from lineage.model.registry import Registry
from lineage.report import place
from lineage.rules import judged_text

from ..api.openapi import operation
from ..charts import DAYS, findings_over_time, health_judged
from ..links import element_url, golden_url, trace_url
from ..queries import SCAN_CODES, FindingsQuery, read_query
from ..questions import ask_findings, registry
from ..tracker import tracker
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
    found: list[tuple[str, str]] = []
    if subject.system and subject.element and record and finding.code not in NO_TRACE:
        found.append(("trace", trace_url(subject.system, subject.element, record, as_of)))
    if subject.system and subject.record and finding.code in GOLDEN_CODES:
        golden = golden_url(subject.system, subject.record, as_of)
        found.insert(0 if finding.code == "conflicting-truth" else len(found), ("golden", golden))
    if subject.element:
        found.append(("element", element_url(subject.element)))
    return found


def _asked() -> dict[str, Any]:
    return {k: v for k, v in request.args.items() if k in FindingsQuery.model_fields and v}


@bp.get("/findings")
@operation(
    "The findings page, filterable", query=FindingsQuery, response=str, media_type="text/html"
)
def index() -> tuple[str, int]:
    """The runtime findings, with the owner to talk to, filterable, a page at a time."""
    status = 200
    error: str | None = None
    page = StateReport(summary=summarize([]))
    rows: list[Row] = []
    query: FindingsQuery | None = None
    try:
        query = read_query(FindingsQuery)
    except BadRequest as exc:
        error, status = exc.description, 400
    if query is not None:
        page = ask_findings(query)
        as_of = request.args.get("as_of", "").strip() or None
        rows = [Row(f, place(f), links(f, as_of)) for f in page.findings]
    live = query is not None and query.as_of is not None
    if live:
        by_code = Counter[str]()
    elif query is not None and query.every_open:  # the page's own counts are the form's
        by_code = Counter(page.codes)
    else:
        by_code = Counter(open_counts_by_code(tracker().store()))
    declared = registry()
    owners = _owners(declared) | {f.owner or UNOWNED for f in page.findings}
    systems = {s.name for s in declared.systems} | {
        f.subject.system for f in page.findings if f.subject.system
    }
    following = (query.offset if query else 0) + len(rows)
    context: dict[str, Any] = {
        "form": {name: request.args.get(name, "") for name in FindingsQuery.model_fields},
        "error": error,
        # one line says the moment, the findings' (the chart above them is judged alike)
        "judged": judged_text(page.judged)
        if query is not None and page.judged
        else health_judged(days=DAYS, as_of=None, hops=False),
        "rows": rows,
        "groups": by_owner(rows, declared),
        "total": page.total if live else sum(by_code.values()),
        "kept": page.total,
        "summary": page.summary,
        "by_code": by_code,
        "codes": SCAN_CODES,
        "owners": sorted(owners),
        "systems": sorted(systems),
        "elements": sorted({e.name for e in declared.elements}),
        "json_url": url_for("api.get_findings", **_asked()),
        "over_time": findings_over_time(as_of=query.as_of if query else None),
        "over_time_days": DAYS,
        "next_url": url_for("findings.index", **{**_asked(), "offset": following})
        if rows and following < page.total
        else None,
    }
    return render_template("findings/index.html", **context), status


def _owners(declared: Registry) -> set[str]:
    """Everyone the registry names as an owner, and "(unowned)"."""
    named = [
        *(s.owner for s in declared.systems),
        *(e.owner for e in declared.elements),
        *(i.owner for i in declared.integrations),
    ]
    return {owner for owner in named if owner} | {UNOWNED}
