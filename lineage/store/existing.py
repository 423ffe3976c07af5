"""Whether a ``--db`` names a store that exists, for the commands that only read.

A reading command must not create an empty store and answer "nothing found" from it:
:func:`require_store` says where it looked instead.
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import inspect
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError

from ..errors import StoreError
from .database import open_store, resolve_url

CREATE_ONE = (
    "create one with lineage load, lineage ingest or lineage demo, or name another with --db"
)


def require_store(db: str | None) -> None:
    """Raise :class:`~lineage.errors.StoreError` when ``db`` (``--db``, else the default)
    names no lineage store: a SQLite file that does not exist, or a database without the
    store's tables. A URL that cannot be read or a database that does not answer is left
    to :func:`~lineage.store.open_store`, which names the problem in its own words."""
    try:
        url = make_url(resolve_url(db))
    except ArgumentError:
        return
    shown = url.render_as_string()
    if url.get_backend_name() == "sqlite":
        path = url.database
        if path in (None, "", ":memory:") or path.startswith("file:"):
            return
        if not Path(path).exists():
            raise StoreError(f"no store at {path}: the file does not exist; {CREATE_ONE}")
        shown = path
    store = open_store(db, migrate=False)
    try:
        with store.engine.connect() as conn:
            present = inspect(conn).has_table("registry_versions")
    except SQLAlchemyError:
        return
    finally:
        store.close()
    if not present:
        raise StoreError(f"no store at {shown}: the database holds no lineage store; {CREATE_ONE}")


__all__ = ["CREATE_ONE", "require_store"]
