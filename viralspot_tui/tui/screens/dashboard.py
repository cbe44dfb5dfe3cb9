"""The main screen: header, the four panes, the filter line and the footer.

The dashboard owns *where* things are (which pane has focus, which row is selected, what is
filtered) and turns pane-relative keys into operator requests; the App owns *what* happens
(supervisor and store calls). Refreshing walks only visible panes, inside one batch update,
so a refresh is one repaint however many cells changed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from textual import events, on
from textual.app import ComposeResult
from textual.binding import BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Input

from ...core.snapshot import EngineSnapshot
from ...core.views import JobView
from ..bindings import DASHBOARD_BINDINGS
from ..widgets.analysis_pane import AnalysisPane
from ..widgets.crawler_pane import CrawlerPane
from ..widgets.footer_fit import fit_footer
from ..widgets.header_bar import HeaderBar
from ..widgets.log_pane import LogPane
from ..widgets.pane import NARROW_BELOW, Pane
from ..widgets.queue_pane import QueuePane

if TYPE_CHECKING:
    from ..app import ViralSpotApp

__all__ = ["DashboardScreen"]

PANE_ORDER = ("queue", "analysis", "crawler", "log")


class DashboardScreen(Screen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [*DASHBOARD_BINDINGS]
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (NARROW_BELOW, "-normal"), (150, "-wide")]
    VERTICAL_BREAKPOINTS = [(0, "-short"), (30, "-tall")]

    app: "ViralSpotApp"

    def compose(self) -> ComposeResult:
        yield HeaderBar(id="header")
        with Horizontal(id="main"):
            yield QueuePane()
            with Vertical(id="side"):
                yield AnalysisPane()
                yield CrawlerPane()
        yield LogPane()
        yield Input(placeholder="filter the focused pane · enter keeps it · esc clears", id="filter")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#filter", Input).display = False
        self.focus_pane("queue")
        fit_footer(self.query_one(Footer), self.app.size.width)

    def on_resize(self, event: events.Resize) -> None:
        fit_footer(self.query_one(Footer), event.size.width)

    # ------------------------------------------------------------------ refresh
    def pane(self, pane_id: str) -> Pane:
        return self.query_one(f"#{pane_id}", Pane)

    def show_snapshot(self, snap: EngineSnapshot) -> int:
        """Diff the snapshot into every visible pane; returns how many panes were refreshed."""
        self.query_one(HeaderBar).show_snapshot(snap)
        refreshed = 0
        for pane in self.query(Pane):
            if pane.on_screen:
                pane.apply(snap)
                refreshed += 1
        return refreshed

    # ------------------------------------------------------------------ focus and selection
    @property
    def focused_pane(self) -> Pane | None:
        node = self.focused
        while node is not None and not isinstance(node, Pane):
            node = node.parent  # type: ignore[assignment]
        return node

    def focus_pane(self, pane_id: str) -> None:
        pane = self.pane(pane_id)
        if not pane.display:
            pane.display = True
        pane.focus_target.focus()

    def action_focus_pane(self, pane_id: str) -> None:
        self.focus_pane(pane_id)

    def _cycle(self, step: int) -> None:
        visible = [p for p in PANE_ORDER if self.pane(p).display]
        current = self.focused_pane
        index = visible.index(current.pane_id) if current and current.pane_id in visible else -1
        self.focus_pane(visible[(index + step) % len(visible)])

    def action_focus_next_pane(self) -> None:
        self._cycle(1)

    def action_focus_previous_pane(self) -> None:
        self._cycle(-1)

    def selected_username(self) -> str | None:
        pane = self.focused_pane
        item = pane.selected_item() if isinstance(pane, QueuePane) else None
        return item.username if item else None

    def selected_job(self) -> JobView | None:
        pane = self.focused_pane
        return pane.selected_job() if isinstance(pane, AnalysisPane) else None

    # ------------------------------------------------------------------ pane-relative actions
    def action_toggle_focused(self) -> None:
        pane = self.focused_pane
        if pane is None or pane.processor is None:
            self.app.notify("focus the queue, analysis or crawler pane to pause it (p pauses all)", severity="warning")
            return
        self.app.op_toggle(pane.processor)

    def _need_queue_item(self) -> str | None:
        name = self.selected_username()
        if name is None:
            self.app.notify("select an item in the queue pane first (press 1)", severity="warning")
        return name

    def action_bump(self, priority: str) -> None:
        if name := self._need_queue_item():
            self.app.op_bump(name, priority)

    def action_retry_selected(self) -> None:
        """``r``: the selected failed queue item, or the selected failed job in the analysis pane."""
        job = self.selected_job()
        if job is not None:
            job_id = job.id
            self.app.run_op("retry", lambda op: op.retry_job(job_id))
            return
        if name := self._need_queue_item():
            self.app.op_retry(name)

    def action_delete_selected(self) -> None:
        """``d``: cancel the selected job in the analysis pane, else remove the selected queue item."""
        job = self.selected_job()
        if job is not None:
            self.app.confirm_cancel_job(job.id, f" (@{job.primary_username})")
            return
        if isinstance(self.focused_pane, AnalysisPane):
            self.app.notify("select a job first (j/k)", severity="warning")
            return
        if name := self._need_queue_item():
            self.app.confirm_remove(name)

    def action_schedule_selected(self) -> None:
        """``s``: turn the selected job's re-runs on or off (asks first)."""
        job = self.selected_job()
        if job is None:
            self.app.notify("select a job in the analysis pane first (press 2)", severity="warning")
            return
        self.app.confirm_schedule(job)

    def action_details(self) -> None:
        job = self.selected_job()
        if job is not None:
            self.app.show_job(job)
            return
        pane = self.focused_pane
        if isinstance(pane, QueuePane) and (item := pane.selected_item()):
            text = (
                f"{item.username} · {item.priority.value} · {item.status.value} · "
                f"attempts {item.attempts}/{item.max_attempts} · source {item.source}"
            )
            self.app.notify(
                text + (f"\nlast error: {item.last_error}" if item.last_error else ""),
                title=f"queue item #{item.id}",
                markup=False,
            )

    @on(DataTable.RowSelected)
    def _row_selected(self, event: DataTable.RowSelected) -> None:
        """``enter`` on a table row: DataTable handles the key first, so act on its message."""
        event.stop()
        self.action_details()

    def action_toggle_log(self) -> None:
        log = self.pane("log")
        log.display = not log.display
        if not log.display and self.focused_pane is log:
            self.focus_pane("queue")

    # ------------------------------------------------------------------ filter
    def action_filter(self, text: str | None = None) -> None:
        pane = self.focused_pane or self.pane("queue")
        self._filter_target = pane.pane_id
        field = self.query_one("#filter", Input)
        field.display = True
        field.value = pane.filter_text if text is None else text
        field.border_title = f"filter {pane.title}"
        field.focus()

    def apply_filter(self, pane_id: str, text: str) -> None:
        self.pane(pane_id).set_filter(text)
        self.pane(pane_id).redraw()

    @on(Input.Changed, "#filter")
    def _filter_changed(self, event: Input.Changed) -> None:
        self.apply_filter(getattr(self, "_filter_target", "queue"), event.value)

    @on(Input.Submitted, "#filter")
    def _filter_done(self) -> None:
        field = self.query_one("#filter", Input)
        field.display = False
        self.focus_pane(getattr(self, "_filter_target", "queue"))

    def action_clear_filter(self) -> None:
        field = self.query_one("#filter", Input)
        target = getattr(self, "_filter_target", None) or (self.focused_pane.pane_id if self.focused_pane else "queue")
        if field.display:
            field.value = ""
            field.display = False
            self.focus_pane(target)
        pane = self.focused_pane or self.pane(target)
        if pane.filter_text:
            self.apply_filter(pane.pane_id, "")
        elif self.maximized is not None:
            self.minimize()
