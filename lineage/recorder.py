"""Recording events from Python: ``lineage.Recorder`` (DESIGN.md §5, "Python recording API").

An integration job records what it does in three calls, and never waits on the tracker::

    with Recorder("https://lineage.example.com", token=TOKEN) as rec:
        rec.write(system="CRM", element="customer.address", record="C-1042", value="12 Main St")
        rec.hop(integration="crm-to-erp-customers",
                inputs=[{"system": "CRM", "element": "customer.address", "record": "C-1042",
                         "value": "12 Main St"}],
                output={"system": "ERP", "element": "customer.address", "record": "40017",
                        "value": "12 MAIN ST"})

A bad call (a missing field, a wrong type) raises :class:`~lineage.errors.EventError` at once:
that is the caller's bug. A fault of the tracker (down, slow, answering 5xx, a locked or
unreachable database) never raises and never holds the caller for more than about
``timeout`` seconds per flush: the events wait in the spool directory, as JSON Lines, and go
out first on a later flush. Every event carries an id (given, or a stable hash of its
content), so sending one twice records it once.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import os
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any

from pydantic import ValidationError
from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError

from .errors import EventError, LineageError
from .model.events import EVENT_ADAPTER, event_id
from .store.database import Store, open_store
from .store.writer import Writer, validation_reason

log = logging.getLogger("lineage.recorder")

JsonEvent = dict[str, Any]
_PERMANENT = frozenset({400, 404, 405, 415, 422})
"""Answers that sending again cannot change: the events are dropped with a warning."""


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
        timeout: the most seconds one flush may spend talking to the tracker.

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
    ) -> None:
        if batch_size < 1:
            raise ValueError("batch_size must be at least 1")
        self.target = target
        self.token = token
        self.spool = Path(spool) if spool is not None else default_spool(target)
        self.batch_size = batch_size
        self.timeout = timeout
        self._http = target.startswith(("http://", "https://"))
        self._buffer: list[JsonEvent] = []
        self._lock = threading.RLock()
        self._store: Store | None = None

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
        with self._lock:
            self._buffer.append(document)
            full = len(self._buffer) >= self.batch_size
        if full:
            self.flush()
        return eid

    # -- sending -----------------------------------------------------------------------------

    def flush(self) -> None:
        """Send what waits in the spool, then what is buffered; never raises for a tracker
        fault. What cannot be sent within ``timeout`` seconds goes to the spool."""
        with self._lock:
            pending, self._buffer = self._buffer, []
            deadline = time.monotonic() + self.timeout
            fault = self._resend_spool(deadline)
            if fault is None and pending:
                fault = self._deliver(pending, deadline)
                if fault is None:
                    pending = []
            if pending:
                self._to_spool(pending)
            if fault is not None:
                log.warning(
                    "lineage tracker %s unavailable (%s): events wait in %s for a later flush",
                    self._shown_target(),
                    fault,
                    self.spool,
                )

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
        try:
            return make_url(self.target).render_as_string(hide_password=True)
        except ArgumentError:
            return "database"

    def _deliver(self, events: Sequence[JsonEvent], deadline: float) -> str | None:
        """Send ``events`` in batches; None when done, else why the tracker cannot take them."""
        for start in range(0, len(events), self.batch_size):
            chunk = events[start : start + self.batch_size]
            try:
                if self._http:
                    self._post(chunk, deadline)
                else:
                    self._write(chunk)
            except _UnavailableError as fault:
                return str(fault)
            except _RefusedError as refused:
                log.warning(
                    "lineage tracker %s refused %d event(s) for good: %s",
                    self._shown_target(),
                    len(chunk),
                    refused,
                )
        return None

    def _post(self, chunk: Sequence[JsonEvent], deadline: float) -> None:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise _UnavailableError(f"no time left in this flush (timeout {self.timeout}s)")
        body = json.dumps(list(chunk), separators=(",", ":")).encode()
        request = urllib.request.Request(  # noqa: S310 - the scheme is checked: http(s) only
            self.target.rstrip("/") + "/api/v1/events",
            data=body,
            method="POST",
            headers={"Content-Type": "application/json", "User-Agent": "lineage-recorder"},
        )
        if self.token:
            request.add_header("Authorization", f"Bearer {self.token}")
        try:
            with urllib.request.urlopen(request, timeout=remaining) as response:  # noqa: S310
                answer = json.loads(response.read() or b"{}")
        except urllib.error.HTTPError as exc:
            detail = _error_text(exc)
            if exc.code in _PERMANENT:
                raise _RefusedError(f"HTTP {exc.code}: {detail}") from exc
            raise _UnavailableError(f"HTTP {exc.code}: {detail}") from exc
        except (urllib.error.URLError, OSError, ValueError) as exc:
            raise _UnavailableError(str(getattr(exc, "reason", exc))) from exc
        for error in answer.get("errors", ())[:5]:
            log.warning(
                "lineage tracker refused event %s: %s", error.get("id"), error.get("reason")
            )

    def _write(self, chunk: Sequence[JsonEvent]) -> None:
        try:
            store = self._open()
            with Writer(store, batch_size=len(chunk) or 1) as writer:
                for index, document in enumerate(chunk):
                    writer.add_data(document, source="recorder", line=index)
        except (LineageError, SQLAlchemyError, OSError) as exc:
            reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise _UnavailableError(reason) from exc
        for rejection in writer.result.rejected[:5]:
            log.warning("lineage store refused event %s: %s", rejection.event_id, rejection.reason)

    def _open(self) -> Store:
        if self._store is None:
            self._store = _quick(
                open_store(_with_connect_timeout(self.target, self.timeout)), self.timeout
            )
        return self._store

    # -- the spool ---------------------------------------------------------------------------

    def _spooled(self) -> list[Path]:
        try:
            return sorted(self.spool.glob("*.jsonl"))
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
        try:
            self.spool.mkdir(parents=True, exist_ok=True)
            partial = self.spool / (name + ".part")
            with partial.open("w", encoding="utf-8") as out:
                for document in events:
                    out.write(json.dumps(document, separators=(",", ":")) + "\n")
            partial.replace(self.spool / name)  # whole files only: a reader never sees half
        except OSError as exc:
            log.error(
                "cannot spool %d lineage event(s) to %s: %s; they are lost",
                len(events),
                self.spool,
                exc,
            )

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


def _error_text(exc: urllib.error.HTTPError) -> str:
    try:
        payload = json.loads(exc.read() or b"{}")
    except (ValueError, OSError):
        return exc.reason if isinstance(exc.reason, str) else str(exc)
    if not isinstance(payload, dict):
        return str(exc.reason)
    reasons = [f"{e.get('id')}: {e.get('reason')}" for e in payload.get("errors", ())[:3]]
    return str(payload.get("error") or "; ".join(reasons) or exc.reason)


def _with_connect_timeout(url: str, timeout: float) -> str:
    """A PostgreSQL URL that gives up connecting after ``timeout`` seconds."""
    if url.startswith(("postgres://", "postgresql")) and "connect_timeout" not in url:
        separator = "&" if "?" in url else "?"
        return f"{url}{separator}connect_timeout={max(1, round(timeout))}"
    return url


def _quick(store: Store, timeout: float) -> Store:
    """Make SQLite wait at most ``timeout`` for a lock (the store's default is 10 s)."""
    if store.dialect == "sqlite":
        milliseconds = max(1, int(timeout * 1000))

        def busy(dbapi_connection: Any, _record: Any) -> None:
            cursor = dbapi_connection.cursor()
            cursor.execute(f"PRAGMA busy_timeout={milliseconds}")
            cursor.close()

        event.listen(store.engine, "connect", busy)
        store.engine.dispose()  # connections opened while migrating had the long timeout
    return store


__all__ = ["Recorder", "default_spool"]
