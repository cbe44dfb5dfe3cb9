"""The narrow layout (docs/console.md, "usable at 80×24"): under 120 columns each pane switches to a
narrow column set, so an operator sees every field needed to act without scrolling sideways,
and resizing keeps the cursor on the same item.
"""

from __future__ import annotations

from dataclasses import replace

from textual.app import App, ComposeResult
from tui_kit import make_app, screen_text, select_user, started, tui_settings, until
from views_kit import jobs_view

from viralspot_tui.core.clock import FakeClock
from viralspot_tui.core.models.queue import Priority
from viralspot_tui.tui.widgets.keyed_table import KeyedTable

ERROR = "profile fetch timed out after 30s (provider busy)"
JOBS = [
    {
        "primary": "sunny.bakes",
        "competitors": ["rival_one"],
        "status": "processing",
        "stage": "transcripts",
        "progress": 45,
        "runs": 1,
    },
    {
        "primary": "natgeo",
        "competitors": ["nasa"],
        "status": "processing",
        "stage": "hook generation",
        "progress": 70,
        "runs": 0,
    },
    {
        "primary": "quick.eats",
        "competitors": ["rival_two"],
        "status": "failed",
        "stage": "transcripts",  # a failed job keeps the stage it reached
        "progress": 20,
        "runs": 0,
        "error": "transcripts failed at 20%: quota exhausted",
    },
]


async def _fill_queue(app, clock, low: int = 4) -> None:
    queue = app.supervisor.runtime.queue
    await queue.enqueue(["carol.fails"], Priority.HIGH)
    [item] = await queue.claim(Priority.HIGH, 1, 60)
    await queue.fail(item, ERROR, permanent=True)
    await queue.enqueue(["alice", "bob"], Priority.HIGH)
    await queue.enqueue([f"low{i}" for i in range(low)], Priority.LOW)
    clock.advance(90)


async def test_80x24_shows_queue_and_analysis_fields_without_sideways_scrolling(tmp_path):
    clock = FakeClock()
    app = make_app(tui_settings(tmp_path), processors=(), clock=clock)
    async with app.run_test(size=(80, 24)) as pilot:
        await started(app, pilot)
        app.refresh_timer.pause()  # this test paints one chosen snapshot itself
        await _fill_queue(app, clock)
        viral = await jobs_view(app.supervisor.runtime, JOBS, running=2)
        snap = replace(await app.supervisor.refresh(), viral=viral)
        with app.batch_update():
            app.screen.show_snapshot(snap)
        await pilot.pause()
        text = screen_text(app)
        svg = app.export_screenshot()
    lines = text.splitlines()
    assert len(lines) == 24 and all(len(line) <= 80 for line in lines)
    # Queue: state, priority, username, attempts and the start of the last error, cut with an ellipsis.
    for header in ("State", "Pri", "Username", "Try", "Last error"):
        assert header in text, header
    [failed] = [line for line in lines if "carol.fails" in line]
    for needed in ("✗fail", "HIGH", "1/3", "profile"):
        assert needed in failed, (needed, failed)
    assert failed.split("profile", 1)[1].split("│")[0].rstrip().endswith("…"), failed
    assert any("·wait" in line and "LOW" in line and "low0" in line and "0/3" in line for line in lines)
    # Analysis: primary, a compact progress and the stage (short form when the full one does not fit).
    for primary, progress, stage in (
        ("sunny.bakes", "45%", "transcr."),
        ("natgeo", "70%", "hook gen"),
        ("quick.eats", "20%", "✗ trans…"),
    ):
        [row] = [line for line in lines if primary in line and "%" in line]
        assert progress in row and stage in row, row
    # Pane titles fit their borders (no "…" cut) and still say what runs.
    titles = [line for line in lines if "1 Queue" in line or "3 Crawler" in line]
    assert "1 Queue · 0/8 running" in titles[0] and "2 Analysis · 2/3 run · off" in titles[0], titles
    assert all("…" not in line for line in titles), titles
    # The exported screenshot is the same frame.
    for needed in ("carol.fails", "profile", "sunny.bakes", "transcr.", "Last", "45%"):
        assert needed in svg, needed


