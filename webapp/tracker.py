"""What one app holds for its whole life: the store, opened once, and the lineage index."""

from __future__ import annotations

import threading
from contextlib import AbstractContextManager, nullcontext

from flask import current_app

from lineage.findings.process import judge_in_a_process, stop_judging_process
from lineage.interop.marquez import LineageIndex
from lineage.store import Store, open_store


class Tracker:
    """The store of one app, opened on first use (and again after a failed open)."""

    def __init__(self, url: str | None, *, judge_apart: bool = False) -> None:
        self.url = url
        #: judge the store in a process of its own (lineage.findings.process)
        self.judge_apart = judge_apart
        self.lineage_index = LineageIndex()
        self._store: Store | None = None
        self._opening = threading.Lock()
        self._write = threading.Lock()

    def store(self) -> Store:
        """The open store; raises :class:`~lineage.errors.StoreError` when it cannot be opened."""
        if self._store is None:
            with self._opening:
                if self._store is None:
                    store = open_store(self.url)
                    if self.judge_apart:
                        judge_in_a_process(store)
                    self._store = store
        return self._store

    def writing(self) -> AbstractContextManager[object]:
        """Hold while writing: SQLite takes one writer at a time, so threads queue here
        instead of failing with "database is locked"; PostgreSQL needs no such queue."""
        if self.store().dialect == "sqlite":
            return self._write
        return nullcontext()

    def close(self) -> None:
        if self._store is not None:
            stop_judging_process(self._store)
            self._store.close()
            self._store = None


def tracker() -> Tracker:
    """The current app's :class:`Tracker`."""
    found: Tracker = current_app.extensions["lineage"]
    return found
