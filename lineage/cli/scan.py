"""``lineage scan`` (runtime findings), ``lineage digest`` (per owner) and ``lineage audit``."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import click

from ..audit import DEFAULT_PERIOD, audit_json, audit_report, audit_text
from ..detect.run import RUNTIME_CODES, Filters, scan_report
from ..digest import digest, digest_json, digest_text
from ..findings import Judgement, judge, read_findings
from ..model.findings import Finding
from ..model.registry import parse_duration
from ..report import failing, render
from ..rules import Judged
from ..store import Store
from ..store.schema import as_micros
from .known import require
from .options import MOMENT, as_of_option, db_option, findings_options, open_db

_SCAN_CODES = sorted(RUNTIME_CODES | {"expired-waiver", "unused-waiver"})


_as_of = as_of_option(
    "Judge the store live as it was at this moment (ISO 8601, UTC without a zone), running "
    "every detector, instead of reading the stored findings (judged as of the store's "
    "clock, the time of the latest event recorded). Later events are ignored; a hop still "
    "sent past its timeout is lost."
)


class Duration(click.ParamType[dt.timedelta]):
    """``30m``, ``12h``, ``7d``, ``2w``."""

    name = "DURATION"

    def convert(
        self, value: Any, param: click.Parameter | None, ctx: click.Context | None
    ) -> dt.timedelta:
        if isinstance(value, dt.timedelta):
            return value
        try:
            return parse_duration(str(value))
        except ValueError as exc:
            self.fail(str(exc), param, ctx)


@click.command("scan")
@findings_options
@_as_of
@click.option(
    "--state",
    type=click.Choice(["open", "resolved", "all"]),
    default="open",
    show_default=True,
    help="Which stored findings: open ones, resolved ones (with when and by which event), or all.",
)
@click.option(
    "--since",
    type=MOMENT,
    default=None,
    help="Only findings opened (or, with --state resolved|all, resolved) at or after this "
    "time of the store's clock (ISO 8601, UTC without a zone).",
)
@click.option(
    "--full",
    is_flag=True,
    help="Run every detector over the whole store first, bring the stored findings up to "
    "date and say how many it added, changed and resolved (0 when incremental detection "
    "kept up).",
)
@click.option(
    "--system",
    "systems",
    multiple=True,
    metavar="SYSTEM",
    help="Only findings about this system (repeatable).",
)
@click.option(
    "--element",
    "elements",
    multiple=True,
    metavar="ELEMENT",
    help="Only findings about this element (repeatable).",
)
@click.option(
    "--integration",
    "integrations",
    multiple=True,
    metavar="INTEGRATION",
    help="Only findings about this integration (repeatable).",
)
@click.option(
    "--owner",
    "owners",
    multiple=True,
    metavar="WHO",
    help="Only findings this person owns (repeatable; '(unowned)' for none).",
)
@click.option(
    "--code",
    "codes",
    multiple=True,
    type=click.Choice(_SCAN_CODES),
    metavar="CODE",
    help="Only findings with this code (repeatable).",
)
@db_option
@click.pass_context
def scan_command(
    ctx: click.Context,
    *,
    fmt: str,
    fail_on: str,
    as_of: dt.datetime | None,
    state: str,
    since: dt.datetime | None,
    full: bool,
    systems: tuple[str, ...],
    elements: tuple[str, ...],
    integrations: tuple[str, ...],
    owners: tuple[str, ...],
    codes: tuple[str, ...],
    db: str | None,
) -> None:
    """Report the runtime findings: the stored ones, judged as events arrived.

    Every ingest judges what it brought, so this reads the stored findings (open by
    default) without running the detectors; --full runs them all over the whole store and
    reconciles first; --as-of TIME judges the store live as it was then. The registry's
    waivers of runtime codes apply when reading; an expired one is reported as
    expired-waiver, one that silences nothing as unused-waiver. Exit 0 when no open finding
    at or above --fail-on remains, 1 when one does, 2 when the store cannot be read or a
    filter names a system, element, integration or owner the store does not know.
    """
    if as_of is not None and (full or state != "open" or since is not None):
        raise click.UsageError(
            "--as-of judges the store live as it was then; it cannot be combined with "
            "--full, --state or --since, which read the stored findings"
        )
    store = open_db(db, must_exist=True)
    reconciled: Judgement | None = None
    try:
        require(store, "system", systems, option="--system")
        require(store, "element", elements, option="--element")
        require(store, "integration", integrations, option="--integration")
        require(store, "owner", owners, option="--owner")
        filters = Filters(
            systems=systems,
            elements=elements,
            integrations=integrations,
            owners=owners,
            codes=codes,
        )
        if as_of is not None:
            result = scan_report(store, as_of=as_micros(as_of), filters=filters)
            found, waived, judged = result.findings, len(result.waived), result.judged
        else:
            if full:
                reconciled = judge(store, full=True)
            stored = read_findings(store, state=state, since=as_micros(since), filters=filters)
            found, waived, judged = stored.findings, stored.waived, stored.judged
    finally:
        store.close()
    _report(found, fmt, waived, reconciled, judged)
    if failing([f for f in found if f.state != "resolved"], fail_on):
        ctx.exit(1)


def _report(
    found: list[Finding],
    fmt: str,
    waived: int,
    reconciled: Judgement | None,
    judged: Judged | None,
) -> None:
    output = render(found, fmt, tool="lineage scan", waived=waived, judged=judged)
    if reconciled is None:
        if output:
            click.echo(output)
        return
    counts = reconciled.as_dict()
    line = "lineage scan --full: " + ", ".join(f"{n} {what}" for what, n in counts.items())
    if fmt == "json":
        click.echo(
            json.dumps({**json.loads(output), "reconciled": counts}, indent=2, ensure_ascii=False)
        )
    elif fmt == "text":
        click.echo(f"{output}\n{line}")
    else:  # a machine format holds exactly its own document: the counts go to stderr
        if output:
            click.echo(output)
        click.echo(line, err=True)


def _open_findings(store: Store, as_of: dt.datetime | None) -> tuple[list[Finding], Judged | None]:
    """The open findings after waivers, stored or judged live ``--as-of`` a past moment, and
    the moment they were judged as of."""
    if as_of is not None:
        result = scan_report(store, as_of=as_micros(as_of))
        return result.findings, result.judged
    stored = read_findings(store)
    return stored.findings, stored.judged


@click.command("digest")
@click.option(
    "--owner",
    default=None,
    metavar="WHO",
    help="Only this person's digest ('(unowned)' for findings without an owner).",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="text (one short message per owner) or json.",
)
@click.option(
    "--top",
    type=click.IntRange(min=1),
    default=3,
    show_default=True,
    help="How many findings the text shows per owner, most urgent first.",
)
@_as_of
@db_option
def digest_command(
    owner: str | None, fmt: str, top: int, as_of: dt.datetime | None, db: str | None
) -> None:
    """Each owner's findings, short: only what that person must act on, most urgent first.

    Errors come before warnings, findings on foundation integrations before operations,
    intelligence and experience ones; each names the command that shows it.
    """
    store = open_db(db, must_exist=True)
    try:
        if owner is not None:
            require(store, "owner", [owner], option="--owner")
        found, judged = _open_findings(store, as_of)
        registry = store.registry()
    finally:
        store.close()
    digests = digest(found, registry, owner=owner)
    if fmt == "json":
        click.echo(json.dumps(digest_json(digests, judged), indent=2))
    else:
        click.echo(digest_text(digests, top=top, judged=judged))


@click.command("audit")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="text (an aligned table) or json.",
)
@click.option(
    "--period",
    type=Duration(),
    default="7d",
    show_default=True,
    help="How far back the audit trail and the deliveries are judged (e.g. 24h, 7d).",
)
@_as_of
@db_option
def audit_command(
    fmt: str, period: dt.timedelta, as_of: dt.datetime | None, db: str | None
) -> None:
    """One row per integration: the review questions answered yes / partial / no.

    owner, system of record for every element carried, purpose, fallback, audit trail
    (hops recorded in the period) and deliveries (none failed, lost or duplicated); more
    than two answers that are not yes is integration debt.
    """
    store = open_db(db, must_exist=True)
    try:
        report = audit_report(store, as_of=as_micros(as_of), period=period or DEFAULT_PERIOD)
    finally:
        store.close()
    if fmt == "json":
        click.echo(json.dumps(audit_json(report.rows, report), indent=2))
    else:
        click.echo(audit_text(report.rows, report))


COMMANDS: list[click.Command] = [scan_command, digest_command, audit_command]
