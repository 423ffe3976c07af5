"""Commands of this area (filled in by the area's work)."""

from __future__ import annotations

import click

COMMANDS: list[click.Command] = []
