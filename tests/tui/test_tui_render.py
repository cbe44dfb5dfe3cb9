"""Rendering checks at 80x24 and 120x40 with a frozen clock, and the widgets' diffing rules.

The dashboards are compared, as text (what export_screenshot() draws, wall-clock times
masked), with reference frames in ``frames/``: a clipped column or a moved pane shows up as a
diff. Colours are not compared. After a deliberate layout change, look at the new frames and
record them with ``VIRALSPOT_UPDATE_FRAMES=1 python -m pytest tests/tui/test_tui_render.py``.
"""

from __future__ import annotations

import os
import re
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

from textual.app import App, ComposeResult
from tui_kit import make_app, screen_text, started, tui_settings
from views_kit import crawler_view, jobs_view

from viralspot_tui.core.clock import FakeClock
from viralspot_tui.core.models.queue import Priority
from viralspot_tui.tui.widgets.keyed_table import KeyedTable
from viralspot_tui.tui.widgets.log_pane import LogPane

TIME = re.compile(r"\d\d:\d\d:\d\d")
FRAMES = Path(__file__).parent / "frames"


def assert_frame(name: str, text: str) -> None:
    """The frame equals the recorded one (or is recorded, with VIRALSPOT_UPDATE_FRAMES=1)."""
    frame = TIME.sub("--:--:--", text)
    path = FRAMES / f"{name}.txt"
    if os.environ.get("VIRALSPOT_UPDATE_FRAMES"):
        path.parent.mkdir(exist_ok=True)
        path.write_text(frame, encoding="utf-8")
    assert path.exists(), f"no reference frame {path.name}; record it with VIRALSPOT_UPDATE_FRAMES=1"
    expected = path.read_text(encoding="utf-8")
    assert frame == expected, "\n".join(["frame differs from " + path.name, frame])


JOBS = [
    {
        "primary": "natgeo",
        "competitors": ["nasa"],
        "status": "completed",
        "stage": "done",
        "progress": 100,
        "runs": 2,
        "next_run_at": None,  # set from the frozen clock below
    },
    {
        "primary": "sunny.bakes",
        "competitors": ["rival_one", "rival_two"],
        "status": "processing",
        "stage": "transcripts",
        "progress": 45,
        "runs": 1,
    },
]
ROUNDS = [
    {
        "seed": "natgeo",
        "found": 14,
        "dropped": {"private": 2, "below_min_followers": 3},
        "duplicates": 4,
        "queued": [f"found{i}" for i in range(5)],
    }
]


async def _dashboard(tmp_path, size):
    clock = FakeClock()
    app = make_app(tui_settings(tmp_path), processors=(), clock=clock)
    async with app.run_test(size=size) as pilot:
        await started(app, pilot)
        app.refresh_timer.pause()  # this test paints one chosen snapshot itself
        queue = app.supervisor.runtime.queue
        await queue.enqueue(["alice", "bob"], Priority.HIGH)
        await queue.enqueue([f"low{i}" for i in range(30)], Priority.LOW)
        runtime = app.supervisor.runtime
        jobs = [dict(JOBS[0], next_run_at=clock.now() + timedelta(hours=23, minutes=30)), JOBS[1]]
        viral = await jobs_view(runtime, jobs, running=1)
        crawler = await crawler_view(runtime, ROUNDS, target=20)
        clock.advance(90)
        snap = replace(await app.supervisor.refresh(), viral=viral, crawler=crawler)
        with app.batch_update():
            app.screen.show_snapshot(snap)
        await pilot.pause()
        text = screen_text(app)
        svg = app.export_screenshot()
    return text, svg


async def test_dashboard_at_80x24(tmp_path):
    text, svg = await _dashboard(tmp_path, (80, 24))
    lines = text.splitlines()
    assert len(lines) == 24 and all(len(line) <= 80 for line in lines)
    for needed in (
        "SIMULATED DATA",
        "online",
        "outbox 0",
        "1 Queue",
        "2 Analysis",
        "3 Crawler",
        "4 Log",
        "HIGH",
        "pend 2",
        "pend 30",
        "alice",
        "bob",
        "sunny.bakes",
        "45%",
        "queued 5/20",
        "Help",
    ):
        assert needed in text, needed
    assert "Last error" in text and "transcr." in text  # the narrow column sets (test_narrow_layout.py)
    assert "ViralSpot" in svg and svg.startswith("<svg")
    assert_frame("dashboard-80x24", text)


async def test_dashboard_at_120x40(tmp_path):
    text, _ = await _dashboard(tmp_path, (120, 40))
    lines = text.splitlines()
    assert len(lines) == 40
    # The analysis pane lists the job number, runs and next run; its stage takes the short form.
    for needed in ("Last error", "transcr.", "Next run", "in 23h28", "natgeo", "low12", "engine started on SIMULATED"):
        assert needed in text, needed
    assert " 1m " in text  # ages (a wide column) come from the engine's (frozen) clock
    assert_frame("dashboard-120x40", text)
    # Wider terminals show every column, including why a crawl round dropped candidates.
    wide, _ = await _dashboard(tmp_path / "wide", (160, 40))
    for needed in ("in 23h", "rival_one", "Dropped because", "below min followers 3"):
        assert needed in wide, needed
    # The same state renders the same frame (apart from wall-clock times in the log).
    again, _ = await _dashboard(tmp_path / "again", (120, 40))
    assert TIME.sub("--:--:--", again) == TIME.sub("--:--:--", text)


class _TableApp(App[None]):
    def compose(self) -> ComposeResult:
        yield KeyedTable([("name", "Name", 10), ("id", "#", 4)], id_column="id")


def _rows(*names: str, tag: str = "") -> list[tuple[str, tuple[object, ...]]]:
    return [(n, (n + tag, ord(n[0]))) for n in names]


async def test_table_cursor_follows_its_item_after_resorting():
    app = _TableApp()
    async with app.run_test() as pilot:
        table = app.query_one(KeyedTable)
        assert table.sync(_rows("a", "b", "c", "d"))
        assert table.select_key("b") and table.cursor_row == 1
        assert not table.sync(_rows("a", "b", "c", "d"))  # nothing changed, nothing redrawn
        table.sync(_rows("d", "c", "b", "a"))
        await pilot.pause()
        assert table.selected_key == "b" and table.cursor_row == 2
        assert [table.get_row_at(i)[0] for i in range(4)] == ["d", "c", "b", "a"]
        table.sync(_rows("d", "c", "b", "a", tag="!"))  # cells updated in place
        assert table.get_row_at(2)[0] == "b!" and table.selected_key == "b"
        table.sync(_rows("d", "c", "a"))  # the selected item left: the cursor stays at its place
        assert table.row_count == 3 and table.cursor_row == 2 and table.selected_key == "a"


class _LogApp(App[None]):
    def compose(self) -> ComposeResult:
        yield LogPane()


async def test_log_keeps_the_readers_position_and_follows_at_the_end():
    app = _LogApp()
    async with app.run_test(size=(60, 12)) as pilot:
        pane = app.query_one(LogPane)
        log = pane.focus_target
        pane.append([f"line {i}" for i in range(100)])
        await pilot.pause()
        assert log.is_vertical_scroll_end
        log.scroll_to(y=10, animate=False, immediate=True)
        await pilot.pause()
        pane.append([f"more {i}" for i in range(5)])
        await pilot.pause()
        assert log.scroll_y == 10  # the operator reading line 10 is not yanked to the end
        log.scroll_end(animate=False, immediate=True)
        await pilot.pause()
        pane.append(["newest"])
        await pilot.pause()
        assert log.is_vertical_scroll_end
