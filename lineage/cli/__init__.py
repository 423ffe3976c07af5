"""The ``lineage`` command line: the composition root (docs/CONTRACT.md §5).

Each area's commands live in their own module and are registered here. A
:class:`~lineage.errors.LineageError` never reaches the user as a traceback: it becomes one
line on stderr and exit code 2.
"""

from __future__ import annotations

import importlib
import sys
from typing import Any

import click

from ..errors import LineageError

# Which module defines each command: a module is imported only when one of its commands
# runs, so `lineage check` in a CI gate starts without the database layer.
COMMAND_MODULES: dict[str, str] = {
    "check": "check",
    "diff": "diff",
    "load": "store",
    "stats": "store",
    "ingest": "store",
    "trace": "steward",
    "impact": "steward",
    "golden": "golden",
    "export": "golden",
    "scan": "scan",
    "digest": "scan",
    "audit": "scan",
    "health": "health",
    "serve": "serve",
    "demo": "demo",
    "webhook": "webhook",
}


class LineageGroup(click.Group):
    """A click group that loads commands lazily and turns engine errors into exit code 2."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMAND_MODULES)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        module_name = COMMAND_MODULES.get(cmd_name)
        if module_name is None:
            return None
        module = importlib.import_module(f"{__name__}.{module_name}")
        commands: list[click.Command] = module.COMMANDS
        return next((c for c in commands if c.name == cmd_name), None)

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
