"""``lineage check``: lint registry files in CI, no database needed (docs/CONTRACT.md §5)."""

from __future__ import annotations

import datetime as dt

import click

from ..errors import InputError
from ..model.findings import Finding
from ..model.registry import Location
from ..registry import check_registry_waived, load_registry
from ..report import failing, render
from .options import findings_options


@click.command("check")
@click.argument("paths", nargs=-1, required=True, metavar="PATH...")
@findings_options
@click.option(
    "--today",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    default=None,
    hidden=True,
    help="Judge waiver expiry as of this date (YYYY-MM-DD) instead of today.",
)
@click.option(
    "--base",
    "base",
    metavar="REF",
    default=None,
    help="Also name the semantic changes since REF (a git revision, or a directory, holding "
    "the same PATH...), in the same report (see lineage diff).",
)
@click.option(
    "--db",
    "db",
    metavar="URL",
    default=None,
    help="With --base: the store to measure the blast radius in (default: "
    "$LINEAGE_DATABASE_URL; without either, none).",
)
@click.option(
    "--days",
    type=click.IntRange(min=1),
    default=30,
    show_default=True,
    help="With --base and a store: re-run changed transforms over this many days of hops.",
)
@click.pass_context
def check(
    ctx: click.Context,
    *,
    paths: tuple[str, ...],
    fmt: str,
    fail_on: str,
    today: dt.datetime | None,
    base: str | None,
    db: str | None,
    days: int,
) -> None:
    """Lint registry YAML files or directories (a directory is read whole).

    With --base REF, the changes since REF are reported too (lineage diff REF . -- PATH...).
    Exit 0 when nothing at or above --fail-on remains, 1 when something does, 2 when a file
    cannot be read as a registry (the message names the file and line; every format but text
    also writes its document, with that error as an unreadable-registry finding).
    """
    try:
        registry = load_registry(paths)
        changes: list[Finding] = []
        if base is not None:
            from .diff import base_changes  # noqa: PLC0415  (git and the store only when asked)

            changes = base_changes(base, paths, registry, db, days)
    except InputError as exc:
        if fmt == "text":
            raise
        click.echo(render([unreadable(exc)], fmt, tool="lineage check"))
        click.echo(f"lineage: {exc}", err=True)
        ctx.exit(2)
    findings, waived = check_registry_waived(
        registry, today=today.date() if today is not None else None
    )
    if changes:
        findings = sorted([*findings, *changes], key=Finding.sort_key)
    output = render(findings, fmt, tool="lineage check", waived=len(waived))
    if output:
        click.echo(output)
    if failing(findings, fail_on):
        ctx.exit(1)


def unreadable(exc: InputError) -> Finding:
    """The error that stopped a registry from loading, as a finding at its file and line."""
    location = Location(file=exc.file, line=exc.line) if exc.file is not None else None
    return Finding.of("unreadable-registry", exc.reason, location=location)


COMMANDS: list[click.Command] = [check]
