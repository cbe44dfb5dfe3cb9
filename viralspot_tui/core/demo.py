"""Sample work for ``viralspot demo``, added once per data folder, and the live demo's feeder.

The sample queue itself comes from ``queue.csv.sample``. Here the demo adds what the other two
processors need to show their panes: an analysis job for a baking creator against four
accounts from the same community of the simulated world, and one crawl seeded from it.

``viralspot demo`` (live) also keeps work arriving (see :mod:`.demo_feed` and docs/demo.md):
the analysis job recurs on a short interval, the crawler runs on a schedule, and a feeder adds
urgent API requests and transient faults. ``--exit-when-idle`` seeds the same first wave
without any of that, so a batch demo finishes.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from .demo_feed import LIVE_PACE, DemoFeed, DemoPace
from .viral.models import ContentStrategy

if TYPE_CHECKING:
    from .supervisor import Supervisor

__all__ = [
    "seed_demo_work",
    "live_demo_setup",
    "DEMO_PRIMARY",
    "DEMO_COMPETITORS",
    "DEMO_STRATEGY",
    "DemoPace",
    "LIVE_PACE",
]

log = logging.getLogger("viralspot.demo")

DEMO_PRIMARY = "sunny.bakes_42"
DEMO_COMPETITORS = ("bakingwithiris", "brave.dough_40", "sweet_oven", "nina_haddad28")
DEMO_STRATEGY = ContentStrategy(
    content_type="short-form baking tutorials",
    target_audience="home bakers who are new to sourdough",
    goals="grow followers with two reels a week and sell a bread course",
)


async def seed_demo_work(supervisor: "Supervisor", pace: DemoPace | None = None) -> DemoFeed | None:
    """Add the sample job and crawl (once per data folder); with ``pace``, also start the feeder.

    A data folder first used by a batch demo has a one-off job; the first live demo there adds
    a recurring one, so the recurring run the live demo promises exists.
    """
    runtime = supervisor.runtime
    first = not await runtime.control_state("demo_seeded")
    needs_recurring = pace is not None and not await runtime.control_state("demo_recurring")
    if "viral" in supervisor.slots and (first or needs_recurring):
        from .viral.api import create_job

        job = await create_job(
            runtime,
            DEMO_PRIMARY,
            list(DEMO_COMPETITORS),
            DEMO_STRATEGY,
            auto_rerun=pace is not None,
            rerun_every_hours=pace.rerun_every_hours if pace is not None else None,
        )
        log.info("demo: analysis job %s for %s against %d competitors", job.id, DEMO_PRIMARY, len(DEMO_COMPETITORS))
        if pace is not None:
            await runtime.set_control_state("demo_recurring", str(job.id))
        supervisor.wake("viral")
    if "crawler" in supervisor.slots and first:
        from .crawler.store import CrawlerStore

        store = CrawlerStore(runtime.db, runtime.clock)
        await store.create_request([DEMO_PRIMARY], target=10, max_rounds=3, source="demo")
        log.info("demo: crawl from %s for 10 new profiles", DEMO_PRIMARY)
        supervisor.wake("crawler")
    await runtime.set_control_state("demo_seeded", "1")
    if pace is None:
        return None
    feed = DemoFeed(supervisor, pace)
    feed.start()
    runtime.events.emit(
        "demo.live",
        f"demo: live — new work keeps arriving; simulated time runs {pace.time_speed:g}x faster "
        f"until the world catches up with the clock",
    )
    return feed


def live_demo_setup(pace: DemoPace = LIVE_PACE) -> Callable[["Supervisor"], Awaitable[DemoFeed | None]]:
    """The ``setup`` hook of a live demo (the front ends call it with the started supervisor)."""
    return functools.partial(seed_demo_work, pace=pace)
