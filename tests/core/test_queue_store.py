"""The durable priority queue on a real SQLite file (docs/queue.md, "Item", Q3, Q4, Q6, Q7, Q11)."""

from __future__ import annotations

import asyncio
import shutil
import sqlite3
import tempfile
from datetime import timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import Bundle, RuleBasedStateMachine, initialize, invariant, multiple, rule

from viralspot_tui.core.clock import FakeClock, to_iso
from viralspot_tui.core.models.queue import EnqueueOutcome, Priority, QueueItem, Status
from viralspot_tui.core.models.usernames import InvalidUsername
from viralspot_tui.core.store.database import Database
from viralspot_tui.core.store.queue_store import ItemNotFound, LeaseLost, QueueStore

HIGH, LOW = Priority.HIGH, Priority.LOW
LEASE = 60.0


async def rows(
    db: Database,
    sql: str = "SELECT id, username, priority, status, attempts, lease_owner FROM queue ORDER BY id",
    *params: object,
) -> list[tuple]:
    return await db.read(lambda c: [tuple(r) for r in c.execute(sql, params).fetchall()])


async def claim_one(store: QueueStore, priority: Priority = HIGH) -> QueueItem:
    items = await store.claim(priority, 1, LEASE)
    assert len(items) == 1, items
    return items[0]


# --------------------------------------------------------------------------- enqueue (Q2, Q3)


async def test_enqueue_adds_a_pending_item_with_all_fields(store: QueueStore, clock: FakeClock) -> None:
    [result] = await store.enqueue(["@NatGeo"], HIGH, source="api", request_id="req-1")
    assert result.outcome is EnqueueOutcome.ADDED
    assert result.username == "natgeo"
    item = await store.get("natgeo")
    assert item is not None and item.id == result.item_id
    assert (item.priority, item.status, item.source, item.attempts, item.max_attempts) == (
        HIGH,
        Status.PENDING,
        "api",
        0,
        3,
    )
    assert item.request_id == "req-1"
    assert item.created_at == clock.now() and item.created_at.tzinfo is not None
    assert item.lease_owner is None and item.not_before is None and item.completed_at is None


async def test_enqueue_same_priority_is_idempotent(store: QueueStore, db: Database) -> None:
    [first] = await store.enqueue(["nasa"], LOW)
    [second] = await store.enqueue(["NASA"], LOW)
    [third] = await store.enqueue(["https://www.instagram.com/nasa/"], LOW)
    assert first.outcome is EnqueueOutcome.ADDED
    assert second.outcome is EnqueueOutcome.ALREADY_QUEUED and third.outcome is EnqueueOutcome.ALREADY_QUEUED
    assert second.item_id == first.item_id
    assert "nothing changed" in second.describe()
    assert len(await rows(db)) == 1


async def test_enqueue_duplicates_in_one_call_make_one_row(store: QueueStore, db: Database) -> None:
    results = await store.enqueue(["nasa", "@nasa", "NASA"], HIGH)
    assert [r.outcome for r in results] == [EnqueueOutcome.ADDED]
    assert len(await rows(db)) == 1


async def test_enqueue_higher_priority_upgrades(store: QueueStore, db: Database) -> None:
    [low] = await store.enqueue(["nasa"], LOW)
    [up] = await store.enqueue(["nasa"], HIGH)
    assert up.outcome is EnqueueOutcome.UPGRADED and up.priority is HIGH and up.item_id == low.item_id
    assert [(r[2], r[3]) for r in await rows(db)] == [("HIGH", "PENDING")]


async def test_enqueue_lower_priority_is_a_no_op(store: QueueStore, db: Database) -> None:
    await store.enqueue(["nasa"], HIGH)
    [down] = await store.enqueue(["nasa"], LOW)
    assert down.outcome is EnqueueOutcome.ALREADY_QUEUED and down.priority is HIGH
    assert [(r[2], r[3]) for r in await rows(db)] == [("HIGH", "PENDING")]


async def test_enqueue_of_a_running_item_does_not_add_a_second_row(store: QueueStore, db: Database) -> None:
    await store.enqueue(["nasa"], LOW)
    item = await claim_one(store, LOW)
    [again] = await store.enqueue(["nasa"], LOW)
    assert again.outcome is EnqueueOutcome.ALREADY_QUEUED and again.item_id == item.id
    assert len(await rows(db)) == 1


