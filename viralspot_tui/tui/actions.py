"""What the operator's keys, the ``:`` line and the palette *do*: the App's action half.

Every request goes through the core operations layer (:class:`~viralspot_tui.core.ops.Operations`,
bound in-process to this console's engine) in an ``ops`` worker (never raising into the App:
refusals become warnings, failures become notifications), and every dialog
hands its answer back through a callback. Kept apart from :mod:`.app`, which owns the
engine's life, the refresh clock and quitting; :class:`~.app.ViralSpotApp` mixes this in.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from ..core.ops import Operations, OpError, OpResult
from ..core.ops.command_line import CommandResult, execute
from ..core.views import JobView
from .screens.add_usernames import AddRequest, AddUsernamesScreen
from .screens.command_line import CommandLineScreen
from .screens.confirm import ConfirmScreen
from .screens.dashboard import DashboardScreen
from .screens.help import HelpScreen
from .screens.new_job import NewJobRequest, NewJobScreen

if TYPE_CHECKING:
    from textual.app import App

    from ..core.supervisor import Supervisor

    _Base = App[int]
else:
    _Base = object

__all__ = ["OperatorActions"]


class OperatorActions(_Base):
    """Key actions and operator requests of :class:`~.app.ViralSpotApp` (a mixin).

    What it needs from the App, which provides all of it: ``ops``, ``supervisor``,
    ``screenshot_dir``, ``refresh_tick()``, ``graceful_quit()`` and ``action_request_quit()``.
    """

    ops: Operations | None
    screenshot_dir: Path | None
    if TYPE_CHECKING:

        @property
        def supervisor(self) -> Supervisor | None: ...
        def refresh_tick(self) -> None: ...
        def graceful_quit(self) -> None: ...
        def action_request_quit(self) -> None: ...

    # ------------------------------------------------------------------ running operator requests
    def run_op(self, label: str, call: Callable[[Operations], Awaitable[OpResult]]) -> None:
        """Run one operator request in a worker and toast its outcome (refusals as warnings)."""

        async def job() -> None:
            if self.ops is None:
                self.notify("the engine is still starting", severity="warning")
                return
            try:
                result = await call(self.ops)
            except OpError as exc:
                self.notify(str(exc), title=label, severity="warning", markup=False)
                return
            if result.text():
                self.notify(
                    result.text(), title=label, markup=False, severity="warning" if result.exit_code else "information"
                )
            self.refresh_tick()

        self.run_worker(job(), name=label, group="ops", exit_on_error=False)

    def op_toggle(self, target: str) -> None:
        self.run_op("pause/resume", lambda op: op.toggle(target))

    def op_bump(self, username: str, priority: str) -> None:
        self.run_op("priority", lambda op: op.bump(username, priority))

    def op_retry(self, username: str | None) -> None:
        self.run_op("retry", lambda op: op.retry(username))

    def confirm_remove(self, username: str) -> None:
        def done(yes: bool | None) -> None:
            if yes:
                self.run_op("remove", lambda op: op.remove(username))

        self.push_screen(
            ConfirmScreen(
                f"Remove {username} from the queue?", "A running item is cancelled; its history is forgotten."
            ),
            done,
        )

    def confirm_cancel_job(self, job_id: int, label: str = "") -> None:
        def done(yes: bool | None) -> None:
            if yes:
                self.run_op("cancel job", lambda op: op.cancel_job(job_id))

        self.push_screen(
            ConfirmScreen(
                f"Cancel job #{job_id}{label}?",
                "Its run stops where it is and its re-runs are turned off; r (retry) resumes it later.",
            ),
            done,
        )

    def confirm_schedule(self, job: JobView) -> None:
        """``s`` on a job: re-runs off when they are on, else on at the job's own interval."""
        job_id, hours = job.id, None if job.auto_rerun else job.rerun_every_hours

        def done(yes: bool | None) -> None:
            if yes:
                self.run_op("schedule", lambda op: op.schedule_job(job_id, hours))

        question = (
            f"Turn re-runs of job #{job_id} (@{job.primary_username}) off?"
            if hours is None
            else f"Re-run job #{job_id} (@{job.primary_username}) every {hours:g} h?"
        )
        detail = (
            "No further runs start; the results so far are kept."
            if hours is None
            else "Each re-run fetches the latest reels and spends API and AI calls on what is new."
        )
        self.push_screen(ConfirmScreen(question, detail), done)

    def show_job(self, job: JobView) -> None:
        from .screens.job_detail import JobDetailScreen

        if self.supervisor is not None:
            self.push_screen(JobDetailScreen(self.supervisor, job))

    # ------------------------------------------------------------------ key actions
    def action_help(self) -> None:
        self.push_screen(HelpScreen())

    def action_command_line(self, initial: str = "") -> None:
        self.push_screen(CommandLineScreen(initial), self._command_entered)

    def _command_entered(self, text: str | None) -> None:
        if text and self.ops is not None:
            self.run_worker(self._run_command(text), name="command", group="ops", exit_on_error=False)

    async def _run_command(self, text: str) -> None:
        assert self.ops is not None
        result: CommandResult = await execute(self.ops, text)
        match result.ui_action:
            case "quit":
                self.action_request_quit()
            case "force_quit":
                self.graceful_quit()
            case "help":
                self.action_help()
            case "filter":
                if isinstance(self.screen, DashboardScreen):
                    self.screen.action_filter(result.argument or "")
            case "screenshot":
                self.take_screenshot(result.argument)
            case "confirm_remove":
                self.confirm_remove(result.argument or "")
            case "confirm_cancel_job":
                self.confirm_cancel_job(int(result.argument or 0))
            case _:
                if result.message:
                    self.notify(
                        result.message,
                        title=f":{text}",
                        markup=False,
                        severity="warning" if result.error else "information",
                    )
        self.refresh_tick()

    def action_pause_all(self) -> None:
        self.op_toggle("all")

    def action_retry_all(self) -> None:
        self.op_retry(None)

    def action_run_crawler(self) -> None:
        self.run_op("crawler", lambda op: op.request_crawl(source="console"))

    def action_add_usernames(self) -> None:
        def done(request: AddRequest | None) -> None:
            if request is not None:
                self.run_op("add", lambda op: op.add(request.names, request.priority, source="manual"))

        self.push_screen(AddUsernamesScreen(), done)

    def action_new_job(self) -> None:
        def done(request: NewJobRequest | None) -> None:
            if request is not None:
                self.run_op("new job", lambda op: op.create_job(request.primary, request.competitors, request.strategy))

        screen = self.screen
        primary = screen.selected_username() if isinstance(screen, DashboardScreen) else None
        self.push_screen(NewJobScreen(primary or ""), done)

    def action_screenshot_to_dir(self) -> None:
        self.take_screenshot(None)

    def take_screenshot(self, target: str | None) -> str | None:
        """Write an SVG of the current screen to ``target`` (a file or a folder) and say where."""
        path = Path(target).expanduser() if target else (self.screenshot_dir or Path.cwd())
        if path.suffix.lower() != ".svg":
            path = path / f"viralspot-{datetime.now():%Y%m%d-%H%M%S}.svg"
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            written = self.save_screenshot(filename=path.name, path=str(path.parent))
        except OSError as exc:
            self.notify(f"screenshot failed: {exc}", severity="error", markup=False)
            return None
        self.notify(f"screenshot saved to {written}", title="screenshot", markup=False)
        return written
