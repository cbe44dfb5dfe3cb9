"""Every key of the console in one place, each with a stable id (docs/console.md).

Operators remap keys from configuration (``[keys]`` in viralspot.toml, ``Settings.keys``:
binding id -> comma-separated keys). Textual applies such a keymap by binding *id*, so the
ids below are a public contract: renaming one silently drops an operator's remap. The
help screen is generated from these lists, so it can never drift from the real keys.
"""

from __future__ import annotations

from collections.abc import Mapping

from textual.binding import Binding

__all__ = ["APP_BINDINGS", "DASHBOARD_BINDINGS", "TABLE_BINDINGS", "ALL_BINDINGS", "binding_ids", "build_keymap"]

# App-wide keys: work from every pane of the dashboard.
APP_BINDINGS: list[Binding] = [
    Binding("question_mark,f1", "help", "Help", id="help"),
    Binding("ctrl+p", "command_palette", "Palette", show=False, priority=True, id="command_palette"),
    Binding("colon", "command_line", "Cmd", id="command_line"),
    Binding("p", "pause_all", "Pause all", id="pause_all"),
    Binding("a", "add_usernames", "Add", id="add_usernames"),
    Binding("n", "new_job", "New job", id="new_job"),
    Binding("c", "run_crawler", "Crawl", id="run_crawler"),
    Binding("R", "retry_all", "Retry all", show=False, id="retry_all"),
    Binding("f8", "screenshot_to_dir", "Screenshot", show=False, id="screenshot"),
    Binding("q", "request_quit", "Quit", id="quit"),
    Binding("ctrl+c", "request_quit", "Quit", show=False, id="quit_ctrl_c"),
    Binding("ctrl+q", "quit", "Quit now", show=False, priority=True, id="graceful_quit"),
]

# Keys that act on the focused pane or its selected row.
DASHBOARD_BINDINGS: list[Binding] = [
    Binding("slash", "filter", "Filter", id="filter"),
    Binding("escape", "clear_filter", "Clear filter", show=False, id="clear_filter"),
    Binding("tab", "focus_next_pane", "Next pane", show=False, id="focus_next"),
    Binding("shift+tab", "focus_previous_pane", "Previous pane", show=False, id="focus_previous"),
    Binding("1", "focus_pane('queue')", "Queue", show=False, id="focus_queue"),
    Binding("2", "focus_pane('analysis')", "Analysis", show=False, id="focus_analysis"),
    Binding("3", "focus_pane('crawler')", "Crawler", show=False, id="focus_crawler"),
    Binding("4", "focus_pane('log')", "Log", show=False, id="focus_log"),
    Binding(
        "space", "toggle_focused", "Pause", tooltip="Pause/resume the focused pane's processor", id="toggle_processor"
    ),
    Binding("right_square_bracket", "bump('HIGH')", "Raise", show=False, id="raise_priority"),
    Binding("left_square_bracket", "bump('LOW')", "Lower", show=False, id="lower_priority"),
    Binding("r", "retry_selected", "Retry", show=False, id="retry_selected"),
    Binding("d", "delete_selected", "Delete", show=False, id="delete_selected"),
    Binding("enter", "details", "Details", show=False, id="details"),
    Binding("l", "toggle_log", "Log", show=False, id="toggle_log"),
]

# Vim-style movement inside tables and the log (DataTable only knows arrows and paging).
TABLE_BINDINGS: list[Binding] = [
    Binding("j", "cursor_down", "Down", show=False, id="cursor_down"),
    Binding("k", "cursor_up", "Up", show=False, id="cursor_up"),
    Binding("g", "scroll_top", "Top", show=False, id="cursor_top"),
    Binding("G", "scroll_bottom", "Bottom", show=False, id="cursor_bottom"),
]

ALL_BINDINGS: list[Binding] = APP_BINDINGS + DASHBOARD_BINDINGS + TABLE_BINDINGS


def binding_ids() -> set[str]:
    return {b.id for b in ALL_BINDINGS if b.id}


def build_keymap(keys: Mapping[str, str]) -> tuple[dict[str, str], list[str]]:
    """Split the configured remaps into (valid keymap, unknown ids) so typos are reported, not ignored."""
    known = binding_ids()
    keymap = {bid: str(k) for bid, k in keys.items() if bid in known}
    unknown = sorted(bid for bid in keys if bid not in known)
    return keymap, unknown
