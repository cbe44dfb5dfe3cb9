"""The ``:`` command line, the ``/`` filter, remapped keys, help and the command palette."""

from __future__ import annotations

import pytest
from textual.command import CommandPalette
from textual.widgets import Input
from tui_kit import app_state, focused, make_app, screen_text, started, statuses, tui_settings, until

from viralspot_tui.core.models.queue import Priority, Status
from viralspot_tui.tui.screens.command_line import CommandLineScreen
from viralspot_tui.tui.screens.help import HelpScreen


async def _command(pilot, text: str, typed: bool = False) -> None:
    """Open the command line, wait until its field has the focus (keys sent earlier would go to the
    screen underneath on a loaded machine), enter ``text`` and wait until the line has closed."""
    app = pilot.app
    await pilot.press("colon")
    await focused(app, "#cmdline-input", CommandLineScreen)
    if typed:
        await pilot.press(*text)
    else:  # typing every key through Pilot is slow; the field gets the same text
        app.screen.query_one("#cmdline-input").value = text
    await pilot.press("enter")
    await until(lambda: not isinstance(app.screen, CommandLineScreen), what=f"command line closed after {text!r}")


async def test_command_line_pause_bump_and_quit(tmp_path):
    app = make_app(tui_settings(tmp_path), processors=("queue", "crawler"))
    async with app.run_test(size=(100, 30), notifications=True) as pilot:
        await started(app, pilot)
        sup = app.supervisor
        await _command(pilot, "pause crawler", typed=True)
        await until(lambda: sup.is_paused("crawler"), what=":pause crawler")
        assert not sup.is_paused("queue")
        sup.pause("queue")  # keep alice PENDING while her priority changes
        await sup.runtime.queue.enqueue(["alice"], Priority.LOW)
        await _command(pilot, "bump alice high")
        await until(lambda: _is(app, "alice", ("HIGH", "PENDING")), what=":bump alice high")
        await _command(pilot, "bump nobody high")  # refused with a message, nothing changes
        await until(lambda: any("nobody" in n.message for n in app._notifications), what="refusal shown")
        await _command(pilot, "resume all")
        await until(lambda: not sup.is_paused("crawler"), what=":resume all")
        # alice now runs; wait until she settles so that ":q" finds nothing in flight
        await until(lambda: _settled(app, "alice"), timeout=30, what="alice settled")
        # The console decides from its snapshot, which may lag the database: wait until the snapshot
        # itself shows alice done, or ``:q`` may still see her in flight and ask first.
        await until(
            lambda: (
                app.work_in_flight() == 0
                and app.last_snapshot.queue.count(status=Status.PROCESSING) == 0
                and app.last_snapshot.queue.count(status=Status.PENDING) == 0
            ),
            timeout=30,
            what="nothing in flight",
        )
        await _command(pilot, "q")
        await until(lambda: not app.is_running, timeout=30, what=lambda: f":q exits when idle; {app_state(app)}")
    assert app.return_code == 0


async def test_escape_closes_the_command_line_without_running_anything(tmp_path):
    app = make_app(tui_settings(tmp_path))
    async with app.run_test() as pilot:
        await started(app, pilot)
        await pilot.press("colon", *"pause all")
        assert isinstance(app.screen, CommandLineScreen)
        await pilot.press("escape")
        await pilot.pause()
        assert not isinstance(app.screen, CommandLineScreen)
        assert not app.supervisor.is_paused("queue")


async def test_keys_are_remapped_from_settings(tmp_path):
    settings = tui_settings(tmp_path, keys={"pause_all": "x"})
    app = make_app(settings)
    async with app.run_test(notifications=True) as pilot:
        await started(app, pilot)
        await pilot.press("p")
        await pilot.pause(0.2)
        assert not app.supervisor.is_paused("queue")
        await pilot.press("x")
        await until(lambda: app.supervisor.is_paused("queue"), what="remapped key pauses")
        await pilot.press("question_mark")
        await until(lambda: isinstance(app.screen, HelpScreen), what="help open")
        help_table = app.screen.query_one("#help-keys")
        rows = [tuple(str(c) for c in help_table.get_row_at(i)) for i in range(help_table.row_count)]
        assert ("x", "Pause all", "pause_all") in rows  # help shows the key as configured


