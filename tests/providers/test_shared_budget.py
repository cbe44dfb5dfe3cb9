"""One API key, one budget: processes on one data dir divide its rate through the database.

The first test drives two processes' share registries by hand (two connections to one SQLite
file, a hand-set wall clock, hand-driven limiter clocks); the second runs two real engines on one
data dir against one simulator that enforces the plan's per-second limit.
"""

from __future__ import annotations

import asyncio
from collections import Counter

from test_priority_limiter import ManualTicker, settle
from testkit import make_settings, make_sim, public_names

from viralspot_tui.core.engine import open_engine
from viralspot_tui.core.models.queue import Priority
from viralspot_tui.core.providers.priority import PriorityLimiter
from viralspot_tui.core.providers.shared_budget import RateShares, budget_id, live_shares_sync
from viralspot_tui.core.store.database import Database

BUDGET = budget_id("instagram", "the-key")
BEAT = 10.0  # never fires by itself here: the test calls beat()


class Process:
    def __init__(self, db: Database, name: str, wall: list[float]) -> None:
        self.ticker = ManualTicker()
        self.limiter = PriorityLimiter(0.1, ticker=self.ticker)
        self.shares = RateShares(db, name, {BUDGET: self.limiter}, beat=BEAT, wall=lambda: wall[0])

    def send(self) -> asyncio.Task[None]:
        return asyncio.create_task(self.limiter.acquire())


async def test_two_processes_divide_one_keys_rate_and_take_it_back(tmp_path):
    wall = [1_000_000.0]
    path = tmp_path / "viralspot.db"
    async with Database(path) as db_a, Database(path) as db_b:
        a, b = Process(db_a, "a", wall), Process(db_b, "b", wall)
        a.shares.start(), b.shares.start()
        try:
            first = a.send()
            await asyncio.wait_for(first, 5)  # alone: registered and sent at once, at the full rate
            assert a.limiter.share == 1

            joining = b.send()
            await asyncio.sleep(0.2)  # b registered (a real write) and now waits its turn
            assert b.limiter.share == 2 and not joining.done()
            assert await db_a.read(live_shares_sync, [BUDGET], wall[0]) == {BUDGET: 2}
            await a.shares.beat()  # a sees b at its next beat: each now sends at half the rate
            assert a.limiter.share == 2 and a.limiter.interval == 0.2
            await b.ticker.advance(2 * BEAT)  # b's first request waits for that beat to have passed
            await asyncio.wait_for(joining, 5)

            await a.ticker.advance(a.limiter.idle_after)  # a goes idle: it gives its share back
            await a.shares.beat()
            assert await db_b.read(live_shares_sync, [BUDGET], wall[0]) == {BUDGET: 1}  # b's row only
            await b.ticker.advance(b.limiter.idle_after)
            await asyncio.wait_for(b.send(), 5)  # b sends again: alone now, at once, at the full rate
            assert b.limiter.share == 1

            later = a.send()  # a comes back: it joins again and waits its turn
            await asyncio.sleep(0.2)
            assert a.limiter.share == 2 and not later.done()
            later.cancel()
            wall[0] += 3 * BEAT + 1  # a is killed: its row expires, b takes the whole rate back
            await b.shares.beat()
            assert b.limiter.share == 1
        finally:
            await a.shares.close()
            await b.shares.close()
    await settle()


async def test_two_runners_on_one_data_dir_stay_within_one_configured_rate(tmp_path):
    plan = 20.0
    sim = make_sim(latency_ms=20, rate_limit=plan)  # answers a 21st request in any second with 429
    settings = make_settings(
        tmp_path,
        queue={"max_concurrent": 8, "reels_count": 24, "similar_count": 5},
        rapidapi={"requests_per_second": plan},
    )
    names = public_names(sim, 80, prefix="shared")
    async with (
        open_engine(settings, transport=sim.transport(), simulator=sim, processors=("queue",), local_only=True) as one,
        open_engine(settings, transport=sim.transport(), simulator=sim, processors=("queue",), local_only=True) as two,
    ):
        await one.runtime.queue.enqueue(names, Priority.LOW)
        await one.start()
        await two.start()
        await asyncio.sleep(3.0)
        sent = [sup.runtime.providers.policies["instagram"].state.calls_sent for sup in (one, two)]
        await one.stop(grace_seconds=0)
        await two.stop(grace_seconds=0)
    outcomes = Counter(c.outcome for c in sim.stats.calls)
    assert all(n > 10 for n in sent), sent  # both really sent: the budget was shared, not taken by one
    assert outcomes["rate_limited"] == 0, outcomes
    assert sim.stats.max_in_window(1.0) <= plan
