"""``lineage golden`` (the truth of a business record and its copies) and ``lineage export``."""

from __future__ import annotations

import datetime as dt
import json
import sys
from contextlib import nullcontext
from pathlib import Path
from typing import IO, Any

import click

from ..answers import golden_findings, golden_unchecked, unchecked_text
from ..golden import GoldenRecord, golden
from ..interop.export import FORMATS, Place, export
from ..render import findings_text, judged_lines, printable
from .known import explained
from .options import as_of_option, db_option, open_db

_MARKS = {"agrees": "=", "stale": "!", "divergent": "!", "unknown": "?"}


_as_of = as_of_option(
    "Judge the store as it was at this moment (ISO 8601, e.g. 2026-11-20T09:00:00Z)."
)


def _shown(value: str | None) -> str:
    if value is None:
        return "null"
    return printable(value) if value else '""'


def golden_text(record: GoldenRecord) -> str:
    """The golden record for people: each element's truth, then each copy with its status.

    One table for the whole record (columns aligned across elements): the golden value's row
    is marked ``*``, copies ``=`` (agrees), ``!`` (stale, divergent) or ``?`` (unknown),
    with the reason under any copy that does not agree.
    """
    others = [f"{s} {r}" for s, r in record.linked if (s, r) != (record.system, record.record)]
    head = [f"Golden record of {printable(record.system)} {printable(record.record)}"]
    if others:
        head.append(f"  same business record as: {printable(', '.join(others), 2000)}")
    if not record.complete:
        head.append("  (the record has more keys than the walk follows: some copies are left out)")
    # (kind, content): a "row" is table cells; "title", "line" and "note" (a reason, indented
    # under the row it explains) are text
    body: list[tuple[str, Any]] = []
    for element in record.elements:
        owner = printable(element.owner or "no owner")
        body.append(("title", f"{printable(element.element)}    owner {owner}"))
        if element.record is not None:
            body.append(
                (
                    "row",
                    (
                        "* golden",
                        printable(element.system_of_record or ""),
                        printable(element.record),
                        _shown(element.golden_value),
                        "system of record",
                    ),
                )
            )
        else:
            sor = printable(element.system_of_record or "no system of record")
            body.append(("line", f"* no golden value ({sor})"))
            if element.reason:
                body.append(("note", printable(element.reason, 300)))
        for copy in element.copies:
            if copy.status == "unknown":
                expected = "expected ?"
            elif copy.direction == "upstream":  # its value carried to the system of record
                sor = printable(element.system_of_record or "")
                expected = f"yields {_shown(copy.yields)} in {sor}"
            else:
                expected = f"expected {_shown(copy.expected)}"
            body.append(
                (
                    "row",
                    (
                        f"{_MARKS[copy.status]} {copy.status}",
                        printable(copy.system),
                        printable(copy.record),
                        _shown(copy.value),
                        expected,
                    ),
                )
            )
            if copy.reason and copy.reason != element.reason:
                body.append(("note", printable(copy.reason, 300)))
    rows = [cells for kind, cells in body if kind == "row"]
    widths = [max((len(row[i]) for row in rows), default=0) for i in range(5)]
    lines = list(head)
    for kind, content in body:
        if kind == "title":
            lines.extend(["", content])
        elif kind == "row":
            cells = "  ".join(cell.ljust(w) for cell, w in zip(content, widths, strict=True))
            lines.append(f"  {cells}".rstrip())
        elif kind == "line":
            lines.append(f"  {content}")
        else:
            lines.append(" " * (4 + widths[0]) + content)
    tally = record.counts()
    total = sum(tally.values())
    lines.append("")
    lines.append(
        f"{total} cop{'y' if total == 1 else 'ies'}: "
        + ", ".join(f"{count} {status}" for status, count in tally.items())
    )
    return "\n".join(lines) + "\n"


@click.command("golden")
@click.argument("system")
@click.argument("record")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="text for people, json for machines (the contract shape).",
)
@_as_of
@db_option
def golden_command(
    system: str, record: str, fmt: str, as_of: dt.datetime | None, db: str | None
) -> None:
    """The golden record of the business record known in SYSTEM as RECORD.

    Every element held anywhere in the record: its golden value (what the system of record
    holds), the owner, and each copy with what the declared transforms make of the golden
    value there: agrees, stale (an earlier golden value's result), divergent, or unknown.
    """
    store = open_db(db, must_exist=True)
    try:
        with explained(store, system):
            result = golden(store, system, record, as_of=as_of)
        findings = golden_findings(store, result, as_of=as_of)
        unchecked = golden_unchecked(result)
    finally:
        store.close()
    if fmt == "json":
        document = {
            **result.to_json(),
            "findings": [f.model_dump(mode="json") for f in findings],
            "findings_unchecked": unchecked,
        }
        click.echo(json.dumps(document, indent=2, ensure_ascii=False))
    else:
        click.echo(golden_text(result), nl=False)
        for line in [
            *findings_text(findings),
            *unchecked_text(unchecked),
            *judged_lines(result.judged),
        ]:
            click.echo(line)


@click.command("export")
@click.argument("fmt", metavar="FORMAT", type=click.Choice(FORMATS))
@click.argument("place", nargs=-1, metavar="[SYSTEM ELEMENT RECORD]")
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, writable=True, path_type=Path),
    default=None,
    help="Write to this file instead of standard output.",
)
@_as_of
@db_option
def export_command(
    fmt: str,
    place: tuple[str, ...],
    output: Path | None,
    as_of: dt.datetime | None,
    db: str | None,
) -> None:
    """Interchange formats: FORMAT is prov (W3C PROV-JSON), openlineage (RunEvents as JSON
    Lines) or dot (Graphviz).

    With SYSTEM ELEMENT RECORD, the trace of that value; without, the whole store (streamed).
    """
    if len(place) not in (0, 3):
        raise click.UsageError(
            f"give a place as SYSTEM ELEMENT RECORD (3 arguments), or none for the whole store;"
            f" got {len(place)}"
        )
    where = Place(*place) if place else None
    store = open_db(db, must_exist=True)
    try:
        with explained(store, where.system, where.element) if where else nullcontext():
            if output is None:
                _export(store, fmt, sys.stdout, where, as_of)
            else:
                with output.open("w", encoding="utf-8") as out:
                    _export(store, fmt, out, where, as_of)
    finally:
        store.close()


def _export(
    store: Any, fmt: str, out: IO[str], where: Place | None, as_of: dt.datetime | None
) -> None:
    export(store, fmt, out, where, as_of=as_of)
    out.flush()


COMMANDS: list[click.Command] = [golden_command, export_command]
