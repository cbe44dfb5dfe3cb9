"""``viralspot run``, ``viralspot demo`` and ``viralspot simulate``: the long-running commands.

``run`` and ``demo`` open the Textual console when a terminal is attached and ``--no-ui`` was
not given; otherwise they run the same engine headless. Textual is imported only on the
console path.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from .common import EXIT_ERROR, EXIT_USAGE, CliState, fail, pass_state, run_async

__all__ = ["register"]

PROCESSORS = ("queue", "viral", "crawler")
SAMPLE_FILE = Path(__file__).resolve().parents[2] / "queue.csv.sample"
FALLBACK_SAMPLE = (
    "username,source,priority,timestamp,status,attempts,last_attempt,error_message,request_id\n"
    "natgeo,manual,HIGH,,PENDING,0,,,\nnasa,manual,LOW,,PENDING,0,,,\n"
    "sunny.bakes,manual,LOW,,PENDING,0,,,\nmissing_account,manual,LOW,,PENDING,0,,,\n"
)


def _interactive(no_ui: bool) -> bool:
    return not no_ui and sys.stdin.isatty() and sys.stdout.isatty()


def _launch(
    state: CliState,
    *,
    no_ui: bool,
    exit_when_idle: bool,
    mouse: bool,
    setup: Any = None,
    processors: tuple[str, ...] = PROCESSORS,
) -> None:
    from ..config import ConfigError
    from ..core.store.database import DatabaseOpenError

    settings = state.settings
    try:
        if _interactive(no_ui):
            from ..tui.launch import run_console

            code = run_console(settings, mouse=mouse, exit_when_idle=exit_when_idle, setup=setup, processors=processors)
        else:
            from ..core.headless import run_headless
            from ..logs import configure_logging

            secrets = [
                s.get_secret_value()
                for s in (settings.rapidapi.key, settings.openai.api_key, settings.supabase.service_role_key)
                if s is not None
            ]
            configure_logging(settings.log_format, settings.log_level, secrets)
            code = run_async(run_headless(settings, exit_when_idle=exit_when_idle, setup=setup, processors=processors))
    except ConfigError as exc:
        fail(str(exc), code=EXIT_USAGE)
        return
    except DatabaseOpenError as exc:
        fail(str(exc), code=EXIT_USAGE if exc.configuration else EXIT_ERROR)
        return
    except Exception as exc:  # noqa: BLE001 - a crash is logged (secrets redacted), never a raw traceback
        import logging

        from ..core.providers.errors import clean_text

        logging.getLogger("viralspot").error("the runner stopped on an error", exc_info=True)
        fail(f"the runner stopped on an error: {clean_text(f'{type(exc).__name__}: {exc}')}", code=EXIT_ERROR)
        return
    raise SystemExit(code)


@click.command("run")
@click.option("--no-ui", is_flag=True, help="Run headless: logs to stderr, status line, signals.")
@click.option("--backend", type=click.Choice(["csv", "supabase"], case_sensitive=False), default=None)
@click.option("--queue-file", type=click.Path(dir_okay=False), default=None, help="The CSV queue file.")
@click.option("--simulate", is_flag=True, default=None, help="Use the simulator instead of the real APIs.")
@click.option("--exit-when-idle", is_flag=True, help="Stop once nothing is pending, running or due soon.")
@click.option("--max-concurrent", type=click.IntRange(1, 512), default=None)
@click.option(
    "--adopt-queue-file",
    is_flag=True,
    default=None,
    help="Make --queue-file this data folder's queue file, though it remembers another.",
)
@click.option("--no-mouse", is_flag=True, help="Console: do not capture the mouse.")
@click.option(
    "--processors",
    default=",".join(PROCESSORS),
    show_default=True,
    help="Comma-separated processors to host (queue, viral, crawler).",
)
@pass_state
def run(
    state: CliState,
    no_ui: bool,
    backend: str | None,
    queue_file: str | None,
    simulate: bool | None,
    exit_when_idle: bool,
    max_concurrent: int | None,
    no_mouse: bool,
    processors: str,
    adopt_queue_file: bool | None,
) -> None:
    """The console (or headless runner) on the configured backend."""
    queue: dict[str, Any] = {}
    if adopt_queue_file:
        queue["adopt_queue_file"] = True
    if backend:
        queue["backend"] = backend
    if queue_file:
        queue["queue_file"] = queue_file
    if max_concurrent:
        queue["max_concurrent"] = max_concurrent
    _merge_section(state, "queue", queue)
    state.override(simulate=simulate)
    chosen = tuple(p.strip() for p in processors.split(",") if p.strip())
    unknown = sorted(set(chosen) - set(PROCESSORS))
    if unknown or not chosen:
        fail(
            f"--processors: unknown {', '.join(unknown) or '(none given)'}; choose from {', '.join(PROCESSORS)}",
            code=EXIT_USAGE,
        )
    _launch(state, no_ui=no_ui, exit_when_idle=exit_when_idle, mouse=not no_mouse, processors=chosen)


def _merge_section(state: CliState, section: str, values: dict[str, Any]) -> None:
    """Flags for nested settings: start from what files/env say, then apply the flags."""
    if not values:
        return
    current = state.settings.model_dump(mode="python")[section]
    state.override(**{section: {**current, **values}})


@click.command("demo")
@click.option("--no-ui", is_flag=True, help="Run headless (the default without a terminal).")
@click.option("--exit-when-idle", is_flag=True, help="Seed the first wave only and stop once it is done.")
@click.option("--no-mouse", is_flag=True)
@pass_state
def demo(state: CliState, no_ui: bool, exit_when_idle: bool, no_mouse: bool) -> None:
    """Everything on the simulator: a sample queue, a sample analysis job and a crawl. No keys needed.

    Without --exit-when-idle the demo stays alive: urgent API requests, scheduled crawls, a
    recurring analysis and the odd retried fault keep arriving, on a faster simulated clock.
    """
    state.override(simulate=True)
    if "data_dir" not in state.overrides:  # simulated data never lands in the operator's own data folder
        state.override(data_dir=str(state.settings.data_dir / "demo"))
    click.echo(f"demo data folder: {state.settings.data_dir}", err=True)
    queue_file = state.settings.data_dir / "demo-queue.csv"
    if not queue_file.exists():
        queue_file.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        sample = SAMPLE_FILE.read_text(encoding="utf-8") if SAMPLE_FILE.is_file() else FALLBACK_SAMPLE
        queue_file.write_text(sample, encoding="utf-8")
    _merge_section(state, "queue", {"queue_file": str(queue_file), "backend": "csv"})
    from ..core.demo import LIVE_PACE, live_demo_setup, seed_demo_work

    if exit_when_idle:  # the batch demo: the first wave only, so it finishes
        _launch(state, no_ui=no_ui, exit_when_idle=True, mouse=not no_mouse, setup=seed_demo_work)
        return
    for section, values in LIVE_PACE.settings_overrides().items():  # work keeps arriving (docs/demo.md)
        _merge_section(state, section, values)
    _launch(state, no_ui=no_ui, exit_when_idle=False, mouse=not no_mouse, setup=live_demo_setup(LIVE_PACE))


@click.command("simulate")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", type=click.IntRange(0, 65535), default=8765, show_default=True)
@click.option("--seed", type=int, default=None, help="World seed (default: VIRALSPOT_SIM_SEED or 7).")
@click.option(
    "--quirks",
    type=click.Choice(["real", "off"]),
    default=None,
    help="Answer like the real hosts (real: 200 error bodies, undated list entries, paging quirk, "
    "206/202 transcripts) or in the idealised shapes (off). Default: VIRALSPOT_SIM_QUIRKS or real.",
)
@pass_state
def simulate(state: CliState, host: str, port: int, seed: int | None, quirks: str | None) -> None:
    """Serve the simulator over loopback HTTP (point --rapidapi-base-url / OPENAI_BASE_URL at it)."""
    from dataclasses import replace

    from ..core.runtime import simulator_config
    from ..sim import Simulator, serve_simulator

    try:
        config = simulator_config(state.settings)
    except ValueError as exc:  # a bad VIRALSPOT_SIM_* value: say which, no traceback
        fail(str(exc), code=EXIT_USAGE)
    if seed is not None:
        config = replace(config, seed=seed)
    if quirks is not None:
        config = replace(config, quirks=quirks)
    click.echo(
        f"simulator (seed {config.seed}, quirks {config.quirks}) on http://{host}:{port} — "
        f"Instagram, transcripts and /v1/chat/completions; Ctrl+C stops",
        err=True,
    )
    try:
        run_async(serve_simulator(Simulator(config), host, port, install_signal_handlers=True))
    except KeyboardInterrupt:
        pass


def register(cli: click.Group) -> None:
    cli.add_command(run)
    cli.add_command(demo)
    cli.add_command(simulate)
