"""``lineage demo``: load the demo company into a database, show where to look, serve it.

The web app is started through ``lineage serve``'s own command, imported when it is needed,
so that loading the demo (``--no-serve``) never imports Flask.
"""

from __future__ import annotations

import shlex

import click

from ..demo import DemoLoad, load_demo
from ..store.database import resolve_url
from .options import db_option, open_db

# The defects a steward meets first, and the command that shows each.
TOUR: tuple[tuple[str, str], ...] = (
    ("trace BI order.total R-17", "the impossible figure: 115.20 where 103.68 belongs"),
    ("golden ERP 40017", "order 40017: its truth, a stale and a divergent copy"),
    ("impact ERP customer.address 10233", "where an address edited in the wrong system went"),
    ("scan", "every finding, with the owner to talk to"),
    ("digest --owner bianca@example.com", "only what one owner must act on"),
)


def tour(db: str | None = None) -> list[str]:
    """The commands to try after the demo, each with what it shows.

    With ``--db``, the first line points the commands at that database.
    """
    rows = [(f"lineage {command}", why) for command, why in TOUR]
    if db:
        rows.insert(0, (f"export LINEAGE_DATABASE_URL={shlex.quote(db)}", "(the commands use it)"))
    width = max(len(command) for command, _ in rows[1 if db else 0 :])
    return [f"{command:<{width}}   {why}" for command, why in rows]


def summary(loaded: DemoLoad, where: str) -> list[str]:
    """What loading did, in a few lines for people."""
    registry, result = loaded.registry, loaded.result
    names = (
        f"{len({s.name for s in registry.systems})} systems, "
        f"{len({e.name for e in registry.elements})} elements, "
        f"{len({i.name for i in registry.integrations})} integrations"
    )
    kinds = ", ".join(f"{count} {kind}s" for kind, count in loaded.kinds.items())
    if loaded.unchanged:
        return [
            f"The demo company is already loaded in {where}: nothing changed.",
            f"  registry  {names} (version {loaded.registry_version}, unchanged)",
            f"  events    all {sum(loaded.kinds.values())} already recorded ({kinds})",
        ]
    state = "stored" if loaded.registry_changed else "unchanged"
    lines = [
        f"Loaded Lumen & Co., the demo company, into {where}.",
        f"  registry  {names} ({state}, version {loaded.registry_version})",
        f"  events    {result.accepted} new, {result.duplicate} already recorded, "
        f"{result.status_updates} status updates ({kinds})",
        "  the week of 16-21 November 2026, with a defect of every runtime finding code planted",
    ]
    if result.rejected_count:
        lines.append(f"  {result.rejected_count} events were rejected (see above)")
    return lines


@click.command("demo")
@click.option(
    "--no-serve",
    "no_serve",
    is_flag=True,
    help="Only load the demo company; do not start the web UI.",
)
@click.option(
    "--host",
    default="127.0.0.1",
    show_default=True,
    help="Address to serve on; anything but loopback needs LINEAGE_API_TOKEN.",
)
@click.option(
    "--port",
    default=8000,
    show_default=True,
    type=click.IntRange(0, 65535),
    help="Port to serve on (0 picks a free one).",
)
@db_option
@click.pass_context
def demo(ctx: click.Context, no_serve: bool, host: str, port: int, db: str | None) -> None:
    """Load the demo company (registry and a week of events) and serve it.

    Loads into --db, else $LINEAGE_DATABASE_URL, else lineage.db here. Loading again changes
    nothing. Prints the commands that show the demo's most telling trace, golden record and
    findings, then serves the web UI and API like `lineage serve` (--no-serve: load only).
    """
    if not no_serve:
        from .serve import check_port_free  # noqa: PLC0415

        check_port_free(host, port)  # before loading: a busy port is one line, nothing else
    store = open_db(db)
    try:
        where = store.engine.url.render_as_string(hide_password=True)
        loaded = load_demo(store)
    finally:
        store.close()
    for rejection in loaded.result.rejected:
        click.echo(f"lineage: {rejection}", err=True)
    click.echo("\n".join(summary(loaded, where)))
    click.echo("\nWhere to look first:")
    for line in tour(db):
        click.echo(f"  {line}")
    if no_serve:
        return
    click.echo("\nServing the web UI and API (Ctrl+C stops; --no-serve only loads).")
    from .serve import CHANNEL_TIMEOUT, CONNECTION_LIMIT, serve  # noqa: PLC0415

    ctx.invoke(
        serve,
        host=host,
        port=port,
        threads=8,
        connection_limit=CONNECTION_LIMIT,
        channel_timeout=CHANNEL_TIMEOUT,
        db=db or resolve_url(None),
    )


COMMANDS: list[click.Command] = [demo]
