"""Every key action of docs/console.md, driven through Pilot, checked on the store and supervisor."""

from __future__ import annotations

from tui_kit import focused, make_app, select_user, started, statuses, tui_settings, until

from viralspot_tui.core.models.queue import Priority
from viralspot_tui.tui.screens.add_usernames import AddUsernamesScreen
from viralspot_tui.tui.screens.confirm import ConfirmScreen


async def test_space_pauses_and_resumes_the_focused_processor(tmp_path):
    app = make_app(tui_settings(tmp_path), processors=("queue", "crawler"))
    async with app.run_test(size=(120, 40)) as pilot:
        await started(app, pilot)
        sup = app.supervisor
        await pilot.press("1", "space")
        await until(lambda: sup.is_paused("queue"), what="queue paused")
        assert not sup.is_paused("crawler")
        await pilot.press("3", "space")
        await until(lambda: sup.is_paused("crawler"), what="crawler paused")
        await pilot.press("1", "space")
        await until(lambda: not sup.is_paused("queue"), what="queue resumed")
        assert sup.is_paused("crawler")


async def test_p_pauses_and_resumes_everything(tmp_path):
    app = make_app(tui_settings(tmp_path), processors=("queue", "crawler"))
    async with app.run_test() as pilot:
        await started(app, pilot)
        sup = app.supervisor
        await pilot.press("p")
        await until(lambda: sup.is_paused("queue") and sup.is_paused("crawler"), what="all paused")
        await pilot.press("p")
        await until(lambda: not sup.is_paused("queue") and not sup.is_paused("crawler"), what="all resumed")


async def test_brackets_raise_and_lower_the_selected_item(tmp_path):
    app = make_app(tui_settings(tmp_path))
    async with app.run_test(size=(120, 40)) as pilot:
        await started(app, pilot)
        app.supervisor.pause("queue")
        await app.supervisor.runtime.queue.enqueue(["alice", "bob"], Priority.LOW)
        await select_user(app, pilot, "bob")
        await pilot.press("right_square_bracket")
        await until(lambda: _is(app, "bob", ("HIGH", "PENDING")), what="bob raised")
        assert (await statuses(app))["alice"] == ("LOW", "PENDING")
        await select_user(app, pilot, "bob")
        await pilot.press("left_square_bracket")
        await until(lambda: _is(app, "bob", ("LOW", "PENDING")), what="bob lowered")


async def test_add_usernames_valid_and_invalid(tmp_path):
    app = make_app(tui_settings(tmp_path))
    async with app.run_test(size=(100, 30)) as pilot:
        await started(app, pilot)
        app.supervisor.pause("queue")
        await pilot.press("a")
        await focused(app, "#names", AddUsernamesScreen)
        await pilot.press(*"good_one, bad..name")
        await pilot.press("enter")
        # Refused inline: the dialog stays open, the reason is shown, nothing was written.
        assert isinstance(app.screen, AddUsernamesScreen)
        error = str(app.screen.query_one("#names-error").render())
        assert "bad..name" in error and ".." in error
        assert await statuses(app) == {}
        field = app.screen.query_one("#names")
        field.value = "@Good_One, https://instagram.com/other.user/"
        await pilot.press("enter")
        await until(lambda: not isinstance(app.screen, AddUsernamesScreen), what="dialog closed")
        await until(lambda: _count(app, 2), what="two names enqueued")
        # The one default of every way in (core/ops): LOW, as on the command line.
        assert await statuses(app) == {"good_one": ("LOW", "PENDING"), "other.user": ("LOW", "PENDING")}


async def test_retry_selected_and_retry_all_failed(tmp_path):
    app = make_app(tui_settings(tmp_path))
    async with app.run_test(size=(120, 40)) as pilot:
        await started(app, pilot)
        app.supervisor.pause("queue")
        store = app.supervisor.runtime.queue
        await store.enqueue(["f1", "f2", "f3"], Priority.LOW)
        for item in await store.claim(Priority.LOW, 3, 60):
            await store.fail(item, "boom", permanent=True)
        assert {s for _, s in (await statuses(app)).values()} == {"FAILED"}
        await select_user(app, pilot, "f2")
        await pilot.press("r")
        await until(lambda: _is(app, "f2", ("LOW", "PENDING")), what="f2 retried")
        assert (await statuses(app))["f1"] == ("LOW", "FAILED")
        await pilot.press("R")
        await until(lambda: _all_status(app, "PENDING"), what="all retried")


async def test_delete_asks_first_and_removes_on_yes(tmp_path):
    app = make_app(tui_settings(tmp_path))
    async with app.run_test(size=(120, 40)) as pilot:
        await started(app, pilot)
        app.supervisor.pause("queue")
        await app.supervisor.runtime.queue.enqueue(["keep", "gone"], Priority.LOW)
        await select_user(app, pilot, "gone")
        await pilot.press("d")
        await until(lambda: isinstance(app.screen, ConfirmScreen), what="confirm shown")
        await pilot.press("n")
        await pilot.pause()
        assert "gone" in await statuses(app)
        await select_user(app, pilot, "gone")
        await pilot.press("d")
        await until(lambda: isinstance(app.screen, ConfirmScreen), what="confirm shown again")
        await pilot.press("y")
        await until(lambda: _missing(app, "gone"), what="gone removed")
        assert "keep" in await statuses(app)


async def _is(app, name, expected):
    return (await statuses(app)).get(name) == expected


async def _count(app, n):
    return len(await statuses(app)) == n


async def _all_status(app, status):
    return {s for _, s in (await statuses(app)).values()} == {status}


async def _missing(app, name):
    return name not in await statuses(app)
