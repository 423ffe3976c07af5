"""OpenLineage in: RunEvents become observed flows between dataset fields.

The mapping (docs/CONTRACT.md §2):

- a dataset's ``namespace`` is the **system** (``hive://localhost:9083``, ``bigquery``);
- a dataset's ``name`` and a field make the **element** ``<dataset name>.<field>``
  (``test.t1.a``);
- the ``columnLineage`` facet of an output dataset gives **observed flows**: one row per input
  field and output field, with the OpenLineage ``transformations`` as JSON. Dependencies on a
  whole dataset (the facet's ``dataset`` list: filters, joins, sorts) flow into
  ``<dataset name>.*``. The deprecated per-field ``transformationType`` and
  ``transformationDescription`` (facet 1-0-x) are read as one transformation.

Every event is kept as it came in ``openlineage_events``, keyed by a digest of its content, so
re-sending an event changes nothing. OpenLineage's camelCase stays in this module.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from ..limits import text_problem
from ..live import Pause
from ..store import Connection
from ..store.database import Store
from ..store.openlineage import (
    add_summaries,
    insert_events,
    insert_flows,
    observed_flow_rows,
    stored_events_after,
    stored_payloads,
)
from ..store.rows import text_limit_problem
from ..store.schema import from_us, to_us
from ..store.writer import IngestResult, Rejection, validation_reason
from .ol_events import (
    AnyEvent,
    Dataset,
    DatasetEvent,
    FieldLineage,
    RunEvent,
    Transformation,
    parse_event,
)
from .ol_summary import summarize

WHOLE_DATASET = "*"
"""The field name of flows that feed a whole dataset (``<dataset name>.*``)."""

_BATCH = 500


@dataclass(frozen=True, slots=True)
class Flow:
    """One input field feeding one output field, as one event observed it."""

    source_system: str
    source_element: str
    target_system: str
    target_element: str
    transformations: tuple[dict[str, Any], ...] | None


def element_of(dataset: str, field: str) -> str:
    """The element a dataset field maps to: ``element_of("test.t1", "a") == "test.t1.a"``."""
    return f"{dataset}.{field}"


def _transformations(
    given: tuple[Transformation, ...] | None, lineage: FieldLineage | None
) -> tuple[dict[str, Any], ...] | None:
    if given is not None:
        return tuple(t.model_dump(by_alias=True, exclude_none=True) for t in given)
    if lineage is None or (
        lineage.transformation_type is None and lineage.transformation_description is None
    ):
        return None
    # The deprecated facet 1-0-x: IDENTITY (the same value) or MASKED (no original data).
    old = (lineage.transformation_type or "").upper()
    subtype = "IDENTITY" if old == "IDENTITY" else "TRANSFORMATION"
    shape: dict[str, Any] = {"type": "DIRECT", "subtype": subtype}
    if lineage.transformation_description is not None:
        shape["description"] = lineage.transformation_description
    if old == "MASKED":
        shape["masking"] = True
    return (shape,)


def flows_of(event: AnyEvent) -> Iterator[Flow]:
    """The observed flows of one event: every column-lineage input field of every output
    (of a DatasetEvent: of its one dataset, the static lineage it declares)."""
    outputs = (event.dataset,) if isinstance(event, DatasetEvent) else event.outputs
    for output in outputs:
        facet = output.facets.column_lineage
        if facet is None:
            continue
        for field, lineage in facet.fields.items():
            for source in lineage.input_fields:
                yield Flow(
                    source.namespace,
                    element_of(source.name, source.field),
                    output.namespace,
                    element_of(output.name, field),
                    _transformations(source.transformations, lineage),
                )
        for source in facet.dataset:
            yield Flow(
                source.namespace,
                element_of(source.name, source.field),
                output.namespace,
                element_of(output.name, WHOLE_DATASET),
                _transformations(source.transformations, None),
            )


def digest_of(data: Any) -> str:
    """Content digest of a decoded event: the same event re-sent has the same digest."""
    return hashlib.sha256(canonical_json(data).encode()).hexdigest()


def canonical_json(data: Any) -> str:
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


@dataclass(slots=True)
class _Parsed:
    event: AnyEvent
    payload: str  # the event as canonical JSON
    digest: str


NAIVE_TIME = "eventTime has no offset: read as UTC (add Z or +00:00 to say so)"
"""The warning for an ``eventTime`` without an offset."""


def ingest_openlineage_data(
    store: Store, items: Iterable[tuple[str, int | None, Any]]
) -> IngestResult:
    """Record decoded OpenLineage events given as (source, line or index, object).

    Valid events are kept (append-only; an event already stored counts as a duplicate) and
    their column lineage becomes observed flows. Invalid ones become :class:`Rejection` s naming
    the source and line; they never stop the good ones.

    Example:
        >>> from lineage.store import open_store
        >>> event = {"eventTime": "2026-11-20T09:00:00Z", "run": {"runId": "r1"},
        ...          "job": {"namespace": "etl", "name": "load"}}
        >>> ingest_openlineage_data(open_store("sqlite://"), [("<doc>", 1, event)]).accepted
        1
    """
    return _ingest(store, items)


def ingest_openlineage(
    store: Store,
    lines: Iterable[tuple[str, int, str | bytes] | Pause],
    *,
    on_reject: Callable[[Rejection], None] | None = None,
    on_commit: Callable[[], None] | None = None,
) -> IngestResult:
    """Record OpenLineage events from JSON Lines given as (source, line number, text).

    Blank lines are skipped; a line that is not JSON is rejected with its file and line
    (``on_reject`` is told of each as it is found). A :class:`~lineage.live.Pause` among the
    lines (a live stream paused) stores what came before it. ``on_commit`` is called after
    each batch stored (at a pause, every few thousand events, at the end).
    """

    def decoded() -> Iterator[tuple[str, int | None, Any] | Rejection | Pause]:
        for item in lines:
            if isinstance(item, Pause):
                yield item
                continue
            source, number, text = item
            if not text.strip():
                continue
            try:
                yield source, number, json.loads(text)
            except ValueError as exc:
                yield Rejection(source, number, f"not JSON: {exc}")
            except RecursionError:
                yield Rejection(source, number, "not JSON this tracker reads: nested too deeply")

    return _ingest(store, decoded(), on_reject=on_reject, on_commit=on_commit)


def _ingest(
    store: Store,
    items: Iterable[tuple[str, int | None, Any] | Rejection | Pause],
    *,
    on_reject: Callable[[Rejection], None] | None = None,
    on_commit: Callable[[], None] | None = None,
) -> IngestResult:
    result = IngestResult()
    batch: list[_Parsed] = []

    def reject(rejection: Rejection) -> None:
        result.rejected.append(rejection)
        if on_reject is not None:
            on_reject(rejection)

    def commit() -> None:
        """Store what is held (if anything), then tell ``on_commit``."""
        nonlocal batch
        if not batch:
            return
        _store(store, batch, result)
        batch = []
        if on_commit is not None:
            on_commit()

    for item in items:
        if isinstance(item, Pause):
            commit()
            continue
        if isinstance(item, Rejection):
            reject(item)
            continue
        source, line, data = item
        try:
            event = parse_event(data)
        except ValidationError as exc:
            reject(Rejection(source, line, validation_reason(exc)))
            continue
        except ValueError as exc:
            reject(Rejection(source, line, str(exc)))
            continue
        try:
            event.utc_time  # noqa: B018 - stored as UTC: it must exist
        except OverflowError:
            reason = "eventTime is outside years 1 to 9999 once in UTC; send a time in range"
            reject(Rejection(source, line, reason))
            continue
        if event.event_time.tzinfo is None:
            result.warnings.append(Rejection(source, line, NAIVE_TIME))
        payload = canonical_json(data)
        problem = _unstorable(event, payload)
        if problem is not None:
            reject(Rejection(source, line, problem))
            continue
        batch.append(_Parsed(event, payload, hashlib.sha256(payload.encode()).hexdigest()))
        if len(batch) >= _BATCH:
            commit()
    commit()
    return result


def job_of(event: AnyEvent) -> str | None:
    """``namespace/name`` of the event's job (None for a DatasetEvent)."""
    if isinstance(event, DatasetEvent):
        return None
    return f"{event.job.namespace}/{event.job.name}"