async def test_only_unknown_enqueue_skips_names_known_in_any_status(store: QueueStore, db: Database) -> None:
    """The crawler's enqueue (C3): a name that finished or failed since its dedup read, or was
    scraped, is not queued again; the check runs in the insert's own transaction."""
    await store.enqueue(["done.one", "failed.one"], HIGH)
    await store.complete(await claim_one(store))
    await store.fail(await claim_one(store), "HTTP 404", permanent=True)
    await db.write(
        lambda c: c.execute(
            "INSERT INTO primary_profiles (username, first_scraped_at, last_scraped_at)"
            " VALUES ('scraped.one', 'x', 'x')"
        )
    )
    results = await store.enqueue(
        ["done.one", "failed.one", "scraped.one", "fresh.one"], LOW, source="crawler", only_unknown=True
    )
    assert [r.outcome for r in results] == [EnqueueOutcome.ALREADY_QUEUED] * 3 + [EnqueueOutcome.ADDED]
    assert [(r[1], r[3]) for r in await rows(db)] == [
        ("done.one", "COMPLETED"),
        ("failed.one", "FAILED"),
        ("fresh.one", "PENDING"),
    ]


async def test_completed_name_is_requeued_as_refresh(store: QueueStore, db: Database) -> None:
    await store.enqueue(["nasa"], HIGH)
    await store.complete(await claim_one(store))
    [again] = await store.enqueue(["nasa"], LOW)
    assert again.outcome is EnqueueOutcome.REFRESHED
    assert [(r[1], r[3]) for r in await rows(db)] == [("nasa", "COMPLETED"), ("nasa", "PENDING")]
    current = await store.get("nasa")
    assert current is not None and current.status is Status.PENDING and current.id == again.item_id


async def test_invalid_names_are_refused_before_anything_is_written(store: QueueStore, db: Database) -> None:
    with pytest.raises(InvalidUsername):
        await store.enqueue(["good_one", "x'; DROP TABLE queue;--"], HIGH)
    with pytest.raises(InvalidUsername):
        await store.enqueue(['=HYPERLINK("http://x")'], HIGH)
    assert await rows(db) == []
    tables = await db.read(lambda c: [r[0] for r in c.execute("SELECT name FROM sqlite_master WHERE type='table'")])
    assert "queue" in tables


async def test_unique_partial_index_refuses_two_active_rows_even_via_raw_sql(store: QueueStore, db: Database) -> None:
    await store.enqueue(["nasa"], LOW)
    now = to_iso(store.clock.now())

    def insert(conn: sqlite3.Connection, status: str) -> None:
        conn.execute(
            "INSERT INTO queue (username, priority, status, source, created_at, updated_at)"
            " VALUES ('nasa', 'HIGH', ?, 'manual', ?, ?)",
            (status, now, now),
        )

    for status in ("PENDING", "PROCESSING", "PAUSED"):
        with pytest.raises(sqlite3.IntegrityError):
            await db.write(insert, status)
    # Inactive history rows are allowed next to the active one.
    await db.write(insert, "COMPLETED")
    await db.write(insert, "FAILED")
    active = await rows(
        db, "SELECT COUNT(*) FROM queue WHERE username='nasa' AND status IN ('PENDING','PROCESSING','PAUSED')"
    )
    assert active == [(1,)]


# --------------------------------------------------------------------------- claim order (Q4)


async def test_claim_returns_high_before_low_and_fifo_within_priority(store: QueueStore) -> None:
    await store.enqueue(["low1", "low2"], LOW)
    await store.enqueue(["high1", "high2", "high3"], HIGH)
    await store.enqueue(["low3"], LOW)
    await store.enqueue(["high4"], HIGH)
    first = await store.claim(HIGH, 2, LEASE)
    assert [i.username for i in first] == ["high1", "high2"]
    assert all(i.status is Status.PROCESSING and i.attempts == 1 for i in first)
    second = await store.claim(HIGH, 10, LEASE)
    assert [i.username for i in second] == ["high3", "high4"]
    assert await store.claim(HIGH, 5, LEASE) == []
    lows = await store.claim(LOW, 10, LEASE)
    assert [i.username for i in lows] == ["low1", "low2", "low3"]


