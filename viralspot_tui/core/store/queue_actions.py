"""The operator's and producers' writes to the queue: enqueue, bump, retry, remove (docs/queue.md).

Split from :mod:`queue_store`, which keeps the workers' side (claim, leases, fenced outcomes):
these writes are not fenced by a lease; they act on a username. None changes a row's status
except retry, which counts its own change (migration 7, docs/performance.md); inserts, deletes
and priority changes are counted by the triggers of ``queue_counts``.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Sequence

from ..clock import Clock, to_iso
from ..models.queue import EnqueueOutcome, EnqueueResult, Priority, QueueItem, normalize_source
from ..models.usernames import normalize_username
from .database import Database
from .queue_reads import (
    ACTIVE_SQL,
    ITEM_COLUMNS,
    ItemNotFound,
    group_moves,
    known_usernames_sync,
    move_counts_sync,
    row_to_item,
)

__all__ = ["QueueActions"]


class QueueActions:
    """The username-addressed writes of :class:`~viralspot_tui.core.store.queue_store.QueueStore`."""

    db: Database
    clock: Clock
    max_attempts: int
    new_rows_not_before: str | None

    def _now(self) -> str:
        """The store's clock as stored text (one read per write, on the caller's side)."""
        return to_iso(self.clock.now())  # type: ignore[return-value]

    # ----------------------------------------------------------------- enqueue (Q2, Q3)
    async def enqueue(
        self,
        usernames: Iterable[str],
        priority: Priority = Priority.LOW,
        source: str = "manual",
        request_id: str | None = None,
        only_unknown: bool = False,
    ) -> list[EnqueueResult]:
        """Validate then enqueue; raises InvalidUsername before anything is written.

        ``only_unknown`` (the crawler, docs/crawler.md) adds a name only if it has no queue row in any
        status and was never scraped, checked in the same transaction as the insert: a name
        that finished between the crawler's lookup and this write is not queued a second time.
        """
        names = [normalize_username(u) for u in usernames]
        source = normalize_source(source)
        return await self.db.write(
            self._enqueue_sync,
            names,
            Priority(priority),
            source,
            request_id,
            self._now(),
            self.max_attempts,
            only_unknown,
            self.new_rows_not_before,
        )

    @staticmethod
    def _enqueue_sync(
        conn: sqlite3.Connection,
        names: Sequence[str],
        priority: Priority,
        source: str,
        request_id: str | None,
        now: str,
        max_attempts: int,
        only_unknown: bool = False,
        not_before: str | None = None,
    ) -> list[EnqueueResult]:
        results: list[EnqueueResult] = []
        known = known_usernames_sync(conn, list(dict.fromkeys(names))) if only_unknown else set()
        for name in dict.fromkeys(names):
            if name in known:
                row = conn.execute(
                    "SELECT id, priority FROM queue WHERE username = ? ORDER BY id DESC LIMIT 1", (name,)
                ).fetchone()
                results.append(
                    EnqueueResult(
                        username=name,
                        outcome=EnqueueOutcome.ALREADY_QUEUED,
                        priority=Priority(row[1]) if row else priority,
                        item_id=row[0] if row else None,
                    )
                )
                continue
            row = conn.execute(
                f"SELECT id, priority FROM queue WHERE username = ? AND status IN {ACTIVE_SQL}", (name,)
            ).fetchone()
            if row is not None:
                current = Priority(row[1])
                if priority.rank > current.rank:
                    conn.execute(
                        "UPDATE queue SET priority = ?, updated_at = ? WHERE id = ?", (priority.value, now, row[0])
                    )
                    results.append(
                        EnqueueResult(username=name, outcome=EnqueueOutcome.UPGRADED, priority=priority, item_id=row[0])
                    )
                else:
                    results.append(
                        EnqueueResult(
                            username=name, outcome=EnqueueOutcome.ALREADY_QUEUED, priority=current, item_id=row[0]
                        )
                    )
                continue
            done_before = conn.execute(
                "SELECT 1 FROM queue WHERE username = ? AND status = 'COMPLETED' LIMIT 1", (name,)
            ).fetchone()
            item_id = conn.execute(
                "INSERT INTO queue (username, priority, status, active, source, max_attempts, created_at, updated_at,"
                " request_id, not_before) VALUES (?, ?, 'PENDING', 1, ?, ?, ?, ?, ?, ?)",
                (name, priority.value, source, max_attempts, now, now, request_id, not_before),
            ).lastrowid
            outcome = EnqueueOutcome.REFRESHED if done_before else EnqueueOutcome.ADDED
            results.append(EnqueueResult(username=name, outcome=outcome, priority=priority, item_id=item_id))
        return results

    # ----------------------------------------------------------------- operator actions
    async def bump(self, username: str, priority: Priority) -> QueueItem:
        name = normalize_username(username)
        return await self.db.write(self._bump_sync, name, Priority(priority).value, self._now())

    @staticmethod
    def _bump_sync(conn: sqlite3.Connection, name: str, priority: str, now: str) -> QueueItem:
        row = conn.execute(
            f"UPDATE queue SET priority = ?, updated_at = ? WHERE username = ?"
            f" AND status IN {ACTIVE_SQL} RETURNING {ITEM_COLUMNS}",
            (priority, now, name),
        ).fetchone()
        if row is None:
            raise ItemNotFound(f"{name} has no pending, running or paused item")
        return row_to_item(row)

    async def retry(self, username: str | None = None) -> int:
        """FAILED → PENDING with attempts reset: one username, or every failed item."""
        name = normalize_username(username) if username is not None else None
        return await self.db.write(self._retry_sync, name, self._now())

    @staticmethod
    def _retry_sync(conn: sqlite3.Connection, name: str | None, now: str) -> int:
        where = "status = 'FAILED'" + (" AND username = :name" if name else "")
        where += f" AND username NOT IN (SELECT username FROM queue WHERE status IN {ACTIVE_SQL})"
        latest = "id IN (SELECT MAX(id) FROM queue WHERE status = 'FAILED' GROUP BY username)"
        rows = conn.execute(
            "UPDATE queue SET status = 'PENDING', active = 1, attempts = 0, not_before = NULL, last_error = NULL,"
            f" updated_at = :now WHERE {where} AND {latest} RETURNING priority",
            {"name": name, "now": now},
        ).fetchall()
        move_counts_sync(conn, group_moves((r[0] for r in rows), "FAILED", "PENDING"))
        return len(rows)

    async def remove(self, username: str) -> int:
        """Cancel the active item (a running one is fenced off) and forget the name's history."""
        name = normalize_username(username)
        return await self.db.write(lambda c: c.execute("DELETE FROM queue WHERE username = ?", (name,)).rowcount)
