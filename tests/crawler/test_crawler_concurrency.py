"""Q3 under C5: a crawl beside operator enqueues and the queue processor never double-queues."""

from __future__ import annotations

import asyncio
import random

from crawler_helpers import community, new_crawl, similar_of

from viralspot_tui.core.models.queue import Priority
from viralspot_tui.core.processors.base import ProcessorControl
from viralspot_tui.core.processors.queue_processor import QueueProcessor


async def _active_duplicates(runtime):
    return await runtime.db.read(
        lambda c: c.execute(
            "SELECT username, COUNT(*) FROM queue WHERE status IN ('PENDING','PROCESSING','PAUSED')"
            " GROUP BY username HAVING COUNT(*) > 1"
        ).fetchall()
    )


async def test_crawl_beside_operators_and_queue_processor_keeps_one_active_item_per_name(make_runtime, sim):
    runtime = await make_runtime(min_followers=0)
    runtime.settings.queue.reels_count = 12
    seeds = community(sim, 20)[:5]
    contested = list(dict.fromkeys(n for s in seeds for n in similar_of(sim, s)))
    rng = random.Random(5)

    control = ProcessorControl("queue")
    queue_task = asyncio.create_task(QueueProcessor(runtime, poll_seconds=0.01).run(control))
    done = asyncio.Event()

    async def operator() -> int:
        sent = 0
        while not done.is_set():
            batch = rng.sample(contested, 4)
            await runtime.queue.enqueue(batch, rng.choice([Priority.HIGH, Priority.LOW]), source="manual")
            sent += len(batch)
            await asyncio.sleep(0)
        return sent

    operators = [asyncio.create_task(operator()) for _ in range(3)]
    try:
        report = await new_crawl(runtime, seeds=seeds, target=1000, max_rounds=5).run()
    finally:
        done.set()
        sent = sum(await asyncio.gather(*operators))
        control.stop()
        await asyncio.wait_for(queue_task, 10)

    assert sent > 0 and len(report.rounds) == 5
    assert await _active_duplicates(runtime) == []
    for r in report.rounds:
        assert r.found == r.dropped_total + r.duplicates + len(r.queued)
    # every name the crawl reports as queued really got a crawler row, and only once
    rows = await runtime.db.read(
        lambda c: c.execute(
            "SELECT username, COUNT(*) FROM queue WHERE source = 'crawler' GROUP BY username"
        ).fetchall()
    )
    crawler_rows = {name: n for name, n in rows}
    assert set(crawler_rows) == set(report.queued)
    assert set(crawler_rows.values()) == {1}
    assert len(report.queued) == len(set(report.queued))
    completed = await runtime.db.read(
        lambda c: c.execute("SELECT COUNT(*) FROM queue WHERE status = 'COMPLETED'").fetchone()[0]
    )
    assert completed > 0  # the queue processor really worked beside the crawl
