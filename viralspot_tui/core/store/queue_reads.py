"""Reading the durable queue: items, counts, the console's board, idle probes (docs/queue.md).

Split from :mod:`queue_store` (the writes and their fencing) because reads have a different
concern: their cost must not grow with the queue (docs/performance.md). Counts come from the
``queue_counts`` table (kept exact in each writing transaction), the board from index range scans with small LIMITs, and
rows become items on the database thread, so the event loop only receives the list.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any

from ..clock import Clock, from_iso, from_iso_required, to_iso
from ..models.queue import Priority, QueueItem, Status
from ..models.usernames import normalize_username
from .database import Database

__all__ = [
    "QueueReads",
    "ITEM_COLUMNS",
    "ItemNotFound",
    "row_to_item",
    "rows_to_items",
    "known_usernames_sync",
    "counts_sync",
    "move_counts_sync",
    "group_moves",
    "ACTIVE_SQL",
]

ACTIVE_SQL = "('PENDING','PROCESSING','PAUSED')"
ITEM_COLUMNS = (
    "id, username, priority, status, source, attempts, max_attempts, last_error, not_before, "
    "lease_owner, lease_expires_at, created_at, updated_at, completed_at, request_id"
)


class ItemNotFound(LookupError):
    pass


_PRIORITIES = {p.value: p for p in Priority}
_STATUSES = {s.value: s for s in Status}
_ALL_FIELDS = set(QueueItem.model_fields)
_new = object.__new__
_set = object.__setattr__


def _build(row: Sequence[Any], times: dict[str | None, datetime | None]) -> QueueItem:
    """One item from one row, without validation: what ``model_construct`` does, at a quarter
    of its cost (it re-walks the model's fields for every row; measured in docs/performance.md,
    "Where the store's time goes"). Safe because every row was validated on its way in: names by
    ``normalize_username`` (or the CSV and Supabase row models), priority and status by the
    table's CHECK constraints, times written by ``to_iso``. ``times`` memoises parsed times across
    the rows of one read, whose leases and stamps are mostly equal."""

    def when(text: str | None) -> datetime | None:
        try:
            return times[text]
        except KeyError:
            parsed = times[text] = from_iso(text)
            return parsed

    item = _new(QueueItem)
    _set(
        item,
        "__dict__",
        {
            "id": row[0],
            "username": row[1],
            "priority": _PRIORITIES[row[2]],
            "status": _STATUSES[row[3]],
            "source": row[4],
            "attempts": row[5],
            "max_attempts": row[6],
            "last_error": row[7],
            "not_before": when(row[8]),
            "lease_owner": row[9],
            "lease_expires_at": when(row[10]),
            "created_at": when(row[11]) or from_iso_required(row[11]),
            "updated_at": when(row[12]) or from_iso_required(row[12]),
            "completed_at": when(row[13]),
            "request_id": row[14],
        },
    )
    _set(item, "__pydantic_fields_set__", _ALL_FIELDS.copy())  # mutable: model_copy updates it
    _set(item, "__pydantic_extra__", None)
    _set(item, "__pydantic_private__", None)
    return item


def row_to_item(row: Sequence[Any]) -> QueueItem:
    """A row of :data:`ITEM_COLUMNS` as an item (see :func:`_build` for why it is not validated)."""
    return _build(row, {None: None})


def rows_to_items(rows: Iterable[Sequence[Any]]) -> list[QueueItem]:
    """Many rows as items, sharing one cache of parsed times (a claim batch shares its stamps)."""
    times: dict[str | None, datetime | None] = {None: None}
    return [_build(row, times) for row in rows]


def known_usernames_sync(conn: sqlite3.Connection, names: Sequence[str]) -> set[str]:
    """Names the queue has a row for (any status) or that were scraped (``primary_profiles``):
    the crawler's meaning of "already known" (docs/crawler.md), used by its dedup read and re-checked
    by ``enqueue(only_unknown=True)`` in the insert's own transaction."""
    if not names:
        return set()
    rows = conn.execute(
        "SELECT username FROM queue WHERE username IN (SELECT value FROM json_each(:names))"
        " UNION SELECT username FROM primary_profiles WHERE username IN (SELECT value FROM json_each(:names))",
        {"names": json.dumps(list(names))},
    ).fetchall()
    return {r[0] for r in rows}


Items = list[QueueItem]  # named here: inside QueueStore, ``list`` is its method


def counts_sync(conn: sqlite3.Connection) -> dict[tuple[Priority, Status], int]:
    rows = conn.execute("SELECT priority, status, n FROM queue_counts WHERE n > 0").fetchall()
    return {(Priority(p), Status(s)): n for p, s, n in rows}


def move_counts_sync(conn: sqlite3.Connection, moves: Iterable[tuple[str, str, str, int]]) -> None:
    """Count status changes a statement made: ``(priority, old status, new status, rows)`` each.

    Status changes are counted by their writer, once per (priority, status) group, in the
    writer's transaction (migration 7; a trigger per row cost a fifth of a claim, see
    docs/performance.md). ``priority`` is the row's priority after the statement: a priority
    change is counted by the trigger at the old status, so the two compose.
    """
    deltas: dict[tuple[str, str], int] = {}
    for priority, old, new, n in moves:
        if n and old != new:
            deltas[(priority, old)] = deltas.get((priority, old), 0) - n
            deltas[(priority, new)] = deltas.get((priority, new), 0) + n
    if deltas:
        conn.executemany(
            "UPDATE queue_counts SET n = n + ? WHERE priority = ? AND status = ?",
            [(d, p, s) for (p, s), d in deltas.items() if d],
        )


