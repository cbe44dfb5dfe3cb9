"""What every dashboard pane shares: a title, the processor it steers, a filter, and focus.

The dashboard treats panes uniformly (``tab``/``1``–``4`` focus, ``space`` pauses the pane's
processor, ``/`` filters the pane's table, hidden panes are not refreshed), so the common part
lives here and each pane only says how a snapshot becomes its rows.
"""

from __future__ import annotations

from typing import ClassVar

from textual.containers import Vertical
from textual.widget import Widget

from ...core.snapshot import EngineSnapshot
from .keyed_table import KeyedTable

__all__ = ["Pane"]


class Pane(Vertical):
    pane_id: ClassVar[str] = "pane"
    title: ClassVar[str] = "Pane"
    processor: ClassVar[str | None] = None  # what ``space`` pauses when this pane has focus

    def __init__(self, **kwargs: object) -> None:
        super().__init__(id=self.pane_id, classes="pane", **kwargs)  # type: ignore[arg-type]
        self.filter_text = ""
        self.border_title = self.title

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
