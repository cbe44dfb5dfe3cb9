"""Helpers for the console's Pilot tests: settings, an app over a real engine, polling, text.

Tests drive the real App over the real supervisor and stores (simulated providers), and
assert on the store and the supervisor; screen text is only used for rendering checks.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from rich.console import Console
from testkit import make_settings, wait_for

from viralspot_tui.core.backends.base import LocalOnlyBackend
from viralspot_tui.core.engine import open_engine
from viralspot_tui.core.runtime import Runtime
from viralspot_tui.core.supervisor import Supervisor
from viralspot_tui.tui.app import ViralSpotApp


def tui_settings(tmp_path: Path, **overrides: Any) -> Any:
    """The shared test settings (``testkit.make_settings``) with a short drain for quit tests."""
    queue = {"grace_seconds": 1.0, **overrides.pop("queue", {})}
    return make_settings(tmp_path, queue=queue, **overrides)


def make_app(
    settings: Any,
    *,
    processors: tuple[str, ...] = ("queue",),
    clock: Any = None,
    local_only: bool = True,
    **kwargs: Any,
) -> ViralSpotApp:
    return ViralSpotApp(
        lambda: open_engine(settings, processors=processors, clock=clock, local_only=local_only),
        settings=settings,
        refresh_interval=kwargs.pop("refresh_interval", 0.1),
        **kwargs,
    )


async def until(predicate: Callable[[], Any], timeout: float = 20.0, what: Any = "") -> None:
    await wait_for(predicate, timeout=timeout, what=what)


async def focused(app: ViralSpotApp, selector: Any, screen: type | None = None) -> None:
    """Wait until ``selector`` on the active screen (of type ``screen``) has the focus: on a
    loaded machine, keys sent before that reach the screen underneath instead."""

    def ready() -> bool:
        if screen is not None and not isinstance(app.screen, screen):
            return False
        return bool(app.screen.query(selector)) and app.screen.query_one(selector).has_focus

    await until(ready, what=f"{selector} focused on {screen.__name__ if screen else 'the screen'}")


async def started(app: ViralSpotApp, pilot: Any) -> None:
    await until(lambda: app.host.started.is_set() and app.last_snapshot is not None, what="engine started")
    await pilot.pause()


def app_state(app: ViralSpotApp) -> str:
    """What a failed wait reports: the screen stack, the engine host and the last snapshot's work."""
    stack = [type(screen).__name__ for screen in app.screen_stack]
    return (
        f"screens={stack} running={app.is_running} quitting={app._quitting} "
        f"stopping={app.host.stopping} closed={app.host.closed.is_set()} in_flight={app.work_in_flight()}"
    )


def screen_text(app: ViralSpotApp) -> str:
    """The screen as plain text, the same frame export_screenshot() renders."""
    width, height = app.size
    console = Console(
        width=width,
        height=height,
        file=io.StringIO(),
        record=True,
        force_terminal=True,
        color_system="truecolor",
        legacy_windows=False,
    )
    console.print(app.screen._compositor.render_update(full=True, screen_stack=app._background_screens))
    return console.export_text()


async def statuses(app: ViralSpotApp) -> dict[str, tuple[str, str]]:
    """username -> (priority, status) of every item, from the store."""
    items = await app.supervisor.runtime.queue.list()
    return {i.username: (i.priority.value, i.status.value) for i in items}


async def select_user(app: ViralSpotApp, pilot: Any, username: str) -> None:
    """Focus the queue pane and put the cursor on ``username``'s row."""
    await pilot.press("1")
    await app.supervisor.refresh()  # the supervisor's own refresher runs a few times a second
    app.refresh_tick()
    await pilot.pause()
    pane = app.screen.query_one("#queue")
    key = next(k for k, item in pane._items.items() if item.username == username)
    assert pane.table.select_key(key)
    await pilot.pause()


def hosting(settings: Any, make_processors: Callable[[Runtime], list[Any]]) -> Callable[[], Any]:
    """An engine factory for the App whose supervisor hosts the given (test) processors."""

    @asynccontextmanager
    async def engine() -> Any:
        runtime = await Runtime.open(settings, with_providers=False)
        supervisor = Supervisor(
            runtime, make_processors(runtime), LocalOnlyBackend(), refresh_seconds=0.05, restart_initial=0.05
        )
        try:
            yield supervisor
        finally:
            if not supervisor.stopped.is_set():
                await supervisor.stop(grace_seconds=0)
            await runtime.close()

    return engine
