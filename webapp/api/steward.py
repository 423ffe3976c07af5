"""The steward's questions as JSON: trace, impact, golden record and findings (docs/CONTRACT.md §6).

Each answers with the same JSON as the command line's ``--format json``.
"""

from __future__ import annotations

from typing import Any

from flask import Response, jsonify, request, url_for

from lineage.answers import golden_findings, golden_unchecked
from lineage.report import finding_json
from lineage.rules import judged_iso

from ..queries import FindingsQuery, PlaceQuery, RecordQuery, read_query
from ..questions import ask_findings, ask_golden, ask_impact, ask_trace
from ..tracker import tracker
from . import bp
from .answers import FindingsAnswer, GoldenAnswer, ImpactAnswer, TraceAnswer
from .openapi import operation

_NO_VALUE = {404: "The store holds no value for that place (by as_of)."}


@bp.get("/trace")
@operation(
    "A value's path back to its origin, each hop verified, the root cause named",
    query=PlaceQuery,
    response=TraceAnswer,
    errors=_NO_VALUE,
    description="The same JSON as `lineage trace SYSTEM ELEMENT RECORD --format json`.",
)
def get_trace() -> Response:
    return jsonify(ask_trace(read_query(PlaceQuery)).to_json())


@bp.get("/impact")
@operation(
    "Everything downstream of a value, with the places reached per system",
    query=PlaceQuery,
    response=ImpactAnswer,
    errors=_NO_VALUE,
    description="The same JSON as `lineage impact SYSTEM ELEMENT RECORD --format json`.",
)
def get_impact() -> Response:
    return jsonify(ask_impact(read_query(PlaceQuery)).to_json())


@bp.get("/golden")
@operation(
    "The golden record of a business record: each element's truth and each copy's status",
    query=RecordQuery,
    response=GoldenAnswer,
    errors={404: "Nothing is recorded for that record in that system."},
    description="The same JSON as `lineage golden SYSTEM RECORD --format json`; a copy's "
    "status is agrees, stale, divergent or unknown.",
)
def get_golden() -> Response:
    query = read_query(RecordQuery)
    record = ask_golden(query)
    findings = golden_findings(tracker().store(), record, as_of=query.as_of)
    return jsonify(
        {
            **record.to_json(),
            "findings": [f.model_dump(mode="json") for f in findings],
            "findings_unchecked": golden_unchecked(record),
        }
    )


@bp.get("/findings")
@operation(
    "The runtime findings, after waivers, optionally filtered, a page at a time",
    query=FindingsQuery,
    response=FindingsAnswer,
    description="The same JSON as `lineage scan --format json`, read from the stored findings "
    "(judged as events arrive; each carries state, first_seen, last_seen, resolved_at, "
    "resolved_by and occurrence), or with as_of judged live as the store was then. Filters "
    "may repeat (?code=lost-delivery&code=failed-delivery). The summary counts every "
    "finding kept; the findings list one page of them (limit, offset). The X-Total-Count "
    'header says how many are kept, and a Link header (rel="next") names the next page '
    "while there is one.",
)
def get_findings() -> Response:
    query = read_query(FindingsQuery)
    page = ask_findings(query)
    response = jsonify(
        findings=[finding_json(f) for f in page.findings],
        summary=page.summary,
        as_of=judged_iso(page.judged) if page.judged else None,
    )
    response.headers["X-Total-Count"] = str(page.total)
    following = query.offset + len(page.findings)
    if page.findings and following < page.total:
        asked: dict[str, Any] = request.args.to_dict(flat=False)
        asked["offset"] = [str(following)]
        response.headers["Link"] = f'<{url_for("api.get_findings", **asked)}>; rel="next"'
    return response
