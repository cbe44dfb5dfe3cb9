"""Audit: the Confirm dialog answers ``enter`` with the focused button, and says which one that is.

Found in a manual tmux check: ``q`` then ``enter`` on "Quit ViralSpot?" did not quit, because
"Stay" had focus and nothing on screen said so. The quit question (asked because the operator
pressed ``q``) now defaults to Quit; the destructive delete question keeps defaulting to No.
"""

from __future__ import annotations

from tui_kit import make_app, screen_text, select_user, started, statuses, tui_settings, until

from viralspot_tui.core.models.queue import Priority
from viralspot_tui.tui.screens.confirm import ConfirmScreen
from viralspot_tui.tui.screens.drain import DrainScreen


async def test_q_then_enter_quits_through_the_drain(tmp_path):
    settings = tui_settings(tmp_path, sim={"latency_ms": 400.0}, queue={"grace_seconds": 0.3})
    app = make_app(settings)
    async with app.run_test(size=(80, 24)) as pilot:
        await started(app, pilot)
        await app.supervisor.runtime.queue.enqueue([f"user{i}" for i in range(6)], Priority.HIGH)
        await until(lambda: app.work_in_flight() > 0, what="work in flight")
        await pilot.press("q")
        await until(lambda: isinstance(app.screen, ConfirmScreen), what="quit confirmation")
        await pilot.pause()
        text = screen_text(app)
        assert "▶ Quit (y)" in text and "enter: Quit" in text  # the default is visible, not just a colour
        await pilot.press("enter")
        await until(lambda: isinstance(app.screen, DrainScreen), what="drain shown after enter")
        assert app.supervisor.draining
        await until(lambda: not app.is_running, timeout=15, what="app exited")
    assert app.return_code == 0


async def test_enter_on_delete_presses_the_focused_button(tmp_path):
    app = make_app(tui_settings(tmp_path))
    async with app.run_test(size=(80, 24)) as pilot:
        await started(app, pilot)
        app.supervisor.pause("queue")
        await app.supervisor.runtime.queue.enqueue(["keep", "gone"], Priority.LOW)
        await select_user(app, pilot, "gone")
        await pilot.press("d")
        await until(lambda: isinstance(app.screen, ConfirmScreen), what="confirm shown")
        await pilot.pause()
        text = screen_text(app)
        assert "▶ No (n)" in text and "enter: No" in text  # destructive: enter is harmless by default
        await pilot.press("enter")
        await until(lambda: not isinstance(app.screen, ConfirmScreen), what="dialog closed")
        await pilot.pause(0.2)
        assert "gone" in await statuses(app)
        await select_user(app, pilot, "gone")
        await pilot.press("d")
        await until(lambda: isinstance(app.screen, ConfirmScreen), what="confirm shown again")
        await pilot.press("left")  # move to Yes: the marker and the hint follow the focus
        await pilot.pause()
        text = screen_text(app)
        assert "▶ Yes (y)" in text and "enter: Yes" in text and "▶ No" not in text
        await pilot.press("enter")
        await until(lambda: _missing(app, "gone"), what="gone removed by enter on Yes")
        assert "keep" in await statuses(app)


async def _missing(app, name):
    return name not in await statuses(app)
