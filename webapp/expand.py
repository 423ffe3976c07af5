"""Diagrams that grow one step at a time: a trace drawn some hops upstream of its value, an
impact some hops downstream, and on the drawing the URL of the same diagram one step bigger.

The page draws a long trace (impact) :data:`PAGE_STEPS` hops deep, or deep enough to show the
culprit; its *Expand* button (``static/explorer/diagrams.js``) fetches the ``data-expand`` URL
of the SVG root, ``GET /api/v1/graph/trace.svg?...&up=N+1``, and swaps the drawing in place.
"""

from __future__ import annotations

import html
from typing import Any

from flask import request, url_for

from lineage.explore import steps_to, within
from lineage.render import to_svg
from lineage.valuegraph import TraceResult, ValueGraph

from .links import diagram_links
from .queries import GraphQuery

PAGE_STEPS = 6
"""Hops a page draws from the value before it offers to expand (more when the culprit is
further)."""


def asked_steps(graph: ValueGraph, query: GraphQuery) -> int | None:
    """The hops the query asks to draw (``up`` for a trace, ``down`` for an impact)."""
    return query.up if isinstance(graph, TraceResult) else query.down


def page_steps(graph: ValueGraph, query: GraphQuery) -> int:
    """What a page draws: the hops asked, else :data:`PAGE_STEPS` or as far as the culprit."""
    asked = asked_steps(graph, query)
    return asked if asked is not None else max(PAGE_STEPS, steps_to(graph, graph.culprit))


def drawn(graph: ValueGraph, steps: int | None, *, standalone: bool) -> str:
    """The diagram ``steps`` hops deep (None: whole) as SVG with its links; when the cut hides
    values, its root carries ``data-expand`` (the URL one step deeper), ``data-hidden`` (how
    many values are hidden) and ``data-direction``."""
    hidden = 0
    if steps is not None:
        graph, hidden = within(graph, steps)
    svg = to_svg(graph, standalone=standalone, links=diagram_links())
    if not hidden or steps is None:
        return svg
    upstream = isinstance(graph, TraceResult)
    names = ("system", "element", "record", "as_of")
    params: dict[str, Any] = {k: request.args[k] for k in names if request.args.get(k)}
    params["up" if upstream else "down"] = str(steps + 1)
    endpoint = "api.graph_trace_svg" if upstream else "api.graph_impact_svg"
    url = url_for(endpoint, **params)
    marks = (
        f'<svg data-expand="{html.escape(url, quote=True)}" data-hidden="{hidden}" '
        f'data-direction="{"upstream" if upstream else "downstream"}" '
    )
    at = svg.index("<svg ")
    return svg[:at] + marks + svg[at + len("<svg ") :]
