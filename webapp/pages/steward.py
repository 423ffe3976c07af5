"""The steward's questions as pages: ``/trace``, ``/impact`` and ``/golden``.

Each page is a form first; with the form's parameters it answers below it. A missing or bad
parameter is a 400 page and a place with no value a 404 page, both with the form filled in
as sent so that it can be corrected.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flask import Blueprint, render_template, request
from werkzeug.exceptions import BadRequest

from lineage.answers import MAX_GOLDEN_PLACES, golden_findings, golden_unchecked
from lineage.errors import InputError, NotFoundError, TransformError
from lineage.golden import GoldenRecord
from lineage.render import expected_value, misread
from lineage.rules import judged_text
from lineage.valuegraph import GraphEdge, GraphNode, ImpactResult, TraceResult, ValueGraph

from ..api.openapi import operation
from ..expand import drawn, page_steps
from ..queries import GraphQuery, PlaceQuery, RecordQuery, given, read_query
from ..questions import ask_golden, ask_impact, ask_trace, registry
from ..tracker import tracker
from .common import inline_svg, page_errors

bp = Blueprint("steward", __name__, template_folder="templates")
page_errors(bp)


@dataclass(frozen=True, slots=True)
class Step:
    """One row of a graph's table: an edge with the nodes at its ends.

    ``culprit``: the step is where the root cause shows (an unverified step into the culprit
    node); ``read``: the value the hop read when its source held another (a broken chain);
    ``should``: the value the target should hold, when its check knows it.
    """

    edge: GraphEdge
    source: GraphNode
    target: GraphNode
    culprit: bool
    read: str | None = None
    should: str | None = None


def steps(graph: ValueGraph) -> list[Step]:
    """The graph's edges in order, with their nodes; the unverified steps into the culprit
    marked (a verified input of the culprit hop is not where it went wrong)."""
    nodes = {node.id: node for node in graph.nodes}
    found = []
    for edge in graph.edges:
        source, target = nodes[edge.source], nodes[edge.target]
        culprit = edge.target == graph.culprit and not edge.verified
        read = edge.read if misread(edge, source) else None
        found.append(Step(edge, source, target, culprit, read, expected_value(target)))
    return found


def _form_values(*names: str) -> dict[str, str]:
    return {name: request.args.get(name, "") for name in names}


def _known_names() -> dict[str, list[str]]:
    declared = registry()
    return {
        "systems": sorted({s.name for s in declared.systems}),
        "elements": sorted({e.name for e in declared.elements}),
    }


def _answer(
    template: str,
    model: type[PlaceQuery] | type[RecordQuery],
    ask: Callable[[Any], Any],
    draw: Callable[[Any], dict[str, Any]],
) -> tuple[str, int]:
    """The form, and the answer when the form was sent; errors shown above the form."""
    context: dict[str, Any] = {
        "form": _form_values(*model.model_fields),
        "result": None,
        "error": None,
        **_known_names(),
    }
    status = 200
    if given(model):
        try:
            result = ask(read_query(model))
        except BadRequest as exc:
            context["error"], status = exc.description, 400
        except NotFoundError as exc:
            context["error"], status = str(exc), 404
        except (InputError, TransformError) as exc:
            context["error"], status = str(exc), 400
        else:
            judged = result.judged
            context.update(result=result, judged=judged_text(judged) if judged else None)
            context.update(draw(result))
    return render_template(template, **context), status


def _drawn(graph: ValueGraph) -> dict[str, Any]:
    depth = page_steps(graph, read_query(GraphQuery))
    svg = drawn(graph, depth, standalone=False)
    return {"svg": inline_svg(svg), "steps": steps(graph)}


def _trace_parts(result: TraceResult) -> dict[str, Any]:
    root = result.root_cause
    culprit = result.node(result.culprit) if result.culprit else None
    # the root cause has its own box: the list below it holds every other finding once
    others = [
        f
        for f in result.findings
        if root is None or (f.code, f.subject.event) != (root.code, root.event)
    ]
    return {
        **_drawn(result),
        "culprit": culprit,
        "should": expected_value(culprit) if culprit else None,
        "findings": others,
    }


def _impact_parts(result: ImpactResult) -> dict[str, Any]:
    return {**_drawn(result), "reached": sum(result.counts.values())}


def _golden_parts(result: GoldenRecord) -> dict[str, Any]:
    moment = read_query(RecordQuery).as_of
    shown = golden_findings(tracker().store(), result, as_of=moment)
    return {
        "counts": result.counts(),
        "findings": shown,
        "unchecked": golden_unchecked(result),
        "max_places": MAX_GOLDEN_PLACES,
    }


@bp.get("/trace")
@operation(
    "The trace page (the form alone without parameters)",
    query=PlaceQuery,
    response=str,
    media_type="text/html",
    errors={404: "Nothing is recorded at that place (the form, saying so)."},
)
def trace() -> tuple[str, int]:
    """A value's path back to its origin, the culprit hop red, the owner to talk to."""
    return _answer("steward/trace.html", PlaceQuery, ask_trace, _trace_parts)


@bp.get("/impact")
@operation(
    "The impact page (the form alone without parameters)",
    query=PlaceQuery,
    response=str,
    media_type="text/html",
    errors={404: "Nothing is recorded at that place (the form, saying so)."},
)
def impact() -> tuple[str, int]:
    """Everything downstream of a value, with the places reached per system."""
    return _answer("steward/impact.html", PlaceQuery, ask_impact, _impact_parts)


@bp.get("/golden")
@operation(
    "The golden record page (the form alone without parameters)",
    query=RecordQuery,
    response=str,
    media_type="text/html",
    errors={404: "No such record is known (the form, saying so)."},
)
def golden() -> tuple[str, int]:
    """The golden record of a business record and each copy's agreement with it."""
    return _answer("steward/golden.html", RecordQuery, ask_golden, _golden_parts)
