"""The engine's answers for the API and the pages: one place that calls the public functions.

Views validate the query (:mod:`webapp.queries`), ask here, and serve the answer as JSON, SVG,
DOT or a page. Diagrams of the registry (the system map, an element's flow) are laid out once
per registry version and kept for the app's life.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable
from dataclasses import dataclass, field

from flask import current_app
from sqlalchemy import func, select

from lineage.answers import with_findings
from lineage.detect.run import Filters, scan_report
from lineage.errors import NotFoundError
from lineage.findings import StateReport, read_findings
from lineage.golden import GoldenRecord, golden
from lineage.health import Grouping, HealthReport, change_marker, health
from lineage.impact import ImpactResult, impact
from lineage.interop.observed import observed_routes
from lineage.model.findings import summarize
from lineage.model.registry import Carry, Element, Integration, Registry
from lineage.render import NO_LINKS, dot_to_svg, element_flow_dot, system_map_dot
from lineage.store.schema import as_micros, openlineage_events
from lineage.trace import TraceResult, trace

from .links import diagram_links
from .queries import FindingsQuery, PlaceQuery, RecordQuery
from .tracker import tracker


def registry() -> Registry:
    """The registry in force (the latest loaded into the store)."""
    return tracker().store().registry()


def ask_trace(query: PlaceQuery) -> TraceResult:
    """The trace of the value at the query's place (NotFoundError when none is recorded)."""
    store = tracker().store()
    result = trace(store, query.system, query.element, query.record, as_of=query.as_of)
    return with_findings(store, result, as_of=query.as_of)


def ask_impact(query: PlaceQuery) -> ImpactResult:
    """Everything downstream of the value at the query's place."""
    store = tracker().store()
    result = impact(store, query.system, query.element, query.record, as_of=query.as_of)
    return with_findings(store, result, as_of=query.as_of)


def ask_golden(query: RecordQuery) -> GoldenRecord:
    """The golden record of the business record known in the query's system by its key."""
    return golden(tracker().store(), query.system, query.record, as_of=query.as_of)


@dataclass
class _HealthCache:
    """Recent health answers, kept while the store does not change (see
    :func:`lineage.health.change_marker`): the pages draw several charts from one answer,
    and a store of a million events takes seconds to count."""

    size: int = 16
    answers: dict[tuple[object, ...], HealthReport] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)


def ask_health(
    by: Grouping, days: int, as_of: dt.datetime | None = None, *, hops: bool = True
) -> HealthReport:
    """Health over time (``lineage health``): per day and group, hops and findings counted
    (the findings only when ``hops`` is False); the same answer again while nothing changed."""
    store = tracker().store()
    cache: _HealthCache = current_app.extensions.setdefault("lineage.health", _HealthCache())
    key = (change_marker(store), by, days, as_of, hops)
    with cache.lock:
        known = cache.answers.get(key)
    if known is not None:
        return known
    answer = health(store, by=by, days=days, as_of=as_of, hops=hops)
    with cache.lock:
        if len(cache.answers) >= cache.size:
            cache.answers.pop(next(iter(cache.answers)))
        cache.answers[key] = answer
    return answer


def ask_findings(query: FindingsQuery) -> StateReport:
    """One page of the findings the query keeps, after waivers: the stored findings (judged
    as events arrived), or with ``as_of`` the store judged live as it was then."""
    store = tracker().store()
    if query.as_of is None:
        return read_findings(
            store,
            state=query.state,
            since=as_micros(query.since),
            filters=filters(query),
            limit=query.limit,
            offset=query.offset,
        )
    result = scan_report(store, as_of=as_micros(query.as_of), filters=filters(query))
    kept = result.findings
    return StateReport(
        findings=kept[query.offset : query.offset + query.limit],
        total=len(kept),
        summary=summarize(kept),
        waived=len(result.waived),
        as_of=result.as_of,
        offset=query.offset,
        judged=result.judged,
    )


def open_total() -> int:
    """How many open findings the store holds, after waivers (the findings page's tally)."""
    return read_findings(tracker().store(), limit=1).total


def filters(query: FindingsQuery) -> Filters:
    """The query's filters as the scan takes them."""
    return Filters(
        systems=query.system,
        elements=query.element,
        integrations=query.integration,
        owners=query.owner,
        codes=query.code,
    )


# --- the registry's diagrams ------------------------------------------------------------------


@dataclass
class _Drawings:
    """SVG and DOT of one registry version, made when first asked."""

    registry: Registry
    made: dict[tuple[str, str], str] = field(default_factory=dict)


_lock = threading.Lock()


def _drawn(kind: str, name: str, dot: Callable[[Registry], str], fmt: str) -> str:
    current = registry()
    drawings: _Drawings | None = current_app.extensions.get("lineage.drawings")
    if drawings is None or drawings.registry is not current:
        drawings = current_app.extensions["lineage.drawings"] = _Drawings(current)
    key = (f"{kind}:{name}", fmt)
    found = drawings.made.get(key)
    if found is None:
        found = dot(current)
        if fmt != "dot":
            found = dot_to_svg(found, standalone=fmt == "svg")
        with _lock:
            if kind == "map":  # keep one observed map: older ones are out of date
                for old in [k for k in drawings.made if k[0].startswith("map:") and k != key]:
                    if _stale_map(old[0], key[0]):
                        del drawings.made[old]
            drawings.made[key] = found
    return found


def _stale_map(old: str, new: str) -> bool:
    """An observed system map drawn before the newest OpenLineage event is out of date."""
    return old.startswith("map:observed:") and old != new


def system_map(fmt: str) -> str:
    """The declared systems and integrations as ``svg``, ``inline`` (SVG without the XML
    prolog, for a page) or ``dot``; with the routes OpenLineage jobs were seen on when the
    registry maps OpenLineage (drawn again when new OpenLineage events arrive)."""
    links = diagram_links() if fmt == "inline" else NO_LINKS
    if not registry().maps_openlineage:
        return _drawn("map", "", lambda r: system_map_dot(r, links=links), fmt)
    store = tracker().store()
    with store.engine.connect() as conn:
        newest = conn.execute(select(func.max(openlineage_events.c.seq))).scalar()

    def drawn(current: Registry) -> str:
        with store.engine.connect() as conn:
            return system_map_dot(current, observed_routes(conn, current), links)

    return _drawn("map", f"observed:{newest}", drawn, fmt)


def known_element(name: str) -> tuple[Element | None, list[tuple[Integration, Carry]]]:
    """An element's declaration and the carries that deliver it or read it as an input.

    Raises:
        NotFoundError: the registry neither declares the element nor carries it.
    """
    current = registry()
    declared = current.element(name)
    carried = [
        (integration, carry)
        for integration in current.integrations
        for carry in integration.carries
        if carry.element == name or name in carry.inputs
    ]
    if declared is None and not carried:
        raise NotFoundError(
            f"the registry declares no element {name!r} and no integration carries it: check "
            "the name (elements are dotted, like order.total) or load the registry"
        )
    return declared, carried


def element_flow(name: str, fmt: str) -> str:
    """An element's declared flow as ``svg``, ``inline`` or ``dot``; NotFoundError if unknown."""
    known_element(name)
    links = diagram_links() if fmt == "inline" else NO_LINKS
    return _drawn("element", name, lambda r: element_flow_dot(r, name, links), fmt)
