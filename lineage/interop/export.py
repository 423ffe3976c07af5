"""Interchange formats of one trace, or of the whole store: PROV-JSON, OpenLineage, DOT.

With a place (system, element, record) each format describes that value's trace (what
:func:`lineage.trace.trace` finds); without one, the whole store, streamed from one query in
recording order and never held in memory:

- ``prov``: one W3C PROV-JSON document (see :mod:`lineage.interop.prov`);
- ``openlineage``: JSON Lines, one OpenLineage ``RunEvent`` per hop (job = the integration,
  input and output datasets = ``<system>`` namespace and the element's table part, the
  ``columnLineage`` facet naming the transform); writes and snapshots move no data between
  datasets and are not exported; for the whole store, the OpenLineage events received
  follow as they came in (RunEvents, JobEvents, DatasetEvents: an export round-trips them);
- ``dot``: for a trace, the trace drawing (:func:`lineage.render.to_dot`); for the whole
  store, the flows between systems as they happened, one edge per integration and element
  with the number of hops and how many did not verify (a value-level drawing of a whole store
  is not readable by anyone).
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from importlib import metadata
from typing import IO, Any

from ..errors import InputError
from ..model.registry import Registry
from ..render import to_dot
from ..rules import recorded_status
from ..store import Connection, Store
from ..store.queries import EventRow, InputRow, events_by_id, inputs_of
from ..store.records import StoredEvent, flow_counts, hop_statuses_at, stored_events
from ..store.schema import as_micros, iso
from ..trace import trace
from .openlineage import stored_events as stored_openlineage
from .prov import Input, ProvJsonWriter

FORMATS = ("prov", "openlineage", "dot")
"""The export formats (``lineage export FORMAT``)."""

OPENLINEAGE_SCHEMA = "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent"
COLUMN_LINEAGE_SCHEMA = (
    "https://openlineage.io/spec/facets/1-2-0/ColumnLineageDatasetFacet.json"
    "#/$defs/ColumnLineageDatasetFacet"
)
HOP_FACET_SCHEMA = "urn:lineage:facets:LineageHopRunFacet"
JOB_NAMESPACE = "lineage"
RUN_NAMESPACE = uuid.UUID("4f0d1d56-7a4e-4f7e-9a47-3c3b1f1f6a51")
"""Run ids are UUID5 of the hop's event id in this namespace: the same hop, the same run."""

_EVENT_TYPES = {"delivered": "COMPLETE", "failed": "FAIL", "sent": "START"}


def producer() -> str:
    """The ``producer`` URI of exported events (names this package and its version)."""
    try:
        version = metadata.version("lineage")
    except metadata.PackageNotFoundError:
        version = "0"
    return f"urn:lineage:{version}"


@dataclass(frozen=True, slots=True)
class Place:
    """The place whose trace to export."""

    system: str
    element: str
    record: str


# -- the events of one trace ----------------------------------------------------------------


def trace_events(
    store: Store, place: Place, *, as_of: dt.datetime | int | None = None
) -> list[StoredEvent]:
    """The events of one trace, oldest first, with their inputs' sources as the trace saw them.

    Raises:
        NotFoundError: the store holds nothing for the place.
    """
    result = trace(store, place.system, place.element, place.record, as_of=as_of)
    by_node = {node.id: node for node in result.nodes}
    wanted = [node.event for node in result.nodes if node.event is not None]
    sources: dict[tuple[str, int], str | None] = {}
    observed: dict[str, str | None] = {}
    for edge in result.edges:
        target = by_node[edge.target]
        source = by_node[edge.source]
        if target.event is None:
            continue
        if target.kind == "snapshot":
            observed[target.event] = source.event
        else:
            sources[(target.event, edge.position)] = source.event
    with store.engine.connect() as conn:
        rows = events_by_id(conn, wanted)
        hop_ids = [key for key, row in rows.items() if row.kind == "hop"]
        read = inputs_of(conn, hop_ids)
        statuses = hop_statuses_at(conn, hop_ids, as_micros(as_of))
    found: list[StoredEvent] = []
    for event_id in dict.fromkeys(wanted):
        row = rows[event_id]
        pairs = tuple(
            (item, sources.get((event_id, item.position))) for item in read.get(event_id, [])
        )
        found.append(StoredEvent(row, statuses.get(event_id), pairs, observed.get(event_id)))
    found.sort(key=lambda s: (s.row.at, s.row.seq))
    return found


