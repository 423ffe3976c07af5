"""``lineage check``: lint registry files in CI, no database needed (DESIGN.md §6)."""

from __future__ import annotations

import datetime as dt

import click

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
@click.pass_context
def check(
    ctx: click.Context, paths: tuple[str, ...], fmt: str, fail_on: str, today: dt.datetime | None
) -> None:
    """Lint registry YAML files or directories (a directory is read whole).

    Exit 0 when nothing at or above --fail-on remains, 1 when something does, 2 when a file
    cannot be read as a registry (the message names the file and line).
    """
    registry = load_registry(paths)
    findings, waived = check_registry_waived(
        registry, today=today.date() if today is not None else None
    )
    output = render(findings, fmt, tool="lineage check", waived=len(waived))
    if output:
        click.echo(output)
    if failing(findings, fail_on):
        ctx.exit(1)


COMMANDS: list[click.Command] = [check]
