"""What a batch of OpenLineage events adds to the summary tables (migration 0008).

Every OpenLineage answer reads summaries kept as events are stored: per namespace, job,
dataset and run what was seen, how often, first and last, the datasets each job and run read
and wrote, dataset versions and column-lineage edges (:mod:`lineage.model.ol_summary`). This
module reads events into them; the store (:mod:`lineage.store.openlineage`) merges them into
the stored ones.
"""

from __future__ import annotations

from typing import Any

from ..model.ol_summary import (
    STARTED,
    TERMINAL,
    BatchSum,
    DatasetSum,
    EdgeSum,
    FieldSum,
    JobSum,
    NamespaceSum,
    RunSum,
)
from .ol_events import AnyEvent, Dataset, DatasetEvent, RunEvent


class _Builder:
    def __init__(self) -> None:
        self.batch = BatchSum()

    def add(self, seq: int, at: int, event: AnyEvent, payload: dict[str, Any]) -> None:
        """Add one event (its recording ``seq``, time ``at`` and the JSON it came as)."""
        if isinstance(event, DatasetEvent):
            self._namespace(NamespaceSum(event.dataset.namespace, at, at, 1))
            self._dataset(event.dataset, at, payload.get("dataset"), None, versioned=True)
            return
        namespace, name = event.job.namespace, event.job.name
        job_facets = _dict((payload.get("job") or {}).get("facets"))
        run = event.run if isinstance(event, RunEvent) else None
        parent = run.facets.parent if run is not None else None
        job = JobSum(
            namespace,
            name,
            at,
            at,
            1,
            description=_description(job_facets),
            parent=parent.job.name if parent is not None and parent.job is not None else None,
            facets=job_facets,
        )
        self._namespace(NamespaceSum(namespace, at, at, 0, 1))
        run_id = run.run_id if run is not None else None
        jobkey = f"{namespace}/{name}"
        for io, datasets, raw in (
            ("in", event.inputs, payload.get("inputs") or []),
            ("out", event.outputs, payload.get("outputs") or []),
        ):
            for dataset, body in zip(datasets, raw, strict=False):
                self._namespace(NamespaceSum(dataset.namespace, at, at, 1))
                self.batch.job_io.add((namespace, name, io, dataset.namespace, dataset.name))
                if run_id is not None:
                    self.batch.run_io.add((run_id, io, dataset.namespace, dataset.name))
                writes = io == "out"
                self._dataset(
                    dataset, at, body, run_id if writes else None, versioned=writes, job=jobkey
                )
        if run is not None:
            assert isinstance(event, RunEvent)
            if (namespace, name, run.run_id) not in self.batch.runs:
                job.runs = 1  # the store counts it only if it was not stored before
            self._run(seq, at=at, event=event, payload=payload, namespace=namespace, name=name)
        known = self.batch.jobs.get((namespace, name))
        if known is None:
            self.batch.jobs[(namespace, name)] = job
        else:
            known.merge(job)

    def _namespace(self, new: NamespaceSum) -> None:
        known = self.batch.namespaces.get(new.name)
        if known is None:
            self.batch.namespaces[new.name] = new
        else:
            known.merge(new)

    def _dataset(
        self,
        dataset: Dataset,
        at: int,
        body: Any,
        run_id: str | None,
        *,
        versioned: bool,
        job: str = "",
    ) -> None:
        facets = _dict(_dict(body).get("facets"))
        new = DatasetSum(
            dataset.namespace,
            dataset.name,
            at,
            at,
            1,
            description=_description(facets),
            facets=facets,
        )
        schema = dataset.facets.schema_
        for declared in schema.fields if schema else ():
            new.fields[declared.name] = FieldSum(declared.type, declared.description, True)
        lineage = dataset.facets.column_lineage
        target_of = (dataset.namespace, dataset.name)
        for name, field_lineage in lineage.fields.items() if lineage else ():
            new.fields.setdefault(name, FieldSum(None, None, False, target=True))
            for source in field_lineage.input_fields:
                first = source.transformations[0] if source.transformations else None
                edge = EdgeSum(
                    job,
                    versioned and bool(job),
                    (source.namespace, source.name, source.field),
                    (*target_of, name),
                    first.description if first else field_lineage.transformation_description,
                    first.type if first else field_lineage.transformation_type,
                )
                self.batch.edges.setdefault(edge.key, edge)
                self._namespace(NamespaceSum(source.namespace))
                named = DatasetSum(source.namespace, source.name)
                named.fields[source.field] = FieldSum(None, None, False)
                self._merge_dataset(named)
        if versioned and (schema is not None or run_id is not None):
            version = run_id or str(at)
            key = (dataset.namespace, dataset.name, version)
            before = self.batch.versions.get(key)
            self.batch.versions[key] = (max(at, before[0]) if before else at, run_id)
            new.current_version, new.last_modified = version, self.batch.versions[key][0]
        self._merge_dataset(new)

    def _merge_dataset(self, new: DatasetSum) -> None:
        known = self.batch.datasets.get((new.namespace, new.name))
        if known is None:
            self.batch.datasets[(new.namespace, new.name)] = new
        else:
            known.merge(new)

    def _run(
        self,
        seq: int,
        *,
        at: int,
        event: RunEvent,
        payload: dict[str, Any],
        namespace: str,
        name: str,
    ) -> None:
        assert event.run is not None
        state = event.event_type.value if event.event_type else None
        error = event.run.facets.error_message
        new = RunSum(
            event.run.run_id,
            namespace,
            name,
            at,
            at,
            seq,
            state=state,
            ended_state=state if state in TERMINAL else None,
            ended_at=at if state in TERMINAL else None,
            ended_seq=seq if state in TERMINAL else None,
            started=at if state in STARTED else None,
            error=error.message if error else None,
            language=error.programming_language if error else None,
            facets=_dict((payload.get("run") or {}).get("facets")),
            events=1,
        )
        key = (namespace, name, new.run_id)
        known = self.batch.runs.get(key)
        if known is None:
            self.batch.runs[key] = new
        else:
            known.merge(new)


def _dict(value: Any) -> dict[str, Any]:
    return dict(value) if isinstance(value, dict) else {}


def _description(facets: dict[str, Any]) -> str | None:
    documentation = facets.get("documentation")
    if isinstance(documentation, dict) and isinstance(documentation.get("description"), str):
        return str(documentation["description"])
    return None


def summarize(events: list[tuple[int, int, AnyEvent, dict[str, Any]]]) -> BatchSum:
    """The summary of events given as (seq, time in microseconds, event, its JSON), in
    recording order."""
    builder = _Builder()
    for seq, at, event, payload in events:
        builder.add(seq, at, event, payload)
    return builder.batch