async def test_low_claim_yields_while_a_claimable_high_exists(store: QueueStore, clock: FakeClock) -> None:
    await store.enqueue(["low1", "low2"], LOW)
    await store.enqueue(["high1"], HIGH)
    assert await store.high_waiting()
    assert await store.claim(LOW, 5, LEASE) == []
    high = await claim_one(store, HIGH)
    # The HIGH item is running, not waiting: LOW work may start now.
    assert not await store.high_waiting()
    assert [i.username for i in await store.claim(LOW, 1, LEASE)] == ["low1"]
    # A transient failure puts the HIGH item back with a future not_before: LOW still runs.
    assert (
        await store.fail(high, "timeout", permanent=False, retry_at=clock.now() + timedelta(seconds=30))
        is Status.PENDING
    )
    assert not await store.high_waiting()
    assert [i.username for i in await store.claim(LOW, 1, LEASE)] == ["low2"]
    # Once the retry time passes the HIGH item is claimable again and LOW yields.
    await store.enqueue(["low3"], LOW)
    clock.advance(31)
    assert await store.high_waiting()
    assert await store.claim(LOW, 5, LEASE) == []
    assert [i.username for i in await store.claim(HIGH, 5, LEASE)] == ["high1"]
    assert [i.username for i in await store.claim(LOW, 5, LEASE)] == ["low3"]


async def test_not_before_in_the_future_is_not_claimed(store: QueueStore, clock: FakeClock) -> None:
    await store.enqueue(["nasa"], HIGH)
    item = await claim_one(store)
    await store.release(item, not_before=clock.now() + timedelta(minutes=5))
    assert await store.claim(HIGH, 5, LEASE) == []
    assert not await store.has_work_due()
    assert await store.has_work_due(within_seconds=301)
    clock.advance(minutes=5)
    assert [i.username for i in await store.claim(HIGH, 5, LEASE)] == ["nasa"]


async def test_paused_items_are_claimed_before_pending_of_same_priority(store: QueueStore) -> None:
    await store.enqueue(["a1", "a2", "a3"], LOW)
    items = await store.claim(LOW, 3, LEASE)
    by_name = {i.username: i for i in items}
    await store.release(by_name["a1"])  # back to PENDING
    await store.release(by_name["a3"], status=Status.PAUSED)  # pre-empted mid-way
    await store.release(by_name["a2"])
    await store.enqueue(["a0"], LOW)
    order = [(await claim_one(store, LOW)).username for _ in range(4)]
    assert order == ["a3", "a1", "a2", "a0"]


async def test_paused_low_does_not_jump_ahead_of_pending_high(store: QueueStore) -> None:
    await store.enqueue(["low"], LOW)
    await store.release(await claim_one(store, LOW), status=Status.PAUSED)
    await store.enqueue(["high"], HIGH)
    assert await store.claim(LOW, 1, LEASE) == []
    assert [i.username for i in await store.claim(HIGH, 1, LEASE)] == ["high"]


async def test_claim_with_zero_limit_returns_nothing(store: QueueStore) -> None:
    await store.enqueue(["nasa"], HIGH)
    assert await store.claim(HIGH, 0, LEASE) == []
    assert (await store.get("nasa")).status is Status.PENDING  # type: ignore[union-attr]


# --------------------------------------------------------------------------- leases and fencing (Q7)


async def test_heartbeat_renews_only_for_the_current_owner(store: QueueStore, clock: FakeClock) -> None:
    await store.enqueue(["nasa", "esa"], HIGH)
    a, b = await store.claim(HIGH, 2, LEASE)
    assert a.lease_owner and b.lease_owner and a.lease_owner != b.lease_owner
    assert a.lease_expires_at == clock.now() + timedelta(seconds=LEASE)
    clock.advance(50)
    kept = await store.heartbeat([(a.id, a.lease_owner), (b.id, "someone-else:1:1")], LEASE)
    assert kept == {a.id}
    renewed = await store.get_by_id(a.id)
    untouched = await store.get_by_id(b.id)
    assert renewed.lease_expires_at == clock.now() + timedelta(seconds=LEASE)  # type: ignore[union-attr]
    assert untouched.lease_expires_at == b.lease_expires_at  # type: ignore[union-attr]
    clock.advance(20)  # past b's lease, within a's renewed lease
    assert await store.sweep_expired() == ["esa"]
    assert (await store.get_by_id(a.id)).status is Status.PROCESSING  # type: ignore[union-attr]
    # b's lease is gone: its heartbeat is refused.
    assert await store.heartbeat([(b.id, b.lease_owner)], LEASE) == set()
    assert await store.heartbeat([], LEASE) == set()


