"""Writing events into the store: validated, verified at the point of entry, idempotent.

Re-sending an event changes nothing; the same hop id with a new ``status`` is a status change
(a new row in ``hop_status``); the same id with any other difference is a conflict, rejected
and named. Good events in a batch are kept whatever happens to the bad ones.

The rows are made by :mod:`lineage.store.rows` and written by :mod:`lineage.store.bulk`
(raw driver, no per-row ORM work); this module decides what each event is: new, a
duplicate, a status change or a conflict.
"""

from __future__ import annotations

import contextlib
import gc
import itertools
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError
from sqlalchemy.exc import SQLAlchemyError

from ..errors import EventError, StoreError
from ..live import Pause
from ..model.events import EVENT_ADAPTER, Hop, Snapshot, Write
from ..rules import SENT, recorded_status, supersedes
from .bulk import Known, RaceLostError, SeenIds, Sink, open_sink
from .database import Store, busy_error
from .parallel import can_fork, default_workers, prepare_in_workers
from .rows import INPUT_COLUMNS, STATUS_COLUMNS, Prepared, RowMaker

AnyEvent = Write | Hop | Snapshot

#: How many times a batch is tried again after losing a race to another writer.
RETRIES = 5
#: Lines :func:`ingest_lines` handles in this process before it starts worker processes.
INLINE_LINES = 4_000


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
    """Counts of one ingestion: what was recorded, what was already there, what was refused.

    ``rejected`` lists the refused events; a writer told to keep only some of them (the
    command line prints them as they come) counts the rest in ``omitted``.
    """

    accepted: int = 0
    duplicate: int = 0
    status_updates: int = 0
    rejected: list[Rejection] = field(default_factory=list)
    omitted: int = 0
    warnings: list[Rejection] = field(default_factory=list)
    """Events recorded with a remark (an OpenLineage ``eventTime`` read as UTC)."""

    @property
    def rejected_count(self) -> int:
        """Every rejection, kept or not."""
        return len(self.rejected) + self.omitted

    def merge(self, other: IngestResult) -> None:
        self.accepted += other.accepted
        self.duplicate += other.duplicate
        self.status_updates += other.status_updates
        self.rejected.extend(other.rejected)
        self.omitted += other.omitted
        self.warnings.extend(other.warnings)

    def summary(self) -> str:
        """One line for people: ``3 accepted, 1 duplicate, 0 status updates, 2 rejected``."""
        return (
            f"{self.accepted} accepted, {self.duplicate} duplicate, "
            f"{self.status_updates} status updates, {self.rejected_count} rejected"
        ) + (f", {len(self.warnings)} warnings" if self.warnings else "")

    def as_dict(self) -> dict[str, Any]:
        return {
            "accepted": self.accepted,
            "duplicate": self.duplicate,
            "status_updates": self.status_updates,
            "rejected": self.rejected_count,
            "errors": [
                {"source": r.source, "line": r.line, "id": r.event_id, "reason": r.reason}
                for r in self.rejected
            ],
            "warnings": [
                {"source": w.source, "line": w.line, "id": w.event_id, "reason": w.reason}
                for w in self.warnings
            ],
        }


# What the JSON parser's terse messages mean for whoever sent the event.
_JSON_CLUES = (
    ("recursion limit exceeded", "nested deeper than the parser's 200 levels"),
    ("hex escape", "an unpaired UTF-16 surrogate such as \\ud800 is not text"),
    ("invalid unicode code point", "the line is not UTF-8"),
)


def validation_reason(exc: ValidationError) -> str:
    """A pydantic error as one short line: ``hop.output.value: Input should be ...``."""
    errors = exc.errors(include_url=False)
    parts = []
    for error in errors[:3]:
        loc = ".".join(str(p) for p in error["loc"])
        message = str(error["msg"])
        for clue, meaning in _JSON_CLUES:
            if clue in message:
                message += f" ({meaning})"
        parts.append(f"{loc}: {message}" if loc else message)
    more = len(errors) - 3
    return "; ".join(parts) + (f" (and {more} more)" if more > 0 else "")


