"""Writing events into the store: validated, verified at the point of entry, idempotent.

Re-sending an event changes nothing; the same hop id with a new ``status`` is a status change
(a new row in ``hop_status``); the same id with any other difference is a conflict, rejected
and named. Good events in a batch are kept whatever happens to the bad ones.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError
from sqlalchemy import Connection, insert, select

from ..model.events import EVENT_ADAPTER, Hop, Snapshot, Write, event_id
from ..verify import HopVerifier
from .database import Store
from .schema import events, hop_inputs, hop_status, to_us

AnyEvent = Write | Hop | Snapshot
_CORE_EXCLUDE = {"status", "error", "at"}


@dataclass(frozen=True, slots=True)
class Rejection:
    """A bad event: where it came from and why it was not recorded."""

    source: str
    line: int | None
    reason: str
    event_id: str | None = None

    def __str__(self) -> str:
        where = f"{self.source}:{self.line}" if self.line is not None else self.source
        return f"{where}: {self.reason}"


@dataclass(slots=True)
class IngestResult:
    """Counts of one ingestion: what was recorded, what was already there, what was refused."""

    accepted: int = 0
    duplicate: int = 0
    status_updates: int = 0
    rejected: list[Rejection] = field(default_factory=list)

    def merge(self, other: IngestResult) -> None:
        self.accepted += other.accepted
        self.duplicate += other.duplicate
        self.status_updates += other.status_updates
        self.rejected.extend(other.rejected)

    def as_dict(self) -> dict[str, Any]:
        return {
            "accepted": self.accepted,
            "duplicate": self.duplicate,
            "status_updates": self.status_updates,
            "rejected": len(self.rejected),
            "errors": [
                {"source": r.source, "line": r.line, "id": r.event_id, "reason": r.reason}
                for r in self.rejected
            ],
        }


def validation_reason(exc: ValidationError) -> str:
    """A pydantic error as one short line: ``output.value: Input should be ...``."""
    parts = []
    for error in exc.errors()[:3]:
        loc = ".".join(str(p) for p in error["loc"] if not isinstance(p, int) or True)
        parts.append(f"{loc}: {error['msg']}" if loc else str(error["msg"]))
    more = len(exc.errors()) - 3
    return "; ".join(parts) + (f" (and {more} more)" if more > 0 else "")


def core_digest(event: AnyEvent) -> str:
    """Hash of what makes an event itself: everything but a hop's status, error and time."""
    text = event.model_dump_json(exclude=_CORE_EXCLUDE)
    return hashlib.blake2b(text.encode(), digest_size=16).hexdigest()


@dataclass(slots=True)
class _Known:
    digest: str
    at: int
    kind: str
    status: str | None


@dataclass(slots=True)
class _Pending:
    event: AnyEvent
    event_id: str
    source: str
    line: int | None


