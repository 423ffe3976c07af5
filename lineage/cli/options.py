"""Options and parameter types shared by several commands."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

import click

from ..model.findings import Severity
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
    from ..store.existing import require_store  # noqa: PLC0415

    if must_exist:
        require_store(db)
    return open_store(db)


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
        type=click.Choice([s.value for s in Severity]),
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
