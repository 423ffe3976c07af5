"""Trace and impact graphs, an element's flow and the system map as text, DOT and SVG.

Rendering takes data and returns text; the command line prints it and the web app serves it.
Every string that came from users (systems, records, values, owners, integration names) is
escaped: DOT labels are HTML-like labels built with :func:`html.escape`, attribute strings are
quoted with backslashes and quotes escaped, and control characters are shown as escapes, so
no value can inject markup into the SVG or break the DOT.
"""

from __future__ import annotations

import dataclasses
import html
import re
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pygraphviz

from .errors import LineageError
from .model.findings import Finding
from .model.registry import Registry
from .rules import Judged, judged_text
from .valuegraph import GraphEdge, GraphNode, ImpactResult, TraceResult, ValueGraph

OK = "✓"
BAD = "✗"
# Okabe-Ito hues (vermillion, orange, bluish green), told apart with every common colour-vision
# deficiency, darkened where they write text on white to a contrast of 4.5:1 or more.
RED = "#c24e00"
AMBER = "#e69f00"
GREEN = "#009e73"
RED_TEXT = "#a63d00"
AMBER_TEXT = "#8a5a00"
MAX_VALUE = 40
_DECIMAL = re.compile(r"-?\d+(?:\.(\d+))?")


def printable(value: str | None, limit: int = MAX_VALUE) -> str:
    """A value as one safe line of text: ``null`` for None, control characters escaped,
    cut at ``limit`` characters with an ellipsis."""
    if value is None:
        return "null"
    shown = "".join(
        ch if unicodedata.category(ch)[0] != "C" else ch.encode("unicode_escape").decode()
        for ch in value
    )
    return shown if len(shown) <= limit else shown[: limit - 1] + "…"


# --- text ---------------------------------------------------------------------------------


def _table(rows: Sequence[Sequence[str]]) -> list[str]:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]) - 1)]
    lines = []
    for row in rows:
        cells = [cell.ljust(width) for cell, width in zip(row, widths, strict=False)]
        lines.append(("  ".join([*cells, row[-1]])).rstrip())
    return lines


def _incoming(graph: ValueGraph, node: GraphNode) -> list[GraphEdge]:
    return [e for e in graph.edges if e.target == node.id]


def _step(graph: ValueGraph, node: GraphNode) -> str:
    edges = _incoming(graph, node)
    sources = " + ".join(e.source + ("" if e.verified else f" {BAD}") for e in edges)
    if node.kind == "untraced":
        return "no write, hop or snapshot left this value here"
    if node.kind == "write":
        return f"write {node.event}"
    if node.kind == "snapshot":
        return f"snapshot {node.event}" + (f" ← {sources} (observed)" if edges else "")
    first = edges[0] if edges else None
    via = ""
    if first is not None:
        via = f" via {first.integration or '(no integration)'}"
        via += f" · {first.transform}" if first.transform else ""
    return f"hop {node.event}{via}" + (f" ← {sources}" if edges else "")


def _node_ok(graph: ValueGraph, node: GraphNode) -> bool:
    return (
        not node.problems
        and node.kind != "untraced"
        and all(e.verified for e in _incoming(graph, node))
    )


def _rows(graph: ValueGraph, marks: dict[str, str], notes: dict[str, str]) -> list[str]:
    rows: list[list[str]] = [["", "node", "at", "system", "element", "record", "value", "step"]]
    for node in graph.nodes:
        value = printable(node.value)
        rows.append(
            [
                marks[node.id],
                node.id,
                node.at or "-",
                printable(node.system, 30),
                printable(node.element, 40),
                printable(node.record, 30),
                value if node.value is None else f'"{value}"',
                _step(graph, node) + notes.get(node.id, ""),
            ]
        )
    return ["  " + line for line in _table(rows)]


