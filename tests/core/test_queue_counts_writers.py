"""Every writer of the queue table keeps ``queue_counts`` exact (migration 7).

Since migration 7 a status change is counted by the statement that makes it, not by a trigger
per row (docs/performance.md, "Where the store's time goes"). This drives each kind of write
the code base makes — enqueue and upgrade, claim (pending and paused rows, HIGH and LOW),
complete (one, a batch, coalesced, inside a caller's transaction), fail (retry later and final),
release to PENDING and PAUSED, bump, retry, remove, lease take-over (expiry and a dead local
owner), the CSV merge and the Supabase mirror's writes — and after each compares the counts
with a ``GROUP BY`` over the rows. Each step also checks migration 8's flag: ``active`` is 1
exactly on the PENDING, PROCESSING and PAUSED rows (one per name, by its unique index); no
trigger keeps it, each writer sets it.
"""

from __future__ import annotations

import asyncio
import socket
import sqlite3
import subprocess
import sys
from datetime import UTC, datetime

from viralspot_tui.core.backends.csv_format import CsvRow
from viralspot_tui.core.backends.csv_merge import merge_rows_sync
from viralspot_tui.core.backends.supabase_client import RemoteRow
from viralspot_tui.core.backends.supabase_mirror import (
    FORWARD,
    drop_lost_sync,
    forwarded_sync,
    insert_claimed_sync,
    mark_pushed_sync,
)
from viralspot_tui.core.clock import FakeClock, to_iso
from viralspot_tui.core.models.queue import Priority, Status
from viralspot_tui.core.store.database import Database
from viralspot_tui.core.store.leases import LeaseLost
from viralspot_tui.core.store.queue_store import QueueStore


def _full_count(conn: sqlite3.Connection) -> dict[tuple[Priority, Status], int]:
    rows = conn.execute("SELECT priority, status, COUNT(*) FROM queue GROUP BY priority, status").fetchall()
    return {(Priority(p), Status(s)): n for p, s, n in rows}


async def _exact(db: Database, store: QueueStore, step: str) -> None:
    table = await db.read(lambda c: c.execute("SELECT MIN(n) FROM queue_counts").fetchone()[0])
    assert table >= 0, f"{step}: a negative count"
    assert await store.counts() == await db.read(_full_count), step
    wrong = await db.read(
        lambda c: c.execute(
            "SELECT username, status, active FROM queue"
            " WHERE (CASE WHEN status IN ('PENDING','PROCESSING','PAUSED') THEN 1 END) IS NOT active"
        ).fetchall()
    )
    assert wrong == [], f"{step}: active flag out of step with the status: {[tuple(r) for r in wrong]}"


def _dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