def _event_type(event: AnyEvent) -> str | None:
    if isinstance(event, RunEvent) and event.event_type is not None:
        return event.event_type.value
    return None


def _run_id(event: AnyEvent) -> str:
    if isinstance(event, RunEvent) and event.run is not None:
        return event.run.run_id
    return ""


def _unstorable(event: AnyEvent, payload: str) -> str | None:
    """Why an event cannot be stored (a NUL, an unpaired surrogate, a key too long), or None."""
    if "\\u0000" in payload:  # json.dumps writes a NUL as \u0000, in any string
        return "the event holds a NUL character (\\u0000), which cannot be stored; remove it"
    problem = text_problem(payload, "the event")
    if problem is not None:
        return problem
    keys: list[tuple[str, str]] = []
    if isinstance(event, DatasetEvent):
        datasets: tuple[Dataset, ...] = (event.dataset,)
    else:
        keys += [(event.job.namespace, "job.namespace"), (event.job.name, "job.name")]
        datasets = event.inputs + event.outputs
    if isinstance(event, RunEvent) and event.run is not None:
        keys.append((event.run.run_id, "run.runId"))
    for dataset in datasets:
        keys += [(dataset.namespace, "dataset namespace"), (dataset.name, "dataset name")]
    for flow in flows_of(event):
        keys.append((flow.source_system, "input namespace"))
        keys.append((flow.source_element, "input field"))
        keys.append((flow.target_system, "output namespace"))
        keys.append((flow.target_element, "output field"))
    for text, name in keys:
        problem = text_limit_problem(text, name, True)
        if problem is not None:
            return problem
    return None


