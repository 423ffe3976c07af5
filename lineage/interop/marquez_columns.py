"""Column lineage in Marquez's shape (``GET /api/v1/column-lineage``): dataset fields as
nodes, the columnLineage facets received and the registry's carries as edges."""

from __future__ import annotations

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
    """The field-level graph around a dataset, a dataset field or a job's datasets."""
    starts = _field_starts(cat, node_id)
    ups: dict[tuple[str, str, str], set[FieldEdge]] = {}
    downs: dict[tuple[str, str, str], set[FieldEdge]] = {}
    for edge in cat.field_edges:
        ups.setdefault(edge.target, set()).add(edge)
        downs.setdefault(edge.source, set()).add(edge)
    kept: dict[tuple[str, str, str], int] = dict.fromkeys(starts, 0)
    frontier = list(starts)
    while frontier:
        node = frontier.pop()
        if kept[node] >= depth:
            continue
        nexts = [e.source for e in ups.get(node, ())]
        if downstream:
            nexts += [e.target for e in downs.get(node, ())]
        for other in nexts:
            if other not in kept:
                kept[other] = kept[node] + 1
                frontier.append(other)
    nodes = []
    for key in sorted(kept):
        namespace, dataset, name = key
        known = cat.datasets.get((namespace, dataset))
        incoming = sorted((e for e in ups.get(key, ()) if e.source in kept), key=lambda e: e.source)
        outgoing = sorted(
            (e for e in downs.get(key, ()) if e.target in kept), key=lambda e: e.target
        )
        nodes.append(
            FieldNode(
                id=_field_id(key),
                data=FieldData(
                    namespace=namespace,
                    dataset=dataset,
                    field=name,
                    field_type=known.fields.get(name) if known else None,
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
                in_edges=[
                    Edge(origin=_field_id(e.source), destination=_field_id(key)) for e in incoming
                ],
                out_edges=[
                    Edge(origin=_field_id(key), destination=_field_id(e.target)) for e in outgoing
                ],
            )
        )
    return ColumnLineageGraph(graph=nodes)


def _field_starts(cat: Catalogue, node_id: str) -> list[tuple[str, str, str]]:
    kind, _, rest = node_id.partition(":")
    fields = {e.source for e in cat.field_edges} | {e.target for e in cat.field_edges}
    if kind == "datasetField":
        namespace, dataset, name = _three(node_id, rest)
        return [(namespace, dataset, name)]
    if kind == "dataset":
        namespace, _, dataset = rest.rpartition(":")
        known = cat.datasets.get((namespace, dataset))
        if known is None:
            raise NotFoundError(f"no dataset {node_id!r} is known")
        names = set(known.fields) | {f[2] for f in fields if f[:2] == (namespace, dataset)}
        return [(namespace, dataset, n) for n in sorted(names)]
    if kind == "job":
        namespace, _, name = rest.rpartition(":")
        job = cat.jobs.get((namespace, name))
        if job is None:
            raise NotFoundError(f"no job {node_id!r} is known")
        return sorted(f for f in fields if f[:2] in job.outputs)
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