async def test_sweep_requeues_expired_leases_and_fences_the_old_owner(
    store: QueueStore, db: Database, clock: FakeClock
) -> None:
    await store.enqueue(["nasa"], HIGH)
    old = await claim_one(store)
    clock.advance(LEASE - 1)
    assert await store.sweep_expired() == []
    clock.advance(2)
    assert await store.sweep_expired() == ["nasa"]
    swept = await store.get("nasa")
    assert swept.status is Status.PENDING and swept.lease_owner is None  # type: ignore[union-attr]
    assert swept.attempts == 0  # a lost worker is not the item's fault  # type: ignore[union-attr]

    new = await claim_one(store)
    assert new.id == old.id and new.lease_owner != old.lease_owner
    before = await rows(db, "SELECT * FROM queue")
    with pytest.raises(LeaseLost):
        await store.complete(old)
    with pytest.raises(LeaseLost):
        await store.fail(old, "late failure", permanent=True)
    with pytest.raises(LeaseLost):
        await store.release(old)
    with pytest.raises(LeaseLost):
        await store.release(old, status=Status.PAUSED)
    assert await store.heartbeat([(old.id, old.lease_owner)], LEASE) == set()
    assert await rows(db, "SELECT * FROM queue") == before
    # The current owner still can.
    await store.complete(new)
    assert (await store.get("nasa")).status is Status.COMPLETED  # type: ignore[union-attr]


async def test_late_answer_after_sweep_without_reclaim_changes_nothing(
    store: QueueStore, db: Database, clock: FakeClock
) -> None:
    await store.enqueue(["nasa"], HIGH)
    old = await claim_one(store)
    clock.advance(LEASE + 1)
    await store.sweep_expired()
    before = await rows(db, "SELECT * FROM queue")
    for late in (store.complete(old), store.fail(old, "x", permanent=False), store.release(old)):
        with pytest.raises(LeaseLost):
            await late
    assert await rows(db, "SELECT * FROM queue") == before


async def test_each_claim_gets_a_distinct_lease_owner(store: QueueStore, clock: FakeClock) -> None:
    await store.enqueue(["nasa"], HIGH)
    owners = set()
    for _ in range(5):
        item = await claim_one(store)
        owners.add(item.lease_owner)
        await store.release(item)
    assert len(owners) == 5
    assert all(o.startswith("host:1:test:") for o in owners)


async def test_lease_owner_is_unique_across_store_instances_on_one_database(make_db, clock: FakeClock) -> None:
    """A process that restarts (new QueueStore) must not reuse a fencing token of the previous
    one; otherwise a late answer from the old worker is accepted for the new claim (docs/queue.md, "Leases")."""
    db = await make_db()
    first = QueueStore(db, clock=clock)
    await first.enqueue(["nasa"], HIGH)
    old = await claim_one(first)
    clock.advance(LEASE + 1)
    await first.sweep_expired()
    restarted = QueueStore(db, clock=clock)
    new = await claim_one(restarted)
    assert new.lease_owner != old.lease_owner
    with pytest.raises(LeaseLost):
        await first.complete(old)
    assert (await restarted.get("nasa")).status is Status.PROCESSING  # type: ignore[union-attr]


# --------------------------------------------------------------------------- attempts and failures (Q6)


async def test_attempts_counted_at_claim_and_given_back_by_release(store: QueueStore) -> None:
    await store.enqueue(["nasa"], HIGH)
    item = await claim_one(store)
    assert item.attempts == 1
    assert (await store.get("nasa")).attempts == 1  # type: ignore[union-attr]
    await store.release(item, note="shutting down")
    released = await store.get("nasa")
    assert released.attempts == 0 and released.status is Status.PENDING  # type: ignore[union-attr]
    assert released.last_error == "shutting down"  # type: ignore[union-attr]
    with pytest.raises(ValueError):
        await store.release(await claim_one(store), status=Status.COMPLETED)


