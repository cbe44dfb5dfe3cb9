"""Checkpoint saves of concurrent items join into one write per loop iteration, in order
(core/store/checkpoints.py, docs/performance-client-cpu.md)."""

from __future__ import annotations

import asyncio

from viralspot_tui.core.store.checkpoints import CheckpointStore, clear_sync
from viralspot_tui.core.store.database import Database


async def test_saves_queued_together_are_one_write_op_and_all_land(db: Database) -> None:
    store = CheckpointStore(db)
    writes = db.writes
    saves = [store.save_text_queued(f"queue:{i}", "profile", f'{{"n":{i}}}') for i in range(5)]
    saves.append(store.save_queued("queue:0", "reels:1", {"reels": [], "next_token": None}))
    await asyncio.gather(*saves)
    assert db.writes - writes == 1  # six saves, one coalesced write on the database thread
    loaded = await store.load_many([f"queue:{i}" for i in range(5)])
    assert loaded["queue:3"] == {"profile": {"n": 3}}
    assert loaded["queue:0"] == {"profile": {"n": 0}, "reels:1": {"reels": [], "next_token": None}}


async def test_a_write_queued_after_the_saves_lands_after_them(db: Database) -> None:
    """The final store clears the checkpoints in its own transaction: it must see them first."""
    store = CheckpointStore(db)
    save = store.save_text_queued("queue:7", "profile", '{"n":1}')
    again = store.save_text_queued("queue:7", "profile", '{"n":2}')  # an upsert: the later one wins
    cleared = db.submit(clear_sync, "queue:7")
    await asyncio.gather(save, again)
    assert await cleared == 1
    assert await store.load("queue:7") == {}


async def test_saves_in_separate_iterations_are_kept_apart_and_the_last_wins(db: Database) -> None:
    store = CheckpointStore(db)
    await store.save_text_queued("queue:9", "similar", '{"accounts":[]}')
    await store.save_text_queued("queue:9", "similar", '{"accounts":[{"username":"a"}]}')
    assert await store.load("queue:9") == {"similar": {"accounts": [{"username": "a"}]}}


# Deferred saves: nobody waits for a checkpoint until the item is stored, so a save waits for
# company instead of costing a commit of its own (core/store/database.py, submit_coalesced).


async def test_a_deferred_save_waits_for_the_next_write_and_shares_its_commit(db: Database) -> None:
    store = CheckpointStore(db)
    db.defer_seconds = 60.0  # no timer flush within the test: only company or an await hands it over
    flushes, commits = db.flushes, db.commits
    save = store.save_text_queued("queue:1", "profile", '{"n":1}')
    for _ in range(3):
        await asyncio.sleep(0)
    assert db.flushes == flushes  # still collecting, several loop iterations later
    cleared = db.submit(clear_sync, "queue:2")  # a write someone waits for: flushed this iteration
    assert await asyncio.wait_for(cleared, 5) == 0
    await asyncio.wait_for(save, 5)
    assert (db.flushes - flushes, db.commits - commits) == (1, 1)
    assert await store.load("queue:1") == {"profile": {"n": 1}}


async def test_awaiting_a_deferred_save_hands_it_over_at_once(db: Database) -> None:
    store = CheckpointStore(db)
    db.defer_seconds = 60.0
    await asyncio.wait_for(store.save_text_queued("queue:3", "reels:1", '{"reels":[]}'), 5)
    await asyncio.wait_for(store.save("queue:3", "similar", {"accounts": []}), 5)  # save() awaits: not deferred
    assert await store.load("queue:3") == {"reels:1": {"reels": []}, "similar": {"accounts": []}}


async def test_a_read_sees_a_deferred_save_and_a_lone_one_is_flushed_by_its_timer(db: Database) -> None:
    store = CheckpointStore(db)
    db.defer_seconds = 60.0
    store.save_text_queued("queue:4", "profile", '{"n":4}')
    assert await asyncio.wait_for(store.load("queue:4"), 5) == {"profile": {"n": 4}}
    db.defer_seconds = 0.01
    flushes = db.flushes
    store.save_text_queued("queue:5", "profile", '{"n":5}')
    await asyncio.sleep(0.05)  # the timer's deadline comes first, so it has fired by now
    assert db.flushes == flushes + 1
