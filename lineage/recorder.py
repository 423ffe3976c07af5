"""Recording events from Python: ``lineage.Recorder`` (docs/CONTRACT.md §7).

An integration job records what it does in three calls, and never waits on the tracker::

    with Recorder("https://lineage.example.com", token=TOKEN) as rec:
        rec.write(system="CRM", element="customer.address", record="C-1042", value="12 Main St")
        rec.hop(integration="crm-to-erp-customers",
                inputs=[{"system": "CRM", "element": "customer.address", "record": "C-1042",
                         "value": "12 Main St"}],
                output={"system": "ERP", "element": "customer.address", "record": "40017",
                        "value": "12 MAIN ST"})

A bad call (a missing field, a wrong type) raises :class:`~lineage.errors.EventError` at once:
that is the caller's bug. A fault of the tracker (down, slow, dripping its answer, answering
5xx, a locked or unreachable database) never raises, and ``timeout`` is a **total deadline**
for each flush on every target: the events wait in the spool directory, as JSON Lines, and go
out first on a later flush. Only one flush talks to the tracker at a time; other threads keep
recording meanwhile (a ``record`` that fills the buffer while a flush is under way leaves
the events buffered for the next one). Every event carries an id (given, or a stable hash
of its content), so sending one twice records it once.

What the tracker **refuses** (a 4xx answer other than 401/403/408/429, or an event named in
its ``errors``; a store's rejection with a database target) can never go in as it is: it is
written to the **dead-letter file** (``dead_letter``, by default ``dead-letter.jsonl`` in
the spool folder), one JSON object a line with the time, the reason and the event, logged
with that file's name, and everything after it goes on being delivered.

When the spool cannot be written (disk full, no permission) the events stay in a **memory
buffer** of at most ``max_memory`` events (the oldest are dropped past it, counted in
:attr:`Recorder.dropped`), with one warning naming the spool; they go out, or to the spool,
on a later flush. No half-written ``.part`` file stays behind.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import http.client
import json
import logging
import os
import socket
import threading
import time
import urllib.parse
import uuid
from collections import deque
from collections.abc import Iterator, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any

from pydantic import ValidationError

from .errors import EventError, LineageError
from .model.events import EVENT_ADAPTER, event_id
from .store.database import Store, open_store
from .store.recording import DRIVER_ERRORS, shown_url, wait_until
from .store.writer import Writer, validation_reason

_CANNOT_WRITE: tuple[type[BaseException], ...] = (LineageError, OSError, *DRIVER_ERRORS)

log = logging.getLogger("lineage.recorder")

JsonEvent = dict[str, Any]
_RETRY_LATER = frozenset({401, 403, 407, 408, 425, 429})
"""4xx answers that a later try may change (a token, a proxy, a rate limit): spooled.
Every other 4xx is a refusal: the events go to the dead-letter file."""
DEAD_LETTER = "dead-letter.jsonl"
#: Spooled files are named ``<time>-<pid>-<random>.jsonl``: the dead-letter file is not one.
_SPOOLED = "[0-9]*-*.jsonl"


def default_spool(target: str) -> Path:
    """The per-user spool folder for ``target``: one folder per tracker, so events meant for
    one tracker never go to another."""
    if os.name == "nt":
        base = Path(os.environ.get("LOCALAPPDATA", Path.home() / "AppData" / "Local"))
    else:
        base = Path(os.environ.get("XDG_STATE_HOME") or Path.home() / ".local" / "state")
    digest = hashlib.sha256(target.encode()).hexdigest()[:16]
    return base / "lineage" / "spool" / digest


class _UnavailableError(Exception):
    """The tracker could not take the events now; keep them for later."""


class _RefusedError(Exception):
    """The tracker answered that these events will never be accepted."""


class _TooLargeError(Exception):
    """The tracker refused the request's size: fewer events at a time may go in."""


