"""The crawler on the one lease mechanism (docs/leases.md): a crawl whose lease is taken from
under it stops at its next safe point without writing over its new owner."""

from __future__ import annotations

import asyncio

from crawler_helpers import community

from viralspot_tui.core.crawler.processor import CrawlerProcessor
from viralspot_tui.core.lease_keeper import LeaseKeeper
from viralspot_tui.core.processors.base import ProcessorControl, Stopping


async def test_a_crawl_whose_lease_is_taken_stops_and_leaves_the_new_owner_alone(make_runtime, sim):
    runtime = await make_runtime(round_delay_seconds=1.0, min_followers=0)
    processor = CrawlerProcessor(runtime, poll_seconds=0.01)
    request = await processor.store.create_request(community(sim, 26)[:3], 1000, 3)
    lost = asyncio.Event()
    runtime.events.subscribe(lambda e: lost.set() if e.kind == "crawler.lease_lost" else None)
    control = ProcessorControl("crawler")
    task = asyncio.create_task(processor.run(control))
    try:
        while not (await processor.store.rounds_for(request.id)):  # round 1 done: now in the delay
            await asyncio.sleep(0.01)
        await runtime.db.write(
            lambda c: c.execute(
                "UPDATE crawler_requests SET owner = 'elsewhere:1:abc:crawler:9' WHERE id = ?", (request.id,)
            )
        )
        assert await LeaseKeeper.of(runtime).beat()  # the next heartbeat finds the lease gone
        await asyncio.wait_for(lost.wait(), 5)
    finally:
        control.stop()
        try:
            await asyncio.wait_for(task, 5)
        except Stopping:
            pass
    row = await processor.store.get_request(request.id)
    assert (row.status.value, row.owner, row.outcome, row.rounds_done) == (
        "running",
        "elsewhere:1:abc:crawler:9",
        None,
        1,
    )
