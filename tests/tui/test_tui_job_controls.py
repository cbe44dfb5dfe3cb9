"""Stopping jobs from the console: ``d`` cancels the selected job, ``s`` turns its re-runs on or
off (both ask first), and the ``:job`` commands do the same through the operations layer."""

from __future__ import annotations

from tui_kit import make_app, started, tui_settings, until

from viralspot_tui.core.viral import api
from viralspot_tui.core.viral.models import JobStatus
from viralspot_tui.tui.screens.command_line import CommandLineScreen
from viralspot_tui.tui.screens.confirm import ConfirmScreen


async def _job(runtime, job_id):
    return await api.get_job(runtime, job_id)


async def _select_job(app, pilot, job_id: int) -> None:
    await app.supervisor.refresh()
    app.refresh_tick()
    await pilot.press("2")
    table = app.screen.query_one("#analysis-table")
    await until(lambda: table.select_key(str(job_id)), what="job row shown and selected")
    await pilot.pause()
    assert app.screen.selected_job().id == job_id


async def test_d_cancels_the_selected_job_after_confirming(tmp_path):
    app = make_app(tui_settings(tmp_path), processors=("viral",))
    async with app.run_test(size=(120, 40)) as pilot:
        await started(app, pilot)
        app.supervisor.pause("viral")  # the jobs stay pending
        runtime = app.supervisor.runtime
        keep = await api.create_job(runtime, "sunny.bakes", ["rival_one"])
        job = await api.create_job(runtime, "sunny.bakes", ["rival_two"], auto_rerun=True)
        await _select_job(app, pilot, job.id)
        await pilot.press("d")
        await until(lambda: isinstance(app.screen, ConfirmScreen), what="confirm open")
        assert f"Cancel job #{job.id}" in app.screen.question
        await pilot.press("enter")  # the dialog starts on "No": an accidental enter is harmless
        await until(lambda: not isinstance(app.screen, ConfirmScreen), what="confirm closed")
        await pilot.pause(0.2)
        assert (await _job(runtime, job.id)).status == JobStatus.PENDING
        await pilot.press("d")
        await until(lambda: isinstance(app.screen, ConfirmScreen), what="confirm open")
        await pilot.press("y")

        async def cancelled() -> bool:
            return (await _job(runtime, job.id)).status == JobStatus.FAILED

        await until(cancelled, what="job cancelled")
        current = await _job(runtime, job.id)
        assert current.error.startswith("cancelled by the operator") and not current.auto_rerun
        assert (await _job(runtime, keep.id)).status == JobStatus.PENDING  # only the selected one


async def test_s_turns_re_runs_on_and_off_and_the_job_line_does_too(tmp_path):
    app = make_app(tui_settings(tmp_path), processors=("viral",))
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        await started(app, pilot)
        app.supervisor.pause("viral")
        runtime = app.supervisor.runtime
        job = await api.create_job(runtime, "sunny.bakes", ["rival_one"], rerun_every_hours=12)
        await _select_job(app, pilot, job.id)
        await pilot.press("s")
        await until(lambda: isinstance(app.screen, ConfirmScreen), what="confirm open")
        assert "every 12 h" in app.screen.question
        await pilot.press("y")

        async def auto(on: bool) -> bool:
            return (await _job(runtime, job.id)).auto_rerun is on

        await until(lambda: auto(True), what="re-runs on")
        await _select_job(app, pilot, job.id)  # the snapshot now says re-runs are on
        await until(lambda: app.screen.selected_job().auto_rerun, what="pane knows")
        await pilot.press("s")
        await until(lambda: isinstance(app.screen, ConfirmScreen), what="confirm open")
        assert "off" in app.screen.question
        await pilot.press("y")
        await until(lambda: auto(False), what="re-runs off")

        await pilot.press("colon")
        await until(lambda: isinstance(app.screen, CommandLineScreen), what="command line")
        await pilot.press(*f"job schedule {job.id} 6", "enter")
        await until(lambda: auto(True), what=":job schedule")
        assert (await _job(runtime, job.id)).rerun_every_hours == 6
        await pilot.press("colon")
        await until(lambda: isinstance(app.screen, CommandLineScreen), what="command line")
        await pilot.press(*f"job cancel {job.id}", "enter")
        await until(lambda: isinstance(app.screen, ConfirmScreen), what=":job cancel asks first")
        await pilot.press("y")
        await until(lambda: auto(False), what=":job cancel")
        assert (await _job(runtime, job.id)).status == JobStatus.FAILED
        await pilot.press("colon")
        await until(lambda: isinstance(app.screen, CommandLineScreen), what="command line")
        await pilot.press(*"job cancel 99", "enter")
        await until(lambda: any("job #99 does not exist" in n.message for n in app._notifications), what="refusal")


async def test_palette_has_one_quit_and_the_job_entries(tmp_path):
    from textual.command import CommandPalette
    from textual.widgets import Input
    from tui_kit import focused

    from viralspot_tui.tui.commands import ViralSpotCommands

    app = make_app(tui_settings(tmp_path), processors=("viral",))
    async with app.run_test(size=(120, 40)) as pilot:
        await started(app, pilot)
        app.supervisor.pause("viral")
        job = await api.create_job(app.supervisor.runtime, "sunny.bakes", ["rival_one"])
        await app.supervisor.refresh()
        app.refresh_tick()
        await pilot.pause()
        titles = [title for title, _, _ in ViralSpotCommands(app.screen)._entries()]
        system = [c.title for c in app.get_system_commands(app.screen)]
        assert sum("Quit" in t for t in titles + system) == 1  # ours, which asks when work is in flight
        assert f"Cancel job #{job.id} (@sunny.bakes)" in titles
        assert f"Turn re-runs of job #{job.id} (@sunny.bakes) on (every 24 h)" in titles
        await pilot.press("ctrl+p")
        await focused(app, Input, CommandPalette)
        await pilot.press(*f"cancel job #{job.id}")
        await pilot.pause(0.5)
        await pilot.press("enter")
        await until(lambda: isinstance(app.screen, ConfirmScreen), what="the palette asks first too")
        await pilot.press("y")

        async def cancelled() -> bool:
            return (await _job(app.supervisor.runtime, job.id)).status == JobStatus.FAILED

        await until(cancelled, what="cancelled from the palette")
