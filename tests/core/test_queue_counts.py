"""The queue's counts table (migration 2) stays equal to a full count through every change.

A seeded random walk over the store's real operations (enqueue, upgrade, claim, complete,
fail, release, pause, bump, retry, remove, lease expiry); after each step the trigger-kept
counts must equal ``GROUP BY`` over the rows, in the same transaction's aftermath.
"""

from __future__ import annotations

import random
import re
import sqlite3

from viralspot_tui.core.clock import FakeClock
from viralspot_tui.core.models.queue import Priority, Status
from viralspot_tui.core.store.database import Database
from viralspot_tui.core.store.queue_store import ItemNotFound, LeaseLost, QueueStore

NAMES = [f"user{i}" for i in range(12)]


def _full_count(conn: sqlite3.Connection) -> dict[tuple[Priority, Status], int]:
    rows = conn.execute("SELECT priority, status, COUNT(*) FROM queue GROUP BY priority, status").fetchall()
    return {(Priority(p), Status(s)): n for p, s, n in rows}


async def test_counts_follow_every_operation(db: Database, store: QueueStore, clock: FakeClock) -> None:
    rng = random.Random(17)
    held = []
    for _ in range(400):
        op = rng.choice(["add", "add", "claim", "complete", "fail", "release", "bump", "retry", "remove", "expire"])
        try:
            if op == "add":
                await store.enqueue(rng.sample(NAMES, 3), rng.choice([Priority.HIGH, Priority.LOW]))
            elif op == "claim":
                items, _ = await store.claim_next(3, 3, 4, lease_seconds=30)
                held += items
            elif op == "complete" and held:
                await store.complete_many([held.pop(rng.randrange(len(held)))])
            elif op == "fail" and held:
                await store.fail(held.pop(rng.randrange(len(held))), "boom", permanent=rng.random() < 0.5)
            elif op == "release" and held:
                item = held.pop(rng.randrange(len(held)))
                await store.release(item, status=rng.choice([Status.PENDING, Status.PAUSED]))
            elif op == "bump":
                await store.bump(rng.choice(NAMES), rng.choice([Priority.HIGH, Priority.LOW]))
            elif op == "retry":
                await store.retry(rng.choice([None, rng.choice(NAMES)]))
            elif op == "remove":
                await store.remove(rng.choice(NAMES))
            elif op == "expire":
                clock.advance(31)
                await store.sweep_expired()
        except (ItemNotFound, LeaseLost):
            pass
        assert await store.counts() == await db.read(_full_count), op
    assert sum((await store.counts()).values()) == await db.read(
        lambda c: c.execute("SELECT COUNT(*) FROM queue").fetchone()[0]
    )


async def test_console_view_reads_counts_and_board_in_one_round_trip(store: QueueStore) -> None:
    await store.enqueue(["a1", "a2"], Priority.HIGH)
    await store.enqueue(["b1"], Priority.LOW)
    [running] = await store.claim(Priority.HIGH, 1, 30)
    counts, board = await store.console_view(limit=10)
    assert counts == {
        (Priority.HIGH, Status.PROCESSING): 1,
        (Priority.HIGH, Status.PENDING): 1,
        (Priority.LOW, Status.PENDING): 1,
    }
    assert [i.username for i in board] == [running.username, "a2", "b1"]


async def test_the_console_reads_never_scan_the_queue_table(db: Database, store: QueueStore) -> None:
    """The snapshot's cost must not grow with the queue: every part reads through an index."""
    await store.enqueue([f"n{i}" for i in range(50)])
    plans = await db.read(
        lambda c: [
            row[3]
            for sql, params in ((QueueStore._board_sql(), {"lim": 40}), ("SELECT * FROM queue_counts", {}))
            for row in c.execute("EXPLAIN QUERY PLAN " + sql, params)
        ]
    )
    scans = [p for p in plans if re.match(r"SCAN queue\b", p) and "INDEX" not in p]
    assert not scans, plans
