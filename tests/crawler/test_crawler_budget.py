"""C6: the daily API-call budget stops the crawler; the next UTC day resumes it."""

from __future__ import annotations

import asyncio
import random
from datetime import timedelta

from crawler_helpers import add_primaries, community, new_crawl

from viralspot_tui.core.crawler.budget import DailyBudget, next_utc_midnight
from viralspot_tui.core.crawler.models import CrawlOutcome, RequestStatus
from viralspot_tui.core.crawler.processor import CrawlerProcessor
from viralspot_tui.core.crawler.store import CrawlerStore
from viralspot_tui.core.processors.base import ProcessorControl


async def _until(predicate, timeout=10.0):
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not await predicate():
        assert loop.time() < deadline, "condition not reached in time"
        await asyncio.sleep(0.01)


async def test_budget_counts_per_utc_day(runtime, clock):
    budget = DailyBudget(CrawlerStore(runtime.db, runtime.clock), clock, limit=5)
    assert [await budget.reserve(3), await budget.reserve(3), await budget.reserve(1)] == [3, 2, 0]
    assert await budget.exhausted() and budget.cached()["spent"] == 5
    clock.advance(seconds=budget.seconds_until_reset())
    assert clock.now() == next_utc_midnight(clock.now() - timedelta(seconds=1))
    assert not await budget.exhausted() and await budget.reserve(2) == 2
    await budget.refund(1)
    assert await budget.spent() == 1


async def test_zero_budget_means_unlimited(runtime, clock):
    budget = DailyBudget(CrawlerStore(runtime.db, runtime.clock), clock, limit=0)
    assert await budget.reserve(10_000) == 10_000 and await budget.remaining() is None
    assert not await budget.exhausted()


async def test_foreground_crawl_ends_when_the_budget_is_spent(make_runtime, sim):
    runtime = await make_runtime(daily_call_budget=2, enrich_budget_per_round=0, min_followers=0)
    report = await new_crawl(runtime, seeds=community(sim, 21)[:4], target=1000, max_rounds=4).run()
    assert report.outcome is CrawlOutcome.BUDGET_EXHAUSTED and len(report.rounds) == 2
    assert sim.stats.count() == 2
    assert "budget" in report.describe()


async def test_processor_stops_on_the_budget_and_resumes_the_next_day(make_runtime, sim, clock):
    runtime = await make_runtime(daily_call_budget=3, enrich_budget_per_round=0, min_followers=0)
    await add_primaries(runtime, community(sim, 22)[:6])
    processor = CrawlerProcessor(runtime, poll_seconds=0.01, rng=random.Random(2))
    store = processor.store
    request = await store.create_request([], 1000, 5)
    events: list[str] = []
    runtime.events.subscribe(lambda e: events.append(e.kind))
    control = ProcessorControl("crawler")
    task = asyncio.create_task(processor.run(control))
    try:

        async def waiting() -> bool:
            current = processor.snapshot().current
            return current is not None and current.state == "waiting_budget"

        await _until(waiting)
        assert sim.stats.count(endpoint="similar") == 3
        snap = processor.snapshot()
        assert snap.budget.used == 3 and snap.budget.limit == 3
        assert snap.current.rounds_done == 3
        await asyncio.sleep(0.1)  # still waiting: no call is made on a spent budget
        assert sim.stats.count(endpoint="similar") == 3
        assert not await processor.is_idle()
        assert "crawler.budget_exhausted" in events

        clock.advance(seconds=processor.budget.seconds_until_reset() + 1)

        async def finished() -> bool:
            row = await store.get_request(request.id)
            return row.status is RequestStatus.COMPLETED

        await _until(finished)
    finally:
        control.stop()
        await asyncio.wait_for(task, 5)
    row = await store.get_request(request.id)
    assert row.outcome.value == "rounds_exhausted" and row.rounds_done == 5
    assert sim.stats.count(endpoint="similar") == 5
    assert await processor.budget.spent() == 2  # today's count: rounds 4 and 5
    assert "crawler.budget_resumed" in events
    assert await processor.is_idle()
