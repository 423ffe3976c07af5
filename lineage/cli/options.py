"""Options and parameter types shared by several commands."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from ..report import FORMATS

if TYPE_CHECKING:
    from ..store import Store

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


def open_db(db: str | None, *, must_exist: bool = False) -> Store:
    """Open the store named by ``--db`` (errors become exit 2 through the group).

    Commands that only read pass ``must_exist``: a store that does not exist is then an
    error naming where it was looked for, never a new empty store answering "nothing found".
    Commands that write (load, ingest, demo) create it.
    """
    from ..store import open_store  # noqa: PLC0415  (the database layer loads only when used)

    if must_exist:
        _require_store(db)
    return open_store(db)


_CREATE_ONE = (
    "create one with lineage load, lineage ingest or lineage demo, or name another with --db"
)


def _require_store(db: str | None) -> None:
    from sqlalchemy import inspect  # noqa: PLC0415
    from sqlalchemy.engine import make_url  # noqa: PLC0415
    from sqlalchemy.exc import ArgumentError, SQLAlchemyError  # noqa: PLC0415

    from ..errors import StoreError  # noqa: PLC0415
    from ..store import open_store, resolve_url  # noqa: PLC0415

    try:
        url = make_url(resolve_url(db))
    except ArgumentError:
        return  # open_store names the bad URL
    shown = url.render_as_string()
    if url.get_backend_name() == "sqlite":
        path = url.database
        if path in (None, "", ":memory:") or path.startswith("file:"):
            return
        if not Path(path).exists():
            raise StoreError(f"no store at {path}: the file does not exist; {_CREATE_ONE}")
        shown = path
    store = open_store(db, migrate=False)
    try:
        with store.engine.connect() as conn:
            present = inspect(conn).has_table("registry_versions")
    except SQLAlchemyError:
        return  # open_store reports an unreachable database in its own words
    finally:
        store.close()
    if not present:
        raise StoreError(f"no store at {shown}: the database holds no lineage store; {_CREATE_ONE}")


class MomentType(click.ParamType[dt.datetime]):
    """An ISO 8601 time (``2026-11-20T09:00:00Z``); without a zone it is UTC, and a date
    alone means the start of that day in UTC."""

    name = "TIME"

    def convert(
        self, value: Any, param: click.Parameter | None, ctx: click.Context | None
    ) -> dt.datetime:
        if isinstance(value, dt.datetime):
            return value
        text = str(value).strip()
        try:
            moment = dt.datetime.fromisoformat(text.replace("z", "Z"))
        except ValueError:
            reason = f"{text!r} is not a time in ISO 8601 form, like 2026-11-20T09:00:00Z"
            self.fail(reason, param, ctx)
        if moment.tzinfo is None:
            return moment.replace(tzinfo=dt.UTC)
        try:
            return moment.astimezone(dt.UTC)
        except OverflowError:
            self.fail(f"{text!r} is outside years 1 to 9999 once in UTC", param, ctx)


MOMENT = MomentType()


def as_of_option(help_text: str) -> Callable[[F], F]:
    """``--as-of TIME``: answer as the store stood at that moment."""
    return click.option("--as-of", "as_of", type=MOMENT, default=None, help=help_text)


def findings_options(func: F) -> F:
    """``--format`` and ``--fail-on`` of the commands that report findings (check, scan)."""
    func = click.option(
        "--fail-on",
        type=click.Choice(["error", "warning", "info"]),
        default="error",
        show_default=True,
        help="Exit 1 when a finding of this severity or worse remains after waivers.",
    )(func)
    return click.option(
        "--format",
        "fmt",
        type=click.Choice(FORMATS),
        default="text",
        show_default=True,
        help="Output: text for people; json, junit, sarif, github (workflow annotations) or "
        "markdown (a pull-request comment) for CI.",
    )(func)
