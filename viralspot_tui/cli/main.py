"""The ``viralspot`` command line (docs/cli.md): a stable contract for scripts, cron and operators.

Heavy modules (Textual, openai, the simulator, the engine) are imported inside the commands
that need them, and each command's own module only when that command runs (as procrastinate's
CLI does): ``queue add`` imports ``queue_cmds`` and nothing of ``run``, ``analyze`` or
``crawl``. ``--help`` imports them all to list them. See docs/startup.md.
"""

from __future__ import annotations

import importlib
from types import ModuleType

import click

from .common import CliState

__all__ = ["cli", "main", "COMMAND_MODULES"]

COMMAND_MODULES: dict[str, str] = {
    "run": "engine_cmds",
    "demo": "engine_cmds",
    "simulate": "engine_cmds",
    "queue": "queue_cmds",
    "pause": "control_cmds",
    "resume": "control_cmds",
    "status": "control_cmds",
    "config": "control_cmds",
    "outbox": "outbox_cmds",
    "analyze": "viral_cmds",
    "jobs": "viral_cmds",
    "export": "viral_cmds",
    "crawl": "crawl_cmds",
    "supabase": "supabase_cmds",
}
"""Top-level command -> the module in this package whose ``register(cli)`` adds it. A test
checks that every module registers exactly the names listed for it."""

_PLUGGABLE = frozenset({"viral_cmds", "crawl_cmds", "supabase_cmds"})
"""Modules a trimmed distribution may leave out: their commands are then simply absent."""


class LazyGroup(click.Group):
    """A group whose commands are imported when looked up, one module at a time."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self._loaded: set[str] = set()

    def _load(self, module_name: str) -> ModuleType | None:
        if module_name in self._loaded:
            return None
        self._loaded.add(module_name)
        qualified = f"{__package__}.{module_name}"
        try:
            module = importlib.import_module(qualified)
        except ModuleNotFoundError as exc:
            if module_name not in _PLUGGABLE or exc.name != qualified:
                raise
            return None
        module.register(self)
        return module

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(set(self.commands) | set(COMMAND_MODULES))

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in self.commands and cmd_name in COMMAND_MODULES:
            self._load(COMMAND_MODULES[cmd_name])
        return self.commands.get(cmd_name)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.option(
    "--data-dir",
    type=click.Path(file_okay=False),
    envvar="VIRALSPOT_DATA_DIR",
    help="Folder of the SQLite database viralspot.db (default: a per-user data folder).",
)
@click.option("--config", "config_file", type=click.Path(dir_okay=False), help="A viralspot.toml file.")
@click.option("--simulate", is_flag=True, default=None, help="Talk to the built-in simulator, not the real APIs.")
@click.option("--log-format", type=click.Choice(["text", "json"], case_sensitive=False), default=None)
@click.option(
    "--log-level", type=click.Choice(["debug", "info", "warning", "error"], case_sensitive=False), default=None
)
@click.option(
    "--rapidapi-base-url",
    metavar="URL",
    default=None,
    help="Send Instagram and transcript calls here (e.g. a `viralspot simulate` server).",
)
@click.option(
    "--backend",
    type=click.Choice(["csv", "supabase"], case_sensitive=False),
    default=None,
    help="Where the queue lives; with supabase, queue commands act on the shared remote queue.",
)
@click.version_option(package_name="viralspot-tui")
@click.pass_context
def cli(
    ctx: click.Context,
    data_dir: str | None,
    config_file: str | None,
    simulate: bool | None,
    log_format: str | None,
    log_level: str | None,
    rapidapi_base_url: str | None,
    backend: str | None,
) -> None:
    """ViralSpot operations console: queue processor, viral ideas and network crawler."""
    state = ctx.ensure_object(CliState)
    state.config_file = config_file
    state.override(data_dir=data_dir, simulate=simulate, log_format=log_format, log_level=log_level)
    if backend:  # the whole section from files/env, then the flag (a nested override replaces it)
        current = state.settings.model_dump(mode="python")["queue"]
        state.override(queue={**current, "backend": backend.lower()})
    if rapidapi_base_url:
        state.rapidapi_base_url = rapidapi_base_url.rstrip("/")


def main() -> None:
    cli(prog_name="viralspot")


if __name__ == "__main__":
    main()
