"""Helpers shared by the crawler tests (expectations come from the simulator's world model)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from viralspot_tui.core.clock import to_iso
from viralspot_tui.core.crawler.budget import DailyBudget
from viralspot_tui.core.crawler.crawl import Crawl
from viralspot_tui.core.crawler.seeds import SeedPool
from viralspot_tui.core.crawler.store import CrawlerStore
from viralspot_tui.core.models.instagram import parse_follower_text
from viralspot_tui.core.runtime import Runtime
from viralspot_tui.sim import Simulator
from viralspot_tui.sim.payloads import social_context


def community(sim: Simulator, k: int = 0) -> list[str]:
    """Public members of one similar-account community (good seeds: they have neighbours)."""
    return [n for n in sim.world.community_members(k) if sim.world.profile(n).kind == "public"]


def similar_of(sim: Simulator, seed: str) -> list[str]:
    return [n for n in dict.fromkeys(sim.world.similar(seed)) if n != seed]


def context_followers(sim: Simulator, viewer: str, name: str) -> int | None:
    """What the crawler can read from the similar item's social_context, per the simulator."""
    return parse_follower_text(social_context(sim.world.seed, viewer, sim.world.profile(name)))


async def add_primaries(runtime: Runtime, names: Iterable[str]) -> None:
    now = to_iso(runtime.clock.now())
    rows = [(n, now, now) for n in names]
    await runtime.db.write(
        lambda c: c.executemany(
            "INSERT INTO primary_profiles (username, first_scraped_at, last_scraped_at) VALUES (?, ?, ?)", rows
        )
    )


async def queue_rows(runtime: Runtime) -> list[tuple[str, str, str, str]]:
    return await runtime.db.read(
        lambda c: [
            tuple(r) for r in c.execute("SELECT username, status, priority, source FROM queue ORDER BY id").fetchall()
        ]
    )


def new_crawl(runtime: Runtime, pool: SeedPool | None = None, **kw: Any) -> Crawl:
    store = CrawlerStore(runtime.db, runtime.clock)
    budget = DailyBudget(store, runtime.clock, runtime.settings.crawler.daily_call_budget)
    return Crawl(runtime, store=store, budget=budget, pool=pool or SeedPool(runtime.db), **kw)