class Writer:
    """Buffers events and writes them in batches.

    Example:
        >>> from lineage.store import open_store
        >>> store = open_store("sqlite://")
        >>> with Writer(store) as writer:
        ...     writer.add_json('{"kind": "write", "system": "CRM", "element": "e", '
        ...                     '"record": "1", "value": "x", "at": "2026-11-20T09:00:00Z"}')
        >>> writer.result.accepted
        1
    """

    def __init__(self, store: Store, *, batch_size: int = 5000) -> None:
        self.store = store
        self.batch_size = batch_size
        self.verifier = HopVerifier(store.registry())
        self.result = IngestResult()
        self._pending: list[_Pending] = []

    def __enter__(self) -> Writer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.flush()

    def add_json(self, text: str | bytes, *, source: str = "<input>", line: int | None = None) -> None:
        """Validate one JSON event and buffer it; a bad one becomes a :class:`Rejection`."""
        try:
            parsed = EVENT_ADAPTER.validate_json(text)
        except ValidationError as exc:
            self.result.rejected.append(Rejection(source, line, validation_reason(exc)))
            return
        self.add(parsed, source=source, line=line)

    def add_data(self, data: Any, *, source: str = "<input>", line: int | None = None) -> None:
        """Validate one decoded JSON object and buffer it."""
        try:
            parsed = EVENT_ADAPTER.validate_python(data)
        except ValidationError as exc:
            self.result.rejected.append(Rejection(source, line, validation_reason(exc)))
            return
        self.add(parsed, source=source, line=line)

    def add(self, event: AnyEvent, *, source: str = "<input>", line: int | None = None) -> None:
        """Buffer one validated event; written at the next :meth:`flush` or full batch."""
        self._pending.append(_Pending(event, event_id(event), source, line))
        if len(self._pending) >= self.batch_size:
            self.flush()

    def flush(self) -> IngestResult:
        """Write what is buffered in one transaction; returns the running totals."""
        if not self._pending:
            return self.result
        pending, self._pending = self._pending, []
        with self.store.engine.begin() as conn:
            self._write(conn, pending)
        return self.result

    def _known(self, conn: Connection, ids: list[str]) -> dict[str, _Known]:
        known: dict[str, _Known] = {}
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            rows = conn.execute(
                select(events.c.event_id, events.c.digest, events.c.at, events.c.kind,
                       events.c.status).where(events.c.event_id.in_(chunk))
            )
            for row in rows:
                known[row.event_id] = _Known(row.digest, row.at, row.kind, row.status)
            hop_ids = [i for i in chunk if i in known and known[i].kind == "hop"]
            if hop_ids:
                latest = conn.execute(
                    select(hop_status.c.event_id, hop_status.c.status)
                    .where(hop_status.c.event_id.in_(hop_ids))
                    .order_by(hop_status.c.seq)
                )
                for row in latest:
                    known[row.event_id].status = row.status
        return known

    def _write(self, conn: Connection, pending: list[_Pending]) -> None:
        known = self._known(conn, list({p.event_id for p in pending}))
        now = time.time_ns() // 1000
        event_rows: list[dict[str, Any]] = []
        input_rows: list[dict[str, Any]] = []
        status_rows: list[dict[str, Any]] = []
        for item in pending:
            event, eid = item.event, item.event_id
            digest = core_digest(event)
            at = to_us(event.at)
            status = event.status.value if isinstance(event, Hop) else None
            seen = known.get(eid)
            if seen is not None:
                if seen.digest != digest or seen.kind != event.kind:
                    self.result.rejected.append(Rejection(
                        item.source, item.line,
                        f"event id {eid!r} was recorded before with different content; "
                        "send a new id for a new event", eid))
                elif status is not None and status != seen.status:
                    status_rows.append({"event_id": eid, "status": status,
                                        "error": getattr(event, "error", None), "at": at,
                                        "recorded_at": now})
                    seen.status = status
                    self.result.status_updates += 1
                elif seen.at != at:
                    self.result.rejected.append(Rejection(
                        item.source, item.line,
                        f"event id {eid!r} was recorded before at another time; "
                        "send a new id for a new event", eid))
                else:
                    self.result.duplicate += 1
                continue
            known[eid] = _Known(digest, at, event.kind, status)
            event_rows.append(self._row(event, eid, digest, at, now))
            if isinstance(event, Hop):
                for position, source in enumerate(event.inputs):
                    input_rows.append({
                        "event_id": eid, "position": position, "system": source.system,
                        "element": source.element, "record": source.record,
                        "value": source.value,
                        "value_norm": self.verifier.normalize(source.element, source.value),
                    })
            self.result.accepted += 1
        if event_rows:
            conn.execute(insert(events), event_rows)
        if input_rows:
            conn.execute(insert(hop_inputs), input_rows)
        if status_rows:
            conn.execute(insert(hop_status), status_rows)

    def _row(self, event: AnyEvent, eid: str, digest: str, at: int, now: int) -> dict[str, Any]:
        place = event.output if isinstance(event, Hop) else event
        row: dict[str, Any] = {
            "event_id": eid, "kind": event.kind, "at": at, "system": place.system,
            "element": place.element, "record": place.record, "value": place.value,
            "value_norm": self.verifier.normalize(place.element, place.value),
            "integration": None, "declared": None, "transform": None, "expected_norm": None,
            "verified": None, "status": None, "error": None,
            "actor": getattr(event, "actor", None), "digest": digest, "recorded_at": now,
        }
        if isinstance(event, Hop):
            check = self.verifier.check(event)
            row.update(integration=check.integration, declared=check.declared,
                       transform=check.transform, expected_norm=check.expected_norm,
                       verified=check.verified, status=event.status.value, error=event.error)
        return row


def ingest_lines(
    store: Store, lines: Iterable[tuple[str, int, str | bytes]], *, batch_size: int = 5000
) -> IngestResult:
    """Ingest JSON Lines given as (source name, line number, text); blank lines are skipped."""
    with Writer(store, batch_size=batch_size) as writer:
        for source, number, text in lines:
            if text.strip():
                writer.add_json(text, source=source, line=number)
    return writer.result


def numbered_lines(source: str, stream: Iterable[bytes]) -> Iterator[tuple[str, int, bytes]]:
    """Number the lines of a binary stream for :func:`ingest_lines`."""
    for number, text in enumerate(stream, start=1):
        yield source, number, text
