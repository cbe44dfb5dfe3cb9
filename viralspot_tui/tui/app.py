"""ViralSpotApp: the three processors in one Textual app, steered from the keyboard (docs/console.md).

The App hosts the engine (see :mod:`.engine_host`): the supervisor's processors run as App
workers with ``exit_on_error=False`` and the supervisor restarts a crashed processor with
back-off, while the App turns the crash into a notification. The UI only *reads*: a timer
pulls the supervisor's snapshot a few times a second and diffs it into the dashboard, and
every operator action goes through the core operations layer (``supervisor.operations()``) to the
supervisor or the
stores. Nothing a processor does can reach a widget, and nothing a widget does can raise
into a processor.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, ClassVar

from textual import on
from textual.app import App, SystemCommand
from textual.binding import BindingType
from textual.markup import escape
from textual.screen import Screen
from textual.worker import Worker, WorkerState

from ..config import ConfigError, Settings
from ..core.ops import Operations
from ..core.snapshot import EngineSnapshot
from ..logs import redact
from .actions import OperatorActions
from .bindings import APP_BINDINGS, KeymapError, build_keymap
from .commands import ViralSpotCommands
from .engine_host import EngineFactory, EngineHost, Setup
from .screens.confirm import ConfirmScreen
from .screens.dashboard import DashboardScreen
from .screens.drain import DrainScreen
from .terminal import install_signal_handlers, remove_signal_handlers, watch_terminal
from .workers import ENGINE_GROUP

__all__ = ["ViralSpotApp"]

log = logging.getLogger("viralspot.tui")


class ViralSpotApp(OperatorActions, App[int]):
    CSS_PATH = "viralspot.tcss"
    TITLE = "ViralSpot"
    BINDINGS: ClassVar[list[BindingType]] = [*APP_BINDINGS]
    COMMANDS = App.COMMANDS | {ViralSpotCommands}
    NOTIFICATION_TIMEOUT = 6

    def __init__(
        self,
        engine: EngineFactory,
        *,
        settings: Settings | None = None,
        setup: Setup | None = None,
        exit_when_idle: bool = False,
        refresh_interval: float = 0.33,
        screenshot_dir: str | Path | None = None,
        terminal_probe: Callable[[], bool] | None = None,
        terminal_check_seconds: float = 2.0,
    ) -> None:
        super().__init__()
        self.host = EngineHost(self, engine, setup)
        self.settings = settings
        self.exit_when_idle = exit_when_idle
        self.refresh_interval = refresh_interval
        if screenshot_dir is None and settings is not None:  # F8 saves beside the database, not wherever we started
            screenshot_dir = Path(settings.data_dir) / "screenshots"
        self.screenshot_dir = Path(screenshot_dir) if screenshot_dir else None
        self.ops: Operations | None = None
        self.last_snapshot: EngineSnapshot | None = None
        self.stats = {"refreshes": 0, "skipped_busy": 0, "skipped_modal": 0, "errors": 0}
        self._refreshing = False
        self._notified_seq = 0
        self._signals: list[int] = []
        self._quitting = False
        self._terminal_probe = terminal_probe
        self._terminal_check_seconds = terminal_check_seconds
        self._keymap: dict[str, str] = {}
        self._keymap_error: str | None = None
        try:
            self._keymap = build_keymap(settings.keys if settings else {})
        except KeymapError as exc:
            self._keymap_error = str(exc)

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        """Textual's palette entries, minus its Quit (it skipped the in-flight question) and its
        Screenshot (ours saves beside the database): the palette has one Quit, ours."""
        for command in super().get_system_commands(screen):
            if command.title not in ("Quit", "Screenshot"):
                yield command

    def get_default_screen(self) -> Screen[Any]:
        return DashboardScreen() if self._keymap_error is None else Screen()

    @property
    def supervisor(self):  # noqa: ANN201 - Supervisor | None
        return self.host.supervisor

    # ------------------------------------------------------------------ lifecycle
    def on_mount(self) -> None:
        if self._keymap_error is not None:  # refused at start, like any configuration error (exit 2)
            self.exit(2, return_code=2, message=self._keymap_error)
            return
        if self._keymap:
            self.set_keymap(self._keymap)
        self._signals = install_signal_handlers(lambda _sig: self.graceful_quit(), lambda _sig: self.graceful_quit())
        watch_terminal(self, self._terminal_lost, probe=self._terminal_probe, interval=self._terminal_check_seconds)
        self.run_worker(self._boot(), name="boot", group="boot", exit_on_error=False)
        self.refresh_timer = self.set_interval(self.refresh_interval, self.refresh_tick, name="refresh")

    async def on_unmount(self) -> None:
        """Last line of defence: whatever ended the app, release in-flight work and close the engine."""
        remove_signal_handlers(self._signals)
        if not self.host.closed.is_set():
            try:
                await asyncio.wait_for(self.host.stop(grace_seconds=0), timeout=10)
            except Exception:  # noqa: BLE001 - the app is going away either way
                log.exception("closing the engine at exit failed")

    async def _boot(self) -> None:
        try:
            supervisor = await self.host.open()
        except ConfigError as exc:
            self.exit(2, return_code=2, message=str(exc))
            return
        except Exception as exc:  # noqa: BLE001 - report, do not show a traceback to operators
            log.exception("engine failed to start")
            self.exit(1, return_code=1, message=f"engine failed to start: {type(exc).__name__}: {exc}")
            return
        self.ops = supervisor.operations()
        self.refresh_tick()
        self.run_worker(
            self.host.wait_for_quit_command(self.graceful_quit), name="quit-watch", group="boot", exit_on_error=False
        )
        if self.exit_when_idle:
            self.run_worker(self.host.watch_idle(self._idle_quit), name="idle-watch", group="boot", exit_on_error=False)

    def _idle_quit(self, reason: str) -> None:
        log.info("%s", reason)
        self.notify(reason, title="exit when idle", markup=False)
        self.graceful_quit()

    def _terminal_lost(self) -> None:
        log.warning("terminal lost (stdin is no longer a TTY); shutting down")
        self.graceful_quit()
        self.host.hurry()

    def notify(self, message: str, *, title: str = "", **kwargs: Any) -> None:  # type: ignore[override]
        """Every toast passes the secrets filter: error text from a provider may echo a key."""
        super().notify(redact(str(message)), title=redact(title), **kwargs)

    @on(Worker.StateChanged)
    def _worker_state(self, event: Worker.StateChanged) -> None:
        worker = event.worker
        if event.state is WorkerState.ERROR and worker.group in (ENGINE_GROUP, "boot", "ops"):
            self.notify(
                escape(f"{worker.name} failed: {worker.error}"),
                title="background task error",
                severity="error",
                timeout=10,
            )

    # ------------------------------------------------------------------ refresh
    def refresh_tick(self) -> None:
        """Pull one snapshot into the dashboard; never overlaps, never raises."""
        supervisor = self.host.supervisor
        if supervisor is None or not self.host.started.is_set():
            return
        if self._refreshing:
            self.stats["skipped_busy"] += 1
            return
        self._refreshing = True
        try:
            snap = supervisor.snapshot()
            self.last_snapshot = snap
            self._notify_events(snap)
            screen = self.screen
            if not isinstance(screen, DashboardScreen):
                self.stats["skipped_modal"] += 1
                return
            with self.batch_update():
                screen.show_snapshot(snap)
            self.stats["refreshes"] += 1
        except Exception:  # noqa: BLE001 - a timer exception would end the app
            self.stats["errors"] += 1
            log.exception("refresh failed")
        finally:
            self._refreshing = False

    def _notify_events(self, snap: EngineSnapshot) -> None:
        for event in snap.events:
            if event.seq <= self._notified_seq:
                continue
            if event.kind.endswith(".crashed"):
                self.notify(escape(event.message), title="processor crashed", severity="error", timeout=10)
            elif "parked" in event.kind:
                self.notify(escape(event.message), title="API quota", severity="warning", timeout=10)
        if snap.events:
            self._notified_seq = max(self._notified_seq, snap.events[-1].seq)

    def work_in_flight(self) -> int:
        snap = self.last_snapshot
        if snap is None:
            return 0
        return (
            snap.queue.in_flight
            + (snap.viral.running if snap.viral else 0)
            + (1 if snap.crawler and snap.crawler.current else 0)
        )

    def in_flight_summary(self) -> str:
        snap = self.supervisor.snapshot() if self.host.started.is_set() else None
        if snap is None:
            return "nothing in flight"
        jobs = snap.viral.running if snap.viral else 0
        return f"{snap.queue.in_flight} item(s) in flight, {jobs} analysis job(s) running"

    # ------------------------------------------------------------------ quitting
    def action_request_quit(self) -> None:
        """``q``: ask first when work is in flight, then drain gracefully."""
        busy = self.work_in_flight()
        if not busy or self._quitting:
            self.graceful_quit()
            return
        self.push_screen(
            ConfirmScreen(
                "Quit ViralSpot?",
                f"{self.in_flight_summary()}. They finish within the grace period or go back to the queue.",
                yes="Quit",
                no="Stay",
                default_yes=True,
            ),
            lambda yes: self.graceful_quit() if yes else None,
        )

    async def action_quit(self) -> None:
        """``ctrl+q`` and the palette's Quit: graceful drain without asking."""
        self.graceful_quit()

    def action_force_quit(self) -> None:
        self.graceful_quit()

    def graceful_quit(self) -> None:
        if self._quitting:
            self.host.hurry()  # second request: cut the grace short, still releasing work safely
            return
        self._quitting = True
        settings = self.supervisor.runtime.settings if self.supervisor is not None else self.settings
        grace = settings.queue.grace_seconds if settings is not None else 0.0
        self.push_screen(DrainScreen(grace))
        self.run_worker(self._drain_then_exit(), name="shutdown", group="shutdown", exit_on_error=False)

    async def _drain_then_exit(self) -> None:
        """Drain the engine, then end the app. (Not ``_shutdown``: that name is Textual's own
        teardown, which closes the screens and sends Unmount; shadowing it skipped both.)"""
        try:
            await self.host.stop()
        finally:
            remove_signal_handlers(self._signals)
            self._signals = []
            code = self.host.idle_verdict.exit_code if self.host.idle_verdict is not None else 0
            self.exit(code, return_code=code)