@dataclass(slots=True)
class _Outcome:
    """What one batch does, applied to the running totals only once it is committed."""

    new: list[Prepared] = field(default_factory=list)
    status_rows: list[tuple[Any, ...]] = field(default_factory=list)
    moved: dict[str, int] = field(default_factory=dict)  # hop id -> its earlier time
    duplicate: int = 0
    rejected: list[Rejection] = field(default_factory=list)


def _known_from(item: Prepared) -> Known:
    entry = Known(item.digest, item.at, item.kind, item.status)
    if item.status is not None:
        entry.history.add((item.status, item.at))
    return entry


def _current(seen: Known) -> tuple[str, int]:
    """The status a stored hop has now, with the event time it was reported at."""
    status = recorded_status(seen.status)
    times = [at for recorded, at in seen.history if recorded == status]
    return status, max(times, default=seen.at)


def _keep(outcome: _Outcome, seen: Known, item: Prepared, now: int) -> None:
    """Store a status of a known hop; one dated before the hop's time moves the hop's time
    back to it (a hop's time is the earliest status time heard of: lineage.store.status)."""
    outcome.status_rows.append((item.event_id, item.status, item.error, item.at, now))
    if item.at < seen.at:
        seen.at = outcome.moved[item.event_id] = item.at


def _classify(batch: list[Prepared], known: dict[str, Known], now: int) -> _Outcome:
    outcome = _Outcome()
    new = outcome.new
    first: dict[str, Prepared] = {}  # new ids of this batch: their first event
    for item in batch:
        eid = item.event_id
        seen = known.get(eid) if known else None
        if seen is None:
            earlier = first.setdefault(eid, item)
            if earlier is item:
                new.append(item)
                continue
            seen = known[eid] = _known_from(earlier)
        if seen.digest != item.digest or seen.kind != item.kind:
            outcome.rejected.append(Rejection(
                item.source, item.line,
                f"event id {eid!r} was recorded before with different content; "
                "send a new id for a new event", eid))  # fmt: skip
        elif item.status is not None:
            state = (item.status, item.at)
            if state in seen.history:
                outcome.duplicate += 1
            elif item.status == recorded_status(seen.status):
                outcome.rejected.append(Rejection(
                    item.source, item.line,
                    f"hop {eid!r} was recorded as {item.status} before at another time; "
                    "send a new id for a new hop", eid))  # fmt: skip
            elif item.status != SENT:
                # statuses are ordered by event time, not arrival (lineage.rules): an earlier
                # final status arriving late is kept as history (it decides the hop as of a
                # moment before the current one) without becoming current
                if supersedes(state, _current(seen)):
                    seen.status = item.status
                _keep(outcome, seen, item, now)
                seen.history.add(state)
            elif item.at < seen.at and all(known != SENT for known, _ in seen.history):
                # the hop's `sent` arriving after a later status (a retried request): kept,
                # it dates the hop back; the hop was in flight until that later status
                _keep(outcome, seen, item, now)
                seen.history.add(state)
            else:
                outcome.duplicate += 1
        elif seen.at != item.at:
            outcome.rejected.append(Rejection(
                item.source, item.line,
                f"event id {eid!r} was recorded before at another time; "
                "send a new id for a new event", eid))  # fmt: skip
        else:
            outcome.duplicate += 1
    return outcome


