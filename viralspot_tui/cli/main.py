"""The ``viralspot`` command line (docs/cli.md): a stable contract for scripts, cron and operators.

Heavy modules (Textual, openai, the simulator, the engine) are imported inside the commands
that need them, so control commands and ``--help`` start fast.
"""

from __future__ import annotations

import importlib

import click

from .common import CliState

__all__ = ["cli", "main"]

_PLUGGABLE = ("viralspot_tui.cli.viral_cmds", "viralspot_tui.cli.crawl_cmds", "viralspot_tui.cli.supabase_cmds")


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
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


def _register_all() -> None:
    from . import control_cmds, engine_cmds, outbox_cmds, queue_cmds

    for module in (engine_cmds, queue_cmds, control_cmds, outbox_cmds):
        module.register(cli)
    for name in _PLUGGABLE:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name != name:
                raise
            continue
        module.register(cli)


_register_all()


def main() -> None:
    cli(prog_name="viralspot")


if __name__ == "__main__":
    main()
