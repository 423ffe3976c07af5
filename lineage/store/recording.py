"""What the Python recorder (:mod:`lineage.recorder`) needs of the database layer: a URL
shown without its password, a per-connection deadline on SQLite's lock wait, and the
driver errors that mean "the store cannot take events now"."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError

from .database import Store

DRIVER_ERRORS: tuple[type[BaseException], ...] = (SQLAlchemyError,)
"""Errors of the database layer a write can raise (unreachable server, lock, disk)."""


def shown_url(url: str) -> str:
    """``url`` as it may be logged: the password hidden ("database" when unreadable)."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "database"


def wait_until(store: Store, deadline: Callable[[], float]) -> None:
    """On SQLite, make each connection the store hands out wait for a lock only until
    ``deadline()`` (a :func:`time.monotonic` moment read at every checkout)."""
    if store.dialect != "sqlite":
        return

    def checkout(dbapi_connection: Any, _record: Any, _proxy: Any) -> None:
        left = max(1, int((deadline() - time.monotonic()) * 1000))
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout={left}")  # an int: nothing to inject
        cursor.close()

    event.listen(store.engine, "checkout", checkout)


__all__ = ["DRIVER_ERRORS", "shown_url", "wait_until"]