async def test_every_writer_keeps_the_counts_exact(db: Database, store: QueueStore, clock: FakeClock) -> None:
    now = lambda: to_iso(clock.now()) or ""  # noqa: E731

    await store.enqueue([f"low{i}" for i in range(8)], Priority.LOW)
    await store.enqueue(["high0", "high1", "high2"], Priority.HIGH)
    await _exact(db, store, "enqueue")
    await store.enqueue(["low0"], Priority.HIGH)  # upgrade of a queued name
    await _exact(db, store, "upgrade")

    held = await store.claim(Priority.HIGH, 2, 30)
    await _exact(db, store, "claim HIGH")
    await store.release(held[0], status=Status.PAUSED)  # pause
    await store.release(held[1])  # requeue without charging the attempt
    await _exact(db, store, "release to PAUSED and PENDING")
    items, waiting = await store.claim_next(4, 4, 6, 30)  # resume: paused rows are claimed first
    assert waiting is False and len(items) == 6
    assert any(i.username == held[0].username for i in items)
    await _exact(db, store, "claim_next over paused and pending rows, HIGH then LOW")
    assert await store.claim(Priority.LOW, 10, 30)  # no HIGH waits: LOW is claimable
    await _exact(db, store, "claim LOW")
    await store.enqueue(["high3"], Priority.HIGH)
    assert await store.claim(Priority.LOW, 10, 30) == []  # HIGH waits: the guard claims nothing
    await _exact(db, store, "guarded LOW claim")

    running = {i.username: i for i in await store.list(Status.PROCESSING)}
    first, second, third, fourth, fifth, *rest = sorted(running.values(), key=lambda i: i.id)
    await store.complete(first)
    await _exact(db, store, "complete one")
    await asyncio.gather(store.complete(second), store.complete(third))  # coalesced into one flush
    await _exact(db, store, "coalesced completes")
    await db.write(QueueStore.complete_sync, fourth.id, fourth.lease_owner, now())  # the pipeline's step
    await _exact(db, store, "complete inside a caller's transaction")
    try:
        await store.complete(first)  # a second completion is fenced off and counts nothing
    except LeaseLost:
        pass
    await _exact(db, store, "fenced completion")
    assert await store.fail(fifth, "boom", permanent=True) == Status.FAILED
    assert await store.fail(rest[0], "flaky", permanent=False) == Status.PENDING
    await _exact(db, store, "fail, final and retried later")
    assert len(await store.complete_many(rest[1:3])) == 2
    await _exact(db, store, "complete_many")

    await store.bump(rest[3].username, Priority.LOW if rest[3].priority is Priority.HIGH else Priority.HIGH)
    await store.enqueue(["bumped"], Priority.LOW)
    await store.bump("bumped", Priority.HIGH)  # a pending row changes priority
    await _exact(db, store, "bump")
    assert await store.retry() == 1
    await _exact(db, store, "retry")
    assert await store.remove("bumped") == 1
    await _exact(db, store, "remove")

    await store.claim_next(5, 5, 5, 30)
    clock.advance(31)
    assert await store.sweep_expired()
    await _exact(db, store, "lease take-over after expiry")
    dead = QueueStore(db, clock=clock, instance_id=f"{socket.gethostname()}:{_dead_pid()}:gone")
    assert await dead.claim_next(5, 5, 5, 300)
    assert await store.release_dead_local_owners()
    await _exact(db, store, "lease take-over from a dead local process")

    stamp = datetime(2026, 1, 1, tzinfo=UTC)
    csv_rows = [
        (2, CsvRow(username="csv_new", priority=Priority.HIGH)),
        (3, CsvRow(username="csv_done", status=Status.COMPLETED, timestamp=stamp)),
        (4, CsvRow(username="csv_failed", status=Status.FAILED, attempts=3, error_message="x")),
        (5, CsvRow(username="high2", priority=Priority.HIGH)),
    ]
    await db.write(merge_rows_sync, csv_rows, now(), 3)
    await _exact(db, store, "CSV import")
    edited = [(2, CsvRow(username="csv_new", priority=Priority.LOW)), (3, CsvRow(username="csv_done"))]
    await db.write(merge_rows_sync, edited, now(), 3)  # a priority edit and a re-queue of a finished row
    await _exact(db, store, "CSV edits")

    remote = [
        RemoteRow(id="r1", username="remote_one", priority="HIGH", status="PROCESSING", lease_token="t1", attempts=1),
        RemoteRow(id="r2", username="low1", priority="HIGH", status="PROCESSING", lease_token="t2", attempts=1),
    ]
    await db.write(insert_claimed_sync, remote, now())
    await _exact(db, store, "Supabase mirror: claimed rows mirrored")
    mirrored = await db.read(lambda c: [r[0] for r in c.execute("SELECT local_id FROM supabase_mirror")])
    await db.write(mark_pushed_sync, mirrored[:1], mirrored[:1])
    await _exact(db, store, "Supabase mirror: pushed and parked")
    await db.write(drop_lost_sync, ["t2"])
    await _exact(db, store, "Supabase mirror: lost lease dropped")
    store.new_rows_not_before = FORWARD
    await store.enqueue(["crawled_one"], Priority.LOW, source="crawler")
    forward = await db.read(
        lambda c: [r[0] for r in c.execute("SELECT id FROM queue WHERE not_before = ?", (FORWARD,))]
    )
    await db.write(forwarded_sync, forward)
    await _exact(db, store, "Supabase mirror: forwarded rows parked")
