"""Diagrams as SVG or Graphviz DOT under ``/api/v1/graph/`` (docs/CONTRACT.md §6).

One route per format (``trace.svg``, ``trace.dot``, ...), so each has its own media type and
its own operation in the OpenAPI document. Every user string in them is escaped by
:mod:`lineage.render`.
"""

from __future__ import annotations

from collections.abc import Callable

from flask import Response

from lineage.explore import within
from lineage.render import to_dot
from lineage.valuegraph import ValueGraph

from ..expand import asked_steps, drawn
from ..queries import GraphQuery, PlaceQuery, read_query
from ..questions import ask_impact, ask_trace, element_flow, system_map
from . import bp
from .openapi import operation

MEDIA = {"svg": "image/svg+xml", "dot": "text/vnd.graphviz"}
_FORMATS = ("svg", "dot")
_NO_VALUE = {404: "The store holds no value for that place (by as_of)."}


def _answer(text: str, fmt: str) -> Response:
    return Response(text, mimetype=MEDIA[fmt])


def _drawn(graph: ValueGraph, query: GraphQuery, fmt: str) -> str:
    steps = asked_steps(graph, query)
    if fmt == "svg":
        return drawn(graph, steps, standalone=True)
    return to_dot(within(graph, steps)[0] if steps is not None else graph)


def _place_graph(name: str, ask: Callable[[PlaceQuery], ValueGraph], summary: str) -> None:
    for fmt in _FORMATS:

        def view(fmt: str = fmt) -> Response:
            query = read_query(GraphQuery)
            return _answer(_drawn(ask(query), query, fmt), fmt)

        view.__name__ = f"graph_{name}_{fmt}"
        view.__doc__ = summary
        documented = operation(
            f"{summary} ({fmt.upper()})",
            query=GraphQuery,
            response=str,
            media_type=MEDIA[fmt],
            errors=_NO_VALUE,
        )(view)
        bp.add_url_rule(f"/graph/{name}.{fmt}", view_func=documented, methods=["GET"])


_place_graph(
    "trace",
    ask_trace,
    "A value's trace drawn: the culprit hop red, unverified steps amber, origins green",
)
_place_graph("impact", ask_impact, "Everything downstream of a value, drawn")


def _map_view(fmt: str) -> None:
    def view() -> Response:
        return _answer(system_map(fmt), fmt)

    view.__name__ = f"graph_system_map_{fmt}"
    documented = operation(
        f"The declared systems and the integrations between them ({fmt.upper()})",
        response=str,
        media_type=MEDIA[fmt],
        description="Each system with its owner and the elements it is the system of record "
        "for; each integration with the elements it carries and their transforms.",
    )(view)
    bp.add_url_rule(f"/graph/system-map.{fmt}", view_func=documented, methods=["GET"])


def _element_view(fmt: str) -> None:
    def view(element: str) -> Response:
        return _answer(element_flow(element, fmt), fmt)

    view.__name__ = f"graph_element_{fmt}"
    documented = operation(
        f"One element's declared flow: the systems and the integrations carrying it "
        f"({fmt.upper()})",
        response=str,
        media_type=MEDIA[fmt],
        errors={404: "The registry neither declares nor carries that element."},
        description="The system of origin green, the system of record outlined bold and "
        "named; each integration with its transform.",
    )(view)
    bp.add_url_rule(f"/graph/element/<element>.{fmt}", view_func=documented, methods=["GET"])


for _fmt in _FORMATS:
    _map_view(_fmt)
    _element_view(_fmt)