class Writer:
    """Buffers events and writes them in batches.

    Args:
        store: the store to write to; hops are checked against its current registry.
        batch_size: events per batch (one transaction each, unless ``bulk``).
        bulk: a bulk load: when the store holds no event yet, the whole load is one
            transaction that builds the secondary indexes once at the end instead of
            maintaining them row by row. Other writers wait for it to finish.
        on_reject: called with each rejection as it happens.
        keep_rejections: how many rejections ``result.rejected`` keeps (None: all); the
            rest are counted in ``result.omitted``.
        on_commit: called after each transaction this writer commits (not the writes into a
            bulk load that is still open).

    Example:
        >>> from lineage.store import open_store
        >>> store = open_store("sqlite://")
        >>> with Writer(store) as writer:
        ...     writer.add_json('{"kind": "write", "system": "CRM", "element": "e", '
        ...                     '"record": "1", "value": "x", "at": "2026-11-20T09:00:00Z"}')
        >>> writer.result.accepted
        1
    """

    def __init__(
        self,
        store: Store,
        *,
        batch_size: int = 5000,
        bulk: bool = False,
        on_reject: Callable[[Rejection], None] | None = None,
        keep_rejections: int | None = None,
        on_commit: Callable[[], None] | None = None,
    ) -> None:
        self.store = store
        self.on_commit = on_commit
        self.batch_size = batch_size
        self.bulk = bulk
        self.rows = RowMaker(store.registry())
        self.verifier = self.rows.verifier
        self.result = IngestResult()
        self.on_reject = on_reject
        self.keep_rejections = keep_rejections
        self._pending: list[Prepared] = []
        self._now = time.time_ns() // 1000
        self._load: Sink | None = None  # the open transaction of a bulk load into an empty store
        self._seen: SeenIds | None = None  # the ids that load wrote
        self._load_checked = False

    def __enter__(self) -> Writer:
        return self

    def __exit__(self, exc_type: object, *exc: object) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()

    def _reject(self, rejection: Rejection) -> None:
        if self.on_reject is not None:
            self.on_reject(rejection)
        keep = self.keep_rejections
        if keep is None or len(self.result.rejected) < keep:
            self.result.rejected.append(rejection)
        else:
            self.result.omitted += 1

    def add_json(
        self, text: str | bytes, *, source: str = "<input>", line: int | None = None
    ) -> None:
        """Validate one JSON event and buffer it; a bad one becomes a :class:`Rejection`."""
        try:
            made = self.rows.prepare_json(text, self._now, source, line)
        except EventError:
            made = None  # the validated path below rejects it, naming its id
        if made is not None:  # a well-formed hop, made into rows without the model
            self.add_prepared([Prepared(*made)])
            return
        try:
            parsed = EVENT_ADAPTER.validate_json(text)
        except ValidationError as exc:
            self._reject(Rejection(source, line, validation_reason(exc)))
            return
        self.add(parsed, source=source, line=line)

    def add_data(self, data: Any, *, source: str = "<input>", line: int | None = None) -> None:
        """Validate one decoded JSON object and buffer it."""
        try:
            parsed = EVENT_ADAPTER.validate_python(data)
        except ValidationError as exc:
            self._reject(Rejection(source, line, validation_reason(exc)))
            return
        self.add(parsed, source=source, line=line)

    def add(self, event: AnyEvent, *, source: str = "<input>", line: int | None = None) -> None:
        """Buffer one validated event; written at the next :meth:`flush` or full batch."""
        try:
            prepared = self.rows.prepare(event, self._now, source, line)
        except EventError as exc:
            self._reject(Rejection(source, line, exc.reason, event.id))
            return
        pending = self._pending
        pending.append(prepared)
        if len(pending) >= self.batch_size:
            self.flush()

    def add_prepared(self, prepared: Iterable[Prepared]) -> None:
        """Buffer events already made into rows (by :class:`RowMaker` on this registry)."""
        pending = self._pending
        pending.extend(prepared)
        if len(pending) >= self.batch_size:
            self.flush()

    def reject(self, rejection: Rejection) -> None:
        """Count a bad event found outside the writer (a line that is not an event)."""
        self._reject(rejection)

    def flush(self) -> IngestResult:
        """Write what is buffered; returns the running totals.

        Outside a bulk load each flush is one committed transaction.
        """
        if not self._pending:
            return self.result
        pending, self._pending = self._pending, []
        with self._database_errors():
            if self.bulk and not self._load_checked:
                self._start_load()
            if self._load is not None:
                outcome = self._write(self._load, pending)
                self._apply(outcome)
            else:
                self._write_committed(pending)
        self._now = time.time_ns() // 1000
        return self.result

    def pause(self, pause: Pause) -> None:
        """A live stream paused (:mod:`lineage.live`): commit what is held, and go on batch
        by batch, committed, from here. While lines pour in as fast as from a file
        (:attr:`Pause.slow` false), a first load into an empty store stays one bulk
        transaction (what is held is written into it). A mark a reader asked for
        (:attr:`Pause.wanted`) commits what is held unless such a load is (or now starts)
        under way: that commits nothing before its end, and what is held waits for the
        next batch there."""
        if pause.slow:
            self.bulk = False  # a stream that pauses is not loaded in one transaction
        elif pause.wanted:
            if self.bulk and not self._load_checked:
                with self._database_errors():
                    self._start_load()
            if self._load is not None:
                return
        self.flush()  # committed, or into the bulk load if one is (or now starts) under way
        if pause.slow:
            self._finish_load()

    def close(self) -> IngestResult:
        """Flush, and finish a bulk load (build its indexes, refresh the planner's
        statistics, commit)."""
        self.flush()
        self._finish_load()
        return self.result

    def _finish_load(self) -> None:
        load, self._load = self._load, None
        self._seen = None
        if load is not None:
            with self._database_errors():
                try:
                    load.restore_indexes()
                    load.analyze()
                    load.commit()
                finally:
                    load.close()
            self._committed()

    def _committed(self) -> None:
        if self.on_commit is not None:
            self.on_commit()

    @contextlib.contextmanager
    def _database_errors(self) -> Iterator[None]:
        """Driver and pool errors as one :class:`StoreError` naming the database."""
        driver_error: type[Exception] = self.store.engine.dialect.loaded_dbapi.Error
        try:
            yield
        except (driver_error, SQLAlchemyError) as exc:
            self.abort()
            busy = busy_error(exc, self.store.busy_timeout)
            if busy is not None:
                raise busy from exc
            lines = str(exc).strip().splitlines()
            url = self.store.engine.url.render_as_string(hide_password=True)
            raise StoreError(
                f"cannot write events to {url}: {lines[0] if lines else type(exc).__name__}"
            ) from exc

    def abort(self) -> None:
        """Drop what is buffered and roll an unfinished bulk load back."""
        self._pending = []
        self._seen = None
        load, self._load = self._load, None
        if load is not None:
            try:
                load.rollback()
            finally:
                load.close()

    def _start_load(self) -> None:
        self._load_checked = True
        sink = open_sink(self.store)
        try:
            sink.begin()
            if sink.is_empty():
                sink.drop_secondary_indexes()
                self._load = sink
                self._seen = SeenIds()
                return
            sink.rollback()
        except BaseException:
            sink.close()
            raise
        sink.close()

    def _write_committed(self, pending: list[Prepared]) -> None:
        sink = open_sink(self.store)
        try:
            for _attempt in range(RETRIES):
                sink.begin()
                try:
                    outcome = self._write(sink, pending)
                except RaceLostError:
                    sink.rollback()
                    continue
                except BaseException:
                    sink.rollback()
                    raise
                sink.commit()
                self._apply(outcome)
                self._committed()
                return
        finally:
            sink.close()
        raise StoreError(
            f"could not write a batch of {len(pending)} events: other writers kept storing "
            "the same ids first; send the batch again"
        )

    def _write(self, sink: Sink, pending: list[Prepared]) -> _Outcome:
        ids = {p.event_id for p in pending}
        seen = self._seen
        # In a load into an empty store every stored id came from this load: only those
        # the filter may have seen need looking up. Every other id of the batch is new, so
        # the filter takes it in the same pass.
        known = sink.known(ids if seen is None else seen.admit(ids))
        outcome = _classify(pending, known, self._now)
        new = outcome.new
        if new:
            sink.insert_events([p.row for p in new])
            inputs = [row for p in new for row in p.inputs]
            sink.insert_rows("hop_inputs", INPUT_COLUMNS, inputs)
        sink.insert_rows("hop_status", STATUS_COLUMNS, outcome.status_rows)
        sink.mark_status_updated({row[0] for row in outcome.status_rows})
        sink.move_hop_times(outcome.moved)
        return outcome

    def _apply(self, outcome: _Outcome) -> None:
        result = self.result
        result.accepted += len(outcome.new)
        result.duplicate += outcome.duplicate
        result.status_updates += len(outcome.status_rows)
        for rejection in outcome.rejected:
            self._reject(rejection)