def group_moves(priorities: Iterable[str], old: str, new: str) -> list[tuple[str, str, str, int]]:
    """The moves of rows that all went from ``old`` to ``new``, by their (RETURNING) priority."""
    by_priority: dict[str, int] = {}
    for priority in priorities:
        by_priority[priority] = by_priority.get(priority, 0) + 1
    return [(priority, old, new, n) for priority, n in by_priority.items()]


class QueueReads:
    """The read half of :class:`~viralspot_tui.core.store.queue_store.QueueStore`."""

    db: Database
    clock: Clock

    async def get(self, username: str) -> QueueItem | None:
        name = normalize_username(username)
        row = await self.db.read(
            lambda c: c.execute(
                f"SELECT {ITEM_COLUMNS} FROM queue WHERE username = ? ORDER BY status IN {ACTIVE_SQL} DESC, id DESC LIMIT 1",
                (name,),
            ).fetchone()
        )
        return row_to_item(row) if row else None

    async def get_by_id(self, item_id: int) -> QueueItem | None:
        row = await self.db.read(
            lambda c: c.execute(f"SELECT {ITEM_COLUMNS} FROM queue WHERE id = ?", (item_id,)).fetchone()
        )
        return row_to_item(row) if row else None

    async def counts(self) -> dict[tuple[Priority, Status], int]:
        """Items by (priority, status), from the counts table kept exact in every writing
        transaction (migrations 2 and 7): ten rows to read whatever the queue's size."""
        return await self.db.read(counts_sync)

    async def list(self, status: Status | None = None, limit: int | None = None) -> list[QueueItem]:
        sql = f"SELECT {ITEM_COLUMNS} FROM queue"
        params: tuple[Any, ...] = ()
        if status is not None:
            sql += " WHERE status = ?"
            params = (Status(status).value,)
        sql += " ORDER BY (status = 'PROCESSING') DESC, CASE priority WHEN 'HIGH' THEN 0 ELSE 1 END, id"
        if limit is not None:
            sql += f" LIMIT {int(limit)}"
        rows = await self.db.read(lambda c: c.execute(sql, params).fetchall())
        return rows_to_items(rows)

    @staticmethod
    def _board_sql() -> str:
        """Each part is a range scan of a partial index with a LIMIT; ``INDEXED BY`` where the
        planner, without table statistics, would otherwise scan the whole table. Running HIGH
        items come first, as everywhere else (a handful of rows: at most the concurrency)."""
        return (
            f"SELECT * FROM (SELECT {ITEM_COLUMNS} FROM queue INDEXED BY queue_leases WHERE status = 'PROCESSING'"
            " ORDER BY CASE priority WHEN 'HIGH' THEN 0 ELSE 1 END, id LIMIT :lim)"
            f" UNION ALL SELECT * FROM (SELECT {ITEM_COLUMNS} FROM queue WHERE status IN ('PENDING','PAUSED')"
            " AND priority = 'HIGH' ORDER BY claim_rank, id LIMIT :lim)"
            f" UNION ALL SELECT * FROM (SELECT {ITEM_COLUMNS} FROM queue WHERE status IN ('PENDING','PAUSED')"
            " AND priority = 'LOW' ORDER BY claim_rank, id LIMIT :lim)"
            f" UNION ALL SELECT * FROM (SELECT {ITEM_COLUMNS} FROM queue INDEXED BY queue_failed_recent"
            " WHERE status = 'FAILED' ORDER BY id DESC LIMIT :lim)"
        )

    async def board(self, limit: int = 50) -> Items:
        """What a console shows: running items, then the next to run, then recent failures."""
        sql = self._board_sql()
        # rows become items on the database thread: the event loop only receives the list
        return await self.db.read(lambda c: rows_to_items(c.execute(sql, {"lim": limit})))

    async def console_view(self, limit: int = 50) -> tuple[dict[tuple[Priority, Status], int], Items]:
        """Counts and board in one round trip, built on the database thread (the snapshot's
        queue part): both read through small tables or indexes with LIMITs, so the cost does
        not depend on how many items are queued."""
        board_sql = self._board_sql()
        return await self.db.read(lambda c: (counts_sync(c), rows_to_items(c.execute(board_sql, {"lim": limit}))))

    async def has_work_due(self, within_seconds: float = 0) -> bool:
        """Is anything running, or claimable now or within ``within_seconds``? (idle detection)

        Two EXISTS probes, each served by a partial index, so this stays cheap at a million rows.
        """
        horizon = to_iso(self.clock.now() + timedelta(seconds=within_seconds))
        return await self.db.read(
            lambda c: (
                c.execute(
                    "SELECT EXISTS (SELECT 1 FROM queue WHERE status = 'PROCESSING')"
                    " OR EXISTS (SELECT 1 FROM queue WHERE status IN ('PENDING','PAUSED')"
                    " AND (not_before IS NULL OR not_before <= ?))",
                    (horizon,),
                ).fetchone()[0]
                == 1
            )
        )
