"""Storage: schema, opening and migrating a database, writing events, indexed queries.

The store alone speaks SQLAlchemy; the rest of the engine types the connections it is handed
with the :class:`Connection` re-exported here.
"""

from __future__ import annotations

from sqlalchemy import Connection as Connection

from .database import Store as Store
from .database import open_store as open_store
from .database import resolve_url as resolve_url

__all__ = ["Connection", "Store", "open_store", "resolve_url"]
