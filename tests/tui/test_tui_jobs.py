"""Analysis jobs and the crawler from the console: the new-job dialog, job details, ``c``."""

from __future__ import annotations

from tui_kit import make_app, screen_text, started, tui_settings, until

from viralspot_tui.core.crawler.store import CrawlerStore
from viralspot_tui.core.viral.api import list_jobs
from viralspot_tui.tui.screens.job_detail import JobDetailScreen
from viralspot_tui.tui.screens.new_job import NewJobScreen


async def test_new_job_dialog_validates_then_creates_the_job(tmp_path):
    app = make_app(tui_settings(tmp_path), processors=())
    async with app.run_test(size=(100, 30)) as pilot:
        await started(app, pilot)
        runtime = app.supervisor.runtime
        await pilot.press("n")
        await until(lambda: isinstance(app.screen, NewJobScreen), what="dialog open")
        dialog = app.screen
        dialog.query_one("#primary").value = "Sunny.Bakes"
        dialog.query_one("#competitors").value = "sunny.bakes, bad..one"
        dialog.query_one("#competitors").focus()
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, NewJobScreen)  # refused, errors shown inline
        error = str(dialog.query_one("#competitors-error").render())
        assert "bad..one" in error
        assert await list_jobs(runtime) == []
        dialog.query_one("#competitors").value = "@rival_one, rival_two"
        dialog.query_one("#goals").value = "more saves"
        dialog.query_one("#goals").focus()
        await pilot.press("enter")
        await until(lambda: not isinstance(app.screen, NewJobScreen), what="dialog closed")
        await until(lambda: _jobs(runtime, 1), what="job created")
        job = (await list_jobs(runtime))[0]
        assert job.primary_username == "sunny.bakes" and job.competitors == ["rival_one", "rival_two"]
        assert job.content_strategy.goals == "more saves"


async def test_job_detail_shows_reels_hooks_and_scripts(tmp_path):
    from viralspot_tui.core.viral.api import create_job

    app = make_app(tui_settings(tmp_path), processors=("viral",))
    async with app.run_test(size=(120, 40)) as pilot:
        await started(app, pilot)
        runtime = app.supervisor.runtime
        job = await create_job(runtime, "sunny.bakes", ["rival_one", "rival_two"])
        app.supervisor.wake("viral")
        await until(lambda: _job_done(runtime, job.id), timeout=30, what="job completed")
        await app.supervisor.refresh()
        app.refresh_tick()
        await pilot.press("2")
        await pilot.pause()
        await pilot.press("enter")
        await until(lambda: isinstance(app.screen, JobDetailScreen), what="detail open")
        await until(lambda: app.screen.detail is not None and app.screen.detail.scripts, what="detail loaded")
        await pilot.pause()
        detail = app.screen.detail
        assert detail.reels and detail.hooks and len(detail.scripts) == len(detail.hooks)
        text = screen_text(app)
        assert f"Job #{job.id}" in text and "sunny.bakes" in text and "Selected reels" in text
        # Moving around: j/k/g/G scroll the page, 1-4 and ]/[ jump between sections.
        screen = app.screen
        body = screen.body
        await until(lambda: body.max_scroll_y > 0, what="results taller than the view")
        assert body.scroll_y == 0
        await pilot.press("j", "j")
        await until(lambda: body.scroll_y == 2, what="j scrolls")
        await pilot.press("k")
        await until(lambda: body.scroll_y == 1, what="k scrolls back")
        await pilot.press("G")
        await until(lambda: body.scroll_y == body.max_scroll_y, what="G to the end")
        await pilot.press("g")
        await until(lambda: body.scroll_y == 0, what="g to the top")
        await pilot.press("4")
        await until(lambda: screen.current_section() == 3, what="4 jumps to the scripts")
        assert "4 Scripts" in screen_text(app) and "hook:" in screen_text(app)
        await pilot.press("left_square_bracket")
        await until(lambda: screen.current_section() == 2, what="[ to the hooks")
        await pilot.press("g", "right_square_bracket")
        await until(lambda: screen.current_section() == 1, what="] from the top to the reels")
        await pilot.press("escape")
        await until(lambda: not isinstance(app.screen, JobDetailScreen), what="back to the dashboard")