async def test_permanent_failure_fails_at_once(store: QueueStore) -> None:
    await store.enqueue(["ghost"], HIGH)
    item = await claim_one(store)
    assert await store.fail(item, "profile does not exist", permanent=True) is Status.FAILED
    failed = await store.get("ghost")
    assert failed.status is Status.FAILED and failed.attempts == 1  # type: ignore[union-attr]
    assert failed.last_error == "profile does not exist" and failed.lease_owner is None  # type: ignore[union-attr]
    assert failed.completed_at is None  # type: ignore[union-attr]
    assert await store.claim(HIGH, 5, LEASE) == []


async def test_transient_failures_retry_until_max_attempts(store: QueueStore, clock: FakeClock) -> None:
    await store.enqueue(["flaky"], HIGH)
    for attempt in (1, 2):
        item = await claim_one(store)
        assert item.attempts == attempt
        retry_at = clock.now() + timedelta(seconds=10 * attempt)
        assert await store.fail(item, f"HTTP 503 #{attempt}", permanent=False, retry_at=retry_at) is Status.PENDING
        waiting = await store.get("flaky")
        assert waiting.status is Status.PENDING and waiting.not_before == retry_at  # type: ignore[union-attr]
        assert waiting.last_error == f"HTTP 503 #{attempt}"  # type: ignore[union-attr]
        assert await store.claim(HIGH, 1, LEASE) == []
        clock.advance(10 * attempt)
    item = await claim_one(store)
    assert item.attempts == 3
    assert await store.fail(item, "HTTP 503 #3", permanent=False, retry_at=clock.now()) is Status.FAILED
    failed = await store.get("flaky")
    assert failed.status is Status.FAILED and failed.not_before is None  # type: ignore[union-attr]
    clock.advance(3600)
    assert await store.claim(HIGH, 1, LEASE) == []


async def test_max_attempts_comes_from_the_store(db: Database, clock: FakeClock) -> None:
    store = QueueStore(db, clock=clock, instance_id="x:1:y", max_attempts=1)
    await store.enqueue(["once"], HIGH)
    assert await store.fail(await claim_one(store), "timeout", permanent=False) is Status.FAILED


async def test_long_errors_are_truncated(store: QueueStore) -> None:
    await store.enqueue(["nasa"], HIGH)
    await store.fail(await claim_one(store), "e" * 10_000, permanent=True)
    assert len((await store.get("nasa")).last_error) == 2000  # type: ignore[arg-type,union-attr]


async def test_retry_one_and_all_reset_attempts(store: QueueStore) -> None:
    await store.enqueue(["a", "b", "c"], HIGH)
    for item in await store.claim(HIGH, 3, LEASE):
        await store.fail(item, "boom", permanent=True)
    assert await store.retry("A") == 1
    a = await store.get("a")
    assert (a.status, a.attempts, a.last_error, a.not_before) == (Status.PENDING, 0, None, None)  # type: ignore[union-attr]
    assert (await store.get("b")).status is Status.FAILED  # type: ignore[union-attr]
    assert await store.retry(None) == 2
    for name in ("b", "c"):
        item = await store.get(name)
        assert item.status is Status.PENDING and item.attempts == 0  # type: ignore[union-attr]
    assert await store.retry(None) == 0
    assert await store.retry("a") == 0  # nothing failed any more
    with pytest.raises(InvalidUsername):
        await store.retry("not a name!")


async def test_retry_does_not_create_a_second_active_row(store: QueueStore, db: Database) -> None:
    await store.enqueue(["nasa"], HIGH)
    await store.fail(await claim_one(store), "boom", permanent=True)
    await store.enqueue(["nasa"], LOW)  # a fresh active row beside the failed one
    assert await store.retry("nasa") == 0
    assert await store.retry(None) == 0
    active = await rows(db, "SELECT COUNT(*) FROM queue WHERE status IN ('PENDING','PROCESSING','PAUSED')")
    assert active == [(1,)]


# --------------------------------------------------------------------------- operator actions and reads


async def test_bump_changes_priority_of_the_active_item(store: QueueStore) -> None:
    await store.enqueue(["nasa"], LOW)
    bumped = await store.bump("@NASA", HIGH)
    assert bumped.priority is HIGH and bumped.status is Status.PENDING
    lowered = await store.bump("nasa", LOW)
    assert lowered.priority is LOW
    with pytest.raises(ItemNotFound):
        await store.bump("unknown", HIGH)
    with pytest.raises(InvalidUsername):
        await store.bump("bad name", HIGH)


