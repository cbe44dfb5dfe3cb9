"""The durable priority queue on SQLite (docs/queue.md, "Item", Q11).

Every public method is one round trip to the database thread: either a single statement or
one function run inside one (group-committed) transaction. The lease owner written at claim is
unique per claim (``<instance>:<id>:<claim-seq>``) and is the fencing token: heartbeat,
complete, fail, release and pause only touch a row whose ``lease_owner`` still matches, so a
worker whose lease was taken over cannot change anything.

Each status change here counts itself in ``queue_counts`` in the same statement group (migration
7: once per (priority, status) group, not a trigger per row; docs/performance.md). The
username-addressed writes (enqueue, bump, retry, remove) live in :mod:`queue_actions`, the
reads in :mod:`queue_reads`.
"""

from __future__ import annotations

import itertools
import json
import sqlite3
from collections.abc import Sequence
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from ..clock import Clock, SystemClock, to_iso
from ..models.queue import Priority, QueueItem, Status
from ..redaction import redact
from .database import Database
from .leases import QUEUE, Lease, LeaseLost, new_instance_id, recover_sync, renew_sync
from .queue_actions import QueueActions
from .queue_reads import (
    ITEM_COLUMNS,
    ItemNotFound,
    QueueReads,
    counts_sync,
    group_moves,
    known_usernames_sync,
    move_counts_sync,
    row_to_item,
    rows_to_items,
)

__all__ = [
    "QueueStore",
    "LeaseLost",
    "row_to_item",
    "ItemNotFound",
    "new_instance_id",
    "known_usernames_sync",
    "counts_sync",
]

_CLAIMABLE = "status IN ('PENDING','PAUSED') AND (not_before IS NULL OR not_before <= :now)"
_CLAIMABLE_HIGH = f"priority = 'HIGH' AND {_CLAIMABLE}"
_PAUSED_CLAIMABLE = (
    "SELECT COUNT(*) FROM (SELECT 1 FROM queue WHERE priority = :priority AND status IN ('PENDING','PAUSED')"
    " AND claim_rank = 0 AND (not_before IS NULL OR not_before <= :now) LIMIT :limit)"
)
_COMPLETE = (
    "UPDATE queue SET status = 'COMPLETED', completed_at = ?, updated_at = ?, last_error = NULL,"
    " lease_owner = NULL, lease_expires_at = NULL, not_before = NULL, active = NULL"  # migration 8: no longer active
)


