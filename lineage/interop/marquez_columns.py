"""Column lineage in Marquez's shape (``GET /api/v1/column-lineage``): dataset fields as
nodes, the columnLineage facets received and the registry's carries as edges."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..errors import InputError, NotFoundError
from .marquez_shapes import ColumnInputField, ColumnLineageGraph, Edge, FieldData, FieldNode

if TYPE_CHECKING:
    from .marquez_read import Catalogue


@dataclass(frozen=True, slots=True)
class FieldEdge:
    """One field feeding another: (namespace, dataset, field) twice, and how."""

    source: tuple[str, str, str]
    target: tuple[str, str, str]
    description: str | None
    kind: str | None


def column_lineage(
    cat: Catalogue, node_id: str, depth: int, downstream: bool
) -> ColumnLineageGraph:
    """The field-level graph around a dataset, a dataset field or a job's datasets, walked
    one level at a time (each level one indexed lookup of the edges into, and with
    ``downstream`` out of, the fields reached)."""
    starts = _field_starts(cat, node_id)
    kept: dict[tuple[str, str, str], int] = dict.fromkeys(starts, 0)
    edges: set[FieldEdge] = set()
    frontier = set(starts)
    level = 0
    while frontier and level < depth:
        found = cat.edges_into(frontier)
        nexts = {e.source for e in found}
        if downstream:
            out = cat.edges_from(frontier)
            found |= out
            nexts |= {e.target for e in out}
        edges |= found
        level += 1
        frontier = {n for n in nexts if n not in kept}
        for other in frontier:
            kept[other] = level
    edges = {e for e in edges if e.source in kept and e.target in kept}
    ups: dict[tuple[str, str, str], list[FieldEdge]] = {}
    downs: dict[tuple[str, str, str], list[FieldEdge]] = {}
    for edge in edges:
        ups.setdefault(edge.target, []).append(edge)
        downs.setdefault(edge.source, []).append(edge)
    types = cat.field_types({(k[0], k[1]) for k in kept})
    nodes = []
    for key in sorted(kept):
        namespace, dataset, name = key
        incoming = sorted(ups.get(key, ()), key=_order)
        outgoing = sorted(downs.get(key, ()), key=lambda e: (e.target, *_order(e)))
        nodes.append(
            FieldNode(
                id=_field_id(key),
                data=FieldData(
                    namespace=namespace,
                    dataset=dataset,
                    field=name,
                    field_type=types.get(key),
                    input_fields=[
                        ColumnInputField(
                            namespace=e.source[0],
                            dataset=e.source[1],
                            field=e.source[2],
                            transformation_description=e.description,
                            transformation_type=e.kind,
                        )
                        for e in incoming
                    ],
                ),
                in_edges=_unique(
                    Edge(origin=_field_id(e.source), destination=_field_id(key)) for e in incoming
                ),
                out_edges=_unique(
                    Edge(origin=_field_id(key), destination=_field_id(e.target)) for e in outgoing
                ),
            )
        )
    return ColumnLineageGraph(graph=nodes)


def _order(edge: FieldEdge) -> tuple[str, ...]:
    return (*edge.source, edge.description or "", edge.kind or "")


def _unique(edges: Iterable[Edge]) -> list[Edge]:
    return list(dict.fromkeys(edges))


def _field_starts(cat: Catalogue, node_id: str) -> list[tuple[str, str, str]]:
    kind, _, rest = node_id.partition(":")
    if kind == "datasetField":
        namespace, dataset, name = _three(node_id, rest)
        return [(namespace, dataset, name)]
    if kind == "dataset":
        namespace, _, dataset = rest.rpartition(":")
        fields = cat.dataset_fields(namespace, dataset)
        if fields is None:
            raise NotFoundError(f"no dataset {node_id!r} is known")
        return fields
    if kind == "job":
        namespace, _, name = rest.rpartition(":")
        outputs = cat.job_output_fields(namespace, name)
        if outputs is None:
            raise NotFoundError(f"no job {node_id!r} is known")
        return outputs
    raise InputError(
        f"nodeId {node_id!r} is not dataset:<namespace>:<name>, "
        "datasetField:<namespace>:<name>:<field> or job:<namespace>:<name>"
    )


def _three(node_id: str, rest: str) -> tuple[str, str, str]:
    # namespaces hold ':' (postgres://host:5432): the field is after the last ':', the
    # dataset after the one before it
    head, _, name = rest.rpartition(":")
    namespace, _, dataset = head.rpartition(":")
    if not namespace or not dataset or not name:
        raise InputError(f"nodeId {node_id!r} is not datasetField:<namespace>:<name>:<field>")
    return namespace, dataset, name


def _edge(origin: tuple[str, str, str], destination: tuple[str, str, str]) -> Edge:
    return Edge(origin=_field_id(origin), destination=_field_id(destination))


def _field_id(key: tuple[str, str, str]) -> str:
    return f"datasetField:{key[0]}:{key[1]}:{key[2]}"