class Recorder:
    """Buffers events and sends them to a tracker or writes them to a database.

    Args:
        target: a database URL (``sqlite:///lineage.db``, ``postgresql://...``) written
            through the store's writer, or a tracker's ``http(s)://`` base URL whose
            ``/api/v1/events`` receives batches.
        token: the tracker's API token (``Authorization: Bearer``), for an HTTP target.
        spool: the folder where events wait while the tracker cannot take them (default: a
            per-user folder, one per target; see :func:`default_spool`).
        batch_size: buffered events that trigger a flush, and events per request.
        timeout: the most seconds one flush may spend talking to the tracker, in all (a
            deadline: slow answers, dripping servers and held database locks included).
        dead_letter: the file where refused events are written (default
            ``dead-letter.jsonl`` in the spool folder).
        max_memory: the most events kept in memory while the spool cannot be written.

    Example:
        >>> with Recorder("sqlite://", spool="/tmp/lineage-doc-spool") as rec:
        ...     rec.write(system="CRM", element="customer.name", record="C-1", value="Ada",
        ...               at="2026-11-20T09:00:00Z")
        'w-...'
    """

    def __init__(
        self,
        target: str,
        token: str | None = None,
        spool: str | os.PathLike[str] | None = None,
        *,
        batch_size: int = 500,
        timeout: float = 2.0,
        dead_letter: str | os.PathLike[str] | None = None,
        max_memory: int = 100_000,
    ) -> None:
        if batch_size < 1:
            raise ValueError("batch_size must be at least 1")
        if max_memory < 0:
            raise ValueError("max_memory must not be negative")
        self.target = target
        self.token = token
        self.spool = Path(spool) if spool is not None else default_spool(target)
        self.dead_letter = (
            Path(dead_letter) if dead_letter is not None else self.spool / DEAD_LETTER
        )
        self.batch_size = batch_size
        self.timeout = timeout
        self.max_memory = max_memory
        #: events dropped because the memory buffer was full while the spool could not be written
        self.dropped = 0
        self._http = target.startswith(("http://", "https://"))
        self._buffer: list[JsonEvent] = []
        self._held: deque[JsonEvent] = deque()  # what the spool could not take
        self._buffer_lock = threading.Lock()  # held for a moment by record()
        self._send_lock = threading.Lock()  # held by the one flush under way
        self._store: Store | None = None
        self._deadline = 0.0  # of the flush under way (read by the database connections)
        self._wrote_any = False  # this flush wrote events into a store: judge them

    # -- recording ---------------------------------------------------------------------------

    def write(self, **fields: Any) -> str:
        """Record a value created or edited in a system; returns the event id."""
        return self._record("write", fields)

    def hop(self, **fields: Any) -> str:
        """Record a value moving through an integration; returns the event id.

        To report a later status of the same hop (``sent`` then ``delivered``), pass the id
        this call returned as ``id=``.
        """
        return self._record("hop", fields)

    def snapshot(self, **fields: Any) -> str:
        """Record what a system was observed to hold; returns the event id."""
        return self._record("snapshot", fields)

    def _record(self, kind: str, fields: dict[str, Any]) -> str:
        if "kind" in fields and fields["kind"] != kind:
            raise EventError(f"{kind}() records kind {kind!r}, not {fields['kind']!r}")
        data = {**fields, "kind": kind}
        data.setdefault("at", dt.datetime.now(dt.UTC))
        try:
            event = EVENT_ADAPTER.validate_python(data)
        except ValidationError as exc:
            raise EventError(f"{kind}(): {validation_reason(exc)}") from exc
        eid = event_id(event)
        document = event.model_dump(mode="json", exclude_none=True)
        document["id"] = eid
        with self._buffer_lock:
            self._buffer.append(document)
            full = len(self._buffer) >= self.batch_size
        if full:
            self._flush(wait=False)
        return eid

    # -- sending -----------------------------------------------------------------------------

    def flush(self) -> None:
        """Send what waits in the spool, then what is buffered; never raises for a tracker
        fault. What cannot be sent within ``timeout`` seconds (counted from the start of the
        flush, or of the flush another thread has under way) goes to the spool."""
        self._flush(wait=True)

    def _flush(self, *, wait: bool) -> None:
        started = time.monotonic()
        if not self._send_lock.acquire(timeout=self.timeout if wait else 0):
            return  # another thread's flush is under way: these events wait for the next
        try:
            with self._buffer_lock:
                pending, self._buffer = self._buffer, []
            deadline = started + self.timeout
            self._deadline = deadline
            fault = self._resend_spool(deadline)
            if fault is None and self._held:
                held = list(self._held)
                self._held.clear()
                fault = self._deliver(held, deadline)
                if fault is not None:
                    pending = held + pending
            if fault is None and pending:
                fault = self._deliver(pending, deadline)
                if fault is None:
                    pending = []
            if pending:
                self._to_spool(pending)
            self._judge(deadline)
            if fault is not None:
                log.warning(
                    "lineage tracker %s unavailable (%s): events wait in %s for a later flush",
                    self._shown_target(),
                    fault,
                    self.spool if not self._held else "memory",
                )
        finally:
            self._send_lock.release()

    def _judge(self, deadline: float) -> None:
        """Judge what this flush wrote into a store (the store's other writers' paths judge
        their own): while the deadline lasts, never raising; the next judgement catches up."""
        from .findings import judge_after_ingest  # noqa: PLC0415 - only when writing a store

        store = self._store
        remaining = deadline - time.monotonic()
        if store is None or not self._wrote_any or remaining <= 0:
            return
        self._wrote_any = False
        store.busy_timeout = max(remaining, 0.5)
        judge_after_ingest(store, what="the Recorder's flush")

    def close(self) -> None:
        """Flush, then let go of the database connection (if any)."""
        self.flush()
        if self._store is not None:
            self._store.close()
            self._store = None

    def __enter__(self) -> Recorder:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def _shown_target(self) -> str:
        if self._http:
            return self.target
        return shown_url(self.target)

    def _deliver(self, events: Sequence[JsonEvent], deadline: float) -> str | None:
        """Send ``events`` in batches; None when done, else why the tracker cannot take them
        (the events from the first batch not taken on are the caller's to keep)."""
        for start in range(0, len(events), self.batch_size):
            chunk = events[start : start + self.batch_size]
            fault = self._deliver_chunk(chunk, deadline)
            if fault is not None:
                return fault
        return None

    def _deliver_chunk(self, chunk: Sequence[JsonEvent], deadline: float) -> str | None:
        try:
            if self._http:
                self._post(chunk, deadline)
            else:
                self._write(chunk, deadline)
        except _UnavailableError as fault:
            return str(fault)
        except _TooLargeError as refused:
            if len(chunk) == 1:
                self._refuse(chunk, str(refused))
                return None
            half = len(chunk) // 2  # fewer at a time: only the one too large is refused
            return self._deliver_chunk(chunk[:half], deadline) or self._deliver_chunk(
                chunk[half:], deadline
            )
        except _RefusedError as refused:
            self._refuse(chunk, str(refused))
        return None

    def _post(self, chunk: Sequence[JsonEvent], deadline: float) -> None:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise _UnavailableError(f"no time left in this flush (timeout {self.timeout}s)")
        body = json.dumps(list(chunk), separators=(",", ":")).encode()
        headers = {"Content-Type": "application/json", "User-Agent": "lineage-recorder"}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        try:
            status, payload = _post_within(
                self.target.rstrip("/") + "/api/v1/events", body, headers, remaining
            )
        except (OSError, http.client.HTTPException, ValueError) as exc:
            if time.monotonic() >= deadline:
                raise _UnavailableError(
                    f"no complete answer within the flush's {self.timeout}s"
                ) from exc
            raise _UnavailableError(str(exc) or type(exc).__name__) from exc
        answer = _json_object(payload)
        if status >= 400:
            detail = _error_text(answer, payload, status)
            if status == 413:
                raise _TooLargeError(f"HTTP 413: {detail}")
            if status == 422 and answer.get("errors"):
                self._refuse_named(chunk, answer["errors"])
                return
            if status < 500 and status not in _RETRY_LATER:
                raise _RefusedError(f"HTTP {status}: {detail}")
            raise _UnavailableError(f"HTTP {status}: {detail}")
        if answer.get("errors"):
            self._refuse_named(chunk, answer["errors"])

    def _refuse_named(self, chunk: Sequence[JsonEvent], errors: Any) -> None:
        """Dead-letter the events of ``chunk`` an answer's ``errors`` name (by position)."""
        for error in errors if isinstance(errors, list) else ():
            index = error.get("index") if isinstance(error, dict) else None
            if isinstance(index, int) and 0 <= index < len(chunk):
                self._refuse([chunk[index]], str(error.get("reason")))

    def _write(self, chunk: Sequence[JsonEvent], deadline: float) -> None:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise _UnavailableError(f"no time left in this flush (timeout {self.timeout}s)")
        try:
            store = self._open(remaining)
            # a lock held by another writer is waited for only until the deadline
            store.busy_timeout = max(remaining, 0.5)
            with Writer(store, batch_size=len(chunk) or 1) as writer:
                for index, document in enumerate(chunk):
                    writer.add_data(document, source="recorder", line=index)
            self._wrote_any = True
        except _CANNOT_WRITE as exc:
            reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise _UnavailableError(reason) from exc
        for rejection in writer.result.rejected:
            if rejection.line is not None and 0 <= rejection.line < len(chunk):
                self._refuse([chunk[rejection.line]], rejection.reason)

    def _refuse(self, events: Sequence[JsonEvent], reason: str) -> None:
        """Write ``events`` to the dead-letter file (logged either way)."""
        now = dt.datetime.now(dt.UTC).isoformat()
        lines = "".join(
            json.dumps({"refused_at": now, "reason": reason, "event": event}) + "\n"
            for event in events
        )
        try:
            self.dead_letter.parent.mkdir(parents=True, exist_ok=True)
            with self.dead_letter.open("a", encoding="utf-8") as out:
                out.write(lines)
        except OSError as exc:
            log.error(
                "lineage tracker %s refused %d event(s) for good (%s) and the dead-letter file "
                "%s cannot be written (%s): they are lost",
                self._shown_target(), len(events), reason, self.dead_letter, exc,
            )  # fmt: skip
            return
        log.warning(
            "lineage tracker %s refused %d event(s) for good (%s): written to %s",
            self._shown_target(), len(events), reason, self.dead_letter,
        )  # fmt: skip

    def _open(self, remaining: float) -> Store:
        if self._store is None:
            store = open_store(
                _with_connect_timeout(self.target, remaining), busy_timeout=remaining
            )
            # each connection waits for SQLite's lock only until the flush's deadline
            wait_until(store, lambda: self._deadline)
            self._store = store
        return self._store

    # -- the spool ---------------------------------------------------------------------------

    def _spooled(self) -> list[Path]:
        try:
            return sorted(self.spool.glob(_SPOOLED))
        except OSError:
            return []

    def _resend_spool(self, deadline: float) -> str | None:
        """Send spooled files oldest first; a file is removed once all its events are in."""
        for path in self._spooled():
            try:
                events = list(_read_spool(path))
            except FileNotFoundError:
                continue  # another recorder sent it meanwhile
            except OSError as exc:
                log.warning("cannot read spooled events %s: %s", path, exc)
                continue
            fault = self._deliver(events, deadline)
            if fault is not None:
                return fault
            path.unlink(missing_ok=True)
        return None

    def _to_spool(self, events: Sequence[JsonEvent]) -> None:
        name = f"{time.time_ns():020d}-{os.getpid()}-{uuid.uuid4().hex[:8]}.jsonl"
        partial = self.spool / (name + ".part")
        try:
            self.spool.mkdir(parents=True, exist_ok=True)
            with partial.open("w", encoding="utf-8") as out:
                for document in events:
                    out.write(json.dumps(document, separators=(",", ":")) + "\n")
            partial.replace(self.spool / name)  # whole files only: a reader never sees half
        except OSError as exc:
            with contextlib.suppress(OSError):
                partial.unlink(missing_ok=True)
            self._hold(events, exc)

    def _hold(self, events: Sequence[JsonEvent], exc: OSError) -> None:
        """Keep ``events`` in memory (at most ``max_memory``, the oldest dropped past it)."""
        first = not self._held
        self._held.extend(events)
        over = len(self._held) - self.max_memory
        for _ in range(max(0, over)):
            self._held.popleft()
        if over > 0:
            self.dropped += over
            log.error(
                "cannot spool lineage events to %s (%s) and the memory buffer is full "
                "(max_memory=%d): %d oldest event(s) dropped, %d in all",
                self.spool, exc, self.max_memory, over, self.dropped,
            )  # fmt: skip
        elif first:
            log.warning(
                "cannot spool lineage events to %s (%s): %d event(s) kept in memory (at most "
                "%d) until the tracker or the spool can take them",
                self.spool, exc, len(self._held), self.max_memory,
            )  # fmt: skip

    def in_memory(self) -> int:
        """How many events wait in memory because the spool could not take them."""
        return len(self._held)

    def spooled(self) -> int:
        """How many events wait in the spool."""
        total = 0
        for path in self._spooled():
            try:
                total += sum(1 for _ in _read_spool(path))
            except OSError:
                continue
        return total