async def test_bump_of_a_completed_name_is_not_found(store: QueueStore) -> None:
    await store.enqueue(["nasa"], LOW)
    await store.complete(await claim_one(store, LOW))
    with pytest.raises(ItemNotFound):
        await store.bump("nasa", HIGH)


async def test_remove_deletes_and_fences_a_running_item(store: QueueStore, db: Database) -> None:
    await store.enqueue(["nasa", "esa"], HIGH)
    running = await claim_one(store)
    assert running.username == "nasa"
    assert await store.remove("NASA") == 1
    assert await store.get("nasa") is None
    with pytest.raises(LeaseLost):
        await store.complete(running)
    assert [r[1] for r in await rows(db)] == ["esa"]
    assert await store.remove("nasa") == 0


async def test_counts_list_board_and_has_work_due(store: QueueStore, clock: FakeClock) -> None:
    assert await store.counts() == {}
    assert not await store.has_work_due(within_seconds=3600)
    await store.enqueue(["h1", "h2", "h3"], HIGH)
    await store.enqueue(["l1", "l2"], LOW)
    running = await claim_one(store)  # h1
    failing = await claim_one(store)  # h2
    await store.fail(failing, "boom", permanent=True)
    assert await store.counts() == {
        (HIGH, Status.PROCESSING): 1,
        (HIGH, Status.FAILED): 1,
        (HIGH, Status.PENDING): 1,
        (LOW, Status.PENDING): 2,
    }
    assert [i.username for i in await store.list()] == ["h1", "h2", "h3", "l1", "l2"]
    assert [i.username for i in await store.list(Status.PENDING)] == ["h3", "l1", "l2"]
    assert [i.username for i in await store.list(limit=2)] == ["h1", "h2"]
    board = [(i.username, i.status) for i in await store.board()]
    assert board == [
        ("h1", Status.PROCESSING),
        ("h3", Status.PENDING),
        ("l1", Status.PENDING),
        ("l2", Status.PENDING),
        ("h2", Status.FAILED),
    ]
    assert len(await store.board(limit=1)) == 4
    assert await store.has_work_due()
    await store.complete(running)
    item = await claim_one(store)  # h3
    await store.fail(item, "503", permanent=False, retry_at=clock.now() + timedelta(seconds=100))
    for low in await store.claim(LOW, 2, LEASE):
        await store.complete(low)
    assert not await store.has_work_due()
    assert not await store.has_work_due(within_seconds=99)
    assert await store.has_work_due(within_seconds=100)


# --------------------------------------------------------------------------- concurrency and group commit (Q11)


async def test_concurrent_claimers_on_two_databases_never_share_an_item(
    make_db, tmp_path: Path, clock: FakeClock
) -> None:
    path = tmp_path / "shared" / "queue.db"
    db_a, db_b = await make_db(path), await make_db(path)
    store_a = QueueStore(db_a, clock=clock, instance_id="host:1:a")
    store_b = QueueStore(db_b, clock=clock, instance_id="host:2:b")
    names = [f"user{i:03d}" for i in range(240)]
    await store_a.enqueue(names[:120], HIGH)
    await store_b.enqueue(names[120:], HIGH)
    claims = []
    for _ in range(50):
        claims.append(store_a.claim(HIGH, 3, LEASE))
        claims.append(store_b.claim(HIGH, 3, LEASE))
    batches = await asyncio.gather(*claims)
    ids = [item.id for batch in batches for item in batch]
    assert len(ids) == len(set(ids)), "an item was claimed twice"
    assert len(ids) == 240
    owners = [item.lease_owner for batch in batches for item in batch]
    assert len(owners) == len(set(owners))
    status = await rows(db_a, "SELECT status, COUNT(*) FROM queue GROUP BY status")
    assert status == [("PROCESSING", 240)]


async def test_group_commit_batches_concurrent_writes(store: QueueStore, db: Database) -> None:
    before = db.commits
    results = await asyncio.gather(*(store.enqueue([f"user{i}"], LOW) for i in range(200)))
    assert all(r[0].outcome is EnqueueOutcome.ADDED for r in results)
    commits = db.commits - before
    assert 1 <= commits < 200, commits
    assert len(await rows(db)) == 200


