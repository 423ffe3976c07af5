"""Preparing events in worker processes while the writer process inserts.

Parsing, validating and checking an event costs about as much CPU as inserting it, and
Python runs one thread at a time: a big ingest splits the work over processes. Workers turn
chunks of JSON lines into prepared rows (:class:`~lineage.store.rows.Prepared`) or
rejections; the writer process receives them **in input order** and decides what each one
is (new, duplicate, status change, conflict) against the store, so the outcome is exactly
that of a single process.

Workers are forked (they inherit the registry and any transform registered from Python), so
this is used only where ``fork`` exists; elsewhere everything runs in one process. At most a
few chunks are in flight, so memory does not grow with the input.

A worker never outlives the process that forked it: it inherits that process's open
database connections, so a worker left behind by a killed ``lineage ingest`` would keep a
PostgreSQL session idle in its transaction, holding the writers' lock, and every later writer
would wait for it forever. On Linux the kernel kills the worker with its parent
(``PR_SET_PDEATHSIG``); elsewhere a watchdog thread in the worker exits when its parent is
gone.
"""

from __future__ import annotations

import ctypes
import marshal
import multiprocessing
import os
import signal
import sys
import threading
import time
from collections import deque
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any

from pydantic import ValidationError

from ..errors import EventError, StoreError
from ..live import Pause
from ..model.events import EVENT_ADAPTER
from ..model.registry import Registry
from .rows import Prepared, RowMaker

#: Lines sent to a worker at a time.
CHUNK_LINES = 2000
#: Chunks in flight per worker: a writer's batch of them (ingest_lines writes 20,000 events a
#: batch), so the workers go on preparing while the writer inserts one. With 3, a worker ran
#: dry during each insert and the writer then waited for it: on 2 cores, 105,990 events took
#: 3.5-3.8 s, the writer blocked 30% of it; with 10, 2.8-3.0 s, blocked 9-16% (quiet machine).
AHEAD = 10
#: Seconds between two looks of the watchdog for the parent (where prctl is missing).
WATCH_EVERY = 0.2
#: ``prctl`` option: the signal the kernel sends this process when its parent dies.
PR_SET_PDEATHSIG = 1

# (source, line, reason) of a line that did not validate
Bad = tuple[str, int | None, str]
Line = tuple[str, int, bytes | str]

_maker: RowMaker | None = None


def can_fork() -> bool:
    """True where worker processes can be forked (Linux and other POSIX systems)."""
    return "fork" in multiprocessing.get_all_start_methods()


def default_workers() -> int:
    """Worker processes for a big ingest: the cores beyond the writer's own, at most 3."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return max(1, min((cores or 1) - 1, 3))


def die_with_parent(parent: int) -> None:
    """End this (forked) process as soon as process ``parent`` ends, however it ends.

    Linux: the kernel sends SIGKILL on the parent's death (``prctl(PR_SET_PDEATHSIG)``).
    Elsewhere, or if that call fails: a daemon thread that looks every :data:`WATCH_EVERY`
    seconds whether this process was handed to another parent.
    """
    if sys.platform.startswith("linux"):
        try:
            libc = ctypes.CDLL(None, use_errno=True)
            armed = libc.prctl(PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0) == 0
        except (OSError, AttributeError):
            armed = False
        if armed:
            if os.getppid() != parent:  # the parent died before the signal was armed
                os._exit(1)
            return

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(WATCH_EVERY)
        os._exit(1)

    threading.Thread(target=watch, name="lineage-parent-watch", daemon=True).start()


def _start(registry: Registry, parent: int) -> None:
    global _maker  # noqa: PLW0603 - one row maker per worker process
    die_with_parent(parent)
    # Ctrl-C is for the writer process, which stops the workers itself.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _maker = RowMaker(registry)


def _prepare(chunk: list[Line]) -> bytes:
    from .writer import validation_reason  # noqa: PLC0415 - writer imports this module

    maker = _maker
    assert maker is not None, "worker not started"
    now = time.time_ns() // 1000
    validate = EVENT_ADAPTER.validate_json
    prepare = maker.prepare_fields
    fast = maker.prepare_json
    out: list[tuple[Any, ...]] = []
    for source, number, text in chunk:
        try:
            made = fast(text, now, source, number)
        except EventError:
            made = None  # the validated path says why, as it always did
        if made is not None:
            out.append(made)
            continue
        try:
            event = validate(text)
        except ValidationError as exc:
            out.append((source, number, validation_reason(exc)))
            continue
        try:
            out.append(prepare(event, now, source, number))
        except EventError as exc:
            out.append((source, number, exc.reason))
    # Plain tuples of str, int, bool and None: marshal packs them twice as fast as pickle
    # (and these bytes cross the pipe as they are).
    return marshal.dumps(out)


def prepare_in_workers(
    registry: Registry, lines: Iterable[Line | Pause], workers: int
) -> Iterator[tuple[list[Prepared], list[Bad]] | Pause]:
    """Prepare non-blank ``lines`` in ``workers`` forked processes, in input order.

    Yields, chunk by chunk, the :class:`Prepared` rows and the ``(source, line, reason)`` of
    the lines that do not validate; a :class:`~lineage.live.Pause` among the lines (a live
    stream paused) is yielded in its place, once every line before it was prepared and
    yielded.

    Raises:
        StoreError: a worker process died (killed, out of memory); nothing more is read.
    """
    context = multiprocessing.get_context("fork")
    pool = ProcessPoolExecutor(
        workers, mp_context=context, initializer=_start, initargs=(registry, os.getpid())
    )
    pending: deque[Future[bytes]] = deque()
    limit = workers * AHEAD
    try:
        chunk: list[Line] = []
        for line in lines:
            if isinstance(line, Pause):  # everything before it, then the pause, now
                if chunk:
                    pending.append(pool.submit(_prepare, chunk))
                    chunk = []
                while pending:
                    yield _next(pending)
                yield line
                continue
            chunk.append(line)
            if len(chunk) >= CHUNK_LINES:
                pending.append(pool.submit(_prepare, chunk))
                chunk = []
                while len(pending) >= limit:
                    yield _next(pending)
        if chunk:
            pending.append(pool.submit(_prepare, chunk))
        while pending:
            yield _next(pending)
    except BrokenProcessPool as exc:
        raise StoreError(
            "a worker process preparing events died (out of memory, or killed); nothing "
            "after the last committed batch was written: run the same ingest again (it is "
            "idempotent), with fewer workers if memory is short"
        ) from exc
    finally:
        for future in pending:
            future.cancel()
        pool.shutdown(wait=True, cancel_futures=True)


def _next(pending: deque[Future[bytes]]) -> tuple[list[Prepared], list[Bad]]:
    return _received(pending.popleft().result())


def _received(packed: bytes) -> tuple[list[Prepared], list[Bad]]:
    items = marshal.loads(packed)  # noqa: S302 - written by our own worker process
    good = [Prepared(*item) for item in items if len(item) > 3]
    bad = [item for item in items if len(item) == 3] if len(good) < len(items) else []
    return good, bad
