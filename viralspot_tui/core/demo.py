"""Sample work for ``viralspot demo``, added once per data folder.

The sample queue itself comes from ``queue.csv.sample``. Here the demo adds what the other two
processors need to show their panes: an analysis job for a baking creator against four
accounts from the same community of the simulated world, and one crawl seeded from it.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .supervisor import Supervisor

__all__ = ["seed_demo_work", "DEMO_PRIMARY", "DEMO_COMPETITORS"]

log = logging.getLogger("viralspot.demo")

DEMO_PRIMARY = "sunny.bakes_42"
DEMO_COMPETITORS = ("bakingwithiris", "brave.dough_40", "sweet_oven", "nina_haddad28")


async def seed_demo_work(supervisor: "Supervisor") -> None:
    runtime = supervisor.runtime
    if await runtime.control_state("demo_seeded"):
        return
    if "viral" in supervisor.slots:
        from .viral.api import create_job
        from .viral.models import ContentStrategy

        job = await create_job(
            runtime,
            DEMO_PRIMARY,
            list(DEMO_COMPETITORS),
            ContentStrategy(
                content_type="short-form baking tutorials",
                target_audience="home bakers who are new to sourdough",
                goals="grow followers with two reels a week and sell a bread course",
            ),
        )
        log.info("demo: analysis job %s for %s against %d competitors", job.id, DEMO_PRIMARY, len(DEMO_COMPETITORS))
        supervisor.wake("viral")
    if "crawler" in supervisor.slots:
        from .crawler.store import CrawlerStore

        store = CrawlerStore(runtime.db, runtime.clock)
        await store.create_request([DEMO_PRIMARY], target=10, max_rounds=3, source="demo")
        log.info("demo: crawl from %s for 10 new profiles", DEMO_PRIMARY)
        supervisor.wake("crawler")
    await runtime.set_control_state("demo_seeded", "1")