async def test_at_120_columns_columns_give_way_by_priority_and_no_pane_is_clipped(tmp_path):
    """120 columns gives the side panes 56 cells: they shrink, then drop their least needed wide
    columns (the crawler's reasons, the analysis' competitors) rather than cut one at the edge."""
    clock = FakeClock()
    app = make_app(tui_settings(tmp_path), processors=(), clock=clock)
    async with app.run_test(size=(120, 40)) as pilot:
        await started(app, pilot)
        app.refresh_timer.pause()
        await _fill_queue(app, clock)
        viral = await jobs_view(app.supervisor.runtime, JOBS, running=2)
        snap = replace(await app.supervisor.refresh(), viral=viral)
        with app.batch_update():
            app.screen.show_snapshot(snap)
        await pilot.pause()
        text = screen_text(app)
        queue_columns = [c[0] for c in app.screen.query_one("#queue-table", KeyedTable).column_spec]
        for pane_id in ("queue", "analysis", "crawler"):
            pane = app.screen.query_one(f"#{pane_id}")
            used = sum((width or 0) + 2 for width in pane.table.widths.values())
            assert used <= pane.outer_size.width - 3, (pane_id, pane.table.widths, pane.outer_size)
        side_columns = {p: list(app.screen.query_one(f"#{p}").table.widths) for p in ("analysis", "crawler")}
    # The queue's "#" gives way first, so the side panes get their columns (docs/console.md).
    assert queue_columns == ["state", "prio", "user", "att", "age", "error"]
    # Side panes give way by priority: the analysis keeps the job number, runs and next run (its
    # progress bar and stage take their compact forms first); the crawler keeps dropped and dup.
    assert side_columns == {
        "analysis": ["id", "primary", "progress", "stage", "runs", "next"],
        "crawler": ["round", "seed", "found", "dropped", "dup", "queued"],
    }
    assert "Age" in text and "✗ fail" in text and "transcr." in text
    # The title picks the most detailed wording that fits rather than being cut.
    [title] = [line for line in text.splitlines() if "1 Queue" in line]
    assert "2 Analysis · 3 jobs, 2 running · not running" in title and "…" not in title, title
    [failed] = [line for line in text.splitlines() if "quick.eats" in line and "%" in line]
    assert "✗ transcr." in failed and "20%" in failed, failed  # where it failed, and how far it got


async def test_resizing_keeps_the_cursor_on_the_same_queue_item(tmp_path):
    clock = FakeClock()
    app = make_app(tui_settings(tmp_path), processors=(), clock=clock)
    async with app.run_test(size=(120, 30)) as pilot:
        await started(app, pilot)
        await _fill_queue(app, clock, low=12)
        await select_user(app, pilot, "low5")
        pane = app.screen.query_one("#queue")
        table = pane.table
        assert "age" in table.widths

        async def narrow_now(narrow: bool) -> None:
            await until(lambda: ("age" not in table.widths) == narrow and table.row_count > 0, what="column set")
            await pilot.pause()

        await pilot.resize_terminal(80, 24)
        await narrow_now(True)
        assert pane.selected_item().username == "low5"
        assert table.get_row_at(table.cursor_row)[2] == "low5"
        assert table.has_focus
        # Re-ordering without the "#" column (an item jumps ahead) still follows the item.
        before = table.cursor_row
        await app.supervisor.runtime.queue.bump("low9", Priority.HIGH)
        await app.supervisor.refresh()
        app.refresh_tick()
        await pilot.pause()
        assert pane.selected_item().username == "low5" and table.cursor_row == before + 1
        assert any("low5" in line for line in screen_text(app).splitlines())  # still scrolled into view
        await pilot.resize_terminal(120, 30)
        await narrow_now(False)
        assert pane.selected_item().username == "low5"
        assert table.get_row_at(table.cursor_row)[2] == "low5"
        assert "Age" in screen_text(app)


class _TableApp(App[None]):
    def compose(self) -> ComposeResult:
        yield KeyedTable([("name", "Name", 10), ("n", "N", 4)])  # no id column


async def test_table_without_id_column_reorders_by_row_and_survives_a_column_swap():
    app = _TableApp()
    async with app.run_test() as pilot:
        table = app.query_one(KeyedTable)
        table.sync([(k, {"name": name, "n": 1}) for k, name in (("a", "x"), ("b", "x"), ("c", "y"))])
        assert table.select_key("c")
        table.sync([(k, {"name": name, "n": 1}) for k, name in (("c", "y"), ("b", "x"), ("a", "x"))])
        await pilot.pause()
        assert table.selected_key == "c" and table.cursor_row == 0
        assert [table.get_row_at(i)[0] for i in range(3)] == ["y", "x", "x"]
        assert table.select_key("b") and table.get_row_at(table.cursor_row)[0] == "x"
        assert table.set_columns([("name", "Name", 6)]) and not table.set_columns([("name", "Name", 6)])
        table.sync([(k, {"name": name, "n": 1}) for k, name in (("c", "y"), ("b", "x"), ("a", "x"))])
        await pilot.pause()
        assert table.selected_key == "b" and table.cursor_row == 1 and len(table.columns) == 1