async def test_c_asks_the_crawler_for_a_crawl(tmp_path):
    app = make_app(tui_settings(tmp_path), processors=("crawler",))
    async with app.run_test(notifications=True) as pilot:
        await started(app, pilot)
        app.supervisor.pause("crawler")  # record only: the request must be there, run or not
        await pilot.press("c")  # nothing stored to seed from: refused, saying how to give a seed
        await until(lambda: any("--seed" in n.message for n in app._notifications), what="refusal shown")
        await app.supervisor.runtime.db.write(
            lambda c: c.execute(
                "INSERT INTO primary_profiles (username, first_scraped_at, last_scraped_at) VALUES ('seed.one', '', '')"
            )
        )
        await pilot.press("c")
        store = CrawlerStore(app.supervisor.runtime.db, app.supervisor.runtime.clock)
        await until(lambda: _requests(store, 1), what="crawl requested")
        request = (await store.list_requests())[0]
        assert request.source == "console"


async def _jobs(runtime, n):
    return len(await list_jobs(runtime)) == n


async def _job_done(runtime, job_id):
    jobs = {j.id: j for j in await list_jobs(runtime)}
    return jobs[job_id].status.value == "completed"


async def _requests(store, n):
    return len(await store.list_requests()) == n


async def test_r_on_the_analysis_pane_retries_the_selected_failed_job(tmp_path):
    from viralspot_tui.core.viral.api import create_job, get_job

    app = make_app(tui_settings(tmp_path), processors=("viral",))
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        await started(app, pilot)
        runtime = app.supervisor.runtime
        job = await create_job(runtime, "missing_creator", ["rival_one"])  # the simulator has no such profile
        app.supervisor.wake("viral")
        await until(lambda: _status(runtime, job.id, "failed"), timeout=30, what="job failed")
        app.supervisor.pause("viral")  # so the retried job stays visible as pending
        await app.supervisor.refresh()
        app.refresh_tick()
        await pilot.press("2")
        await until(lambda: app.screen.selected_job() is not None, what="job selected")
        await pilot.press("r")
        await until(lambda: _status(runtime, job.id, "pending"), what="job back to pending")
        assert (await get_job(runtime, job.id)).error is None
        await pilot.press("r")  # a pending job cannot be retried: refused with the reason
        await until(lambda: any("only failed jobs" in n.message for n in app._notifications), what="refusal")


async def _status(runtime, job_id, status):
    from viralspot_tui.core.viral.api import get_job

    return (await get_job(runtime, job_id)).status.value == status


async def test_job_detail_fits_80x24(tmp_path):
    from viralspot_tui.core.viral.api import create_job

    app = make_app(tui_settings(tmp_path), processors=("viral",))
    async with app.run_test(size=(80, 24)) as pilot:
        await started(app, pilot)
        runtime = app.supervisor.runtime
        job = await create_job(runtime, "sunny.bakes", ["rival_one"])
        app.supervisor.wake("viral")
        await until(lambda: _job_done(runtime, job.id), timeout=30, what="job completed")
        await app.supervisor.refresh()
        app.refresh_tick()
        await pilot.press("2")
        await until(lambda: app.screen.selected_job() is not None, what="job selected")
        await pilot.press("enter")
        await until(
            lambda: isinstance(app.screen, JobDetailScreen) and app.screen.detail is not None, what="detail loaded"
        )
        await pilot.pause()
        lines = screen_text(app).splitlines()
        columns = [str(c.label) for c in app.screen.query_one("#job-reels").columns.values()]
        await pilot.resize_terminal(120, 40)
        await pilot.pause()
        wide_columns = [str(c.label) for c in app.screen.query_one("#job-reels").columns.values()]
    assert len(lines) == 24 and all(len(line) <= 80 for line in lines)
    assert columns == ["Role", "Account", "Views", "Outlier", "Why chosen"]
    assert any("Why chosen" in line for line in lines)  # the reason shows without scrolling sideways
    assert any("Back" in line and "Reload" in line for line in lines[-2:])  # the footer keys fit
    assert "Hook" in wide_columns and "Rank" in wide_columns


async def test_new_job_dialog_create_button_is_in_view_at_80x24(tmp_path):
    app = make_app(tui_settings(tmp_path), processors=())
    async with app.run_test(size=(80, 24)) as pilot:
        await started(app, pilot)
        await pilot.press("n")
        await until(lambda: isinstance(app.screen, NewJobScreen), what="dialog open")
        await pilot.pause()
        create = app.screen.query_one("#create")
        dialog = app.screen.query_one("#job-dialog")
        assert dialog.max_scroll_y > 0  # the form is taller than the dialog: it scrolls …
        assert dialog.region.contains_region(create.region)  # … under buttons that stay in view
        assert app.screen.region.contains_region(create.region) and "Create" in screen_text(app)
        await pilot.click("#create")  # clickable where it is: an empty form is refused inline
        await pilot.pause()
        assert isinstance(app.screen, NewJobScreen) and "Create" in screen_text(app)
