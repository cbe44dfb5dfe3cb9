"""Shared plumbing for command-line commands: settings, runtime, exit codes, output.

Kept free of Textual, openai and supabase imports so control commands start fast (docs/performance.md).
"""

from __future__ import annotations

import json
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

import click

if TYPE_CHECKING:
    from ..config import Settings
    from ..core.ops import Operations, OpResult
    from ..core.runtime import Runtime

__all__ = [
    "open_ops",
    "run_op",
    "report",
    "CliState",
    "pass_state",
    "run_async",
    "open_runtime",
    "echo_json",
    "fail",
    "EXIT_USAGE",
    "EXIT_ERROR",
    "engine_running",
]

T = TypeVar("T")
EXIT_ERROR = 1
EXIT_USAGE = 2


@dataclass
class CliState:
    config_file: str | None = None
    overrides: dict[str, Any] = field(default_factory=dict)
    rapidapi_base_url: str | None = None
    _settings: "Settings | None" = None

    @property
    def settings(self) -> "Settings":
        if self._settings is None:
            from ..config import ConfigError, load_settings

            try:
                self._settings = load_settings(self.config_file, **self.overrides)
                if self.rapidapi_base_url:  # one flag for both RapidAPI hosts
                    self._settings.rapidapi.instagram_base_url = self.rapidapi_base_url
                    self._settings.rapidapi.transcript_base_url = self.rapidapi_base_url
            except ConfigError as exc:
                fail(str(exc), code=EXIT_USAGE)
        return self._settings  # type: ignore[return-value]

    def override(self, **values: Any) -> None:
        """Command-level flags (e.g. ``run --backend``): highest precedence, before settings load."""
        for key, value in values.items():
            if value is not None:
                self.overrides[key] = value
        self._settings = None


pass_state = click.make_pass_decorator(CliState, ensure=True)


def fail(message: str, code: int = EXIT_ERROR) -> None:
    click.echo(f"error: {message}", err=True)
    sys.exit(code)


def run_async(coro: Awaitable[T]) -> T:
    import asyncio  # here, not at the top: ``--help`` and ``config show`` never start a loop

    return asyncio.run(coro)  # type: ignore[arg-type]


@asynccontextmanager
async def open_runtime(state: CliState, *, with_providers: bool = False) -> AsyncIterator["Runtime"]:
    """Open the local database (and providers when a command does real work itself)."""
    from ..config import ConfigError
    from ..core.runtime import Runtime
    from ..core.store.database import DatabaseOpenError

    try:
        runtime = await Runtime.open(state.settings, with_providers=with_providers)
    except ConfigError as exc:
        fail(str(exc), code=EXIT_USAGE)
        raise  # unreachable, for type checkers
    except DatabaseOpenError as exc:
        fail(str(exc), code=EXIT_USAGE if exc.configuration else EXIT_ERROR)
        raise
    try:
        yield runtime
    finally:
        await runtime.close()


async def engine_running(runtime: "Runtime") -> bool:
    from ..core.ops import ControlLink

    return await ControlLink(runtime).engine_running()


@asynccontextmanager
async def open_ops(state: CliState, *, with_providers: bool = False) -> AsyncIterator["Operations"]:
    """The operations layer for one command: the local database, and a control link that reaches
    a running engine (or records the request for the next start). docs/architecture.md."""
    from ..core.ops import ControlLink, Operations

    async with open_runtime(state, with_providers=with_providers) as runtime:
        yield Operations(runtime, ControlLink(runtime))


def run_op(coro: Awaitable[T]) -> T:
    """Run one operations-layer call; a refusal prints ``error: …`` and exits with its code."""
    from ..core.ops import OpError

    try:
        return run_async(coro)
    except OpError as exc:
        fail(str(exc), code=exc.exit_code)
        raise  # unreachable


def report(result: "OpResult") -> None:
    """Print what an action did (one line per name for batches) and exit with its code."""
    for line in result.lines or (result.message,):
        click.echo(line, err=line.startswith("refused:"))
    if result.exit_code:
        raise SystemExit(result.exit_code)


def echo_json(value: Any) -> None:
    click.echo(json.dumps(value, indent=2, default=str))


def parse_or_exit(fn: Callable[[], T]) -> T:
    """Run a validation, turning ValueError into a usage error (exit 2) with its message."""
    try:
        return fn()
    except ValueError as exc:
        fail(str(exc), code=EXIT_USAGE)
        raise
