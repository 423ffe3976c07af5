"""``lineage serve``: the web UI and HTTP API, served by waitress.

Flask and the web app are imported inside the command, so the engine and every other command
run without them.
"""

from __future__ import annotations

import ipaddress

import click

from ..errors import LineageError
from .options import db_option


def is_loopback(host: str) -> bool:
    """True for ``localhost`` and loopback addresses (``127.0.0.1``, ``::1``)."""
    if host.strip().lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


@click.command("serve")
@click.option(
    "--host",
    default="127.0.0.1",
    show_default=True,
    help="Address to listen on; anything but loopback needs LINEAGE_API_TOKEN.",
)
@click.option(
    "--port",
    default=8000,
    show_default=True,
    type=click.IntRange(0, 65535),
    help="Port to listen on (0 picks a free one).",
)
@click.option(
    "--threads",
    default=8,
    show_default=True,
    type=click.IntRange(1, 256),
    help="Worker threads answering requests.",
)
@db_option
def serve(host: str, port: int, threads: int, db: str | None) -> None:
    """Serve the web UI and the HTTP API (DESIGN.md §7)."""
    # Imported here: the engine and the other commands never load Flask.
    import waitress  # noqa: PLC0415

    from webapp import create_app  # noqa: PLC0415

    app = create_app({"DATABASE_URL": db} if db else None)
    if not is_loopback(host) and not app.config.get("API_TOKEN"):
        raise LineageError(
            f"refusing to serve on {host} without a token: anyone on the network could write "
            "events. Set LINEAGE_API_TOKEN, or serve on 127.0.0.1"
        )
    store = app.extensions["lineage"].store()  # fail now, not on the first request
    server = waitress.create_server(app, host=host, port=port, threads=threads)
    bound = server.effective_port
    shown = f"[{host}]" if ":" in host else host
    click.echo(f"lineage: serving http://{shown}:{bound}/ (store {store.engine.url!r})", err=True)
    try:
        server.run()
    except KeyboardInterrupt:
        click.echo("lineage: stopped", err=True)
    finally:
        server.close()


COMMANDS: list[click.Command] = [serve]