def _store(store: Store, batch: Sequence[_Parsed], result: IngestResult) -> None:
    unique: dict[str, _Parsed] = {}
    for parsed in batch:
        unique.setdefault(parsed.digest, parsed)
    now = dt.datetime.now(dt.UTC)
    rows = [
        {
            "digest": digest,
            "event_type": _event_type(p.event),
            "event_time": to_us(p.event.utc_time),
            "run_id": _run_id(p.event),
            "job_namespace": "" if isinstance(p.event, DatasetEvent) else p.event.job.namespace,
            "job_name": "" if isinstance(p.event, DatasetEvent) else p.event.job.name,
            "producer": p.event.producer,
            "payload": p.payload,
            "recorded_at": to_us(now),
        }
        for digest, p in unique.items()
    ]
    with store.engine.begin() as conn:
        # An event already stored (or stored meanwhile by another writer) is skipped by the
        # unique digest; only the rows really inserted come back, and only they add flows.
        inserted = insert_events(conn, rows)
        flow_rows = []
        for digest, seq in inserted.items():
            event = unique[digest].event
            job = job_of(event) or ""
            at = to_us(event.utc_time)
            for flow in flows_of(event):
                flow_rows.append(
                    {
                        "ol_seq": seq,
                        "job": job,
                        "at": at,
                        "source_system": flow.source_system,
                        "source_element": flow.source_element,
                        "target_system": flow.target_system,
                        "target_element": flow.target_element,
                        "transformation": (
                            None
                            if flow.transformations is None
                            else canonical_json(list(flow.transformations))
                        ),
                    }
                )
        insert_flows(conn, flow_rows)
        added = sorted((seq, unique[digest]) for digest, seq in inserted.items())
        if added:
            add_summaries(
                conn,
                summarize(
                    [
                        (seq, to_us(p.event.utc_time), p.event, json.loads(p.payload))
                        for seq, p in added
                    ]
                ),
            )
    result.accepted += len(inserted)
    result.duplicate += len(batch) - len(inserted)


def rebuild_summaries(conn: Connection, *, chunk: int = 1000) -> int:
    """Sum up the OpenLineage events stored into the (empty) summary tables, in recording
    order (migration 0008 does it once); returns how many events were read."""
    seq, count = 0, 0
    while rows := stored_events_after(conn, seq, chunk):
        events = []
        for seq, at, payload in rows:
            data = json.loads(payload)
            events.append((seq, at, parse_event(data), data))
        add_summaries(conn, summarize(events))
        count += len(rows)
    return count


def stored_events(conn: Connection, *, as_of: int | None = None) -> Iterator[dict[str, Any]]:
    """Every OpenLineage event stored, as it came in, in recording order (streamed).

    ``as_of`` (microseconds since the epoch) leaves out events whose ``eventTime`` is later.
    Written out as JSON Lines and ingested again, they are the same events (same digests)
    and the same flows.
    """
    for payload in stored_payloads(conn, as_of=as_of):
        yield json.loads(payload)


@dataclass(frozen=True, slots=True)
class ObservedFlow:
    """A flow between two elements as OpenLineage jobs reported it, over all their runs."""

    job: str
    source_system: str
    source_element: str
    target_system: str
    target_element: str
    transformations: tuple[dict[str, Any], ...] | None
    first_seen: dt.datetime
    last_seen: dt.datetime
    observations: int

    @property
    def direct(self) -> bool:
        """The value itself flows (a DIRECT transformation), not only a filter or join on it."""
        if self.transformations is None:
            return not self.target_element.endswith("." + WHOLE_DATASET)
        return any(t.get("type") == "DIRECT" for t in self.transformations)


def observed_flows(
    store: Store,
    *,
    source_system: str | None = None,
    source_element: str | None = None,
    target_system: str | None = None,
    target_element: str | None = None,
    job: str | None = None,
) -> list[ObservedFlow]:
    """The distinct flows observed, optionally only those from or to one place or of one job.

    Each filter narrows the answer (``job`` is ``namespace/name``); the same flow reported by
    many runs is one :class:`ObservedFlow` with its first and last time and how often it was
    seen.

    Example:
        >>> from lineage.store import open_store
        >>> observed_flows(open_store("sqlite://"), target_system="bigquery")
        []
    """
    with store.engine.connect() as conn:
        rows = observed_flow_rows(
            conn,
            source_system=source_system,
            source_element=source_element,
            target_system=target_system,
            target_element=target_element,
            job=job,
        )
    return [
        ObservedFlow(
            row.job,
            row.source_system,
            row.source_element,
            row.target_system,
            row.target_element,
            None if row.transformation is None else tuple(json.loads(row.transformation)),
            from_us(row.first),
            from_us(row.last),
            int(row.n),
        )
        for row in rows
    ]
