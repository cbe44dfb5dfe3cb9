"""The one lease mechanism (docs/leases.md): fencing, one renewal trip, one recovery — for queue
items, viral ideas jobs and crawl requests alike. Real SQLite files, a FakeClock for expiry, and
a real exited child process for "an owner that died on this machine"."""

from __future__ import annotations

import asyncio
import socket
import sqlite3
import subprocess
import sys
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from viralspot_tui.core.clock import FakeClock, to_iso
from viralspot_tui.core.crawler.models import CrawlOutcome, RequestStatus
from viralspot_tui.core.crawler.store import CrawlerStore
from viralspot_tui.core.lease_keeper import LeaseKeeper, Recovered
from viralspot_tui.core.models.queue import Priority, Status
from viralspot_tui.core.store.database import Database
from viralspot_tui.core.store.leases import (
    CRAWLS,
    JOBS,
    QUEUE,
    Lease,
    LeaseTable,
    claim_owner,
    fenced_update_sync,
    renew_sync,
)
from viralspot_tui.core.store.queue_store import LeaseLost, QueueStore
from viralspot_tui.core.viral.models import ContentStrategy, JobStatus
from viralspot_tui.core.viral.store import ViralStore

LEASE = 60.0


class Stores:
    def __init__(self, db: Database, clock: FakeClock) -> None:
        self.db = db
        self.clock = clock
        self.queue = QueueStore(db, clock=clock)
        self.viral = ViralStore(db, clock)
        self.crawls = CrawlerStore(db, clock, lease_seconds=LEASE)
        self.keeper = LeaseKeeper(db, clock)

    async def one_of_each(self, owner_prefix: str = "") -> tuple[Any, Any, Any, dict[str, str]]:
        """A pending item, job and crawl, claimed; returns them and their owners."""
        await self.queue.enqueue(["nasa"], Priority.HIGH)
        [item] = await self.queue.claim(Priority.HIGH, 1, LEASE)
        job = await self.viral.create_job("nasa", ["esa"], ContentStrategy(), False, 24)
        job_owner = owner_prefix + claim_owner("host:1:test", "viral")
        [job] = await self.viral.claim(job_owner, LEASE, 1)
        crawl = await self.crawls.create_request([], 3, 2)
        crawl_owner = owner_prefix + claim_owner("host:1:test", "crawler")
        crawl = await self.crawls.claim(crawl_owner)
        assert crawl is not None
        return item, job, crawl, {"job": job_owner, "crawl": crawl_owner}

    def row(self, table: str, row_id: int) -> dict[str, Any]:
        conn = sqlite3.connect(self.db.path)
        conn.row_factory = sqlite3.Row
        try:
            return dict(conn.execute(f"SELECT * FROM {table} WHERE id = ?", (row_id,)).fetchone())
        finally:
            conn.close()


@pytest.fixture
async def stores(tmp_path: Path, clock: FakeClock) -> AsyncIterator[Stores]:
    db = Database(tmp_path / "data" / "viralspot.db")
    await db.open()
    s = Stores(db, clock)
    try:
        yield s
    finally:
        await s.keeper.aclose()
        await db.close()


def _dead_pid() -> int:
    """The pid of a process that has certainly exited (reaped)."""
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


