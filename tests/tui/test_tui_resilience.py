"""The app survives what goes wrong and always leaves through the graceful drain (docs/console.md)."""

from __future__ import annotations

import asyncio
import os
import signal
import sqlite3
from typing import Any

from testkit import crashing_processor
from tui_kit import hosting, make_app, started, tui_settings, until

from viralspot_tui.core.models.queue import Priority
from viralspot_tui.core.runtime import Runtime
from viralspot_tui.tui.app import ViralSpotApp
from viralspot_tui.tui.screens.confirm import ConfirmScreen
from viralspot_tui.tui.screens.drain import DrainScreen


def _processing_rows(settings: Any) -> int:
    with sqlite3.connect(settings.db_path) as conn:
        return conn.execute("SELECT COUNT(*) FROM queue WHERE status = 'PROCESSING'").fetchone()[0]


async def _busy_app(tmp_path) -> tuple[ViralSpotApp, Any]:
    settings = tui_settings(tmp_path, sim={"latency_ms": 400.0}, queue={"grace_seconds": 0.3})
    return make_app(settings), settings


async def test_q_asks_when_work_is_in_flight_then_drains_and_exits(tmp_path):
    app, settings = await _busy_app(tmp_path)
    async with app.run_test(size=(100, 30)) as pilot:
        await started(app, pilot)
        await app.supervisor.runtime.queue.enqueue([f"user{i}" for i in range(6)], Priority.HIGH)
        await until(lambda: app.work_in_flight() > 0, what="work in flight")
        await pilot.press("q")
        await until(lambda: isinstance(app.screen, ConfirmScreen), what="quit confirmation")
        await pilot.press("n")  # stay
        await pilot.pause(0.2)
        assert app.is_running and not app.supervisor.draining
        await pilot.press("q")
        await until(lambda: isinstance(app.screen, ConfirmScreen), what="quit confirmation again")
        await pilot.press("y")
        await until(lambda: isinstance(app.screen, DrainScreen), what="drain shown")
        assert app.supervisor.draining
        await until(lambda: not app.is_running, timeout=15, what="app exited")
    assert app.return_code == 0
    assert app.supervisor.stopped.is_set() and app.host.closed.is_set()
    assert _processing_rows(settings) == 0  # finished or handed back, nothing stuck


async def test_q_when_idle_and_ctrl_q_quit_without_asking(tmp_path):
    app = make_app(tui_settings(tmp_path))
    async with app.run_test() as pilot:
        await started(app, pilot)
        await pilot.press("q")
        await until(lambda: not app.is_running, what="app exited")
    assert app.return_code == 0 and app.supervisor.stopped.is_set()

    app, settings = await _busy_app(tmp_path / "busy")
    async with app.run_test() as pilot:
        await started(app, pilot)
        await app.supervisor.runtime.queue.enqueue(["a1", "a2"], Priority.HIGH)
        await until(lambda: app.work_in_flight() > 0, what="work in flight")
        await pilot.press("ctrl+q")
        await until(lambda: not app.is_running, timeout=15, what="app exited")
    assert app.return_code == 0
    assert _processing_rows(settings) == 0


async def test_a_crashing_processor_is_notified_and_restarted_while_the_app_runs(tmp_path):
    settings = tui_settings(tmp_path)
    crashy: list[Any] = []

    def processors(runtime: Runtime) -> list[Any]:
        crashy.append(crashing_processor(runtime, crashes=2, message="deliberate crash {run}", name="queue"))
        return crashy[-1:]

    app = ViralSpotApp(hosting(settings, processors), settings=settings, refresh_interval=0.05)
    async with app.run_test(notifications=True) as pilot:
        await started(app, pilot)
        await until(lambda: crashy[0].runs >= 3, what="restarted after two crashes")
        await until(lambda: sum("crash" in n.message for n in app._notifications) >= 2, what="two notifications")
        assert app.supervisor.slots["queue"].restarts == 2
        assert app.is_running
        await pilot.press("p")  # and it still answers keys
        await until(lambda: app.supervisor.is_paused("queue"), what="paused after crashes")


