"""The ``lineage`` command line: the composition root (DESIGN.md §6).

Each area's commands live in their own module and are registered here. A
:class:`~lineage.errors.LineageError` never reaches the user as a traceback: it becomes one
line on stderr and exit code 2.
"""

from __future__ import annotations

import sys
from typing import Any

import click

from ..errors import LineageError


class LineageGroup(click.Group):
    """A click group that turns engine errors into one line and exit code 2."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except LineageError as exc:
            click.echo(f"lineage: {exc}", err=True)
            sys.exit(2)


@click.group(cls=LineageGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="lineage")
def main() -> None:
    """Value-level data lineage: one system of record per element, every hop checked."""


def _register() -> None:
    from . import check, demo, golden, scan, serve, steward, store  # noqa: PLC0415

    for module in (check, store, steward, scan, serve, golden, demo):
        for command in getattr(module, "COMMANDS", ()):
            main.add_command(command)


_register()
