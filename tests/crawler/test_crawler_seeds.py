"""C1/C2: explicit and automatic seeds, one per round, no reuse within a session."""

from __future__ import annotations

import random

import pytest
from crawler_helpers import add_primaries, community, new_crawl

from viralspot_tui.core.crawler.models import CrawlOutcome
from viralspot_tui.core.crawler.seeds import SeedPool
from viralspot_tui.core.crawler.store import CrawlerStore
from viralspot_tui.core.models.usernames import InvalidUsername


async def test_explicit_seeds_are_used_in_order_one_per_round(runtime, sim):
    a, b, c = community(sim, 3)[:3]
    report = await new_crawl(runtime, seeds=["@" + a.upper(), b, c], target=1000, max_rounds=3).run()
    assert [r.seed for r in report.rounds] == [a, b, c]
    assert report.outcome is CrawlOutcome.ROUNDS_EXHAUSTED
    assert sim.stats.keys(endpoint="similar") == [a, b, c]


async def test_explicit_seeds_snowball_into_queued_accounts_when_they_run_out(runtime, sim):
    seed = community(sim, 5)[0]
    report = await new_crawl(runtime, seeds=[seed], target=1000, max_rounds=3).run()
    seeds = [r.seed for r in report.rounds]
    assert seeds[0] == seed and len(set(seeds)) == 3
    assert seeds[1] in report.rounds[0].queued
    assert seeds[2] in report.rounds[0].queued + report.rounds[1].queued


async def test_automatic_seeds_come_from_stored_primary_profiles(runtime, sim):
    primaries = community(sim, 1)[:4]
    await add_primaries(runtime, primaries)
    report = await new_crawl(runtime, pool=SeedPool(runtime.db, random.Random(1)), target=1000, max_rounds=4).run()
    seeds = [r.seed for r in report.rounds]
    assert sorted(seeds) == sorted(primaries)


async def test_no_seed_reused_within_a_session_until_all_were_used(runtime, sim):
    primaries = community(sim, 2)[:5]
    await add_primaries(runtime, primaries)
    pool = SeedPool(runtime.db, random.Random(3))
    first = await new_crawl(runtime, pool=pool, target=1000, max_rounds=2).run()
    second = await new_crawl(runtime, pool=pool, target=1000, max_rounds=3).run()
    used = [r.seed for r in first.rounds + second.rounds]
    assert sorted(used) == sorted(primaries)  # five crawls' rounds, five different seeds
    assert pool.cycles == 0
    again = await pool.draw()  # all used: a new cycle may reuse one
    assert again in primaries and pool.cycles == 1


async def test_draws_are_random_not_fixed_order(runtime, sim):
    primaries = community(sim, 4)[:8]
    await add_primaries(runtime, primaries)
    orders = set()
    for seed in range(6):
        pool = SeedPool(runtime.db, random.Random(seed))
        orders.add(tuple([await pool.draw() for _ in range(8)]))
    assert len(orders) > 1
    assert all(sorted(o) == sorted(primaries) for o in orders)


async def test_automatic_crawl_without_primaries_ends_as_seeds_exhausted(runtime, sim):
    report = await new_crawl(runtime, target=5, max_rounds=3).run()
    assert report.outcome is CrawlOutcome.SEEDS_EXHAUSTED and report.rounds == []
    assert sim.stats.count() == 0


async def test_invalid_seed_is_refused_before_anything_is_written(runtime):
    store = CrawlerStore(runtime.db, runtime.clock)
    with pytest.raises(InvalidUsername):
        await store.create_request(["ok_name", "bad name!"], 5, 2)
    assert await store.list_requests() == []