async def test_one_failing_write_does_not_undo_its_neighbours(store: QueueStore, db: Database) -> None:
    await store.enqueue(["stale"], HIGH)
    old = await claim_one(store)
    await store.release(old)
    fresh = await claim_one(store)
    outcomes = await asyncio.gather(
        store.enqueue(["a"], LOW), store.complete(old), store.enqueue(["b"], LOW), return_exceptions=True
    )
    assert isinstance(outcomes[1], LeaseLost)
    assert {r[1] for r in await rows(db)} == {"stale", "a", "b"}
    assert (await store.get_by_id(fresh.id)).status is Status.PROCESSING  # type: ignore[union-attr]


# --------------------------------------------------------------------------- stateful model

NAMES = ("alpha", "bravo", "charlie", "delta")
ACTIVE = ("PENDING", "PROCESSING", "PAUSED")


class QueueMachine(RuleBasedStateMachine):
    """The store against a plain-Python model of the same rules."""

    claimed = Bundle("claimed")

    def __init__(self) -> None:
        super().__init__()
        self.loop = asyncio.new_event_loop()
        self.tmp = tempfile.mkdtemp(prefix="vs-queue-machine-")
        self.clock = FakeClock()
        self.db = self.run(Database(Path(self.tmp) / "q.db").open())
        self.store = QueueStore(self.db, clock=self.clock, instance_id="m:1:x", max_attempts=3)
        self.model: dict[int, dict] = {}

    def run(self, coro):  # noqa: ANN001, ANN201
        return self.loop.run_until_complete(coro)

    def teardown(self) -> None:
        try:
            self.run(self.db.close())
        finally:
            self.loop.close()
            shutil.rmtree(self.tmp, ignore_errors=True)

    # model helpers
    def _now(self):  # noqa: ANN202
        return self.clock.now()

    def _active(self, name: str) -> dict | None:
        found = [r for r in self.model.values() if r["name"] == name and r["status"] in ACTIVE]
        assert len(found) <= 1
        return found[0] if found else None

    def _claimable(self, prio: str) -> list[tuple[int, dict]]:
        now = self._now()
        ok = [
            (i, r)
            for i, r in self.model.items()
            if r["prio"] == prio
            and r["status"] in ("PENDING", "PAUSED")
            and (r["not_before"] is None or r["not_before"] <= now)
        ]
        return sorted(ok, key=lambda p: (0 if p[1]["status"] == "PAUSED" else 1, p[0]))

    # rules
    @initialize()
    def start(self) -> None:
        assert self.run(self.store.counts()) == {}

    @rule(name=st.sampled_from(NAMES), prio=st.sampled_from([HIGH, LOW]))
    def enqueue(self, name: str, prio: Priority) -> None:
        [result] = self.run(self.store.enqueue([name], prio))
        active = self._active(name)
        if active is not None:
            if prio is HIGH and active["prio"] == "LOW":
                assert result.outcome is EnqueueOutcome.UPGRADED
                active["prio"] = "HIGH"
            else:
                assert result.outcome is EnqueueOutcome.ALREADY_QUEUED
            assert result.item_id == active["id"]
            return
        done = any(r["name"] == name and r["status"] == "COMPLETED" for r in self.model.values())
        assert result.outcome is (EnqueueOutcome.REFRESHED if done else EnqueueOutcome.ADDED)
        self.model[result.item_id] = {
            "id": result.item_id,
            "name": name,
            "prio": prio.value,
            "status": "PENDING",
            "attempts": 0,
            "not_before": None,
            "owner": None,
            "expires": None,
        }

    @rule(target=claimed, prio=st.sampled_from([HIGH, LOW]), limit=st.integers(1, 3))
    def claim(self, prio: Priority, limit: int):  # noqa: ANN201
        high_waiting = bool(self._claimable("HIGH"))
        items = self.run(self.store.claim(prio, limit, LEASE))
        if prio is LOW and high_waiting:
            assert items == [], "a LOW item was claimed while a HIGH item was claimable"
        expected = [] if (prio is LOW and high_waiting) else [i for i, _ in self._claimable(prio.value)[:limit]]
        assert sorted(i.id for i in items) == sorted(expected)
        for item in items:
            assert item.priority is prio and item.status is Status.PROCESSING
            row = self.model[item.id]
            row.update(
                status="PROCESSING",
                attempts=row["attempts"] + 1,
                owner=item.lease_owner,
                expires=self._now() + timedelta(seconds=LEASE),
                not_before=row["not_before"],
            )
            assert item.attempts == row["attempts"]
        return multiple(*items)

    def _owned(self, item: QueueItem) -> bool:
        row = self.model.get(item.id)
        return row is not None and row["status"] == "PROCESSING" and row["owner"] == item.lease_owner

    @rule(item=claimed)
    def complete(self, item: QueueItem) -> None:
        if self._owned(item):
            self.run(self.store.complete(item))
            self.model[item.id].update(status="COMPLETED", owner=None, expires=None, not_before=None)
        else:
            with pytest.raises(LeaseLost):
                self.run(self.store.complete(item))

    @rule(item=claimed, permanent=st.booleans(), delay=st.integers(0, 120))
    def fail(self, item: QueueItem, permanent: bool, delay: int) -> None:
        retry_at = self._now() + timedelta(seconds=delay)
        if not self._owned(item):
            with pytest.raises(LeaseLost):
                self.run(self.store.fail(item, "err", permanent=permanent, retry_at=retry_at))
            return
        status = self.run(self.store.fail(item, "err", permanent=permanent, retry_at=retry_at))
        row = self.model[item.id]
        final = permanent or row["attempts"] >= 3
        assert status is (Status.FAILED if final else Status.PENDING)
        row.update(status=status.value, owner=None, expires=None, not_before=None if final else retry_at)

    @rule(item=claimed, paused=st.booleans())
    def release(self, item: QueueItem, paused: bool) -> None:
        status = Status.PAUSED if paused else Status.PENDING
        if not self._owned(item):
            with pytest.raises(LeaseLost):
                self.run(self.store.release(item, status=status))
            return
        self.run(self.store.release(item, status=status))
        row = self.model[item.id]
        row.update(status=status.value, owner=None, expires=None, not_before=None, attempts=max(row["attempts"] - 1, 0))

    @rule(seconds=st.sampled_from([1, 30, 59, 61, 90, 200]))
    def advance_and_sweep(self, seconds: int) -> None:
        self.clock.advance(seconds)
        swept = self.run(self.store.sweep_expired())
        now = self._now()
        expected = []
        for row in self.model.values():
            if row["status"] == "PROCESSING" and row["expires"] < now:
                expected.append(row["name"])
                row.update(status="PENDING", owner=None, expires=None, attempts=max(row["attempts"] - 1, 0))
        assert sorted(swept) == sorted(expected)

    # invariants
    @invariant()
    def at_most_one_active_row_per_name(self) -> None:
        dupes = self.run(
            self.db.read(
                lambda c: c.execute(
                    "SELECT username, COUNT(*) FROM queue WHERE status IN ('PENDING','PROCESSING','PAUSED')"
                    " GROUP BY username HAVING COUNT(*) > 1"
                ).fetchall()
            )
        )
        assert dupes == []

    @invariant()
    def every_row_has_exactly_one_known_status_and_matches_the_model(self) -> None:
        found = self.run(
            self.db.read(
                lambda c: [
                    tuple(r)
                    for r in c.execute(
                        "SELECT id, username, priority, status, attempts, lease_owner FROM queue"
                    ).fetchall()
                ]
            )
        )
        assert {r[0] for r in found} == set(self.model)
        for id_, name, prio, status, attempts, owner in found:
            assert status in {s.value for s in Status}
            row = self.model[id_]
            assert (name, prio, status, attempts) == (row["name"], row["prio"], row["status"], row["attempts"])
            assert (owner is not None) == (status == "PROCESSING")
        counts = self.run(self.store.counts())
        assert sum(counts.values()) == len(found)


QueueMachine.TestCase.settings = settings(
    max_examples=30, stateful_step_count=30, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
TestQueueMachine = QueueMachine.TestCase


async def test_the_board_lists_running_high_items_before_running_low_ones(store: QueueStore) -> None:
    await store.enqueue(["low_first"], LOW)
    await claim_one(store, LOW)  # the LOW item started first (lower id) …
    await store.enqueue(["high_later"], HIGH)
    await claim_one(store, HIGH)  # … then a HIGH one
    assert [i.username for i in await store.board()] == ["high_later", "low_first"]
