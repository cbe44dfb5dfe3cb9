"""The live demo's pace: new work keeps arriving after the first wave, as it would in production.

A demo that finishes its sample work in fifteen seconds and then sits still shows nothing of
what the console is for. In production, work trickles in: an integration posts an urgent
request now and then, the crawler runs on its schedule within a daily call budget, recurring
analyses come due and find the reels posted since, and the upstream API hiccups and is
retried. :class:`DemoPace` describes that pace; most of it is plain configuration (the crawler
schedule and budget, the simulator's faster world, the analysis job's rerun interval) applied
before the engine opens, and :class:`DemoFeed` does the rest while the engine runs: an
occasional HIGH request from source ``api`` and an occasional injected transient fault.

Simulated time runs faster in the live demo (``sim.time_speed``): the world starts a month
behind the clock and catches up at, by default, 720× — a simulated day every two minutes — so
a recurring analysis every six minutes finds new reels. Front ends read the factor from
``EngineSnapshot.sim_speed`` and must say so. See docs/demo.md.

The feeder never runs in ``--exit-when-idle`` mode: a batch demo must finish.
"""

from __future__ import annotations

import asyncio
import logging
import random
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .models.queue import Priority

if TYPE_CHECKING:
    from .supervisor import Supervisor

__all__ = ["DemoPace", "DemoFeed", "LIVE_PACE"]

log = logging.getLogger("viralspot.demo")

# Transient faults that a production provider really answers now and then; all are retried.
_FAULTS: tuple[tuple[str, str], ...] = (
    ("reels", "http_503"),
    ("profile", "http_500"),
    ("transcript", "http_503"),
    ("profile", "rate_limit_burst"),
)


@dataclass(frozen=True)
class DemoPace:
    """How fast work arrives in the live demo. Seconds are wall-clock seconds."""

    api_request_every: float = 45.0
    """Mean gap between HIGH requests from source ``api`` (the first comes after half of it)."""
    fault_every: float = 100.0
    """Mean gap between injected transient faults."""
    rerun_every_hours: float = 0.1
    """The demo analysis job's recurring interval (six minutes)."""
    crawl_every_minutes: float = 4.0
    crawl_daily_budget: int = 400
    crawl_target: int = 4
    crawl_rounds: int = 2
    time_speed: float = 720.0
    time_lag_days: float = 30.0
    seed: int = 16

    def settings_overrides(self) -> dict[str, dict[str, Any]]:
        """Settings sections to merge before the engine opens (the crawler's schedule and budget,
        the faster world, and an analysis look-back that reaches the lagging world's reels)."""
        return {
            "crawler": {
                "schedule_every_minutes": self.crawl_every_minutes,
                "daily_call_budget": self.crawl_daily_budget,
                "target_new_profiles": self.crawl_target,
                "max_rounds": self.crawl_rounds,
            },
            "sim": {"time_speed": self.time_speed, "time_lag_days": self.time_lag_days},
            "viral": {"lookback_days": 30 + int(self.time_lag_days + 0.999)},
        }


LIVE_PACE = DemoPace()


class DemoFeed:
    """Runs beside the engine until it stops; every choice comes from a seeded generator."""

    def __init__(self, supervisor: "Supervisor", pace: DemoPace) -> None:
        self.supervisor = supervisor
        self.runtime = supervisor.runtime
        self.pace = pace
        self.rng = random.Random(pace.seed)
        self.requests = 0
        self.faults = 0

    def start(self) -> "asyncio.Task[None]":
        task = asyncio.get_running_loop().create_task(self.run(), name="demo:feed")
        self.runtime.extras["demo_feed"] = task  # a reference, so the task is not collected
        return task

    def _gap(self, mean: float) -> float:
        return mean * self.rng.uniform(0.6, 1.4)

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        next_request = loop.time() + self._gap(self.pace.api_request_every) / 2
        next_fault = loop.time() + self._gap(self.pace.fault_every)
        while await self._wait(min(next_request, next_fault) - loop.time()):
            try:
                if loop.time() >= next_request:
                    next_request = loop.time() + self._gap(self.pace.api_request_every)
                    await self._api_request()
                if loop.time() >= next_fault:
                    next_fault = loop.time() + self._gap(self.pace.fault_every)
                    self._fault()
            except Exception:  # noqa: BLE001 - the demo's extra work must never stop the engine
                log.exception("demo feed step failed")

    async def _wait(self, seconds: float) -> bool:
        """Sleep up to ``seconds``; False once the engine drains or stops."""
        stopped = self.supervisor.stopped
        try:
            await asyncio.wait_for(stopped.wait(), timeout=max(0.0, seconds))
        except TimeoutError:
            pass
        return not (stopped.is_set() or self.supervisor.draining)

    async def _api_request(self) -> None:
        """One urgent lookup, as an integration would post it: a creator the world knows."""
        world = getattr(self.runtime.simulator, "world", None)
        if world is None or "queue" not in self.supervisor.slots:
            return
        from ..sim.world import N_COMMUNITIES

        members = world.community_members(self.rng.randrange(N_COMMUNITIES))
        name = self.rng.choice(members)
        self.requests += 1
        request_id = f"demo-api-{self.requests}"
        [result] = await self.runtime.queue.enqueue([name], Priority.HIGH, source="api", request_id=request_id)
        self.runtime.events.emit(
            "demo.request",
            f"demo: API request {request_id}: @{name} at HIGH ({result.outcome.value})",
            username=name,
            request_id=request_id,
        )
        self.supervisor.wake("queue")

    def _fault(self) -> None:
        """The next call to one endpoint fails once, the way a busy upstream does; it is retried."""
        inject = getattr(self.runtime.simulator, "inject", None)
        if inject is None:
            return
        endpoint, kind = self.rng.choice(_FAULTS)
        inject(endpoint, kind, 1)
        self.faults += 1
        self.runtime.events.emit(
            "demo.fault",
            f"demo: the simulator will answer the next {endpoint} call with {kind.replace('_', ' ')} (it is retried)",
            level="warning",
            endpoint=endpoint,
            fault=kind,
        )
