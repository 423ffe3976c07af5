from __future__ import annotations

import importlib

from click.testing import CliRunner

from lineage.cli import COMMAND_MODULES, main

CONTRACT_COMMANDS = {
    "check",
    "load",
    "stats",
    "ingest",
    "trace",
    "impact",
    "scan",
    "golden",
    "export",
    "serve",
    "demo",
    "digest",
    "audit",
}


def test_every_contract_command_is_listed_in_help(runner: CliRunner) -> None:
    result = runner.invoke(main, ["--help"])
    assert result.exit_code == 0
    listed = {
        line.split()[0] for line in result.output.split("Commands:")[1].splitlines() if line.strip()
    }
    assert listed >= CONTRACT_COMMANDS


def test_each_lazy_command_is_defined_in_the_module_named_for_it() -> None:
    for name, module_name in COMMAND_MODULES.items():
        module = importlib.import_module(f"lineage.cli.{module_name}")
        assert name in {c.name for c in module.COMMANDS}, (name, module_name)


def test_unknown_command_is_a_usage_error(runner: CliRunner) -> None:
    result = runner.invoke(main, ["frobnicate"])
    assert result.exit_code == 2
    assert "No such command" in result.output
