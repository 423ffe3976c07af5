"""Judging in a process of its own: a server's judgements off its interpreter.

``lineage serve`` answers POSTs in threads of one Python process, and judged in a thread of
that process too (:func:`lineage.findings.state.judge_in_background`). Under a sustained
stream the two took turns on the interpreter's lock: a judgement is partly Python (the
scope, the findings, the reconcile), and while it ran the next POST's parsing waited. With
:func:`judge_in_a_process`, every judgement the server makes of its store (after a POST, or
for a reader catching up) is asked of a child process that opened the same store and
judges there, on the other core; the server's thread that asked waits on a pipe without
the lock. The gate of :mod:`lineage.findings.state` is unchanged: one judgement at a time,
coalesced, readers waiting for the one that covers their events.

If the child is gone (killed, crashed), the judgement is made in the server's process, as
without it, and so are the ones after (the child is not started again): a judgement is
never lost. A store the child cannot open as the server did (an in-memory SQLite store,
private to its connection) is judged in the server's process.

The child is a fresh interpreter (``spawn``): nothing of the parent's state is copied, but it
imports the engine again before its first judgement (about 0.5 s on a quick machine, 2-3 s
on a slow one). ``lineage ingest -`` asks for a **fork** instead (``quick=True``), taken on
Linux while the parent runs no other thread (a fork beside a thread could copy a lock it
holds): the child is ready at once, with the modules the parent imported. It opens the store
anew and never touches what it inherited of the parent's connections (nor closes them: it
ends with ``os._exit``, as a forked ``multiprocessing`` child does).
"""

from __future__ import annotations

import logging
import multiprocessing
import signal
import sys
import threading
import weakref
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from typing import TYPE_CHECKING, Any

from ..store import Store

if TYPE_CHECKING:
    from .state import Judgement

log = logging.getLogger("lineage")


class ProcessGoneError(Exception):
    """The judging process ended: judge in this one."""


class JudgingProcess:
    """A child process judging one store on request, one judgement at a time."""

    def __init__(self, url: str, *, fork: bool = False) -> None:
        # spawn: nothing of the server's state copied; fork: ready at once (see the module)
        if fork:
            context: Any = multiprocessing.get_context("fork")
        else:
            context = multiprocessing.get_context("spawn")
        self.forked = fork
        self._pipe, child = context.Pipe()
        self._process: BaseProcess = context.Process(
            target=_judge_on_request,
            # a forked child holds a copy of this end too: it closes it, or the pipe would
            # never end for it (it waits for the next request when this process is gone)
            args=(url, child, self._pipe if fork else None),
            name="lineage-judge",
            daemon=True,
        )
        self._process.start()
        child.close()
        self._lock = threading.Lock()
        #: judgements the child made
        self.judged = 0
        #: after :meth:`stop`: whether the child ended when the pipe closed (not killed)
        self.ended_by_itself = False

    @property
    def pid(self) -> int | None:
        return self._process.pid

    def judge(self, what: str) -> Judgement | None:
        """Ask the child to judge (``what``: for its log line); its answer, None when it
        failed (logged there).

        Raises:
            ProcessGoneError: the child is gone.
        """
        with self._lock:
            try:
                self._pipe.send(what)
                answer: Judgement | None = self._pipe.recv()
            except (EOFError, OSError) as exc:
                raise ProcessGoneError(str(exc) or type(exc).__name__) from exc
            self.judged += 1
            return answer

    def alive(self) -> bool:
        """Whether the child is running."""
        return self._process.is_alive()

    def kill(self) -> None:
        """End the child now (what a crash does; for tests)."""
        self._process.kill()
        self._process.join(timeout=10)

    def stop(self, timeout: float = 30) -> None:
        """Close the pipe: the child ends after the judgement under way, if any."""
        with self._lock:
            self._pipe.close()
        self._process.join(timeout=timeout)
        self.ended_by_itself = not self._process.is_alive()
        if not self.ended_by_itself:
            self._process.kill()


def _judge_on_request(url: str, pipe: Connection, parents: Connection | None = None) -> None:
    """The child: open the store, then judge once per request until the pipe closes
    (``parents``: the parent's end, which a forked child closes first)."""
    if parents is not None:
        parents.close()
    from ..store import open_store  # noqa: PLC0415 - in the child only
    from .state import judge_logged  # noqa: PLC0415 - state imports this module

    # Ctrl-C reaches the whole process group: it is for the parent, which ends this child by
    # closing the pipe (a KeyboardInterrupt here printed a traceback under "Aborted!").
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    store = open_store(url, migrate=False)
    try:
        while True:
            try:
                what = pipe.recv()
            except (EOFError, OSError):  # the server closed the pipe or ended
                return
            answer = judge_logged(store, what)
            try:
                pipe.send(answer)
            except OSError:  # the server stopped while this judgement ran
                return
    finally:
        store.close()


_PROCESSES: weakref.WeakKeyDictionary[Store, JudgingProcess] = weakref.WeakKeyDictionary()
_LOCK = threading.Lock()


def judge_in_a_process(store: Store, *, quick: bool = False) -> bool:
    """From now on, judge ``store`` in a child process (see the module's docstring): whether
    it could be started (not for an in-memory SQLite store). ``quick``: fork it where that
    is safe (:func:`may_fork`), so that it is ready at once."""
    url = store.engine.url
    if url.get_backend_name() == "sqlite" and url.database in (None, "", ":memory:"):
        return False
    with _LOCK:
        if store not in _PROCESSES:
            rendered = url.render_as_string(hide_password=False)
            _PROCESSES[store] = JudgingProcess(rendered, fork=quick and may_fork())
    return True


def may_fork() -> bool:
    """Whether this process may fork its judging process: on Linux (macOS's system libraries
    are not safe across a fork), while no other thread runs."""
    return (
        sys.platform.startswith("linux")
        and "fork" in multiprocessing.get_all_start_methods()
        and threading.active_count() == 1
    )


def judging_process(store: Store) -> JudgingProcess | None:
    """The child judging ``store``, if one was started and has not gone."""
    return _PROCESSES.get(store)


def forget(store: Store, process: JudgingProcess) -> None:
    """The child of ``store`` is gone: judge in this process from now on."""
    with _LOCK:
        if _PROCESSES.get(store) is process:
            del _PROCESSES[store]


def stop_judging_process(store: Store) -> None:
    """End the child judging ``store``, if any, after the judgement under way."""
    with _LOCK:
        process = _PROCESSES.pop(store, None)
    if process is not None:
        process.stop()


__all__ = [
    "JudgingProcess",
    "ProcessGoneError",
    "judge_in_a_process",
    "judging_process",
    "may_fork",
    "stop_judging_process",
]