def _read_spool(path: Path) -> Iterator[JsonEvent]:
    with path.open(encoding="utf-8") as lines:
        for number, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            try:
                yield json.loads(line)
            except ValueError:
                log.warning("skipping unreadable spooled event %s:%d", path, number)


def _post_within(
    url: str, body: bytes, headers: dict[str, str], seconds: float
) -> tuple[int, bytes]:
    """POST ``body`` and read the whole answer within ``seconds`` in all: a server that
    answers slowly, or a byte at a time, is cut off at the deadline (the socket is shut)."""
    parts = urllib.parse.urlsplit(url)
    connection: http.client.HTTPConnection
    if parts.scheme == "https":
        connection = http.client.HTTPSConnection(parts.netloc, timeout=seconds)
    else:
        connection = http.client.HTTPConnection(parts.netloc, timeout=seconds)

    def cut() -> None:
        sock = connection.sock
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)

    timer = threading.Timer(seconds, cut)
    timer.daemon = True
    timer.start()
    try:
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        connection.request("POST", path, body=body, headers=headers)
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        timer.cancel()
        connection.close()


def _json_object(payload: bytes) -> dict[str, Any]:
    try:
        answer = json.loads(payload or b"{}")
    except ValueError:
        return {}
    return answer if isinstance(answer, dict) else {}


def _error_text(answer: dict[str, Any], payload: bytes, status: int) -> str:
    errors = answer.get("errors")
    reasons = (
        [f"{e.get('id')}: {e.get('reason')}" for e in errors[:3] if isinstance(e, dict)]
        if isinstance(errors, list)
        else []
    )
    text = payload[:200].decode("utf-8", "replace").strip()
    return str(answer.get("error") or "; ".join(reasons) or text or f"status {status}")


def _with_connect_timeout(url: str, timeout: float) -> str:
    """A PostgreSQL URL that gives up connecting after ``timeout`` seconds."""
    if url.startswith(("postgres://", "postgresql")) and "connect_timeout" not in url:
        separator = "&" if "?" in url else "?"
        return f"{url}{separator}connect_timeout={max(1, round(timeout))}"
    return url


__all__ = ["Recorder", "default_spool"]
