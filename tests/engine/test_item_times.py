"""How long an item waited and ran, as the console shows it (snapshot ``timings``)."""

from __future__ import annotations

from datetime import timedelta

from testkit import FIXED_NOW, make_settings, make_sim, public_names, wait_for

from viralspot_tui.core.engine import open_engine
from viralspot_tui.core.models.queue import Priority, QueueItem, Status
from viralspot_tui.core.processors.item_times import ItemTiming, RunTimes, item_timings, oldest_high_wait


def _item(item_id: int, priority: Priority, status: Status, created_s: float, **kw) -> QueueItem:
    created = FIXED_NOW + timedelta(seconds=created_s)
    return QueueItem(
        id=item_id,
        username=f"user{item_id}",
        priority=priority,
        status=status,
        source="manual",
        created_at=created,
        updated_at=created,
        **kw,
    )


def test_waiting_is_the_life_so_far_minus_the_running_segments():
    at = lambda s: FIXED_NOW + timedelta(seconds=s)  # noqa: E731
    runs = RunTimes()
    runs.started(1, at(10))
    runs.stopped(1, at(14))  # ran 4 s, paused for HIGH work ...
    runs.started(1, at(20))  # ... and runs again, 5 s so far at t=25
    board = [
        _item(1, Priority.LOW, Status.PROCESSING, 0, attempts=1),
        _item(2, Priority.HIGH, Status.PENDING, 15),
        _item(3, Priority.HIGH, Status.PENDING, 5),
        _item(4, Priority.LOW, Status.COMPLETED, 0, attempts=1, completed_at=at(8)),  # another runner's
    ]
    timings = item_timings(board, runs.snapshot(at(25)), at(25))
    assert timings[1] == ItemTiming(waited=16.0, ran=9.0)
    assert timings[2] == ItemTiming(waited=10.0, ran=0.0)  # never claimed: it has only waited
    assert timings[4] == ItemTiming(waited=8.0, ran=None)  # ran, but not here: unknown split
    assert oldest_high_wait(board, timings) == 20.0
    assert oldest_high_wait(board[:1], timings) is None


async def test_a_finished_items_wait_and_run_add_up_to_its_life(tmp_path):
    sim = make_sim(latency_ms=5)
    settings = make_settings(tmp_path, queue={"reels_count": 12, "similar_count": 5})
    [name] = public_names(sim, 1, prefix="timed")
    async with open_engine(
        settings, transport=sim.transport(), simulator=sim, processors=("queue",), local_only=True
    ) as sup:
        await sup.runtime.queue.enqueue([name], Priority.HIGH)
        item = await sup.runtime.queue.get(name)
        waiting = await sup.refresh()  # not started yet: the HIGH item waits
        assert waiting.queue.timings[item.id].ran == 0.0
        assert waiting.queue.oldest_high_wait == waiting.queue.timings[item.id].waited >= 0
        await sup.start()
        await wait_for(lambda: _completed(sup, name))
        done = await sup.runtime.queue.get(name)
        snap = await sup.refresh()
    board = [i for i in snap.queue.board if i.id == item.id] or [done]
    timing = item_timings(board, sup.slots["queue"].processor.run_times.snapshot(snap.at), snap.at)[item.id]
    assert timing.ran is not None and timing.ran > 0
    life = (done.completed_at - done.created_at).total_seconds()
    assert abs(timing.waited + timing.ran - life) < 1e-6


async def _completed(sup, name):
    return (await sup.runtime.queue.get(name)).status == Status.COMPLETED
