"""Audit: background helpers and screen timers report failures instead of ending the app."""

from __future__ import annotations

from dataclasses import replace

from tui_kit import make_app, started, tui_settings, until

from viralspot_tui.core.views import JobView, ViralSnapshot
from viralspot_tui.tui.screens.job_detail import JobDetailScreen


async def test_a_failing_quit_watcher_is_reported_not_fatal(tmp_path):
    app = make_app(tui_settings(tmp_path))

    async def broken(_on_quit):
        raise RuntimeError("control channel broke")

    app.host.wait_for_quit_command = broken  # the watcher of `viralspot quit`-style commands
    async with app.run_test(notifications=True) as pilot:
        await started(app, pilot)
        await until(
            lambda: any("control channel broke" in n.message for n in app._notifications), what="failure notified"
        )
        await pilot.pause(0.2)
        assert app.is_running
        await pilot.press("p")  # still answering keys
        await until(lambda: app.supervisor.is_paused("queue"), what="paused")


async def test_a_bad_job_row_does_not_kill_the_job_detail_timer(tmp_path):
    app = make_app(tui_settings(tmp_path), processors=("queue", "viral"))
    async with app.run_test(size=(100, 30), notifications=True) as pilot:
        await started(app, pilot)
        real = app.supervisor.snapshot

        def odd_snapshot():
            snap = real()
            return replace(snap, viral=ViralSnapshot(jobs=(replace(job, progress="n/a"),)))  # type: ignore[arg-type]

        job = JobView(1, "x", ("y",), "pending", "queued", 0, 0, False, None, None)
        app.show_job(job)
        await until(lambda: isinstance(app.screen, JobDetailScreen), what="detail open")
        app.supervisor.snapshot = odd_snapshot  # a malformed row reaches the 1 s follow timer
        await pilot.pause(2.5)
        assert app.is_running and isinstance(app.screen, JobDetailScreen)
        app.supervisor.snapshot = real
        await pilot.press("escape")
        await until(lambda: not isinstance(app.screen, JobDetailScreen), what="back to the dashboard")
