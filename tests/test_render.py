"""Rendering: text for people, DOT and SVG with every user string escaped."""

from __future__ import annotations

import pygraphviz
import pytest
from steward_scenarios import REGISTRY, hop, order_chain, record, write

from lineage.impact import impact
from lineage.model.registry import Carry, Integration, Registry, System
from lineage.render import (
    RED,
    dot_to_svg,
    element_flow_dot,
    system_map_dot,
    to_dot,
    to_svg,
    to_text,
)
from lineage.store import Store
from lineage.trace import trace

SCRIPT = "<script>alert(1)</script>"
QUOTED = '"quoted" \\ backslash'


@pytest.fixture
def hostile(store: Store) -> Store:
    """A chain whose record keys and values try to break out of DOT and SVG."""
    record(
        store,
        write("w-<x>", "ERP", "customer.address", SCRIPT, QUOTED, 0),
        hop(
            'h-"x"',
            [("ERP", "customer.address", SCRIPT, QUOTED)],
            ("BI", "customer.address", QUOTED, SCRIPT),
            5,
            transform="identity",
        ),
    )
    return store


def test_trace_text_runs_origin_to_subject_and_names_the_culprits_owner(store: Store) -> None:
    record(store, *order_chain(bi_value="65.00"))
    text = to_text(trace(store, "Portal", "order.total", "P-9"))
    lines = text.splitlines()
    rows = [line for line in lines if " n0 " in line or " n1 " in line or " n2 " in line]
    assert [r.split()[0] for r in rows] == ["✓", "✗", "✓"]
    assert "ERP" in rows[0] and "(origin)" in rows[0]
    assert "ROOT CAUSE: unexplained-transformation, ask bi@example.com" in rows[1]
    # values sit in one column
    assert len({row.index('"') for row in rows}) == 1
    assert "owner to talk to: bi@example.com" in text


def test_clean_trace_text_says_every_step_checks_out(store: Store) -> None:
    record(store, *order_chain())
    text = to_text(trace(store, "Portal", "order.total", "P-9"))
    assert "✓ every step checks out back to the origin (n0)" in text
    assert "✗" not in text


def test_impact_text_counts_places_per_system(store: Store) -> None:
    record(store, *order_chain())
    text = to_text(impact(store, "ERP", "order.total", "40017"))
    assert "reached 2 places in 2 systems: BI 1, Portal 1" in text
    assert "(this value)" in text


def test_dot_labels_show_place_value_time_and_step(store: Store) -> None:
    record(store, *order_chain(bi_value="65.00"))
    dot = to_dot(trace(store, "Portal", "order.total", "P-9"))
    graph = pygraphviz.AGraph(string=dot)
    assert len(graph.nodes()) == 3 and len(graph.edges()) == 2
    label = graph.get_node("n1").attr["label"]
    assert "BI" in label and "R-9" in label and "65.00" in label and "09:05:00" in label
    assert graph.get_node("n1").attr["color"] == RED  # the culprit is red (vermillion)
    edge = graph.get_edge("n0", "n1")
    assert "multiply(1.2)" in edge.attr["label"] and "erp-to-bi" in edge.attr["label"]
    assert edge.attr["color"] == RED


def test_dot_labels_say_what_each_value_is_in_words_and_keep_ids_in_tooltips(
    store: Store,
) -> None:
    record(store, *order_chain(bi_value="65.00"))
    graph = pygraphviz.AGraph(string=to_dot(trace(store, "Portal", "order.total", "P-9")))
    labels = {name: graph.get_node(name).attr["label"] for name in ("n0", "n1", "n2")}
    assert labels["n0"].startswith('<FONT POINT-SIZE="9">written</FONT>')
    assert labels["n1"].startswith('<FONT POINT-SIZE="9">delivered</FONT>')
    for label in labels.values():
        assert "n0" not in label and "n1" not in label and "h-bi" not in label
    assert graph.get_node("n1").attr["tooltip"].startswith("n1 · h-bi")


def test_the_culprit_node_shows_the_value_it_should_hold_beside_the_one_it_holds(
    store: Store,
) -> None:
    record(store, *order_chain(bi_value="65.00"))
    graph = pygraphviz.AGraph(string=to_dot(trace(store, "Portal", "order.total", "P-9")))
    culprit = graph.get_node("n1").attr["label"]
    assert "<B>65.00</B>" in culprit
    assert "should be </FONT><B>60.00</B>" in culprit
    assert "should be" not in graph.get_node("n2").attr["label"]


