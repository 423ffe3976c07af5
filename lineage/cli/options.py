"""Options shared by several commands."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import click

from ..store import Store, open_store

F = TypeVar("F", bound=Callable[..., Any])


def db_option(func: F) -> F:
    """``--db URL``: the database (default ``$LINEAGE_DATABASE_URL`` or ``lineage.db`` here)."""
    return click.option(
        "--db",
        "db",
        metavar="URL",
        default=None,
        help="Database URL (default: $LINEAGE_DATABASE_URL, else sqlite file lineage.db here).",
    )(func)


def open_db(db: str | None) -> Store:
    """Open the store named by ``--db`` (errors become exit 2 through the group)."""
    return open_store(db)
