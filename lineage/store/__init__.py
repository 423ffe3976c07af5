"""Storage: schema, opening and migrating a database, writing events, indexed queries."""

from __future__ import annotations

from .database import Store as Store
from .database import open_store as open_store
from .database import resolve_url as resolve_url

__all__ = ["Store", "open_store", "resolve_url"]
