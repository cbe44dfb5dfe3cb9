"""A DataTable that is updated by diffing rows by key, and whose cursor follows its item.

Rebuilding a table on every refresh resets the cursor and scroll and costs time in
proportion to the rows; a DataTable cursor is a row *index*, so re-sorting would silently
move the selection to another item. :meth:`KeyedTable.sync` therefore changes only the cells
that differ, adds and removes rows by key, re-orders only when the order changed, and puts
the cursor back on the item (not the index) it was on. It also adds vim movement keys.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from typing import Any

from textual.widgets import DataTable

from ..bindings import TABLE_BINDINGS

__all__ = ["KeyedTable", "Row"]

Row = tuple[str, Sequence[Any]]  # (row key, cells in column order)


class KeyedTable(DataTable):
    BINDINGS = TABLE_BINDINGS

    def __init__(self, columns: Sequence[tuple[str, str, int | None]], *, id_column: str, **kwargs: Any) -> None:
        """``columns``: (key, label, width or None) — fixed widths avoid re-layout jitter.

        ``id_column`` names a column whose value is unique per row: DataTable.sort only hands
        cell values to its key function, so re-ordering is keyed on that column.
        """
        super().__init__(cursor_type="row", zebra_stripes=False, **kwargs)
        self._column_spec = list(columns)
        self._id_column = id_column
        self._id_index = [c[0] for c in columns].index(id_column)
        self._order: list[str] = []
        self._cells: dict[str, tuple[Any, ...]] = {}
        self.sync_count = 0  # how many times sync() changed something (tests, benchmarks)

    def on_mount(self) -> None:
        for key, label, width in self._column_spec:
            self.add_column(label, key=key, width=width)

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
        wanted = {key: tuple(cells) for key, cells in rows}
        order = list(wanted)
        selected = self.selected_key
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
        column_keys = [c[0] for c in self._column_spec]
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
        if present_order != order:
            rank = {key: i for i, key in enumerate(order)}
            self.sort(self._id_column, key=_RankKey(rank, self).key_for)
            changed = True
        self._order = order
        if changed:
            self.sync_count += 1
            self._restore_cursor(selected, old_index)
        return changed

    def _restore_cursor(self, selected: str | None, old_index: int) -> None:
        if not self._order:
            return
        if selected is not None and selected in self._cells:
            target = self._order.index(selected)
        else:
            target = min(old_index, len(self._order) - 1)
        if target != self.cursor_row:
            self.move_cursor(row=target, animate=False, scroll=self.has_focus)


class _RankKey:
    """Maps an id-column value back to the row's wanted position."""

    def __init__(self, rank: dict[str, int], table: KeyedTable) -> None:
        self.rank = rank
        index = table._id_index
        self.by_id: dict[Hashable, int] = {
            _hashable(table._cells[key][index]): pos for key, pos in rank.items() if key in table._cells}

    def key_for(self, id_value: Any) -> int:
        return self.by_id.get(_hashable(id_value), len(self.rank))


def _hashable(value: Any) -> Hashable:
    return str(value)