async def test_filter_narrows_the_queue_and_escape_clears_it(tmp_path):
    app = make_app(tui_settings(tmp_path))
    async with app.run_test(size=(120, 40)) as pilot:
        await started(app, pilot)
        app.supervisor.pause("queue")
        await app.supervisor.runtime.queue.enqueue(["alice", "albert", "bob"], Priority.LOW)
        await app.supervisor.refresh()
        await pilot.press("1", "slash")
        await focused(app, "#filter")
        await pilot.press(*"al")
        await pilot.pause()
        table = app.screen.query_one("#queue-table")
        assert table.row_count == 2
        await pilot.press("enter")  # keep the filter, back to the table
        app.refresh_tick()
        await pilot.pause()
        assert table.row_count == 2 and "filter: al" in screen_text(app)
        await pilot.press("escape")
        await pilot.pause()
        assert table.row_count == 3


async def test_palette_runs_operator_commands(tmp_path):
    app = make_app(tui_settings(tmp_path))
    async with app.run_test(size=(100, 30)) as pilot:
        await started(app, pilot)
        await pilot.press("ctrl+p")
        await focused(app, Input, CommandPalette)
        await pilot.press(*"resume all")
        await pilot.pause(0.5)
        await pilot.press("enter")
        await until(lambda: app.supervisor.is_paused("queue"), what="palette pause all")


async def _settled(app, name):
    return (await statuses(app)).get(name, ("", ""))[1] in ("COMPLETED", "FAILED")


async def _is(app, name, expected):
    return (await statuses(app)).get(name) == expected


async def test_screenshots_go_to_the_data_folder_or_where_asked(tmp_path):
    settings = tui_settings(tmp_path)
    app = make_app(settings)
    async with app.run_test(size=(100, 30), notifications=True) as pilot:
        await started(app, pilot)
        folder = settings.data_dir / "screenshots"
        await pilot.press("f8")
        await until(lambda: list(folder.glob("viralspot-*.svg")), what="F8 screenshot in the data folder")
        [shot] = folder.glob("viralspot-*.svg")
        assert shot.read_text().startswith("<svg") and "Queue" in shot.read_text()
        chosen = tmp_path / "elsewhere" / "board.svg"
        await _command(pilot, f"screenshot {chosen}")
        await until(chosen.exists, what=":screenshot PATH")
        assert any(str(chosen) in n.message for n in app._notifications)  # the operator is told where


async def test_log_filter_applies_to_lines_already_shown(tmp_path):
    app = make_app(tui_settings(tmp_path))
    async with app.run_test(size=(120, 40)) as pilot:
        await started(app, pilot)
        app.supervisor.runtime.events.emit("test.note", "needle in the log")
        app.supervisor.runtime.events.emit("test.note", "other line")
        await app.supervisor.refresh()
        app.refresh_tick()
        log = app.screen.query_one("#event-log")
        await until(lambda: any("needle" in line for line in log.lines), what="lines shown")
        await pilot.press("4", "slash")
        await focused(app, "#filter")
        await pilot.press(*"needle")
        await until(lambda: log.lines and all("needle" in line for line in log.lines), what="history filtered")
        await pilot.press("escape")
        await until(lambda: any("other line" in line for line in log.lines), what="history back")


@pytest.mark.parametrize(
    "keys, named",
    [
        ({"help": "bogus_key_name_zz"}, ["help", "bogus_key_name_zz"]),  # Textual would bind it and never fire it
        ({"pause_all": "q"}, ["'q'", "pause_all", "quit"]),  # would silently take quit's key
        ({"pause_all": "?"}, ["question_mark", "help", "pause_all"]),  # one key, two spellings
        ({"no_such_binding": "z"}, ["no_such_binding"]),
    ],
)
async def test_bad_key_remaps_are_refused_at_start_naming_the_binding_ids(tmp_path, keys, named):
    app = make_app(tui_settings(tmp_path, keys=keys))
    async with app.run_test() as pilot:
        await pilot.pause()
        assert app.return_code == 2  # (leaving run_test exits again, with 0)
        assert app.supervisor is None  # the engine never opened
        message = str(app._exit_renderables[0]) if app._exit_renderables else ""
    assert all(n in message for n in named), message
