"""The steward's questions: ``lineage trace`` and ``lineage impact`` (docs/CONTRACT.md §5).

Both answer a question and exit 0 when the place holds a value, whatever the answer (a trace
that finds a root cause has done its job; ``lineage scan`` is the command that fails a build).
A place the store holds nothing for is exit 2 with one line (naming the systems or elements
that exist when the system or element is unknown); so is a store that does not exist.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import click

from ..answers import with_findings
from ..impact import impact
from ..render import to_dot, to_svg, to_text
from ..trace import trace
from ..valuegraph import ValueGraph
from .known import explained
from .options import MOMENT, db_option, open_db

GRAPH_FORMATS = ("text", "json", "dot", "svg")


def _emit(graph: ValueGraph, output: str) -> None:
    if output == "json":
        click.echo(json.dumps(graph.to_json(), ensure_ascii=False, indent=2))
    elif output == "dot":
        click.echo(to_dot(graph), nl=False)
    elif output == "svg":
        click.echo(to_svg(graph), nl=False)
    else:
        click.echo(to_text(graph), nl=False)


def _place_command(func: Any) -> Any:
    for decorator in reversed(
        (
            click.argument("system"),
            click.argument("element"),
            click.argument("record"),
            click.option(
                "--format",
                "output",
                type=click.Choice(GRAPH_FORMATS),
                default="text",
                show_default=True,
                help="text for people, json (one document), dot or svg.",
            ),
            click.option(
                "--as-of",
                "as_of",
                type=MOMENT,
                default=None,
                help="Answer for the value held at this time (ISO 8601, UTC if no zone).",
            ),
            db_option,
        )
    ):
        func = decorator(func)
    return func


@click.command("trace")
@_place_command
def trace_command(
    *,
    system: str,
    element: str,
    record: str,
    output: str,
    as_of: dt.datetime | None,
    db: str | None,
) -> None:
    """Trace the value SYSTEM holds for ELEMENT of RECORD back to its origin.

    Every hop is checked (its transform re-run, each input compared with what its source held
    then) and the earliest step where the value went wrong is marked, with its owner.
    """
    store = open_db(db, must_exist=True)
    try:
        with explained(store, system, element):
            graph = trace(store, system, element, record, as_of=as_of)
        _emit(with_findings(store, graph, as_of=as_of), output)
    finally:
        store.close()


@click.command("impact")
@_place_command
def impact_command(
    *,
    system: str,
    element: str,
    record: str,
    output: str,
    as_of: dt.datetime | None,
    db: str | None,
) -> None:
    """Show everything downstream of the value SYSTEM holds for ELEMENT of RECORD.

    Follows every hop that read this value while the place held it, across systems and
    elements, and counts the places it reached per system.
    """
    store = open_db(db, must_exist=True)
    try:
        with explained(store, system, element):
            graph = impact(store, system, element, record, as_of=as_of)
        _emit(with_findings(store, graph, as_of=as_of), output)
    finally:
        store.close()


COMMANDS: list[click.Command] = [trace_command, impact_command]
