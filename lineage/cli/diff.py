"""``lineage diff BASE HEAD [-- PATH...]``: the semantic changes between two registries,
with their blast radius when a store is given (docs/CONTRACT.md §8)."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

import click

from ..diff.blast import Window
from ..diff.review import review, review_registries
from ..diff.source import read_side
from ..errors import InputError
from ..report import failing, render
from .check import unreadable
from .options import findings_options, open_db

if TYPE_CHECKING:
    from ..model.findings import Finding
    from ..model.registry import Registry
    from ..store import Store

F = TypeVar("F", bound=Callable[..., Any])


NO_STORE = (
    "lineage diff: no store given (--db or $LINEAGE_DATABASE_URL): how many records, values "
    "and recorded hops each change touches is not known"
)


def store_option(func: F) -> F:
    """``--db URL`` for the blast radius: optional, unlike the store of other commands."""
    return click.option(
        "--db",
        "db",
        metavar="URL",
        default=None,
        help="Store to measure the blast radius in (default: $LINEAGE_DATABASE_URL; without "
        "either, no store is read and each change says what it cannot know).",
    )(func)


def blast_options(func: F) -> F:
    """``--days`` and ``--max-hops``: how far back a changed transform is re-run."""
    func = click.option(
        "--max-hops",
        type=click.IntRange(min=1),
        default=10_000,
        show_default=True,
        help="Re-run a changed transform over at most this many recorded hops (the latest).",
    )(func)
    return click.option(
        "--days",
        type=click.IntRange(min=1),
        default=30,
        show_default=True,
        help="Re-run changed transforms over the hops of this many days before the store's "
        "latest event.",
    )(func)


def diff_store(db: str | None) -> Store | None:
    """The store named by ``--db`` or ``$LINEAGE_DATABASE_URL``; None when neither is set
    (``lineage diff`` needs no database: it then says what it cannot know)."""
    from ..store.database import URL_VARIABLE  # noqa: PLC0415

    if db is None and not os.environ.get(URL_VARIABLE):
        return None
    return open_db(db, must_exist=True)


def base_changes(
    base: str, paths: tuple[str, ...], head: Registry, db: str | None, days: int
) -> list[Finding]:
    """``lineage check --base REF``: the changes from REF's registry to ``head``."""
    before = read_side(base, paths).registry
    store = diff_store(db)
    try:
        return review_registries(before, head, store=store, window=Window(days=days))
    finally:
        if store is not None:
            store.close()


@click.command("diff")
@click.argument("base")
@click.argument("head")
@click.argument("paths", nargs=-1, metavar="[-- PATH...]")
@findings_options
@store_option
@blast_options
@click.pass_context
def diff(
    ctx: click.Context,
    *,
    base: str,
    head: str,
    paths: tuple[str, ...],
    fmt: str,
    fail_on: str,
    db: str | None,
    days: int,
    max_hops: int,
) -> None:
    """Name the semantic changes from BASE to HEAD: truth moved, new writers, owners dropped,
    transforms changed, rules and waivers, renames.

    BASE and HEAD are registry files or directories, or git revisions of the repository here
    (then PATH... names the registry inside them: lineage diff origin/main HEAD -- registry/).
    With a store (--db or $LINEAGE_DATABASE_URL) each change says what it touches in the
    recorded data. Exit 0 when no change at or above --fail-on, 1 when one is, 2 when a side
    cannot be read.
    """
    try:
        store = diff_store(db)
        try:
            changes = review(
                base, head, paths, store=store, window=Window(days=days, max_hops=max_hops)
            )
        finally:
            if store is not None:
                store.close()
    except InputError as exc:
        if fmt == "text":
            raise
        # machine formats still get one valid document, as lineage check gives them
        click.echo(render([unreadable(exc)], fmt, tool="lineage diff"))
        click.echo(f"lineage: {exc}", err=True)
        ctx.exit(2)
    output = render(changes, fmt, tool="lineage diff")
    if output:
        click.echo(output)
    if store is None and changes and fmt == "text":
        click.echo(NO_STORE, err=True)
    if failing(changes, fail_on):
        ctx.exit(1)


COMMANDS: list[click.Command] = [diff]
