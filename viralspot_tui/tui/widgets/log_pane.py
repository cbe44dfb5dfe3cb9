"""The log pane: recent engine events, appended as they arrive, without stealing the view.

Built on ``Log`` rather than ``RichLog`` because RichLog jumps to the end on every write: an
operator who scrolled up to read an error would be yanked away twice a second. Here new lines
only follow the end when the view already was at the end, and when old lines are pruned the
view is shifted so the line being read stays put.
"""

from __future__ import annotations

from collections import deque

from textual.app import ComposeResult
from textual.widgets import Log

from ...core.events import Event
from ...core.snapshot import EngineSnapshot
from ...logs import redact
from ..bindings import TABLE_BINDINGS
from .pane import Pane

__all__ = ["LogPane", "EventLog"]

_LOG_ACTIONS = {
    "cursor_down": "scroll_down",
    "cursor_up": "scroll_up",
    "scroll_top": "scroll_home",
    "scroll_bottom": "scroll_end",
}


class EventLog(Log):
    """A Log with the same j/k/g/G keys (and binding ids) as the tables."""

    BINDINGS = [b.__class__(b.key, _LOG_ACTIONS[b.action], b.description, show=False, id=b.id) for b in TABLE_BINDINGS]


_LEVELS = {"warning": "WARN", "critical": "CRIT", "error": "ERROR", "info": "INFO", "debug": "DEBUG"}


class LogPane(Pane):
    pane_id = "log"
    title = "4 Log"
    MAX_LINES = 2000

    def compose(self) -> ComposeResult:
        yield EventLog(max_lines=self.MAX_LINES, highlight=False, id="event-log")

    def on_mount(self) -> None:
        self.last_seq = 0
        self._history: deque[tuple[str, str, str]] = deque(maxlen=self.MAX_LINES)  # kind, message, line

    @property
    def focus_target(self) -> EventLog:
        return self.query_one(EventLog)

    def apply(self, snap: EngineSnapshot) -> None:
        new = [e for e in snap.events if e.seq > self.last_seq]
        if not new:
            return
        self.last_seq = new[-1].seq
        lines = []
        for event in new:
            line = self.format(event)
            self._history.append((event.kind, event.message, line))
            if self.matches(event.kind, event.message):
                lines.append(line)
        if lines:
            self.append(lines)

    def append(self, lines: list[str]) -> None:
        log = self.query_one(EventLog)
        at_end = log.is_vertical_scroll_end or log.max_scroll_y == 0
        before, y = log.line_count, log.scroll_y
        log.write_lines(lines, scroll_end=at_end)
        if not at_end:
            pruned = before + len(lines) - log.line_count
            if pruned > 0:
                log.scroll_to(y=max(0, y - pruned), animate=False, immediate=True)

    @staticmethod
    def format(event: Event) -> str:
        level = _LEVELS.get(event.level.lower(), event.level.upper()[:5])  # "WARN", never a cut "WARNI"
        return f"{event.at.astimezone():%H:%M:%S} {level:<5} {redact(event.message)}"

    def set_filter(self, text: str) -> None:
        """Filter the lines already shown as well as those to come (the last ``MAX_LINES`` are kept)."""
        super().set_filter(text)
        log = self.query_one(EventLog)
        log.clear()
        log.write_lines([line for kind, message, line in self._history if self.matches(kind, message)], scroll_end=True)
