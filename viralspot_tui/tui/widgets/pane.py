"""What every dashboard pane shares: a title, the processor it steers, a filter, and focus.

The dashboard treats panes uniformly (``tab``/``1``–``4`` focus, ``space`` pauses the pane's
processor, ``/`` filters the pane's table, hidden panes are not refreshed), so the common part
lives here and each pane only says how a snapshot becomes its rows.

Fitting (SPEC §8, "usable at 80×24"): under :data:`NARROW_BELOW` terminal columns a pane's
table switches to its narrow column set, whose *flex* column takes the width left over, and
the border title is the longest of the pane's candidate titles that fits. Wider terminals
keep the wide set unchanged. A resize re-renders the pane's last snapshot in the new columns;
the table keeps the cursor on the same item.
"""

from __future__ import annotations

from typing import Any, ClassVar

from rich.cells import cell_len
from textual import events
from textual.containers import Vertical
from textual.widget import Widget

from ...core.snapshot import EngineSnapshot
from .keyed_table import Column, KeyedTable

__all__ = ["NARROW_BELOW", "Pane"]

NARROW_BELOW = 120  # terminal columns under which panes use their narrow column sets (the -narrow class)
_SHORT_STATE = {"not running": "off", "restarting": "restart", "starting": "start", "stopping": "stop"}


class Pane(Vertical):
    pane_id: ClassVar[str] = "pane"
    title: ClassVar[str] = "Pane"
    processor: ClassVar[str | None] = None  # what ``space`` pauses when this pane has focus
    wide_columns: ClassVar[tuple[Column, ...]] = ()
    narrow_columns: ClassVar[tuple[Column, ...]] = ()  # empty: the wide set at every width
    flex_column: ClassVar[str | None] = None  # the narrow column that takes the width left over

    def __init__(self, **kwargs: object) -> None:
        super().__init__(id=self.pane_id, classes="pane", **kwargs)  # type: ignore[arg-type]
        self.filter_text = ""
        self.border_title = self.title
        self._titles: tuple[str, ...] = (self.title,)
        self.last_snapshot: EngineSnapshot | None = None  # re-rendered when the column set changes

    # ------------------------------------------------------------------ fitting the width
    @property
    def narrow(self) -> bool:
        return bool(self.narrow_columns) and self.app.size.width < NARROW_BELOW

    def columns(self) -> list[Column]:
        """The column set for the terminal's width, the flex column sized to this pane."""
        if not self.narrow:
            return list(self.wide_columns)
        columns = list(self.narrow_columns)
        if self.outer_size.width and self.flex_column:
            # borders (2), the vertical scrollbar (1), and each column's padding on both sides
            room = self.outer_size.width - 3 - 2 * len(columns)
            fixed = sum(width or 0 for key, _, width in columns if key != self.flex_column)
            columns = [(key, label, max(width or 0, room - fixed) if key == self.flex_column else width)
                       for key, label, width in columns]
        return columns

    def make_table(self, **kwargs: Any) -> KeyedTable:
        return KeyedTable(self.columns(), **kwargs)

    def on_resize(self, event: events.Resize) -> None:
        self._fit_title()
        table = self.table
        if table is not None and table.set_columns(self.columns()) and self.last_snapshot is not None:
            self.apply(self.last_snapshot)

    def set_titles(self, *candidates: str) -> None:
        """Show the first (longest, most detailed) candidate title that fits the top border."""
        self._titles = candidates or (self.title,)
        self._fit_title()

    def _fit_title(self) -> None:
        room = self.outer_size.width - 6  # corners, a line cell and a space either side
        titles = self._titles
        title = titles[0] if room <= 0 else next((t for t in titles if cell_len(t) <= room), titles[-1])
        if self.border_title != title:
            self.border_title = title

    def titles_with_state(self, *bodies: str, state: str | None) -> tuple[str, ...]:
        """Candidate titles: each body with the processor state (when not plain "running"),
        then with the state's short form, then the state alone."""
        if not state or state == "running":
            return (*bodies, self.title)
        short = _SHORT_STATE.get(state, state)
        titles = (*(f"{b} · {state}" for b in bodies), *(f"{b} · {short}" for b in bodies),
                  f"{self.title} · {short}", self.title)
        return tuple(dict.fromkeys(titles))

    @property
    def table(self) -> KeyedTable | None:
        return self.query_one_optional(KeyedTable)

    @property
    def focus_target(self) -> Widget:
        return self.table or self

    @property
    def visible(self) -> bool:
        """False when hidden or when another widget is maximised: then refreshing is wasted work."""
        if not self.display:
            return False
        maximized = self.screen.maximized if self.is_mounted else None
        return maximized is None or maximized is self or self in maximized.ancestors_with_self

    def set_filter(self, text: str) -> None:
        self.filter_text = text.strip().lower()
        self.border_subtitle = f"filter: {self.filter_text}" if self.filter_text else ""

    def matches(self, *texts: str | None) -> bool:
        if not self.filter_text:
            return True
        return any(self.filter_text in (t or "").lower() for t in texts)

    def apply(self, snap: EngineSnapshot) -> None:
        """Diff the snapshot into the pane's widgets (called inside App.batch_update)."""
        raise NotImplementedError