def trace_text(result: TraceResult) -> str:
    """A trace for people: origin first, one line per value version, the culprit marked."""
    subject = result.subject
    when = f" as of {result.as_of}" if result.as_of else ""
    lines = [
        f"{subject.system}/{subject.element}/{subject.record} holds {_shown(subject.value)}{when}",
        "",
    ]
    flagged = result.flagged()
    marks = {n.id: OK if _node_ok(result, n) and n.id not in flagged else BAD for n in result.nodes}
    notes: dict[str, str] = {}
    for origin in result.origin:
        notes[origin] = " (origin)"
    root = result.root_cause
    if result.culprit and root is not None:
        notes[result.culprit] = notes.get(result.culprit, "") + (
            f"   ◀ ROOT CAUSE: {root.code}, ask {root.owner or 'nobody declared'}"
        )
    lines += _rows(result, marks, notes)
    lines.append("")
    if root is None and not result.findings:
        origin = ", ".join(result.origin)
        lines.append(f"{OK} every step checks out back to the origin ({origin})")
    elif root is not None:
        lines.append(f"{BAD} root cause: {root.code} at {root.event or 'an untraced input'}")
        lines.append(f"  {printable(root.message, 400)}")
        lines.append(f"  owner to talk to: {root.owner or '(no owner declared)'}")
    for feed in result.observed:
        lines.append(f"↖ {printable(feed.text(), 600)}")
    lines += _findings_lines(result)
    lines += judged_lines(result.judged)
    return "\n".join(lines) + "\n"


def _findings_lines(graph: ValueGraph) -> list[str]:
    """The open findings on what an answer shows, one block each (none: nothing)."""
    return findings_text(graph.findings)


def findings_text(findings: Sequence[Finding]) -> list[str]:
    """Lines listing the open findings on what an answer shows (none: no line)."""
    if not findings:
        return []
    count = len(findings)
    lines = ["", f"{BAD} {count} open finding{'s' if count != 1 else ''} on what this shows:"]
    for finding in findings:
        lines.append(f"  {finding.severity.value:<7} {finding.code}  owner {finding.owner or '-'}")
        lines.append(f"          {printable(finding.message, 400)}")
    return lines


def impact_text(result: ImpactResult) -> str:
    """An impact for people: the subject's version, then every copy it reached."""
    subject = result.subject
    when = f" (as of {result.as_of})" if result.as_of else ""
    reached = sum(result.counts.values())
    per_system = ", ".join(f"{name} {count}" for name, count in result.counts.items())
    lines = [
        f"{subject.system}/{subject.element}/{subject.record} holds {_shown(subject.value)}{when}",
        f"reached {reached} place{'s' if reached != 1 else ''} in {len(result.counts)} "
        f"system{'s' if len(result.counts) != 1 else ''}"
        + (f": {per_system}" if per_system else ""),
        "",
    ]
    flagged = result.flagged()
    marks = {
        n.id: (OK if _node_ok(result, n) and n.id not in flagged else BAD) for n in result.nodes
    }
    marks[result.subject_id] = "●"
    lines += _rows(result, marks, {result.subject_id: " (this value)"})
    unverified = [e for e in result.edges if not e.verified]
    if unverified:
        lines.append("")
        lines.append(
            f"{BAD} {len(unverified)} step(s) did not verify; trace their outputs to see why"
        )
    lines += _findings_lines(result)
    lines += judged_lines(result.judged)
    return "\n".join(lines) + "\n"


def judged_lines(judged: Judged | None) -> list[str]:
    """The last lines of an answer for people: the moment it judged as of, after a blank."""
    return ["", judged_text(judged)] if judged is not None else []


def to_text(graph: ValueGraph) -> str:
    """Text for people, for a trace or an impact."""
    if isinstance(graph, TraceResult):
        return trace_text(graph)
    if isinstance(graph, ImpactResult):
        return impact_text(graph)
    raise TypeError(f"cannot render {type(graph).__name__} as text")


def _shown(value: str | None) -> str:
    return "null" if value is None else f'"{printable(value, 200)}"'


# --- DOT ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Links:
    """Where a diagram's nodes and edges lead (the web app's pages); a None leads nowhere.

    Attributes:
        place: the page of a value, from its system, element and record (its trace).
        system: the page of a system, from its name.
        integration: the page of an integration, from its name.

    Each URL is drawn as the SVG node's or edge's link (``<a xlink:href>``), escaped.
    """

    place: Callable[[str, str, str], str] | None = None
    system: Callable[[str], str] | None = None
    integration: Callable[[str], str] | None = None


NO_LINKS = Links()


def _href(url: str | None) -> list[str]:
    """A link's DOT attribute (none for None): entity-escaped, backslashes doubled."""
    if not url:
        return []
    text = html.escape(url, quote=True).replace("\\", "\\\\")
    return [f'href="{text}"']


def _h(value: str | None, limit: int = MAX_VALUE) -> str:
    """A user string for inside an HTML-like DOT label."""
    return html.escape(printable(value, limit), quote=True)


