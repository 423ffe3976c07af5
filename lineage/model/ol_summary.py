"""Summaries of what OpenLineage events said (migration 0008), and how two merge.

Plain values, no SQL and no parsing: :mod:`lineage.interop.ol_summary` builds them from
events, :mod:`lineage.store.openlineage` stores and reads them. Merging is what one pass over
the events in recording order gives: times take the earliest and latest, counts add up, a
later event's description, parent, facets and schema replace an earlier one's, a run's state
is its latest event's (by event time, then recording order).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

TERMINAL = ("COMPLETE", "FAIL", "ABORT")
"""Run states that end a run."""
STARTED = ("START", "RUNNING")


def _lo(a: int | None, b: int | None) -> int | None:
    return b if a is None else a if b is None else min(a, b)


def _hi(a: int | None, b: int | None) -> int | None:
    return b if a is None else a if b is None else max(a, b)


@dataclass(slots=True)
class NamespaceSum:
    name: str
    first: int | None = None
    last: int | None = None
    dataset_mentions: int = 0
    job_events: int = 0

    def merge(self, new: NamespaceSum) -> None:
        self.first, self.last = _lo(self.first, new.first), _hi(self.last, new.last)
        self.dataset_mentions += new.dataset_mentions
        self.job_events += new.job_events


@dataclass(slots=True)
class JobSum:
    namespace: str
    name: str
    first: int
    last: int
    events: int = 0
    runs: int = 0
    description: str | None = None
    parent: str | None = None
    facets: dict[str, Any] = field(default_factory=dict)

    def merge(self, new: JobSum) -> None:
        self.first, self.last = min(self.first, new.first), max(self.last, new.last)
        self.events += new.events
        self.runs += new.runs
        self.description = new.description or self.description
        self.parent = new.parent or self.parent
        self.facets.update(new.facets)


@dataclass(frozen=True, slots=True)
class FieldSum:
    """A dataset field: its type and description, whether a schema facet said so (a field
    only named by column lineage is replaced by a schema's, never the reverse) and whether
    column lineage named it as a job's output (``target``), not only as a source."""

    type: str | None
    description: str | None
    from_schema: bool
    target: bool = False


@dataclass(slots=True)
class DatasetSum:
    namespace: str
    name: str
    first: int | None = None
    last: int | None = None
    mentions: int = 0
    description: str | None = None
    facets: dict[str, Any] = field(default_factory=dict)
    fields: dict[str, FieldSum] = field(default_factory=dict)
    current_version: str | None = None
    last_modified: int | None = None

    def merge(self, new: DatasetSum) -> None:
        self.first, self.last = _lo(self.first, new.first), _hi(self.last, new.last)
        self.mentions += new.mentions
        self.description = new.description or self.description
        self.facets.update(new.facets)
        for name, found in new.fields.items():
            known = self.fields.get(name)
            if known is None or found.from_schema:
                self.fields[name] = found
            elif found.target and not known.target:
                self.fields[name] = FieldSum(known.type, known.description, known.from_schema, True)
        if new.last_modified is not None and (
            self.last_modified is None
            or (new.last_modified, new.current_version or "")
            >= (self.last_modified, self.current_version or "")
        ):
            self.current_version, self.last_modified = new.current_version, new.last_modified


@dataclass(slots=True)
class RunSum:
    run_id: str
    job_namespace: str
    job_name: str
    first: int
    last: int
    last_seq: int
    state: str | None = None
    ended_state: str | None = None
    ended_at: int | None = None
    ended_seq: int | None = None
    started: int | None = None
    error: str | None = None
    language: str | None = None
    facets: dict[str, Any] = field(default_factory=dict)
    events: int = 0

    def merge(self, new: RunSum) -> None:
        later = (new.last, new.last_seq) >= (self.last, self.last_seq)
        if later:
            self.last, self.last_seq, self.state = new.last, new.last_seq, new.state
            if new.error is not None:
                self.error, self.language = new.error, new.language
        elif self.error is None and new.error is not None:
            self.error, self.language = new.error, new.language
        self.first = min(self.first, new.first)
        if new.ended_at is not None and (
            self.ended_at is None
            or (new.ended_at, new.ended_seq or 0) >= (self.ended_at, self.ended_seq or 0)
        ):
            self.ended_state, self.ended_at, self.ended_seq = (
                new.ended_state,
                new.ended_at,
                new.ended_seq,
            )
        self.started = _lo(self.started, new.started)
        self.facets.update(new.facets)
        self.events += new.events


@dataclass(frozen=True, slots=True)
class EdgeSum:
    """A column-lineage edge: a source field feeds a target field (``job`` '' when a
    DatasetEvent declared it; ``output`` when it was reported on a job's output)."""

    job: str
    output: bool
    source: tuple[str, str, str]
    target: tuple[str, str, str]
    description: str | None
    kind: str | None

    @property
    def key(self) -> str:
        parts = [self.job, "1" if self.output else "0", *self.source, *self.target]
        parts += [self.description or "", self.kind or ""]
        return hashlib.sha256("\x00".join(parts).encode()).hexdigest()


@dataclass(slots=True)
class BatchSum:
    """What a batch of events adds, each thing merged over the batch in recording order."""

    namespaces: dict[str, NamespaceSum] = field(default_factory=dict)
    jobs: dict[tuple[str, str], JobSum] = field(default_factory=dict)
    datasets: dict[tuple[str, str], DatasetSum] = field(default_factory=dict)
    runs: dict[tuple[str, str, str], RunSum] = field(default_factory=dict)
    versions: dict[tuple[str, str, str], tuple[int, str | None]] = field(default_factory=dict)
    job_io: set[tuple[str, str, str, str, str]] = field(default_factory=set)
    run_io: set[tuple[str, str, str, str]] = field(default_factory=set)
    edges: dict[str, EdgeSum] = field(default_factory=dict)