async def test_a_taken_over_lease_fences_the_old_owner_in_all_three_tables(stores: Stores) -> None:
    item, job, crawl, owners = await stores.one_of_each()
    stores.clock.advance(LEASE + 1)  # the worker went quiet: every lease expires
    recovered = await stores.keeper.recover()
    assert recovered == {QUEUE.name: ["nasa"], JOBS.name: [job.id], CRAWLS.name: [crawl.id]}
    assert stores.row("queue", item.id)["status"] == "PENDING"
    assert stores.row("queue", item.id)["attempts"] == 0  # a lost worker is not the item's fault
    assert stores.row("viral_ideas_queue", job.id)["status"] == "pending"
    assert stores.row("crawler_requests", crawl.id)["status"] == "pending"

    # Someone else claims all three; the old owner's late writes change nothing.
    [new_item] = await stores.queue.claim(Priority.HIGH, 1, LEASE)
    new_job_owner = claim_owner("host:2:other", "viral")
    assert [j.id for j in await stores.viral.claim(new_job_owner, LEASE, 1)] == [job.id]
    new_crawl_owner = claim_owner("host:2:other", "crawler")
    assert (await stores.crawls.claim(new_crawl_owner)) is not None
    before = [stores.row(t, i) for t, i in (("queue", item.id), ("viral_ideas_queue", job.id))]
    before.append(stores.row("crawler_requests", crawl.id))
    with pytest.raises(LeaseLost):
        await stores.queue.complete(item)
    assert not await stores.viral.set_progress(job.id, owners["job"], "fetching", 50)
    assert not await stores.viral.fail(job.id, owners["job"], "late")
    assert not await stores.viral.release(job.id, owners["job"])
    assert not await stores.crawls.renew(crawl.id, owners["crawl"])
    assert not await stores.crawls.finish(crawl.id, owners["crawl"], RequestStatus.FAILED, None, "late")
    assert not await stores.crawls.release(crawl.id, owners["crawl"])
    kept = await stores.db.write(
        renew_sync,
        [(Lease(QUEUE, item.id, item.lease_owner), "2099"), (Lease(JOBS, job.id, owners["job"]), "2099")],
        "2099",
    )
    assert kept == set()
    after = [stores.row(t, i) for t, i in (("queue", item.id), ("viral_ideas_queue", job.id))]
    after.append(stores.row("crawler_requests", crawl.id))
    assert after == before

    # The current owners still can.
    await stores.queue.complete(new_item)
    assert await stores.viral.fail(job.id, new_job_owner, "stopped by the test")
    assert await stores.crawls.finish(crawl.id, new_crawl_owner, RequestStatus.COMPLETED, CrawlOutcome.TARGET_REACHED)
    assert (await stores.queue.get("nasa")).status is Status.COMPLETED  # type: ignore[union-attr]
    assert (await stores.viral.get_job(job.id)).status is JobStatus.FAILED  # type: ignore[union-attr]
    assert (await stores.crawls.get_request(crawl.id)).status is RequestStatus.COMPLETED  # type: ignore[union-attr]


async def test_one_heartbeat_trip_renews_every_lease_of_every_holder(stores: Stores) -> None:
    item, job, crawl, owners = await stores.one_of_each()
    leases = [
        Lease(QUEUE, item.id, item.lease_owner),
        Lease(JOBS, job.id, owners["job"]),
        Lease(CRAWLS, crawl.id, owners["crawl"]),
    ]
    stores.keeper.register("queue", lambda: leases[:1], lease_seconds=LEASE)
    stores.keeper.register("work", lambda: leases[1:], lease_seconds=2 * LEASE)
    stores.clock.advance(50)
    writes = stores.db.writes
    assert await stores.keeper.beat() == []
    assert stores.db.writes == writes + 1  # one round trip for all three tables (the database counts them)
    now = stores.clock.now()
    expiry = {
        "queue": stores.row("queue", item.id)["lease_expires_at"],
        "job": stores.row("viral_ideas_queue", job.id)["lease_expires_at"],
        "crawl": stores.row("crawler_requests", crawl.id)["lease_expires_at"],
    }
    assert expiry == {
        "queue": to_iso(now + timedelta(seconds=LEASE)),
        "job": to_iso(now + timedelta(seconds=2 * LEASE)),
        "crawl": to_iso(now + timedelta(seconds=2 * LEASE)),
    }
    stores.clock.advance(LEASE - 1)  # past the first lease as claimed, within the renewed one
    assert await stores.keeper.recover() == {}