def _events(
    store: Store, conn: Connection, place: Place | None, as_of: dt.datetime | int | None
) -> Iterable[StoredEvent]:
    if place is not None:
        return trace_events(store, place, as_of=as_of)
    return stored_events(conn, as_of=as_micros(as_of))


# -- PROV-JSON ------------------------------------------------------------------------------


def _prov_inputs(stored: StoredEvent) -> list[Input]:
    return [
        Input(item.position, item.system, item.element, item.record, item.value, source)
        for item, source in stored.inputs
    ]


def export_prov(
    store: Store,
    out: IO[str],
    place: Place | None = None,
    *,
    as_of: dt.datetime | int | None = None,
) -> ProvJsonWriter:
    """Write W3C PROV-JSON of one trace (``place``) or of the whole store to ``out``.

    Returns the writer, whose :meth:`~lineage.interop.prov.ProvJsonWriter.count` says how
    many records of each kind were written.
    """
    writer = ProvJsonWriter(store.registry())
    try:
        with store.engine.connect() as conn:
            for stored in _events(store, conn, place, as_of):
                writer.add_event(
                    stored.row,
                    status=stored.status,
                    inputs=_prov_inputs(stored),
                    observed=stored.observed,
                )
        writer.write_to(out)
    finally:
        writer.close()
    return writer


# -- OpenLineage ----------------------------------------------------------------------------


def split_element(element: str) -> tuple[str, str]:
    """An element as (dataset, field): ``order.total`` is field ``total`` of ``order``.

    The OpenLineage intake reads ``<dataset>.<field>`` back as the element.
    """
    dataset, _, name = element.rpartition(".")
    return (dataset, name) if dataset else (element, element)


def run_event(
    row: EventRow,
    inputs: Iterable[InputRow],
    *,
    status: str | None = None,
    registry: Registry | None = None,
) -> dict[str, Any]:
    """One hop as an OpenLineage RunEvent (spec 2-0-2).

    The job is the hop's integration (``undeclared:<source>-><target>`` when it names
    none), the run id a UUID5 of the hop's event id; the output dataset carries a
    ``columnLineage`` facet from each input field, with the transform as a ``DIRECT``
    transformation, and the run a ``lineage_hop`` facet with the hop's own details.
    """
    items = list(inputs)
    state = recorded_status(status or row.status)
    source_systems = sorted({item.system for item in items})
    job = row.integration or f"undeclared:{','.join(source_systems)}->{row.system}"
    out_dataset, out_field = split_element(row.element)
    identity = (row.transform or "identity") == "identity"
    inputs_json: list[dict[str, Any]] = []
    seen: set[tuple[str, str]] = set()
    fields: list[dict[str, Any]] = []
    for item in items:
        dataset, field = split_element(item.element)
        if (item.system, dataset) not in seen:
            seen.add((item.system, dataset))
            inputs_json.append({"namespace": item.system, "name": dataset})
        fields.append(
            {
                "namespace": item.system,
                "name": dataset,
                "field": field,
                "transformations": [
                    {
                        "type": "DIRECT",
                        "subtype": "IDENTITY" if identity else "TRANSFORMATION",
                        "description": row.transform or "identity",
                        "masking": False,
                    }
                ],
            }
        )
    made_by = producer()
    hop_facet: dict[str, Any] = {
        "_producer": made_by,
        "_schemaURL": HOP_FACET_SCHEMA,
        "event": row.event_id,
        "record": row.record,
        "inputRecords": [
            {"namespace": i.system, "element": i.element, "record": i.record} for i in items
        ],
        "transform": row.transform,
        "status": state,
        "declared": row.declared,
        "verified": row.verified,
    }
    if row.error:
        hop_facet["error"] = row.error
    declared = registry.integration(row.integration) if registry and row.integration else None
    if declared is not None and declared.owner:
        hop_facet["owner"] = declared.owner
    return {
        "eventType": _EVENT_TYPES.get(state, "OTHER"),
        "eventTime": iso(row.at),
        "producer": made_by,
        "schemaURL": OPENLINEAGE_SCHEMA,
        "run": {
            "runId": str(uuid.uuid5(RUN_NAMESPACE, row.event_id)),
            "facets": {"lineage_hop": hop_facet},
        },
        "job": {"namespace": JOB_NAMESPACE, "name": job},
        "inputs": inputs_json,
        "outputs": [
            {
                "namespace": row.system,
                "name": out_dataset,
                "facets": {
                    "columnLineage": {
                        "_producer": made_by,
                        "_schemaURL": COLUMN_LINEAGE_SCHEMA,
                        "fields": {out_field: {"inputFields": fields}},
                    }
                },
            }
        ],
    }