def _q(value: str | None) -> str:
    """A user string as a quoted DOT attribute.

    Markup is entity-escaped as in labels (Graphviz keeps entities as they are in SVG), then
    backslashes are doubled so Graphviz's escString sequences (``\\N``, ``\\G``) never fire.
    """
    text = html.escape(printable(value, 200), quote=True).replace("\\", "\\\\")
    return f'"{text}"'


KIND_WORDS = {
    "write": "written",
    "hop": "delivered",
    "snapshot": "seen by snapshot",
    "untraced": "read, no trail",
}
"""How a node's label says what its value version is; ids (``n0``, ``h-0225``) are left to
its tooltip."""


def expected_value(node: GraphNode) -> str | None:
    """The value ``node`` should hold by its checks (what its transform makes of its
    inputs), when a problem on it says so; None otherwise.

    A decimal is shown with as many places as the value held (``60`` beside ``65.00`` reads
    ``60.00``) when that loses nothing.
    """
    expected = next((p.expected for p in node.problems if p.expected is not None), None)
    held = _DECIMAL.fullmatch(node.value or "")
    if expected is None or held is None or _DECIMAL.fullmatch(expected) is None:
        return expected
    places = len(held.group(1) or "")
    shown = f"{Decimal(expected):.{places}f}"
    return shown if Decimal(shown) == Decimal(expected) else expected


def _node_label(node: GraphNode) -> str:
    value = "null" if node.value is None else f"{_h(node.value)}"
    kind = KIND_WORDS.get(node.kind, node.kind)
    should = expected_value(node)
    held = f"<B>{value}</B>"
    if should is not None:
        held += f'<BR/><FONT POINT-SIZE="9">should be </FONT><B>{_h(should)}</B>'
    return (
        f'<<FONT POINT-SIZE="9">{_h(kind)}</FONT><BR/>'
        f"<B>{_h(node.system, 30)}</B><BR/>{_h(node.element)}<BR/>{_h(node.record, 30)}<BR/>"
        f'{held}<BR/><FONT POINT-SIZE="9">{_h(node.at or "no event")}</FONT>>'
    )


def misread(edge: GraphEdge, source: GraphNode) -> bool:
    """Whether a hop read a value other than the one its source held (a broken chain)."""
    return not edge.verified and edge.read is not None and edge.read != source.value


def _edge_label(edge: GraphEdge, source: GraphNode | None = None) -> str:
    if edge.integration is None and edge.transform is None:
        return '<<FONT POINT-SIZE="9">observed</FONT>>'
    transform = _h(edge.transform or "?")
    integration = _h(edge.integration or "(no integration)")
    read = ""
    if source is not None and misread(edge, source):
        read = f'<BR/><FONT POINT-SIZE="9">read </FONT><B>{_h(edge.read)}</B>'
    return f'<{transform}<BR/><FONT POINT-SIZE="9">{integration}</FONT>{read}>'


_HEADER = (
    "  graph [rankdir=LR, fontname=Helvetica, nodesep=0.3, ranksep=0.6];\n"
    '  node [shape=box, style="rounded,filled", fillcolor=white, fontname=Helvetica, '
    "fontsize=11];\n"
    "  edge [fontname=Helvetica, fontsize=10];\n"
)


