"""What every dashboard pane shares: a title, the processor it steers, a filter, and focus.

The dashboard treats panes uniformly (``tab``/``1``–``4`` focus, ``space`` pauses the pane's
processor, ``/`` filters the pane's table, hidden panes are not refreshed), so the common part
lives here and each pane only says how a snapshot becomes its rows.

Fitting ("usable at 80×24", docs/console.md): under :data:`NARROW_BELOW` terminal columns a
pane's table switches to its narrow column set; on wider terminals a pane too slim for its
wide set first shrinks its compact columns, then drops its least needed ones
(:func:`fit_columns`). Free space goes to the columns that can use it (names first), then
to a *flex* column, so no column is cut off at the pane's edge, and the border title is the
longest of the pane's candidate titles that fits. A resize re-renders the pane's last snapshot in the new columns;
the table keeps the cursor on the same item.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

from rich.cells import cell_len
from textual import events
from textual.containers import Vertical
from textual.widget import Widget

from ...core.snapshot import EngineSnapshot
from .keyed_table import Column, KeyedTable

__all__ = ["NARROW_BELOW", "Pane", "fit_columns"]

log = logging.getLogger("viralspot.tui")

NARROW_BELOW = 120  # terminal columns under which panes use their narrow column sets (the -narrow class)
_SHORT_STATE = {"not running": "off", "restarting": "restart", "starting": "start", "stopping": "stop"}


def fit_columns(
    spec: Sequence[Column],
    room: int,
    *,
    drop: Sequence[str] = (),
    compact: Mapping[str, int] | None = None,
    grow: Mapping[str, int] | None = None,
    flex: str | None = None,
) -> list[Column]:
    """Fit a column set into ``room`` cells: give way by priority, then grow into free space.

    1. Every column at its declared width; if that does not fit, the ``compact`` columns shrink
       (a progress bar becomes ``45%``) before anything is lost.
    2. Still too wide: the ``drop`` columns go, first first, until the rest fits.
    3. Room left: compact columns get their full width back, in declared order, while they fit.
    4. What is still free goes to the ``grow`` columns (each up to its maximum, e.g. a username
       to 30 cells, so names are not cut beside empty space), and the rest to the ``flex`` column.

    Each column has one cell of padding either side. Pure, so it is tested without a terminal.
    """
    compact, grow = compact or {}, grow or {}
    full = {key: width or 0 for key, _, width in spec}
    widths = dict(full)

    def needed() -> int:
        return sum(w + 2 for w in widths.values())

    if needed() > room:
        widths.update({k: min(w, widths[k]) for k, w in compact.items() if k in widths})
    for key in drop:
        if needed() <= room:
            break
        widths.pop(key, None)
    for key in widths:
        if key in compact and widths[key] < full[key] and needed() + full[key] - widths[key] <= room:
            widths[key] = full[key]
    for key, most in grow.items():
        if key in widths and (spare := room - needed()) > 0:
            widths[key] = max(widths[key], min(most, widths[key] + spare))
    if flex is not None and flex in widths:
        widths[flex] += max(0, room - needed())
    return [
        (key, label, widths[key] if width is not None or key in grow or key == flex else width)
        for key, label, width in spec
        if key in widths
    ]


class Pane(Vertical):
    pane_id: ClassVar[str] = "pane"
    title: ClassVar[str] = "Pane"
    processor: ClassVar[str | None] = None  # what ``space`` pauses when this pane has focus
    wide_columns: ClassVar[tuple[Column, ...]] = ()
    narrow_columns: ClassVar[tuple[Column, ...]] = ()  # empty: the wide set at every width
    flex_column: ClassVar[str | None] = None  # the narrow column that takes the width left over
    wide_flex_column: ClassVar[str | None] = None  # the wide column that takes the width left over
    drop_order: ClassVar[tuple[str, ...]] = ()  # wide columns that give way, first first, in a slim pane
    compact: ClassVar[dict[str, int]] = {}  # column -> the smaller width it takes before any column is dropped
    grow: ClassVar[dict[str, int]] = {}  # column -> the widest it grows to into free space, before the flex column

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
        """The column set for the terminal's width, fitted to this pane: never clipped at its edge."""
        spec, flex = (
            (self.narrow_columns, self.flex_column) if self.narrow else (self.wide_columns, self.wide_flex_column)
        )
        if not self.outer_size.width:  # not laid out yet: the resize that follows fits it
            return list(spec)
        room = self.outer_size.width - 3  # borders (2) and the vertical scrollbar (1)
        drop = self.drop_order if not self.narrow else ()
        wanted = self.wanted_widths()
        grow = {key: min(most, wanted.get(key, most)) for key, most in self.grow.items()}
        return fit_columns(spec, room, drop=drop, compact=self.compact, grow=grow, flex=flex)

    def wanted_widths(self) -> dict[str, int]:
        """The widths the current rows' text would use, as :meth:`want` last recorded them; a
        ``grow`` column without one may take up to its maximum."""
        return getattr(self, "_wanted", {})

    def want(self, widths: dict[str, int]) -> None:
        """Record how wide the rows' text is; when that changed, fit the columns again (the
        table keeps the cursor on its item), so a column grows only as far as its text."""
        if widths != self.wanted_widths():
            self._wanted = widths
            table = self.table
            if table is not None:
                table.set_columns(self.columns())

    def make_table(self, **kwargs: Any) -> KeyedTable:
        return KeyedTable(self.columns(), **kwargs)

    def on_resize(self, event: events.Resize) -> None:
        self._fit_title()
        table = self.table
        if table is not None and table.set_columns(self.columns()):
            self.redraw()

    def redraw(self) -> None:
        """Show the last snapshot again (new columns, a new filter). Like the refresh timer, it
        never raises: an event handler's exception would end the app over one bad row."""
        snap = self.last_snapshot if self.last_snapshot is not None else getattr(self.app, "last_snapshot", None)
        if snap is None:
            return
        try:
            self.apply(snap)
        except Exception:  # noqa: BLE001 - logged; the next refresh tries again
            log.exception("redrawing the %s pane failed", self.pane_id)

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
        titles = (
            *(f"{b} · {state}" for b in bodies),
            *(f"{b} · {short}" for b in bodies),
            f"{self.title} · {short}",
            self.title,
        )
        return tuple(dict.fromkeys(titles))

    @property
    def table(self) -> KeyedTable | None:
        return self.query_one_optional(KeyedTable)

    @property
    def focus_target(self) -> Widget:
        return self.table or self

    @property
    def on_screen(self) -> bool:
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
