"""``lineage serve``: the web UI and HTTP API, served by waitress.

Flask and the web app are imported inside the command, so the engine and every other command
run without them.

Idle connections cannot lock clients out: waitress keeps up to ``--connection-limit``
connections open (default 1000, watched with ``poll`` so past 1024 descriptors too) and
closes one that has been silent for ``--channel-timeout`` seconds (default 20); a request
being answered is never cut.
"""

from __future__ import annotations

import errno
import ipaddress
import os
import socket
from typing import Any

import click

from ..errors import LineageError
from ..webhook import DeliveryThread, WebhookSettings
from .options import db_option


def is_loopback(host: str) -> bool:
    """True for ``localhost`` and loopback addresses (``127.0.0.1``, ``::1``)."""
    if host.strip().lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


#: Defaults of the connection options (waitress's own are 100 connections and 120 s, which
#: 100 idle connections from anyone turn into a two-minute lockout).
CONNECTION_LIMIT = 1000
CHANNEL_TIMEOUT = 20


def port_in_use(host: str, port: int, exc: OSError) -> LineageError:
    """The one line a user reads when the address cannot be listened on."""
    shown = f"[{host}]" if ":" in host else host
    if exc.errno == errno.EADDRINUSE:
        return LineageError(
            f"cannot listen on {shown}:{port}: the port is in use (another `lineage serve`?); "
            "stop it or choose another with --port"
        )
    return LineageError(f"cannot listen on {shown}:{port}: {exc.strerror or exc}")


def check_port_free(host: str, port: int) -> None:
    """Raise the one-line :class:`LineageError` now if ``host:port`` cannot be listened on."""
    if port == 0:
        return
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as exc:
        raise LineageError(f"cannot listen on {host}: {exc.strerror}") from exc
    family, _, _, _, address = infos[0]
    probe = socket.socket(family, socket.SOCK_STREAM)
    try:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as waitress does
        probe.bind(address)
    except OSError as exc:
        raise port_in_use(host, port, exc) from exc
    finally:
        probe.close()


def _enough_descriptors(connections: int) -> None:
    """Raise this process's soft limit of open files to hold ``connections`` (where allowed)."""
    try:
        import resource  # noqa: PLC0415 - POSIX only

        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        wanted = connections + 64
        if soft != resource.RLIM_INFINITY and soft < wanted:
            limit = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
            resource.setrlimit(resource.RLIMIT_NOFILE, (limit, hard))
    except (ImportError, ValueError, OSError):
        pass  # the limit stays; waitress refuses connections past it, it does not fail


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
@click.option(
    "--connection-limit",
    default=CONNECTION_LIMIT,
    show_default=True,
    type=click.IntRange(1, 100_000),
    help="Open connections kept at most; more wait in the listen queue.",
)
@click.option(
    "--channel-timeout",
    default=CHANNEL_TIMEOUT,
    show_default=True,
    type=click.IntRange(1, 86_400),
    help="Seconds a connection may stay silent (no request under way) before it is closed.",
)
@db_option
def serve(
    *,
    host: str,
    port: int,
    threads: int,
    connection_limit: int,
    channel_timeout: int,
    db: str | None,
) -> None:
    """Serve the web UI and the HTTP API (docs/CONTRACT.md §6).

    Answers only requests whose Host is localhost, 127.0.0.1, ::1, --host or one in
    $LINEAGE_ALLOWED_HOSTS (names separated by commas; * for any). Without
    LINEAGE_API_TOKEN, writes must be JSON or come from the tracker's own pages.
    """
    # Imported here: the engine and the other commands never load Flask.
    import waitress  # noqa: PLC0415

    from webapp import create_app  # noqa: PLC0415

    settings: dict[str, Any] = {
        "SERVED_HOST": host,
        "JUDGE_IN_BACKGROUND": True,
        "JUDGE_IN_A_PROCESS": True,
    }
    if db:
        settings["DATABASE_URL"] = db
    app = create_app(settings)
    if not is_loopback(host) and not app.config.get("API_TOKEN"):
        raise LineageError(
            f"refusing to serve on {host} without a token: anyone on the network could write "
            "events. Set LINEAGE_API_TOKEN, or serve on 127.0.0.1"
        )
    settings_ = WebhookSettings.from_environ(os.environ)  # a bad one: exit 2 before serving
    check_port_free(host, port)
    store = app.extensions["lineage"].store()  # fail now, not on the first request
    _enough_descriptors(connection_limit)
    try:
        server = waitress.create_server(
            app,
            host=host,
            port=port,
            threads=threads,
            connection_limit=connection_limit,
            channel_timeout=channel_timeout,
            # how often silent connections are looked for: a fraction of the timeout
            cleanup_interval=max(1, min(30, channel_timeout // 2)),
            asyncore_use_poll=True,
        )
    except OSError as exc:
        raise port_in_use(host, port, exc) from exc
    bound = server.effective_port
    shown = f"[{host}]" if ":" in host else host
    click.echo(f"lineage: serving http://{shown}:{bound}/ (store {store.engine.url!r})", err=True)
    deliverer = None
    if settings_ is not None:
        deliverer = DeliveryThread(store, settings_).start()
        click.echo(f"lineage: telling findings opened and resolved to {settings_.shown}", err=True)
    try:
        server.run()
    except KeyboardInterrupt:
        click.echo("lineage: stopped", err=True)
    finally:
        server.close()
        if deliverer is not None:
            deliverer.stop(timeout=settings_.timeout if settings_ else None)
        app.extensions["lineage"].close()  # the judging process too


COMMANDS: list[click.Command] = [serve]