def to_dot(graph: ValueGraph, links: Links = NO_LINKS) -> str:
    """A trace or impact graph in Graphviz DOT.

    Node labels show what the version is (written, delivered, seen by snapshot), system,
    element, record, value (and the value it should hold, when a check knows it) and time;
    ids go to the tooltip. Edge labels show the transform and the integration, and the value
    a hop read when its source held another. The culprit node and the unverified steps into
    it are red, other unverified steps amber and dashed, origins green, the subject outlined
    bold. With ``links``, each node links to its value's page and each edge to its
    integration's.
    """
    culprit = graph.culprit
    subject = graph.subject_node
    origin = set(graph.origin) if isinstance(graph, TraceResult) else set()
    flagged = graph.flagged()
    codes: dict[str, list[str]] = {}
    for finding in graph.findings:
        for node_id in ValueGraph.flagged(dataclasses.replace(graph, findings=(finding,))):
            codes.setdefault(node_id, []).append(finding.code)
    lines = ["digraph lineage {", *judged_dot(graph.judged), _HEADER.rstrip("\n")]
    for node in graph.nodes:
        tip = f"{node.id} · {node.event or node.kind}"
        if node.id in codes:
            tip += ": " + ", ".join(dict.fromkeys(codes[node.id]))
        attrs = [f"label={_node_label(node)}", f"tooltip={_q(tip)}"]
        if links.place is not None:
            attrs += _href(links.place(node.system, node.element, node.record))
        if node.id == culprit:
            attrs += [f'color="{RED}"', 'fillcolor="#fdeee6"', "penwidth=3"]
        elif node.id in flagged:  # an open finding on it (marked, not the culprit)
            attrs += [f'color="{AMBER}"', 'fillcolor="#fdf4dc"', "penwidth=2.5"]
        elif node.id in origin:
            attrs += [f'color="{GREEN}"', 'fillcolor="#e3f4ee"']
        if node.kind == "untraced":
            attrs += ['style="rounded,dashed,filled"']
        if node.id == subject.id and node.id != culprit:
            attrs += ["penwidth=2.5"]
        lines.append(f"  {node.id} [{', '.join(attrs)}];")
    by_id = {node.id: node for node in graph.nodes}
    for edge in graph.edges:
        label = _edge_label(edge, by_id.get(edge.source))
        attrs = [f"label={label}", f"tooltip={_q(edge.event or '')}"]
        if links.integration is not None and edge.integration:
            attrs += _href(links.integration(edge.integration))
        if not edge.verified:
            color, text = (RED, RED_TEXT) if edge.target == culprit else (AMBER, AMBER_TEXT)
            attrs += [f'color="{color}"', f'fontcolor="{text}"', 'style="dashed"', "penwidth=2"]
        if edge.integration is None and edge.transform is None:
            attrs += ['arrowhead="empty"']
        lines.append(f"  {edge.source} -> {edge.target} [{', '.join(attrs)}];")
    lines.append("}")
    return "\n".join(lines) + "\n"


def judged_dot(judged: Judged | None) -> list[str]:
    """The moment an answer judged as of, in a drawing: a comment line for the DOT reader and
    a small label under the graph, so the SVG (inlined in a page or saved) says it too."""
    if judged is None:
        return []
    said = judged_text(judged)
    return [
        f"  // {said}",
        f'  graph [label={_q(said)}, labelloc=b, labeljust=r, fontsize=9, fontcolor="#555555"];',
    ]


def dot_to_svg(dot: str, *, standalone: bool = True) -> str:
    """Lay out DOT text with Graphviz (in-process, from the pygraphviz wheel) as SVG.

    ``standalone=False`` drops the XML prolog and doctype, for inlining in an HTML page.
    """
    try:
        drawn = pygraphviz.AGraph(string=dot).draw(format="svg", prog="dot")
    except (ValueError, OSError) as exc:
        raise LineageError(f"Graphviz could not lay out the graph: {exc}") from exc
    svg = drawn.decode("utf-8") if isinstance(drawn, bytes) else str(drawn)
    if not standalone:
        svg = svg[svg.index("<svg") :]
    return svg


def to_svg(graph: ValueGraph, *, standalone: bool = True, links: Links = NO_LINKS) -> str:
    """A trace or impact graph as SVG (see :func:`to_dot`)."""
    return dot_to_svg(to_dot(graph, links), standalone=standalone)


# --- registry views -----------------------------------------------------------------------


def _lines(items: Iterable[str], limit: int = 6) -> str:
    shown = list(items)
    extra = len(shown) - limit
    body = "<BR/>".join(_h(item, 60) for item in shown[:limit])
    return body + (f"<BR/>+{extra} more" if extra > 0 else "")


