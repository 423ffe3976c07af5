"""``lineage webhook``: send the findings the outbox still holds, and the drain after ingest.

The webhook (``$LINEAGE_WEBHOOK_URL``) is told each finding opened or resolved; ``lineage
serve`` sends in the background and ``lineage ingest`` for a few seconds after its summary.
This command sends by hand what is due (``--all``: everything waiting, retries included).
"""

from __future__ import annotations

import os
import sys

import click

from ..errors import StoreError
from ..store.schema import iso
from ..webhook import URL_VARIABLE, WebhookError, WebhookSettings, deliver, deliver_briefly
from .options import db_option, open_db

#: Seconds ``lineage ingest`` spends at most telling the webhook after its summary.
DRAIN_SECONDS = 5.0


@click.command("webhook")
@click.option(
    "--all",
    "everything",
    is_flag=True,
    help="Also send the announcements waiting for a later retry, now.",
)
@click.option(
    "--status",
    is_flag=True,
    help="Only tell what the outbox holds (pending, delivered, the next attempt); send nothing.",
)
@db_option
def webhook(*, everything: bool, status: bool, db: str | None) -> None:
    """Send the findings opened or resolved that wait in the outbox to $LINEAGE_WEBHOOK_URL.

    Each is one POST (JSON, or Slack's {"text": ...} with LINEAGE_WEBHOOK_FORMAT=slack) with
    an Idempotency-Key header; one that fails stays for a later attempt. Exit 0 when nothing
    failed, 1 when some failed, 2 when $LINEAGE_WEBHOOK_URL is not set or not usable.
    """
    from ..store.outbox import backlog  # noqa: PLC0415 - the database layer loads when used

    store = open_db(db, must_exist=True)
    try:
        if status:
            held = backlog(store)
            due = (
                ""
                if held.next_attempt_at is None
                else f", next attempt {iso(held.next_attempt_at)}"
            )
            error = "" if held.last_error is None else f"; last error: {held.last_error}"
            click.echo(
                f"webhook outbox: {held.pending} pending{due}, {held.delivered} delivered{error}"
            )
            return
        settings = WebhookSettings.from_environ(os.environ)
        if settings is None:
            raise WebhookError(
                f"{URL_VARIABLE} is not set: name the receiver, e.g. "
                f"{URL_VARIABLE}=https://hooks.slack.com/services/... lineage webhook"
            )
        report = deliver(store, settings, include_later=everything)
        for error in report.errors:
            click.echo(f"lineage: webhook: {error}", err=True)
        held = backlog(store)
        click.echo(
            f"webhook: {report.delivered} delivered, {report.failed} failed, {held.pending} pending"
        )
    finally:
        store.close()
    if report.failed:
        sys.exit(1)


def tell_after_ingest(db: str | None, seconds: float = DRAIN_SECONDS) -> None:
    """Best effort after ``lineage ingest``: send what is due for ``seconds`` at most.

    Never fails the ingest: a webhook that is down, misconfigured or a store that is busy
    only earns a warning on stderr; the outbox keeps everything for a later attempt.
    """
    from ..store import open_store  # noqa: PLC0415 - the database layer loads when used

    try:
        settings = WebhookSettings.from_environ(os.environ)
        if settings is None:
            return
        # its own handle with a short busy timeout: another writer's lock is not waited for
        store = open_store(db, migrate=False, busy_timeout=min(2.0, seconds))
        try:
            report = deliver_briefly(store, settings, seconds)
        finally:
            store.close()
    except (WebhookError, StoreError) as exc:
        click.echo(f"lineage: warning: webhook not told: {exc}", err=True)
        return
    if report.failed:
        click.echo(
            f"lineage: warning: webhook: {report.failed} not delivered yet "
            f"({report.errors[-1]}); they stay in the outbox, `lineage webhook` sends them",
            err=True,
        )


COMMANDS: list[click.Command] = [webhook]
