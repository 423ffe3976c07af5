"""``lineage health``: per day, hops delivered, failed and lost, findings opened, resolved
and open, per integration, owner, system or element."""

from __future__ import annotations

import datetime as dt
import json

import click

from .options import as_of_option, db_option, open_db


@click.command("health")
@click.option(
    "--by",
    type=click.Choice(["integration", "owner", "system", "element"]),
    default="integration",
    show_default=True,
    help="What each group is: an integration, an owner, the system or the element delivered to.",
)
@click.option(
    "--days",
    type=click.IntRange(1, 3660),
    default=30,
    show_default=True,
    help="How many days, the last being the day of the store's clock (or of --as-of).",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json", "svg"]),
    default="text",
    show_default=True,
    help="text (a table per group), json, or svg (a small chart per group).",
)
@as_of_option("Judge as of this moment (ISO 8601) instead of the store's clock.")
@db_option
def health_command(by: str, days: int, fmt: str, as_of: dt.datetime | None, db: str | None) -> None:
    """Per day: hops delivered, failed and lost; findings opened, resolved and open.

    Days are calendar days (UTC) ending with the day of the store's clock, the time of the
    latest event recorded, unless --as-of is given.
    """
    from ..charts import health_svg  # noqa: PLC0415  (the chart library loads only when drawing)
    from ..health import health  # noqa: PLC0415

    store = open_db(db, must_exist=True)
    try:
        report = health(store, by=by, days=days, as_of=as_of)  # type: ignore[arg-type]
    finally:
        store.close()
    if fmt == "json":
        click.echo(json.dumps(report.as_dict(), indent=2))
    elif fmt == "svg":
        click.echo(health_svg(report))
    else:
        click.echo(report.text())


COMMANDS: list[click.Command] = [health_command]
