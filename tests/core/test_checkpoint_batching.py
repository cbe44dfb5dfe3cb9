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