def ingest_lines(
    store: Store,
    lines: Iterable[tuple[str, int, str | bytes] | Pause],
    *,
    batch_size: int = 20_000,
    bulk: bool = True,
    on_reject: Callable[[Rejection], None] | None = None,
    keep_rejections: int | None = None,
    workers: int | None = None,
    inline: int = INLINE_LINES,
    on_commit: Callable[[], None] | None = None,
) -> IngestResult:
    """Ingest JSON Lines given as (source name, line number, text); blank lines are skipped.

    This is what ``lineage ingest`` runs: a bulk load (see :class:`Writer`), streaming, never
    holding more than a few batches of events in memory. Past the first ``inline`` lines the
    parsing and checking moves to ``workers`` forked processes (default: the cores beyond
    this one, at most 3; 0 keeps everything in this process) while this one writes; the
    outcome is the same either way. A :class:`~lineage.live.Pause` among the lines (a live
    stream paused: :func:`lineage.live.paced_lines`) commits what came before it
    (:meth:`Writer.pause`). ``on_commit`` is called after every commit (at a pause, after a
    batch, at the end): ``lineage ingest -`` judges there, as soon as the first events of a
    live stream are stored.
    """
    with (
        _collector_paused(),
        Writer(
            store, batch_size=batch_size, bulk=bulk, on_reject=on_reject,
            keep_rejections=keep_rejections, on_commit=on_commit,
        ) as writer,
    ):  # fmt: skip
        paused = writer.pause
        add = writer.add_json
        remaining = iter(lines)
        for item in itertools.islice(remaining, inline):
            if isinstance(item, Pause):
                paused(item)
            elif item[2].strip():
                add(item[2], source=item[0], line=item[1])
        if workers is None:
            workers = default_workers() if can_fork() else 0
        if workers <= 0:
            for item in remaining:
                if isinstance(item, Pause):
                    paused(item)
                elif item[2].strip():
                    add(item[2], source=item[0], line=item[1])
            return writer.result
        first = next(remaining, None)
        if first is None:
            return writer.result
        rest = itertools.chain([first], remaining)
        nonblank = (item for item in rest if isinstance(item, Pause) or item[2].strip())
        registry = writer.rows.verifier.registry
        for prepared in prepare_in_workers(registry, nonblank, workers):
            if isinstance(prepared, Pause):
                paused(prepared)
                continue
            good, bad = prepared
            for where, at_line, reason in bad:
                writer.reject(Rejection(where, at_line, reason))
            writer.add_prepared(good)
    return writer.result


@contextlib.contextmanager
def _collector_paused() -> Iterator[None]:
    # Events and their rows hold no reference cycles, so reference counting frees them; the
    # cyclic collector would only walk a batch's many live objects again and again (it
    # costs as much as parsing). Paused for the loop, restored after.
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def numbered_lines(source: str, stream: Iterable[bytes]) -> Iterator[tuple[str, int, bytes]]:
    """Number the lines of a binary stream for :func:`ingest_lines`."""
    for number, text in enumerate(stream, start=1):
        yield source, number, text
