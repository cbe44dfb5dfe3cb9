"""Every key of the console in one place, each with a stable id (docs/console.md).

Operators remap keys from configuration (``[keys]`` in viralspot.toml, ``Settings.keys``:
binding id -> comma-separated keys). Textual applies such a keymap by binding *id*, so the
ids below are a public contract: renaming one silently drops an operator's remap. The
help screen is generated from these lists, so it can never drift from the real keys.
"""

from __future__ import annotations

from collections.abc import Mapping

from textual.binding import Binding
from textual.keys import Keys, _character_to_key, key_to_character

__all__ = [
    "APP_BINDINGS",
    "DASHBOARD_BINDINGS",
    "TABLE_BINDINGS",
    "ALL_BINDINGS",
    "KeymapError",
    "binding_ids",
    "build_keymap",
]

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
    Binding("s", "schedule_selected", "Schedule", show=False, id="schedule_job"),
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


_MODIFIERS = {"ctrl", "shift", "alt", "meta", "super", "hyper"}
_KEY_NAMES = {key.value for key in Keys}


class KeymapError(ValueError):
    """``[keys]`` in the configuration cannot be applied; the message names every binding id at fault."""


def binding_ids() -> set[str]:
    return {b.id for b in ALL_BINDINGS if b.id}


def _known_key(key: str) -> bool:
    """A key name Textual can deliver: ``q``, ``G``, ``f5``, ``ctrl+x``, ``question_mark``, ``space``."""
    *mods, base = key.split("+")
    if not base or any(m not in _MODIFIERS for m in mods):
        return False
    if len(base) == 1:
        return base.isprintable()
    return base in _KEY_NAMES or key in _KEY_NAMES or key_to_character(base) is not None


def _canonical(key: str) -> str:
    """One spelling per key, so ``?`` and ``question_mark`` clash with each other."""
    *mods, base = key.split("+")
    if len(base) == 1 and not base.isalnum():
        base = _character_to_key(base)
    return "+".join([*mods, base])


def build_keymap(keys: Mapping[str, str]) -> dict[str, str]:
    """Check the configured remaps (binding id -> comma-separated keys) and return Textual's keymap.

    Refused, with every problem named: an unknown binding id, an unknown key name (Textual would
    bind it silently and the key would never fire) and two bindings on one key (the later one
    would silently take the earlier one's key — ``pause_all = "q"`` would take quit's). All keys
    of the dashboard are active at once, so any two ids on one key clash.
    """
    known = binding_ids()
    problems: list[str] = []
    unknown_ids = sorted(bid for bid in keys if bid not in known)
    if unknown_ids:
        problems.append(f"unknown binding id(s): {', '.join(unknown_ids)} (see the help screen, ?, for the ids)")
    keymap: dict[str, str] = {}
    for bid, value in keys.items():
        if bid not in known:
            continue
        names = [k.strip() for k in str(value).split(",") if k.strip()]
        bad = [k for k in names if not _known_key(k)]
        if not names or bad:
            problems.append(f"{bid} = {str(value)!r}: unknown key name(s) {', '.join(bad) or '(empty)'}")
            continue
        keymap[bid] = ",".join(names)
    users: dict[str, list[str]] = {}
    for binding in ALL_BINDINGS:
        value = keymap.get(binding.id or "", binding.key)
        for key in value.split(","):
            users.setdefault(_canonical(key.strip()), []).append(binding.id or binding.action)
    for key, ids in sorted(users.items()):
        if len(ids) > 1:
            problems.append(f"key {key!r} is bound to more than one action: {', '.join(ids)}")
    if problems:
        raise KeymapError("[keys] in the configuration: " + "; ".join(problems))
    return keymap
