"""Audit: at 80x24 (an SSH default) nothing an operator needs to act is cut off."""

from __future__ import annotations

from dataclasses import replace

from textual.widgets import Footer
from tui_kit import make_app, screen_text, started, tui_settings, until

from viralspot_tui.tui.screens.help import HelpScreen
from viralspot_tui.tui.widgets.header_bar import HeaderBar


async def test_footer_shows_quit_and_help_at_80_columns(tmp_path):
    app = make_app(tui_settings(tmp_path))
    async with app.run_test(size=(80, 24)) as pilot:
        await started(app, pilot)
        await pilot.pause(0.2)
        footer = screen_text(app).splitlines()[-1]
        for key in ("? Help", "q Quit", "c Crawl", "n New job", "a Add", "p Pause all", "space Pause"):
            assert key in footer, (key, footer)
        # Wider terminals keep the roomy footer and the palette key.
        await pilot.resize_terminal(140, 30)
        await until(lambda: not app.screen.query_one(Footer).compact, what="roomy footer")
        await pilot.pause(0.2)
        assert "Palette" in screen_text(app).splitlines()[-1]


async def test_help_title_names_the_keys_table(tmp_path):
    app = make_app(tui_settings(tmp_path))
    async with app.run_test(size=(100, 30)) as pilot:
        await started(app, pilot)
        await pilot.press("question_mark")
        await until(lambda: isinstance(app.screen, HelpScreen), what="help open")
        await pilot.pause()
        assert "under [keys] in viralspot.toml" in screen_text(app)  # not eaten as markup


async def test_header_keeps_processors_and_quota_on_a_long_first_line(tmp_path):
    app = make_app(tui_settings(tmp_path))
    async with app.run_test(size=(80, 24)) as pilot:
        await started(app, pilot)
        app.refresh_timer.pause()
        snap = replace(
            await app.supervisor.refresh(),
            online=False,
            outbox_depth=12345,
            draining=True,
            backend="csv: /home/operator/campaigns/2026/autumn/queue.csv",
        )
        header = app.screen.query_one(HeaderBar)
        header.show_snapshot(snap)
        await pilot.pause()
        top = screen_text(app).splitlines()[:3]
        assert "OFFLINE" in top[0]
        assert "queue" in top[1] and "quota" in top[1], top  # line 2 is not pushed out by line 1
        assert "1 Queue" in top[2]


async def test_header_shows_the_whole_queue_path_when_there_is_room(tmp_path):
    path = "csv: /home/operator/campaigns/2026/autumn/clients/queue.csv"
    app = make_app(tui_settings(tmp_path))
    async with app.run_test(size=(200, 50)) as pilot:
        await started(app, pilot)
        app.refresh_timer.pause()
        snap = replace(await app.supervisor.refresh(), backend=path)
        header = app.screen.query_one(HeaderBar)
        header.show_snapshot(snap)
        await pilot.pause()
        assert path in screen_text(app).splitlines()[0]
        await pilot.resize_terminal(80, 24)  # narrow: cut from the left, the file name stays
        await pilot.pause()
        header.show_snapshot(snap)
        await pilot.pause()
        first = screen_text(app).splitlines()[0]
        assert "…" in first and "queue.csv" in first and path not in first