async def test_a_lost_lease_is_reported_once_and_finished_work_is_not(stores: Stores) -> None:
    item, job, crawl, owners = await stores.one_of_each()
    held = {Lease(JOBS, job.id, owners["job"]), Lease(CRAWLS, crawl.id, owners["crawl"])}
    lost: list[Lease] = []
    holder = stores.keeper.register(
        "work", lambda: sorted(held, key=lambda x: x.table.name), lease_seconds=LEASE, on_lost=lost.append
    )
    # An operator removes the crawl; the job finishes normally (its lease is released with it).
    await stores.db.write(lambda c: c.execute("DELETE FROM crawler_requests WHERE id = ?", (crawl.id,)))
    assert await stores.viral.release(job.id, owners["job"])
    held.discard(Lease(JOBS, job.id, owners["job"]))
    assert await stores.keeper.beat() == [Lease(CRAWLS, crawl.id, owners["crawl"])]
    assert lost == [Lease(CRAWLS, crawl.id, owners["crawl"])]
    assert holder.is_lost(Lease(CRAWLS, crawl.id, owners["crawl"]))
    assert not holder.is_lost(Lease(JOBS, job.id, owners["job"]))


async def test_a_dead_owners_job_and_crawl_are_recovered_before_their_leases_expire(stores: Stores) -> None:
    host = socket.gethostname()
    dead = f"{host}:{_dead_pid()}:deadbeef:"
    _, job, crawl, _ = await stores.one_of_each(owner_prefix=dead)
    # A live owner on this host (this very process) and an owner on another machine keep theirs.
    live_job = await stores.viral.create_job("esa", ["nasa"], ContentStrategy(), False, 24)
    await stores.viral.claim(claim_owner(f"{host}:1:live", "viral"), LEASE, 1, job_id=live_job.id)
    remote = await stores.crawls.create_request([], 3, 2)
    await stores.crawls.claim(f"elsewhere:{_dead_pid()}:cafe:crawler:1", request_id=remote.id)
    seen: list[Recovered] = []
    stores.keeper.register("engine", lambda: (), lease_seconds=LEASE, on_recovered=seen.append)

    recovered = await stores.keeper.recover()  # no clock advance: nothing has expired
    assert recovered == {JOBS.name: [job.id], CRAWLS.name: [crawl.id]}
    assert seen == [recovered]
    assert stores.row("viral_ideas_queue", job.id)["status"] == "pending"
    assert stores.row("viral_ideas_queue", job.id)["lease_owner"] is None
    assert stores.row("crawler_requests", crawl.id)["status"] == "pending"
    assert stores.row("viral_ideas_queue", live_job.id)["status"] == "processing"
    assert stores.row("crawler_requests", remote.id)["status"] == "running"
    # The queue item was claimed by this (live) process: untouched.
    assert stores.row("queue", 1)["status"] == "PROCESSING"
    assert await stores.keeper.recover() == {}


async def test_the_keeper_loop_renews_on_its_own_and_stops_with_its_last_holder(stores: Stores) -> None:
    _, job, _, owners = await stores.one_of_each()
    claimed = stores.row("viral_ideas_queue", job.id)["lease_expires_at"]
    stores.clock.advance(2 * LEASE)  # so that a renewal moves the expiry forward
    holder = stores.keeper.register("job", lambda: (Lease(JOBS, job.id, owners["job"]),), lease_seconds=0.3)
    for _ in range(200):  # beats every 0.1 s of real time
        if stores.row("viral_ideas_queue", job.id)["lease_expires_at"] != claimed:
            break
        await asyncio.sleep(0.02)
    assert stores.row("viral_ideas_queue", job.id)["lease_expires_at"] > claimed
    task = stores.keeper._task
    holder.close()
    await asyncio.sleep(0)
    assert task is not None and (task.cancelled() or task.done())


async def test_only_the_three_lease_tables_reach_sql(stores: Stores) -> None:
    rogue = LeaseTable("queue; DROP TABLE queue", "lease_owner", "1", "status = 'PENDING'", "id")
    with pytest.raises(ValueError, match="not a lease table"):
        await stores.db.write(renew_sync, [(Lease(rogue, 1, "x"), "2099")], "2099")
    with pytest.raises(ValueError, match="not a lease table"):
        await stores.db.write(fenced_update_sync, rogue, 1, "x", "2099", "status = 'PENDING'")
    conn = sqlite3.connect(stores.db.path)
    try:
        assert conn.execute("SELECT COUNT(*) FROM queue").fetchone() == (0,)  # still there
    finally:
        conn.close()
