"""The queue pane: HIGH and LOW lanes, throughput, and the items that matter right now.

The queue may hold a hundred thousand items, so the pane never lists it: it shows counts by
priority and status (one GROUP BY in the supervisor) and the *board* — running items, the
next HIGH and LOW items to run, recent failures — which the supervisor caps. Its cost per
refresh is therefore independent of the queue's size.

Promptness is shown, not inferred: the HIGH lane ends with the longest wait of a HIGH item
still waiting, and the pane's bottom border says how long the selected item has waited and
how long it has run (:func:`selected_timing`; data from the snapshot's ``timings``).

Under 120 terminal columns the table drops Age and ``#`` and shortens the state, so state,
priority, username, attempts and the start of the last error fit an 80-column terminal.
"""

from __future__ import annotations

from textual.app import ComposeResult
from textual.content import Content
from textual.widgets import DataTable, Sparkline, Static

from ...core.models.queue import Priority, QueueItem, Status
from ...core.snapshot import EngineSnapshot, QueueSnapshot
from ...logs import redact
from ..format import age, count, duration, short
from .pane import Pane

__all__ = ["QueuePane", "selected_timing"]

_STATE = {
    Status.PROCESSING: ("▶ run", "$success"),
    Status.PENDING: ("· wait", ""),
    Status.PAUSED: ("⏸ paus", "$warning"),
    Status.FAILED: ("✗ fail", "$error"),
    Status.COMPLETED: ("✓ done", "$text-muted"),
}
_LANE_ORDER = (Status.PROCESSING, Status.PENDING, Status.PAUSED, Status.FAILED, Status.COMPLETED)
_LANE_LABEL = {
    Status.PROCESSING: "run",
    Status.PENDING: "pend",
    Status.PAUSED: "paus",
    Status.FAILED: "fail",
    Status.COMPLETED: "done",
}


def selected_timing(item: QueueItem | None, q: QueueSnapshot) -> str:
    """``alice: waited 12s · ran 3s`` for the selected item ("ran —" if another runner ran it)."""
    if item is None:
        return ""
    timing = q.timings.get(item.id)
    if timing is None:
        return ""
    return f"{item.username}: waited {duration(timing.waited)} · ran {duration(timing.ran)}"


class QueuePane(Pane):
    pane_id = "queue"
    title = "1 Queue"
    processor = "queue"
    wide_columns = (
        ("state", "State", 6),
        ("prio", "Pri", 4),
        ("user", "Username", 18),
        ("att", "Try", 3),
        ("age", "Age", 4),
        ("error", "Last error", 10),
        ("id", "#", 6),
    )
    narrow_columns = (
        ("state", "State", 5),
        ("prio", "Pri", 4),
        ("user", "Username", 13),
        ("att", "Try", 3),
        ("error", "Last error", 10),
    )
    flex_column = "error"
    wide_flex_column = "error"
    drop_order = ("id", "age")
    grow = {"user": 30}  # as far as the longest name shown (at most 30 characters), then the error

    def compose(self) -> ComposeResult:
        yield Static(id="lanes")
        yield Sparkline([], id="throughput")
        yield self.make_table(id_column="id", id="queue-table")

    def on_mount(self) -> None:
        self._lanes_key: object = None
        self._spark_key: object = None

    def selected_item(self) -> QueueItem | None:
        table = self.table
        key = table.selected_key if table else None
        return self._items.get(key) if key else None

    def apply(self, snap: EngineSnapshot) -> None:
        self.last_snapshot = snap
        q = snap.queue
        self._apply_lanes(q, snap.processors.get("queue"))
        self._apply_throughput(q)
        self._items = {str(item.id): item for item in q.board if self.matches(item.username, item.last_error)}
        assert self.table is not None
        self.want({"user": max((len(item.username) for item in q.board), default=0)})
        widths = self.table.widths
        self.table.sync([(key, self._row(item, snap, widths)) for key, item in self._items.items()])
        self._show_selected()

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        self._show_selected()

    def _show_selected(self) -> None:
        """The bottom border: the filter, if any, then the selected item's waited / ran."""
        snap = getattr(self, "last_snapshot", None)
        timing = selected_timing(self.selected_item(), snap.queue) if snap is not None else ""
        parts = [f"filter: {self.filter_text}" if self.filter_text else "", timing]
        subtitle = " · ".join(p for p in parts if p)
        if self.border_subtitle != subtitle:
            self.border_subtitle = subtitle

    def _apply_lanes(self, q: QueueSnapshot, info: object) -> None:
        oldest = None if q.oldest_high_wait is None else duration(q.oldest_high_wait)
        room = self.outer_size.width - 4  # borders and padding
        state = getattr(info, "state", None)
        key = (tuple(sorted(q.counts.items())), q.in_flight, q.max_concurrent, state, oldest, room)
        if key == self._lanes_key:
            return
        self._lanes_key = key
        lines = []
        in_lane = False
        for prio in (Priority.HIGH, Priority.LOW):
            cells = [Content.styled(f"{prio.value:<4}", "bold $accent" if prio is Priority.HIGH else "bold")]
            for status in _LANE_ORDER:
                n = q.counts.get((prio, status), 0)
                style = _STATE[status][1] if n and status in (Status.PROCESSING, Status.FAILED, Status.PAUSED) else ""
                cells.append(Content.styled(f" {_LANE_LABEL[status]} {count(n)}", style))
            line = Content("").join(cells)
            if prio is Priority.HIGH and oldest is not None:
                for text in (f" · oldest waits {oldest}", f" · waits {oldest}"):
                    if room <= 0 or line.cell_length + len(text) <= room:
                        line, in_lane = line + Content.styled(text, "$warning"), True
                        break
            lines.append(line)
        self.query_one("#lanes", Static).update(Content("\n").join(lines))
        running = f"{q.in_flight}/{q.max_concurrent}"
        bodies = [f"{self.title} · {running} running", f"{self.title} · {running} run"]
        if oldest is not None and not in_lane:  # a narrow pane: the HIGH wait moves to the title
            bodies = [f"{bodies[0]} · HIGH waits {oldest}", f"{bodies[1]} · HIGH {oldest}", *bodies]
        self.set_titles(*self.titles_with_state(*bodies, state=state))

    def _apply_throughput(self, q: QueueSnapshot) -> None:
        data = list(q.throughput[-60:])
        if len(data) < 2:  # a one-sample sparkline draws a full bar; two zeros draw a flat line
            data = [0, *data] if data else [0, 0]
        if data == self._spark_key:
            return
        self._spark_key = data
        spark = self.query_one("#throughput", Sparkline)
        spark.data = data
        recent = data[-10:]
        spark.tooltip = f"{sum(recent) / max(1, len(recent)):.1f} completions/s (last {len(recent)}s)"

    @staticmethod
    def _row(item: QueueItem, snap: EngineSnapshot, widths: dict[str, int | None]) -> dict[str, object]:
        """Cells by column key, sized to the current column set (narrow columns squeeze the text)."""
        label, style = _STATE.get(item.status, (item.status.value, ""))
        if (widths.get("state") or 6) < 6:
            label = label.replace(" ", "")  # "✗fail": the glyph and the word, without the gap
        user_width = widths.get("user") or 18
        return {
            "state": Content.styled(label, style),
            "prio": Content.styled(item.priority.value, "bold $accent" if item.priority is Priority.HIGH else ""),
            "user": item.username if user_width >= 18 else short(item.username, user_width),
            "att": f"{item.attempts}/{item.max_attempts}",
            "age": age(item.created_at, snap.at),
            "error": short(redact(item.last_error or ""), widths.get("error") or 30),
            "id": item.id,
        }