def openlineage_events(
    store: Store, place: Place | None = None, *, as_of: dt.datetime | int | None = None
) -> Iterator[dict[str, Any]]:
    """The RunEvents of one trace or of the whole store, one per hop, in time order.

    For the whole store, the OpenLineage events it received follow, each as it came in (so
    an export ingested again gives back the same events and flows).
    """
    registry = store.registry()
    with store.engine.connect() as conn:
        for stored in _events(store, conn, place, as_of):
            if stored.row.kind == "hop":
                yield run_event(
                    stored.row,
                    (item for item, _ in stored.inputs),
                    status=stored.status,
                    registry=registry,
                )
    if place is None:
        with store.engine.connect() as conn:
            yield from stored_openlineage(conn, as_of=as_micros(as_of))


def export_openlineage(
    store: Store,
    out: IO[str],
    place: Place | None = None,
    *,
    as_of: dt.datetime | int | None = None,
) -> int:
    """Write OpenLineage RunEvents as JSON Lines to ``out``; returns how many."""
    count = 0
    for event in openlineage_events(store, place, as_of=as_of):
        out.write(json.dumps(event, ensure_ascii=False, separators=(",", ":")))
        out.write("\n")
        count += 1
    return count


# -- DOT ------------------------------------------------------------------------------------


def _dot_id(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'"{escaped}"'


def store_flows_dot(conn: Connection, registry: Registry) -> str:
    """The flows recorded in the whole store, between systems, in Graphviz DOT.

    One aggregate query (grouped by source system, integration, target system and element):
    its size follows the number of routes, not of hops.
    """
    rows = flow_counts(conn)
    systems = sorted(
        {r.source for r in rows} | {r.target for r in rows} | {s.name for s in registry.systems}
    )
    lines = [
        "digraph store {",
        "  graph [rankdir=LR, fontname=Helvetica];",
        '  node [shape=box, style="rounded,filled", fillcolor=white, fontname=Helvetica];',
        "  edge [fontname=Helvetica, fontsize=10];",
    ]
    for system in systems:
        lines.append(f"  {_dot_id(system)} [label={_dot_id(system)}];")
    for r in rows:
        route = r.integration or "(undeclared)"
        bad = r.unverified
        label = f"{r.element}\n{route}: {r.hops} hop{'s' if r.hops != 1 else ''}"
        attrs = [f"label={_dot_id(label)}"]
        if bad:
            attrs[0] = f"label={_dot_id(label + f', {bad} unverified')}"
            attrs += ['color="#c62828"', 'fontcolor="#c62828"', "style=dashed"]
        if r.integration is None or registry.integration(r.integration) is None:
            attrs += ['color="#ef6c00"', "style=dashed"]
        lines.append(f"  {_dot_id(r.source)} -> {_dot_id(r.target)} [{', '.join(attrs)}];")
    lines.append("}")
    return "\n".join(lines) + "\n"


def export_dot(
    store: Store,
    out: IO[str],
    place: Place | None = None,
    *,
    as_of: dt.datetime | int | None = None,
) -> None:
    """Write DOT of one trace (``place``) or of the flows in the whole store to ``out``."""
    if place is None:
        with store.engine.connect() as conn:
            out.write(store_flows_dot(conn, store.registry()))
        return
    out.write(to_dot(trace(store, place.system, place.element, place.record, as_of=as_of)))


def export(
    store: Store,
    fmt: str,
    out: IO[str],
    place: Place | None = None,
    *,
    as_of: dt.datetime | int | None = None,
) -> None:
    """Write ``fmt`` (``prov``, ``openlineage`` or ``dot``) of a trace or the store to ``out``."""
    if fmt == "prov":
        export_prov(store, out, place, as_of=as_of)
    elif fmt == "openlineage":
        export_openlineage(store, out, place, as_of=as_of)
    elif fmt == "dot":
        export_dot(store, out, place, as_of=as_of)
    else:
        raise InputError(f"unknown export format {fmt!r}: use one of {', '.join(FORMATS)}")


__all__ = [
    "FORMATS",
    "Place",
    "export",
    "export_dot",
    "export_openlineage",
    "export_prov",
    "openlineage_events",
    "producer",
    "run_event",
    "split_element",
    "store_flows_dot",
    "trace_events",
]