def test_a_broken_chain_edge_shows_the_value_read_beside_the_one_held(store: Store) -> None:
    chain = order_chain(bi_value="60.00")
    chain[2] = hop(
        "h-portal",
        [("BI", "order.total", "R-9", "61.00")],
        ("Portal", "order.total", "P-9", "61.00"),
        10,
    )
    record(store, *chain)
    graph = pygraphviz.AGraph(string=to_dot(trace(store, "Portal", "order.total", "P-9")))
    assert "<B>60.00</B>" in graph.get_node("n1").attr["label"]  # what BI held
    read = graph.get_edge("n1", "n2").attr["label"]
    assert "read </FONT><B>61.00</B>" in read
    assert "read" not in graph.get_edge("n0", "n1").attr["label"]


def test_dot_escapes_markup_quotes_and_backslashes(hostile: Store) -> None:
    dot = to_dot(trace(hostile, "BI", "customer.address", QUOTED))
    assert SCRIPT not in dot
    assert "&lt;script&gt;" in dot
    graph = pygraphviz.AGraph(string=dot)  # still parses
    assert len(graph.nodes()) == 2
    assert graph.get_node("n1").attr["tooltip"] == "n1 · h-&quot;x&quot;"


def test_svg_contains_no_raw_script_and_shows_the_values(hostile: Store) -> None:
    result = trace(hostile, "BI", "customer.address", QUOTED)
    svg = to_svg(result)
    assert svg.lstrip().startswith("<?xml")
    assert "<script" not in svg
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in svg
    assert "&quot;quoted&quot; \\ backslash" in svg
    assert 'xlink:title="h&#45;&quot;x&quot;"' in svg  # the hop id as the node's tooltip
    inline = to_svg(result, standalone=False)
    assert inline.startswith("<svg")


def test_impact_svg_renders_too(hostile: Store) -> None:
    svg = to_svg(impact(hostile, "ERP", "customer.address", SCRIPT))
    assert "<script" not in svg and "<svg" in svg


def test_control_characters_in_values_are_shown_not_passed_to_graphviz(store: Store) -> None:
    record(store, write("w-1", "ERP", "customer.address", "C-1", "line1\nline2\x07", 0))
    result = trace(store, "ERP", "customer.address", "C-1")
    assert "line1\\nline2\\x07" in to_dot(result)
    assert "<svg" in to_svg(result)
    assert "line1\\nline2\\x07" in to_text(result)


def test_system_map_shows_systems_owners_truths_and_integrations() -> None:
    graph = pygraphviz.AGraph(string=system_map_dot(REGISTRY))
    labels = {graph.get_node(n).attr["label"] for n in graph.nodes()}
    erp = next(label for label in labels if "<B>ERP</B>" in label)
    assert "erp-ops@example.com" in erp and "order.total" in erp
    edge_labels = [e.attr["label"] for e in graph.edges()]
    assert any("erp-to-bi" in lab and "multiply(1.2)" in lab for lab in edge_labels)


def test_system_map_escapes_names_and_marks_undeclared_systems() -> None:
    registry = Registry(
        systems=(System(name=SCRIPT, owner=QUOTED),),
        integrations=(
            Integration(name="x<y", source=SCRIPT, target="Ghost", carries=(Carry(element="a"),)),
        ),
    )
    dot = system_map_dot(registry)
    assert SCRIPT not in dot
    svg = dot_to_svg(dot)
    assert "<script" not in svg and "Ghost" in svg
    graph = pygraphviz.AGraph(string=dot)
    ghost = next(n for n in graph.nodes() if "Ghost" in n.attr["label"])
    assert "dashed" in ghost.attr["style"]


def test_element_flow_marks_origin_and_system_of_record() -> None:
    dot = element_flow_dot(REGISTRY, "order.total")
    graph = pygraphviz.AGraph(string=dot)
    labels = {graph.get_node(n).attr["label"] for n in graph.nodes()}
    assert any("ERP" in lab and "origin, system of record" in lab for lab in labels)
    assert len(graph.edges()) == 2  # ERP -> BI -> Portal