class QueueStore(QueueActions, QueueReads):
    def __init__(
        self, db: Database, *, clock: Clock | None = None, instance_id: str | None = None, max_attempts: int = 3
    ) -> None:
        self.db = db
        self.clock = clock or SystemClock()
        self.instance_id = instance_id or new_instance_id()
        self.max_attempts = max_attempts
        self._claim_seq = itertools.count(1)
        self._complete_rows = self._complete_rows_sync  # one bound method: the coalescing key
        # Set by a backend whose queue lives elsewhere (Supabase): rows added here wait, unclaimable,
        # until the backend has forwarded them to their home (core/backends/supabase_mirror.py).
        self.new_rows_not_before: str | None = None

    # ----------------------------------------------------------------- claim and lease (Q4, Q7)
    async def claim(self, priority: Priority, limit: int, lease_seconds: float) -> list[QueueItem]:
        """Atomically take up to ``limit`` items of one priority; LOW only when no HIGH waits."""
        if limit <= 0:
            return []
        now = self.clock.now()
        owner = f"{self.instance_id}:{next(self._claim_seq)}"
        return await self.db.write(
            self._claim_sync,
            Priority(priority).value,
            limit,
            owner,
            to_iso(now),
            to_iso(now + timedelta(seconds=lease_seconds)),
        )

    @staticmethod
    def _claim_sync(
        conn: sqlite3.Connection, priority: str, limit: int, owner: str, now: str, expires: str
    ) -> list[QueueItem]:
        guard = ""
        if priority == "LOW":
            guard = f" AND NOT EXISTS (SELECT 1 FROM queue WHERE {_CLAIMABLE_HIGH})"
        params = {"owner": owner, "expires": expires, "now": now, "limit": limit, "priority": priority}
        # PAUSED rows sort first (claim_rank 0), so the claim takes min(paused, claimed) of them:
        # counted before the UPDATE, through the claim index, for the counts (migration 7).
        paused = conn.execute(_PAUSED_CLAIMABLE, params).fetchone()[0]
        rows = conn.execute(
            "UPDATE queue SET status = 'PROCESSING', lease_owner = :owner || ':' || id,"
            " lease_expires_at = :expires, attempts = attempts + 1, updated_at = :now"
            f" WHERE id IN (SELECT id FROM queue WHERE priority = :priority AND {_CLAIMABLE}{guard}"
            " ORDER BY claim_rank, id LIMIT :limit)"
            f" RETURNING {ITEM_COLUMNS}",
            params,
        ).fetchall()
        if rows:
            paused = min(paused, len(rows))
            move_counts_sync(
                conn,
                ((priority, "PAUSED", "PROCESSING", paused), (priority, "PENDING", "PROCESSING", len(rows) - paused)),
            )
        return sorted(rows_to_items(rows), key=lambda i: i.id)

    async def claim_next(self, high: int, low: int, total: int, lease_seconds: float) -> tuple[list[QueueItem], bool]:
        """The dispatcher's one round trip: claim up to ``high`` HIGH items, then LOW items (up to
        ``low``, and ``total`` in all) unless HIGH work still waits. Returns the items and whether
        HIGH work waits — which tells running LOW items to yield (docs/queue.md, "Priority")."""
        now = self.clock.now()
        owner = f"{self.instance_id}:{next(self._claim_seq)}"
        return await self.db.write(
            self._claim_next_sync,
            max(0, high),
            max(0, low),
            max(0, total),
            owner,
            to_iso(now),
            to_iso(now + timedelta(seconds=lease_seconds)),
        )

    @classmethod
    def _claim_next_sync(
        cls, conn: sqlite3.Connection, high: int, low: int, total: int, owner: str, now: str, expires: str
    ) -> tuple[list[QueueItem], bool]:
        items = cls._claim_sync(conn, "HIGH", min(high, total), owner, now, expires) if high and total else []
        waiting = (
            conn.execute(f"SELECT EXISTS (SELECT 1 FROM queue WHERE {_CLAIMABLE_HIGH})", {"now": now}).fetchone()[0]
            == 1
        )
        low = min(low, total - len(items))
        if low > 0 and not waiting:
            items += cls._claim_sync(conn, "LOW", low, owner, now, expires)
        return items, waiting

    async def high_waiting(self) -> bool:
        """Is any HIGH item claimable right now? (LOW work yields to it, docs/queue.md, "Priority".)"""
        now = self._now()
        return await self.db.read(
            lambda c: (
                c.execute(f"SELECT EXISTS (SELECT 1 FROM queue WHERE {_CLAIMABLE_HIGH})", {"now": now}).fetchone()[0]
                == 1
            )
        )

    async def heartbeat(self, leases: Sequence[tuple[int, str]], lease_seconds: float) -> set[int]:
        """Renew leases; returns the ids still owned (the others were lost). The engine renews
        through the one :class:`~viralspot_tui.core.lease_keeper.LeaseKeeper` instead; this is
        the same statement for a caller holding only queue items (see docs/leases.md)."""
        if not leases:
            return set()
        now = self.clock.now()
        expires = to_iso(now + timedelta(seconds=lease_seconds)) or ""
        entries = [(Lease(QUEUE, item_id, owner), expires) for item_id, owner in leases]
        kept = await self.db.write(renew_sync, entries, to_iso(now))
        return {lease.row_id for lease in kept}

    # ----------------------------------------------------------------- outcomes (fenced)
    @staticmethod
    def complete_sync(conn: sqlite3.Connection, item_id: int, owner: str, now: str) -> None:
        """Complete inside a caller's transaction (the pipeline's store step), or raise LeaseLost."""
        row = conn.execute(
            _COMPLETE + " WHERE id = ? AND lease_owner = ? AND status = 'PROCESSING' RETURNING priority",
            (now, now, item_id, owner),
        ).fetchone()
        if row is None:
            raise LeaseLost(f"item {item_id}: lease {owner} is no longer current")
        move_counts_sync(conn, ((row[0], "PROCESSING", "COMPLETED", 1),))

    async def complete(self, item: QueueItem) -> None:
        """Complete one item, or raise LeaseLost. Completions submitted together (concurrent
        items finishing in one loop iteration) share one write and one timestamp."""
        await self.db.submit_coalesced(self._complete_rows, (item.id, item.lease_owner))

    def _complete_rows_sync(self, conn: sqlite3.Connection, leases: list[tuple[int, str | None]]) -> list[Any]:
        now = self._now()  # once per flush, on the database thread
        done = set(self._complete_many_sync(conn, leases, now))
        return [
            None if item_id in done else LeaseLost(f"item {item_id}: lease {owner} is no longer current")
            for item_id, owner in leases
        ]

    async def complete_many(self, items: Sequence[QueueItem]) -> list[int]:
        """Complete a batch in one statement and one round trip; each row is still fenced by its
        own lease owner. Returns the ids completed (the others were lost)."""
        if not items:
            return []
        return await self.db.write(self._complete_many_sync, [(i.id, i.lease_owner) for i in items], self._now())

    @staticmethod
    def _complete_many_sync(conn: sqlite3.Connection, leases: list[tuple[int, str | None]], now: str) -> list[int]:
        """One ``UPDATE`` for the whole batch: the (id, lease owner) pairs travel as one JSON
        array, so a flush of 128 completions costs one statement, not 128 (docs/queue.md)."""
        if len(leases) == 1:  # the common case of a quiet queue: no JSON to build
            item_id, owner = leases[0]
            rows = conn.execute(
                _COMPLETE + " WHERE id = ? AND lease_owner = ? AND status = 'PROCESSING' RETURNING id, priority",
                (now, now, item_id, owner or ""),
            ).fetchall()
        else:
            rows = conn.execute(
                _COMPLETE + " WHERE status = 'PROCESSING' AND (id, lease_owner) IN"
                " (SELECT json_extract(value, '$[0]'), json_extract(value, '$[1]') FROM json_each(?))"
                " RETURNING id, priority",
                (now, now, json.dumps([(item_id, owner or "") for item_id, owner in leases])),
            ).fetchall()
        move_counts_sync(conn, group_moves((r[1] for r in rows), "PROCESSING", "COMPLETED"))
        return [r[0] for r in rows]

    async def fail(self, item: QueueItem, error: str, *, permanent: bool, retry_at: datetime | None = None) -> Status:
        """Record a failed attempt: FAILED if permanent or out of attempts, else PENDING later."""
        return await self.db.write(
            self._fail_sync, item.id, item.lease_owner, redact(error)[:2000], permanent, to_iso(retry_at), self._now()
        )

    @staticmethod
    def _fail_sync(
        conn: sqlite3.Connection, item_id: int, owner: str, error: str, permanent: bool, retry_at: str | None, now: str
    ) -> Status:
        row = conn.execute(
            "SELECT attempts, max_attempts, priority FROM queue WHERE id = ? AND lease_owner = ? AND status = 'PROCESSING'",
            (item_id, owner),
        ).fetchone()
        if row is None:
            raise LeaseLost(f"item {item_id}: lease {owner} is no longer current")
        final = permanent or row[0] >= row[1]
        status = Status.FAILED if final else Status.PENDING
        conn.execute(
            "UPDATE queue SET status = ?, active = ?, last_error = ?, not_before = ?, updated_at = ?,"
            " lease_owner = NULL, lease_expires_at = NULL WHERE id = ?",
            (status.value, None if final else 1, error, None if final else retry_at, now, item_id),
        )
        move_counts_sync(conn, ((row[2], "PROCESSING", status.value, 1),))
        return status

    async def release(
        self,
        item: QueueItem,
        *,
        status: Status = Status.PENDING,
        not_before: datetime | None = None,
        note: str | None = None,
    ) -> None:
        """Hand an item back without charging the attempt (shutdown, pre-emption, parked quota)."""
        if status not in (Status.PENDING, Status.PAUSED):
            raise ValueError("release only returns items to PENDING or PAUSED")
        await self.db.write(
            self._release_sync,
            item.id,
            item.lease_owner,
            status.value,
            to_iso(not_before),
            redact(note) if note else None,
            self._now(),
        )

    @staticmethod
    def _release_sync(
        conn: sqlite3.Connection,
        item_id: int,
        owner: str,
        status: str,
        not_before: str | None,
        note: str | None,
        now: str,
    ) -> None:
        row = conn.execute(
            "UPDATE queue SET status = ?, attempts = MAX(attempts - 1, 0), not_before = ?,"
            " last_error = COALESCE(?, last_error), updated_at = ?, lease_owner = NULL, lease_expires_at = NULL"
            " WHERE id = ? AND lease_owner = ? AND status = 'PROCESSING' RETURNING priority",
            (status, not_before, note, now, item_id, owner),
        ).fetchone()
        if row is None:
            raise LeaseLost(f"item {item_id}: lease {owner} is no longer current")
        move_counts_sync(conn, ((row[0], "PROCESSING", status, 1),))

    async def sweep_expired(self) -> list[str]:
        """Return PROCESSING items whose lease expired to PENDING (a lost worker is not the item's
        fault); the queue's part of the keeper's recovery (see docs/leases.md)."""
        recovered = await self.db.write(partial(recover_sync, tables=(QUEUE,), dead=False), self._now())
        return list(recovered.get(QUEUE.name, []))

    async def release_dead_local_owners(self) -> list[str]:
        """Start-up recovery without waiting for lease expiry: items whose owner is a process on
        this machine that no longer exists (kill -9, power loss) go back to PENDING at once."""
        recovered = await self.db.write(partial(recover_sync, tables=(QUEUE,), expired=False), self._now())
        return list(recovered.get(QUEUE.name, []))
