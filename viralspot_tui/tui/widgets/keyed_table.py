"""A DataTable that is updated by diffing rows by key, and whose cursor follows its item.

Rebuilding a table on every refresh resets the cursor and scroll and costs time in
proportion to the rows; a DataTable cursor is a row *index*, so re-sorting would silently
move the selection to another item. :meth:`KeyedTable.sync` therefore changes only the cells
that differ, adds and removes rows by key, re-orders only when the order changed, and puts
the cursor back on the item (not the index) it was on. It also adds vim movement keys.

The column set can change (a pane picks a narrow set on a small terminal):
:meth:`KeyedTable.set_columns` swaps the columns, and the next :meth:`~KeyedTable.sync`
re-adds the rows and puts the cursor back on the item that was selected before the swap.
Rows may be given as a mapping of column key to cell, so one row serves every column set.
"""

from __future__ import annotations

from collections import defaultdict, deque
from collections.abc import Hashable, Mapping, Sequence
from typing import Any, ClassVar

from textual.binding import BindingType
from textual.widgets import DataTable

from ..bindings import TABLE_BINDINGS

__all__ = ["Column", "KeyedTable", "Row"]

Column = tuple[str, str, int | None]  # (column key, label, width or None)
Row = tuple[str, Sequence[Any] | Mapping[str, Any]]  # (row key, cells in column order or by column key)


class KeyedTable(DataTable):
    BINDINGS: ClassVar[list[BindingType]] = [*TABLE_BINDINGS]

    def __init__(self, columns: Sequence[Column], *, id_column: str | None = None, **kwargs: Any) -> None:
        """``columns``: (key, label, width or None) — fixed widths avoid re-layout jitter.

        ``id_column`` optionally names a column whose value is unique per row: re-ordering is
        then keyed on it alone. Without one (or when the current column set lacks it), rows
        are re-ordered by their whole content and the real order is read back from the table.
        """
        super().__init__(cursor_type="row", zebra_stripes=False, **kwargs)
        self._column_spec: list[Column] = list(columns)
        self._id_column = id_column
        self._order: list[str] = []
        self._cells: dict[str, tuple[Any, ...]] = {}
        self._reselect: str | None = None  # the item to put the cursor back on after set_columns()
        self.sync_count = 0  # how many times sync() changed something (tests, benchmarks)

    def on_mount(self) -> None:
        self._add_columns()

    def _add_columns(self) -> None:
        for key, label, width in self._column_spec:
            self.add_column(label, key=key, width=width)

    # ------------------------------------------------------------------ columns
    @property
    def column_spec(self) -> list[Column]:
        return list(self._column_spec)

    @property
    def widths(self) -> dict[str, int | None]:
        """Column key -> width of the current column set (panes size their cell text to it)."""
        return {key: width for key, _, width in self._column_spec}

    def set_columns(self, columns: Sequence[Column]) -> bool:
        """Switch to another column set; returns False if it is the current one.

        The rows are dropped (their cells belong to the old set): the caller syncs them again,
        and that sync puts the cursor back on the item selected now.
        """
        columns = list(columns)
        if columns == self._column_spec:
            return False
        if self._reselect is None:
            self._reselect = self.selected_key
        self._column_spec = columns
        if self.is_mounted:
            self.clear(columns=True)
            self._add_columns()
        self._cells.clear()
        self._order = []
        return True

    # ------------------------------------------------------------------ selection
    @property
    def selected_key(self) -> str | None:
        if not self.row_count:
            return None
        row = min(self.cursor_row, self.row_count - 1)
        return self._order[row] if 0 <= row < len(self._order) else None

    def select_key(self, key: str) -> bool:
        if key not in self._cells:
            return False
        self.move_cursor(row=self._order.index(key), animate=False)
        return True

    # ------------------------------------------------------------------ diffing
    def sync(self, rows: Sequence[Row]) -> bool:
        """Make the table show ``rows`` in this order; returns True if anything changed."""
        column_keys = [c[0] for c in self._column_spec]
        wanted = {key: _in_order(cells, column_keys) for key, cells in rows}
        order = list(wanted)
        selected = self._reselect if self._reselect is not None else self.selected_key
        old_index = self.cursor_row
        changed = False
        stale = [key for key in self._cells if key not in wanted]
        if len(stale) > len(wanted) or (stale and len(stale) > 64):
            # Mostly new content: one clear is cheaper than many O(n) removals.
            self.clear()
            self._cells.clear()
            self._order = []
            changed = bool(stale)
        else:
            for key in stale:
                self.remove_row(key)
                del self._cells[key]
                changed = True
        for key, cells in wanted.items():
            current = self._cells.get(key)
            if current is None:
                self.add_row(*cells, key=key)
                changed = True
            elif current != cells:
                for col, (old, new) in enumerate(zip(current, cells, strict=True)):
                    if old != new:
                        self.update_cell(key, column_keys[col], new)
                changed = True
            self._cells[key] = cells
        present_order = [k for k in self._order if k in wanted] + [k for k in order if k not in self._order]
        self._order = present_order
        if present_order != order:
            self._reorder(order, column_keys)
            changed = True
        if changed:
            self.sync_count += 1
            self._restore_cursor(selected, old_index)
        if self._order:
            self._reselect = None
        return changed

    def _reorder(self, order: list[str], column_keys: list[str]) -> None:
        if self._id_column in column_keys:
            index = column_keys.index(self._id_column)
            rank = {_hashable(self._cells[key][index]): pos for pos, key in enumerate(order)}
            self.sort(self._id_column, key=lambda value: rank.get(_hashable(value), len(order)))
            self._order = order
            return
        # DataTable.sort hands the key function cell values only, never the row key: rank rows
        # by their whole content. Rows with identical content look identical, so which of them
        # takes which place is read back from the table rather than assumed.
        ranks: dict[Hashable, deque[int]] = defaultdict(deque)
        for pos, key in enumerate(order):
            ranks[_row_id(self._cells[key])].append(pos)

        def rank_of(values: tuple[Any, ...]) -> int:
            queue = ranks.get(_row_id(values))
            return queue.popleft() if queue else len(order)

        self.sort(key=rank_of)
        self._order = [str(row.key.value) for row in self.ordered_rows]

    def _restore_cursor(self, selected: str | None, old_index: int) -> None:
        if not self._order:
            return
        if selected is not None and selected in self._cells:
            target = self._order.index(selected)
        else:
            target = min(old_index, len(self._order) - 1)
        if target != self.cursor_row:
            self.move_cursor(row=target, animate=False, scroll=self.has_focus)


def _in_order(cells: Sequence[Any] | Mapping[str, Any], column_keys: list[str]) -> tuple[Any, ...]:
    if isinstance(cells, Mapping):
        return tuple(cells[key] for key in column_keys)
    return tuple(cells)


def _row_id(values: Sequence[Any]) -> Hashable:
    return tuple(_hashable(v) for v in values)


def _hashable(value: Any) -> Hashable:
    return str(value)