async def test_a_failing_refresh_never_ends_the_app(tmp_path):
    app = make_app(tui_settings(tmp_path))
    async with app.run_test() as pilot:
        await started(app, pilot)
        real = app.supervisor.snapshot

        def broken():
            raise RuntimeError("snapshot exploded")

        app.supervisor.snapshot = broken
        await until(lambda: app.stats["errors"] >= 2, what="refresh errors counted")
        assert app.is_running
        app.supervisor.snapshot = real
        before = app.stats["refreshes"]
        await until(lambda: app.stats["refreshes"] > before, what="refreshing again")


async def test_refresh_skips_while_a_modal_is_open(tmp_path):
    app = make_app(tui_settings(tmp_path))
    async with app.run_test() as pilot:
        await started(app, pilot)
        await pilot.press("question_mark")
        skipped = app.stats["skipped_modal"]
        await until(lambda: app.stats["skipped_modal"] >= skipped + 2, what="modal skips")
        refreshes = app.stats["refreshes"]
        await pilot.pause(0.3)
        assert app.stats["refreshes"] == refreshes
        await pilot.press("escape")
        await until(lambda: app.stats["refreshes"] > refreshes, what="refreshing after the modal closed")


async def test_sigterm_drains_and_exits(tmp_path):
    app = make_app(tui_settings(tmp_path))
    async with app.run_test() as pilot:
        await started(app, pilot)
        os.kill(os.getpid(), signal.SIGTERM)
        await until(lambda: not app.is_running, what="app exited on SIGTERM")
    assert app.return_code == 0 and app.supervisor.stopped.is_set()
    # The handler is removed with the app: the test process keeps its default SIGTERM behaviour.
    assert asyncio.get_running_loop().remove_signal_handler(signal.SIGTERM) is False


async def test_a_lost_terminal_ends_the_app(tmp_path):
    tty = {"ok": True}
    app = make_app(tui_settings(tmp_path), terminal_probe=lambda: tty["ok"], terminal_check_seconds=0.05)
    async with app.run_test() as pilot:
        await started(app, pilot)
        await pilot.pause(0.2)
        assert app.is_running
        tty["ok"] = False
        await until(lambda: not app.is_running, what="app exited after the terminal vanished")
    assert app.supervisor.stopped.is_set()


async def test_a_quit_control_command_from_another_process_exits(tmp_path):
    app = make_app(tui_settings(tmp_path))
    async with app.run_test() as pilot:
        await started(app, pilot)
        await app.supervisor.apply_command("quit", {})
        await until(lambda: not app.is_running, what="app exited on quit command")
    assert app.return_code == 0


async def test_leaving_run_test_without_quitting_still_closes_the_engine(tmp_path):
    app = make_app(tui_settings(tmp_path))
    async with app.run_test() as pilot:
        await started(app, pilot)
    assert app.host.closed.is_set() and app.supervisor.stopped.is_set()


def _app_tasks_left() -> list[str]:
    """Message loops of widgets still pending: a screen the app's teardown never closed."""
    left = []
    for task in asyncio.all_tasks():
        frame = task.get_coro().cr_frame  # type: ignore[union-attr]
        owner = frame.f_locals.get("self") if frame is not None else None
        if type(owner).__module__.startswith(("textual", "viralspot_tui.tui")):
            left.append(type(owner).__name__)
    return left


async def test_the_apps_teardown_closes_every_screen_and_widget(tmp_path):
    """Textual's own teardown runs to the end (our drain once shadowed it): the dashboard is
    unmounted and no widget's message loop is left pending, whether the app ended by ``q`` or
    by its runner leaving."""
    for how in ("q", "leave"):
        app = make_app(tui_settings(tmp_path / how))
        async with app.run_test() as pilot:
            await started(app, pilot)
            dashboard = app.screen
            if how == "q":
                await pilot.press("q")
                await until(lambda app=app: not app.is_running, what="app exited on q")
        await asyncio.sleep(0)
        assert dashboard._closed, how  # Textual has no public flag for it
        assert _app_tasks_left() == [], how
        assert app.host.closed.is_set()