def system_map_dot(
    registry: Registry, observed: Sequence[Any] = (), links: Links = NO_LINKS
) -> str:
    """The declared systems and the integrations between them, in DOT.

    Each system shows its owner and the elements it is the system of record for; each
    integration edge its name and the elements it carries with their transforms. A system an
    integration names but nobody declares is drawn dashed red. ``observed`` routes
    (:class:`lineage.interop.observed.ObservedRoute`: systems OpenLineage jobs moved data
    between) are drawn dotted beside the declared edges, grey when an integration declared
    between the two systems runs every job seen, bold red when one is undeclared.
    """
    names = [s.name for s in registry.systems]
    for integration in registry.integrations:
        for name in (integration.source, integration.target):
            if name not in names:
                names.append(name)
    for route in observed:
        for name in (route.source, route.target):
            if name not in names:
                names.append(name)
    ids = {name: f"s{number}" for number, name in enumerate(names)}
    lines = ["digraph systems {", _HEADER.rstrip("\n")]
    for name in names:
        declared = registry.system(name)
        truths = sorted({e.name for e in registry.merged_elements if e.system_of_record == name})
        label = f"<B>{_h(name, 40)}</B>"
        if declared is not None:
            label += f'<BR/><FONT POINT-SIZE="9">{_h(declared.owner or "no owner")}</FONT>'
        if truths:
            label += f'<BR/><FONT POINT-SIZE="9">record of:<BR/>{_lines(truths)}</FONT>'
        attrs = [f"label=<{label}>", f"tooltip={_q((declared and declared.description) or name)}"]
        if links.system is not None:
            attrs += _href(links.system(name))
        if declared is None:
            attrs += [f'color="{RED}"', 'style="rounded,dashed"']
        lines.append(f"  {ids[name]} [{', '.join(attrs)}];")
    for integration in registry.integrations:
        carried = [f"{c.element} ({c.transform})" for c in integration.carries]
        label = f"<B>{_h(integration.name, 50)}</B>"
        if carried:
            label += f'<BR/><FONT POINT-SIZE="9">{_lines(carried)}</FONT>'
        attrs = [f"label=<{label}>", f"tooltip={_q(integration.purpose or integration.name)}"]
        if links.integration is not None:
            attrs += _href(links.integration(integration.name))
        lines.append(
            f"  {ids[integration.source]} -> {ids[integration.target]} [{', '.join(attrs)}];"
        )
    for route in observed:
        kind = "observed" if route.declared else "observed, UNDECLARED"
        label = f'<FONT POINT-SIZE="9">{kind}:<BR/>{_lines(route.jobs, 3)}</FONT>'
        colour = "#777777" if route.declared else RED
        width = "1" if route.declared else "2.5"
        attrs = [
            f"label=<{label}>",
            f"tooltip={_q(kind + ' by OpenLineage jobs: ' + ', '.join(route.jobs))}",
            'style="dotted"',
            f'color="{colour}"',
            f'fontcolor="{colour}"',
            f'penwidth="{width}"',
        ]
        lines.append(f"  {ids[route.source]} -> {ids[route.target]} [{', '.join(attrs)}];")
    lines.append("}")
    return "\n".join(lines) + "\n"


def element_flow_dot(registry: Registry, element: str, links: Links = NO_LINKS) -> str:
    """One element's declared flow: the systems it passes through and each carry's transform.

    The system of origin is green, the system of record outlined bold.
    """
    declared = registry.element(element)
    flows = [
        (i, c)
        for i in registry.integrations
        for c in i.carries
        if c.element == element or element in c.inputs
    ]
    names: list[str] = []
    for integration, _ in flows:
        for name in (integration.source, integration.target):
            if name not in names:
                names.append(name)
    roots = (declared.system_of_origin, declared.system_of_record) if declared else ()
    for root in roots:
        if root and root not in names:
            names.insert(0, root)
    ids = {name: f"s{number}" for number, name in enumerate(names)}
    lines = ["digraph element {", _HEADER.rstrip("\n")]
    for name in names:
        roles = []
        attrs = []
        if declared is not None and name == declared.system_of_origin:
            roles.append("origin")
            attrs += [f'color="{GREEN}"', 'fillcolor="#e3f4ee"']
        if declared is not None and name == declared.system_of_record:
            roles.append("system of record")
            attrs += ["penwidth=2.5"]
        role = f'<BR/><FONT POINT-SIZE="9">{_h(", ".join(roles))}</FONT>' if roles else ""
        attrs.insert(0, f"label=<<B>{_h(name, 40)}</B>{role}>")
        if links.system is not None:
            attrs += _href(links.system(name))
        lines.append(f"  {ids[name]} [{', '.join(attrs)}];")
    for integration, carry in flows:
        label = f'{_h(carry.transform)}<BR/><FONT POINT-SIZE="9">{_h(integration.name)}</FONT>'
        attrs = [f"label=<{label}>", f"tooltip={_q(integration.owner or '')}"]
        if links.integration is not None:
            attrs += _href(links.integration(integration.name))
        lines.append(
            f"  {ids[integration.source]} -> {ids[integration.target]} [{', '.join(attrs)}];"
        )
    lines.append("}")
    return "\n".join(lines) + "\n"
