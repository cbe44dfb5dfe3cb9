"""The command line loads each command's module on demand (docs/startup.md), and the settings'
sections default to exactly what the section classes default to."""

from __future__ import annotations

import importlib
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from viralspot_tui.cli.main import COMMAND_MODULES, cli
from viralspot_tui.config import (
    CrawlerSettings,
    OpenAISettings,
    QueueSettings,
    RapidAPISettings,
    SimulatorSettings,
    SupabaseSettings,
    ViralSettings,
    load_settings,
)


@pytest.mark.parametrize("module_name", sorted(set(COMMAND_MODULES.values())))
def test_each_module_registers_exactly_the_commands_listed_for_it(module_name: str) -> None:
    group = click.Group()
    importlib.import_module(f"viralspot_tui.cli.{module_name}").register(group)
    listed = {name for name, module in COMMAND_MODULES.items() if module == module_name}
    assert set(group.commands) == listed


def test_help_lists_every_command_and_a_command_runs_after_lazy_loading(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["--help"])
    assert result.exit_code == 0, result.output
    listed = result.output.split("Commands:")[1]
    assert [line.split()[0] for line in listed.strip().splitlines()] == sorted(COMMAND_MODULES)
    run = CliRunner().invoke(cli, ["--data-dir", str(tmp_path), "queue", "add", "someone", "@Other"])
    assert run.exit_code == 0, run.output
    assert "someone: added at LOW" in run.output and "other: added at LOW" in run.output


def test_an_unknown_command_is_a_usage_error() -> None:
    result = CliRunner().invoke(cli, ["queue-add", "x"])
    assert result.exit_code == 2
    assert "No such command 'queue-add'" in result.output


def test_unset_sections_validate_to_the_section_defaults(tmp_path: Path) -> None:
    settings = load_settings(data_dir=tmp_path)
    for name, section in (
        ("rapidapi", RapidAPISettings),
        ("openai", OpenAISettings),
        ("supabase", SupabaseSettings),
        ("viral", ViralSettings),
        ("crawler", CrawlerSettings),
        ("sim", SimulatorSettings),
    ):
        value = getattr(settings, name)
        assert type(value) is section and value == section(), name
    assert settings.queue == QueueSettings(queue_file=tmp_path / "queue.csv")
    assert settings.keys == {} and settings.crawler.blocked == []
    again = load_settings(data_dir=tmp_path)  # every load gets its own objects, nothing shared
    again.crawler.blocked.append("x")
    again.keys["k"] = "v"
    assert settings.crawler.blocked == [] and settings.keys == {}
